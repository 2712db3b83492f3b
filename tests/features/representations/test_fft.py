"""Tests of mirlearn.features.representations.fft: |FFT| frames equal librosa's; the registry."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.features import representations
from mirlearn.features.representations import frames
from mirlearn.features.representations.fft import magnitude_frames
from mirlearn.features.settings import FrameSettings, frame_count

librosa = pytest.importorskip("librosa")


@pytest.fixture
def y(rng: np.random.Generator) -> np.ndarray:
    """1.5 s of noise plus a sine at 22050 Hz (not a multiple of the hop: tests the tail)."""
    n = 33075 + 77
    t = np.arange(n) / 22050
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("center", [False, True])
def test_equals_librosa_stft(y: np.ndarray, center: bool) -> None:
    got = magnitude_frames(y, n_fft=1024, hop_length=512, center=center)
    ref = np.abs(librosa.stft(y, n_fft=1024, hop_length=512, center=center)).T
    assert got.dtype == np.float32
    assert got.shape == ref.shape == (frame_count(len(y), FrameSettings(center=center)), 513)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * ref.max())


@pytest.mark.parametrize(("n_fft", "hop"), [(512, 128), (2048, 1024), (256, 100)])
def test_other_sizes_equal_librosa(y: np.ndarray, n_fft: int, hop: int) -> None:
    got = magnitude_frames(y, n_fft=n_fft, hop_length=hop)
    ref = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, center=False)).T
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * ref.max())


def test_frame_positions_without_centring(rng: np.random.Generator) -> None:
    # Frame t covers y[t*hop : t*hop + n_fft]; the tail that does not fill a frame is dropped.
    y = rng.standard_normal(1024 + 3 * 512 + 100).astype(np.float32)
    got = magnitude_frames(y)
    assert got.shape == (4, 513)
    w = np.hanning(1025)[:-1]  # periodic Hann
    np.testing.assert_allclose(got[2], np.abs(np.fft.rfft(w * y[1024:2048])), rtol=1e-4, atol=1e-3)


def test_short_signal_raises() -> None:
    with pytest.raises(ValueError, match=r"shorter than one frame \(1000 samples < 1024\)"):
        magnitude_frames(np.zeros(1000, np.float32))
    assert magnitude_frames(np.zeros(1000, np.float32), center=True).shape == (2, 513)


def test_rejects_multichannel() -> None:
    with pytest.raises(ValueError, match="one-dimensional"):
        magnitude_frames(np.zeros((2, 4096), np.float32))


def test_float64_input_and_window_array(y: np.ndarray) -> None:
    ref = magnitude_frames(y)
    np.testing.assert_allclose(magnitude_frames(y.astype(np.float64)), ref, rtol=1e-6)
    w = np.hanning(1025)[:-1]
    np.testing.assert_allclose(magnitude_frames(y, window=w), ref, rtol=1e-4, atol=1e-5)


def test_fft_kind_dispatch(y: np.ndarray) -> None:
    s = FrameSettings()
    assert s.dim == 513
    np.testing.assert_array_equal(frames(y, s), magnitude_frames(y))
    c = FrameSettings(n_fft=512, hop_length=100, center=True, window="hamming")
    np.testing.assert_array_equal(frames(y, c), magnitude_frames(y, n_fft=512, hop_length=100, center=True,
                                                                 window="hamming"))


def test_registry_lists_the_built_in_kinds_and_refuses_unknown_ones() -> None:
    assert {"fft", "logmel", "mfcc"} <= set(representations.kinds())
    assert representations.kind("fft").dim(FrameSettings(n_fft=256, hop_length=128)) == 129
    assert set(representations.describe_kinds()) == set(representations.kinds())
    with pytest.raises(ValueError, match="unknown frame kind 'stft'; known: fft"):
        representations.kind("stft")
    with pytest.raises(ValueError, match="registered already"):
        representations.register_kind("fft", lambda y, s: y, lambda s: 1)
    with pytest.raises(ValueError, match="lower-case identifier"):
        representations.register_kind("Bad Name", lambda y, s: y, lambda s: 1)


def test_a_new_kind_is_one_registration(y: np.ndarray) -> None:
    # What a CQT module would do: register, and settings, dim and frames know the kind.
    def loud(y: np.ndarray, s: FrameSettings) -> np.ndarray:
        return magnitude_frames(y, n_fft=s.n_fft, hop_length=s.hop_length).max(axis=1, keepdims=True)

    with pytest.raises(ValueError, match="unknown frame kind"):
        FrameSettings(kind="loudest")
    representations.register_kind("loudest", loud, lambda s: 1, description="largest |FFT| bin")
    try:
        s = FrameSettings(kind="loudest")
        assert s.dim == 1 and s.time_base.kind == "loudest"
        np.testing.assert_array_equal(frames(y, s), magnitude_frames(y).max(axis=1, keepdims=True))
    finally:
        representations.unregister_kind("loudest")
    assert "loudest" not in representations.kinds()

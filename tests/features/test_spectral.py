"""Tests of mirlearn.features.spectral: |FFT| frames equal librosa's, frame counts, settings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mirlearn.features.spectral import FrameSettings, frame_count, frames, magnitude_frames

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


def test_frame_count() -> None:
    s = FrameSettings()
    assert frame_count(1023, s) == 0
    assert frame_count(1024, s) == 1
    assert frame_count(1535, s) == 1
    assert frame_count(1536, s) == 2
    assert frame_count(661794, s) == 1291  # a GTZAN clip
    c = FrameSettings(center=True)
    assert frame_count(0, c) == 1
    assert frame_count(661794, c) == 1 + 661794 // 512


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


def test_settings_dict_and_dispatch(y: np.ndarray) -> None:
    s = FrameSettings()
    d = s.to_dict()
    assert d == {"sr": 22050, "n_fft": 1024, "hop_length": 512, "window": "hann",
                 "center": False, "kind": "fft"}
    assert FrameSettings.from_dict(json.loads(json.dumps(d))) == s
    assert s.dim == 513
    np.testing.assert_array_equal(frames(y, s), magnitude_frames(y))
    with pytest.raises(ValueError, match="unknown frame kind"):
        FrameSettings(kind="cqt")
    with pytest.raises(ValueError, match="hop_length"):
        FrameSettings(hop_length=0)


def test_baseline_kinds_dispatch_to_the_baselines(rng):
    from mirlearn.features.baselines import logmel_frames, mfcc_frames
    from mirlearn.features.spectral import FrameSettings, frames, magnitude_frames

    y = rng.normal(size=22050 * 2).astype(np.float32)
    n = len(magnitude_frames(y))
    for kind, ref in (("mfcc", mfcc_frames), ("logmel", logmel_frames)):
        s = FrameSettings(kind=kind)
        F = frames(y, s)
        assert F.shape == (n, s.dim) and F.dtype == np.float32
        np.testing.assert_array_equal(F, ref(y, sr=22050, n_fft=1024, hop_length=512, center=False))

"""Tests of mirlearn.features.representations.mfcc: MFCC and deltas equal librosa's."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.features.representations import frames
from mirlearn.features.representations.fft import magnitude_frames
from mirlearn.features.representations.mfcc import mfcc_frames
from mirlearn.features.settings import FrameSettings

librosa = pytest.importorskip("librosa")

SR = 22050


@pytest.fixture
def y(rng: np.random.Generator) -> np.ndarray:
    """2 s of an amplitude-modulated tone plus noise (length not a multiple of the hop)."""
    n = 2 * SR + 301
    t = np.arange(n) / SR
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 0.7 * t))
    return (tone + 0.05 * rng.standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("center", [False, True])
def test_mfcc_static_equals_librosa(y: np.ndarray, center: bool) -> None:
    got = mfcc_frames(y, sr=SR, center=center)
    ref = librosa.feature.mfcc(y=y, sr=SR, n_fft=1024, hop_length=512, center=center,
                               n_mels=40, n_mfcc=20).T
    n_frames = magnitude_frames(y, center=center).shape[0]
    assert got.dtype == np.float32 and got.shape == (n_frames, 40) == (ref.shape[0], 40)
    np.testing.assert_allclose(got[:, :20], ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())
    deltas = librosa.feature.delta(ref.T, width=9, mode="nearest").T
    np.testing.assert_allclose(got[:, 20:], deltas, rtol=1e-3, atol=1e-3 * np.abs(deltas).max())


def test_mfcc_options(y: np.ndarray) -> None:
    static = mfcc_frames(y, deltas=False)
    assert static.shape == (magnitude_frames(y).shape[0], 20) and static.dtype == np.float32
    np.testing.assert_array_equal(static, mfcc_frames(y)[:, :20])
    assert mfcc_frames(y, n_mfcc=13, n_mels=26).shape[1] == 26
    one = mfcc_frames(y[:1024])  # a single frame: deltas are 0, no error
    assert one.shape == (1, 40)
    np.testing.assert_allclose(one[:, 20:], 0, atol=1e-4)
    with pytest.raises(ValueError, match="n_mfcc"):
        mfcc_frames(y, n_mfcc=41, n_mels=40)
    with pytest.raises(ValueError, match="delta_width"):
        mfcc_frames(y, delta_width=4)
    with pytest.raises(ValueError, match="shorter than one frame"):
        mfcc_frames(y[:1000])


def test_registered_kind_is_20_mfcc_and_deltas(y: np.ndarray) -> None:
    s = FrameSettings(kind="mfcc", center=True)
    assert s.dim == 40
    np.testing.assert_array_equal(frames(y, s), mfcc_frames(y, sr=SR, center=True))

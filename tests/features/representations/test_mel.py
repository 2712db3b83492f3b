"""Tests of mirlearn.features.representations.mel: the filterbank and log-mel equal librosa's."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.features.representations import frames
from mirlearn.features.representations.fft import magnitude_frames
from mirlearn.features.representations.mel import logmel_frames, mel_filterbank
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


@pytest.mark.parametrize("n_mels,fmax", [(40, None), (128, None), (64, 8000.0)])
def test_mel_filterbank_equals_librosa(n_mels: int, fmax: float | None) -> None:
    ours = mel_filterbank(SR, 1024, n_mels, 0.0, fmax)
    ref = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=n_mels, fmax=fmax)
    assert ours.shape == (n_mels, 513) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-8)
    assert not ours.flags.writeable


@pytest.mark.parametrize("top_db", [80.0, None])
def test_logmel_equals_librosa(y: np.ndarray, top_db: float | None) -> None:
    y = y.copy()
    y[:SR // 2] = 0  # digital silence: the top_db floor matters
    got = logmel_frames(y, sr=SR, top_db=top_db)
    S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=512, center=False,
                                       n_mels=128)
    ref = librosa.power_to_db(S, top_db=top_db).T
    assert got.shape == (magnitude_frames(y).shape[0], 128) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=1e-3)
    assert got.min() == pytest.approx(got.max() - 80 if top_db else -100.0, abs=1e-3)


def test_registered_kind_is_128_band_logmel(y: np.ndarray) -> None:
    s = FrameSettings(kind="logmel")
    assert s.dim == 128
    np.testing.assert_array_equal(frames(y, s), logmel_frames(y, sr=SR, n_fft=1024, hop_length=512))
    # The settings' window reaches the frames (the Hann default is the periodic one).
    hamming = frames(y, s.replace(window="hamming"))
    assert hamming.shape == (magnitude_frames(y).shape[0], 128) and not np.array_equal(hamming, frames(y, s))


@pytest.mark.parametrize("n_mels, fmin, fmax, top_db", [(40, 0.0, None, 80.0), (80, 50.0, 8000.0, 80.0),
                                                         (96, 0.0, 11025.0, None)])
def test_configured_logmel_kind_equals_librosa(y: np.ndarray, n_mels: int, fmin: float, fmax: float | None,
                                               top_db: float | None) -> None:
    y = y.copy()
    y[:SR // 2] = 0  # digital silence: the floor of the whole signal matters
    s = FrameSettings(kind="logmel", n_mels=n_mels, fmin=fmin, fmax=fmax, top_db=top_db)
    assert s.dim == n_mels
    got = frames(y, s)
    S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=512, center=False,
                                       n_mels=n_mels, fmin=fmin, fmax=fmax)
    ref = librosa.power_to_db(S, top_db=top_db).T  # ref=1, floor relative to the whole track
    assert got.shape == (magnitude_frames(y).shape[0], n_mels) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=1e-3)


def test_default_logmel_kind_is_unchanged(y: np.ndarray) -> None:
    # The cache key of the default logmel settings did not change, so neither may its frames.
    np.testing.assert_array_equal(frames(y, FrameSettings(kind="logmel")), logmel_frames(y, sr=SR))

"""Tests of mirlearn.features.baselines, the old home of MFCC / log-mel / PMSC: its re-exports
and its by-name entry points with per-call options."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.features.baselines import (
    BASELINE_KINDS,
    PMSC,
    baseline_dim,
    baseline_frames,
    logmel_frames,
    mfcc_frames,
)
from mirlearn.features.representations.fft import magnitude_frames

SR = 22050


@pytest.fixture
def y(rng: np.random.Generator) -> np.ndarray:
    """2 s of an amplitude-modulated tone plus noise (length not a multiple of the hop)."""
    n = 2 * SR + 301
    t = np.arange(n) / SR
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 0.7 * t))
    return (tone + 0.05 * rng.standard_normal(n)).astype(np.float32)


def test_frame_counts_match_fft_frames(y: np.ndarray) -> None:
    for n in (1024, 1025, 1536, 4096 + 511, len(y)):
        n_frames = magnitude_frames(y[:n]).shape[0]
        for kind in BASELINE_KINDS:
            assert baseline_frames(kind, y[:n]).shape == (n_frames, baseline_dim(kind))


def test_dispatcher(y: np.ndarray) -> None:
    np.testing.assert_array_equal(baseline_frames("mfcc", y, sr=SR, n_fft=1024, hop_length=512,
                                                  center=False), mfcc_frames(y))
    got = baseline_frames("logmel", y, sr=SR, hop_length=256, n_mels=64)
    assert got.shape == (magnitude_frames(y, hop_length=256).shape[0], 64)
    assert baseline_dim("logmel", n_mels=64) == 64
    assert baseline_dim("mfcc", n_mfcc=13, deltas=False) == 13
    with pytest.raises(ValueError, match="unknown baseline kind"):
        baseline_frames("pmsc", y)
    with pytest.raises(ValueError, match="unknown baseline kind"):
        baseline_dim("cqt")


def test_old_names_are_the_new_objects() -> None:
    from mirlearn.features.representations import mel, mfcc, pmsc

    assert (logmel_frames, mfcc_frames, PMSC) == (mel.logmel_frames, mfcc.mfcc_frames, pmsc.PMSC)

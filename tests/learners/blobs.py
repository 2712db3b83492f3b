"""Frames of separable classes for the learners' tests (imported, not collected)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.features.frameset import FrameSet


def blobs(rng: np.random.Generator, n_tracks: int = 12, frames: int = 40, dim: int = 16,
          n_classes: int = 3) -> FrameSet:
    """Raw (unstandardised) frames [shape=(n_tracks · frames, dim)] of ``n_classes`` separable
    Gaussian classes, one class per track (track ``i`` is class ``i % n_classes``)."""
    centres = rng.normal(0, 3, (n_classes, dim))
    tracks, mats = [], []
    for i in range(n_tracks):
        c = i % n_classes
        mats.append((centres[c] + rng.normal(0, 1, (frames, dim))).astype(np.float32) * 5 + 2)
        tracks.append(Track(f"t{i}", Path(f"t{i}.wav"), f"c{c}"))
    return FrameSet(np.concatenate(mats), np.arange(n_tracks + 1) * frames, TrackTable(tracks))

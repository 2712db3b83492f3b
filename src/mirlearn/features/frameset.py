"""The frame matrix that carries frames (or features) between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mirlearn.datasets.tracks import TrackTable


@dataclass
class FrameSet:
    """Frames of many tracks stacked in one matrix.

    Attributes
    ----------
    X : np.ndarray [shape=(n_frames, dim)], float32, possibly a read-only ``np.memmap``
        Frames (or features) of every track, track after track.
    offsets : np.ndarray [shape=(n_tracks + 1,)], int64
        The frames of track ``i`` are ``X[offsets[i]:offsets[i + 1]]``.
    tracks : TrackTable
        The tracks, in the order of their frames.
    """

    X: np.ndarray
    offsets: np.ndarray
    tracks: TrackTable

    def __post_init__(self) -> None:
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        if self.offsets.shape != (len(self.tracks) + 1,):
            raise ValueError(f"offsets has shape {self.offsets.shape}, expected ({len(self.tracks) + 1},)")
        if self.offsets[0] != 0 or self.offsets[-1] != len(self.X) or np.any(np.diff(self.offsets) < 0):
            raise ValueError("offsets must start at 0, be non-decreasing and end at len(X)")

    @property
    def n_tracks(self) -> int:
        return len(self.tracks)

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])

    @property
    def lengths(self) -> np.ndarray:
        """Frames per track, shape ``(n_tracks,)``."""
        return np.diff(self.offsets)

    def track_frames(self, i: int) -> np.ndarray:
        """Frames of track ``i``, shape ``(n_frames_i, dim)`` (a view)."""
        return self.X[self.offsets[i]:self.offsets[i + 1]]

    def frame_track_index(self) -> np.ndarray:
        """Track row of every frame, shape ``(n_frames,)``, int64."""
        return np.repeat(np.arange(self.n_tracks, dtype=np.int64), self.lengths)

    def frame_labels(self) -> np.ndarray:
        """Class index of every frame, shape ``(n_frames,)``, int64."""
        return np.repeat(self.tracks.y, self.lengths)

    def frame_rows(self, track_ids: Sequence[str]) -> np.ndarray:
        """Row indices into ``X`` of all frames of the given tracks, in their order, int64."""
        pos = [self.tracks.position(t) for t in track_ids]
        if not pos:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(self.offsets[p], self.offsets[p + 1]) for p in pos]).astype(np.int64)

    def subset(self, track_ids: Sequence[str]) -> "FrameSet":
        """A FrameSet of the given tracks; the frames are copied into memory.

        Use :meth:`frame_rows` with the full matrix instead when the subset is too large to copy.
        """
        pos = [self.tracks.position(t) for t in track_ids]
        lengths = np.array([self.offsets[p + 1] - self.offsets[p] for p in pos], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        X = np.empty((int(offsets[-1]), self.dim), dtype=self.X.dtype)
        for k, p in enumerate(pos):
            X[offsets[k]:offsets[k + 1]] = self.X[self.offsets[p]:self.offsets[p + 1]]
        return FrameSet(X, offsets, self.tracks.subset(track_ids))

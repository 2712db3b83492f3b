"""The frame matrix that carries frames (or features) between pipeline stages, with its time base."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mirlearn.datasets.tracks import TrackTable
from mirlearn.features.timebase import Anchor, TimeBase


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
    time_base : TimeBase or None
        Sample rate, hop and kind of the rows (and window size for aggregated rows), so
        that every row has a time in its track (:meth:`track_times`). Everything in
        :mod:`mirlearn.features` sets it; ``None`` (unknown) is allowed for matrices made
        elsewhere. Every FrameSet made from this one carries it.
    """

    X: np.ndarray
    offsets: np.ndarray
    tracks: TrackTable
    time_base: TimeBase | None = None

    def __post_init__(self) -> None:
        if self.time_base is not None and not isinstance(self.time_base, TimeBase):
            raise TypeError(f"time_base must be a TimeBase or None, got {type(self.time_base).__name__}")
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

    def track_times(self, i: int, anchor: Anchor = "start") -> np.ndarray:
        """Time of every row of track ``i`` in seconds from the track's start.

        Parameters
        ----------
        i : int
            Track row.
        anchor : {"start", "center", "end"}
            See :meth:`TimeBase.times`.

        Returns
        -------
        np.ndarray [shape=(n_rows_i,)], float64, seconds

        Raises
        ------
        ValueError
            If this FrameSet has no time base.
        """
        if self.time_base is None:
            raise ValueError("this FrameSet has no time base; its rows have no known times")
        return self.time_base.times(int(self.lengths[i]), anchor)

    def with_rows(self, X: np.ndarray, *, kind: str | None = None) -> "FrameSet":
        """A FrameSet of new rows for the same frames: same tracks, offsets and time base.

        For matrices computed row by row from this one (learned activations, a column
        slice, a PMSC transform).

        Parameters
        ----------
        X : np.ndarray [shape=(n_frames, dim2)]
            One row per row of this FrameSet.
        kind : str, optional
            New kind of the time base (``"features"`` for activations); ``None`` keeps it.
        """
        if len(X) != len(self.X):
            raise ValueError(f"X has {len(X)} rows, this FrameSet {len(self.X)}")
        tb = self.time_base
        if tb is not None and kind is not None:
            tb = tb.replace(kind=kind)
        return FrameSet(X, self.offsets, self.tracks, tb)

    def frame_rows(self, track_ids: Sequence[str]) -> np.ndarray:
        """Row indices into ``X`` of all frames of the given tracks, in their order, int64."""
        pos = [self.tracks.position(t) for t in track_ids]
        if not pos:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(self.offsets[p], self.offsets[p + 1]) for p in pos]).astype(np.int64)

    def subset(self, track_ids: Sequence[str], *, out: str | os.PathLike[str] | None = None,
               copy: bool = True) -> "FrameSet":
        """A FrameSet of the given tracks, their frames copied track by track.

        Parameters
        ----------
        track_ids : ids of the tracks to keep, in the order their frames will have
        out : path of a ``.npy`` file, optional
            Copy the frames into this file and return it memory-mapped read-only, so that a
            subset of a large memory-mapped cache stays on disk (RAM holds one track at a
            time). ``None`` copies into memory.
        copy : bool
            ``False``: when the tracks are consecutive in this FrameSet and in the same order,
            return a view of ``X`` (no copy: a memory map stays a memory map, and a GTZAN
            cell's 970 000 × 1 500 training rows are not duplicated in RAM); otherwise copy
            as usual. The view shares memory with this FrameSet. Ignored with ``out``.
        """
        pos = [self.tracks.position(t) for t in track_ids]
        if not copy and out is None and pos and pos == list(range(pos[0], pos[0] + len(pos))):
            start, stop = int(self.offsets[pos[0]]), int(self.offsets[pos[-1] + 1])
            return FrameSet(self.X[start:stop], self.offsets[pos[0]:pos[-1] + 2] - start,
                            self.tracks.subset(track_ids), self.time_base)
        lengths = np.array([self.offsets[p + 1] - self.offsets[p] for p in pos], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        shape = (int(offsets[-1]), self.dim)
        if out is None:
            X = np.empty(shape, dtype=self.X.dtype)
        else:
            X = np.lib.format.open_memmap(os.fspath(out), mode="w+", dtype=self.X.dtype, shape=shape)
        for k, p in enumerate(pos):
            X[offsets[k]:offsets[k + 1]] = self.X[self.offsets[p]:self.offsets[p + 1]]
        if out is not None:
            X.flush()
            del X
            X = np.load(os.fspath(out), mmap_mode="r")
        return FrameSet(X, offsets, self.tracks.subset(track_ids), self.time_base)


def concat(parts: Sequence[FrameSet], *, select: Sequence[Sequence[str] | None] | None = None,
           out: str | os.PathLike[str] | None = None) -> FrameSet:
    """The tracks of ``parts`` one after the other, in one matrix (e.g. a split's training
    tracks followed by their augmented copies).

    Parameters
    ----------
    parts : FrameSets of the same width and row kind, with distinct track ids
    select : per part, the ids of its tracks to take, in that order (``None``: all of them)
    out : path of a ``.npy`` file, optional
        Write the matrix there and return it memory-mapped read-only (RAM holds one track at
        a time, so a memory-mapped part is never read whole); ``None`` builds it in memory.

    The classes and the time base are the first part's (every label must be a class of it).
    """
    if not parts:
        raise ValueError("concat needs at least one FrameSet")
    dims = {p.dim for p in parts}
    if len(dims) != 1:
        raise ValueError(f"cannot concatenate frames of widths {sorted(dims)}")
    select = [None] * len(parts) if select is None else list(select)
    if len(select) != len(parts):
        raise ValueError(f"select has {len(select)} entries for {len(parts)} parts")
    picks = [list(range(p.n_tracks)) if ids is None else [p.tracks.position(t) for t in ids]
             for p, ids in zip(parts, select)]
    tracks = TrackTable([p.tracks[i] for p, pos in zip(parts, picks) for i in pos], classes=parts[0].tracks.classes)
    lengths = np.array([p.offsets[i + 1] - p.offsets[i] for p, pos in zip(parts, picks) for i in pos], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    shape = (int(offsets[-1]), parts[0].dim)
    dtype = parts[0].X.dtype
    X = np.empty(shape, dtype=dtype) if out is None else \
        np.lib.format.open_memmap(os.fspath(out), mode="w+", dtype=dtype, shape=shape)
    row = 0
    for p, pos in zip(parts, picks):
        for i in pos:
            block = p.track_frames(i)
            X[row:row + len(block)] = block
            row += len(block)
    if out is not None:
        X.flush()
        del X
        X = np.load(os.fspath(out), mmap_mode="r")
    return FrameSet(X, offsets, tracks, parts[0].time_base)

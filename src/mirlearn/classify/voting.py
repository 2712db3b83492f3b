"""Majority vote per track over the predictions of its frames (or windows)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def check_offsets(offsets: np.ndarray, n_frames: int, track_ids: Sequence[str] | None = None,
                  *, allow_empty: bool = False) -> np.ndarray:
    """Validate per-track frame offsets and return them as int64.

    Parameters
    ----------
    offsets : np.ndarray [shape=(n_tracks + 1,)]
        Frames of track ``i`` are rows ``offsets[i]:offsets[i + 1]``.
    n_frames : int
        Number of rows the offsets index into.
    track_ids : sequence of str, optional
        Names used in error messages.
    allow_empty : bool
        Whether a track may have no frames.

    Returns
    -------
    offsets : np.ndarray [shape=(n_tracks + 1,)], int64

    Raises
    ------
    ValueError
        Malformed offsets, or (unless ``allow_empty``) a track without frames; the message
        names the first such track.
    """
    offsets = np.asarray(offsets)
    if offsets.ndim != 1 or offsets.size < 1 or not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError(f"offsets must be a 1-D integer array of n_tracks + 1 values, got {offsets!r}")
    offsets = offsets.astype(np.int64, copy=False)
    if offsets[0] != 0 or offsets[-1] != n_frames:
        raise ValueError(f"offsets must start at 0 and end at the number of frames {n_frames}, "
                         f"got {offsets[0]} ... {offsets[-1]}")
    lengths = np.diff(offsets)
    if np.any(lengths < 0):
        raise ValueError("offsets must be non-decreasing")
    if not allow_empty and np.any(lengths == 0):
        i = int(np.flatnonzero(lengths == 0)[0])
        name = f"track {i}" if track_ids is None else f"track {track_ids[i]!r} (row {i})"
        n_empty = int(np.count_nonzero(lengths == 0))
        more = f" and {n_empty - 1} more" if n_empty > 1 else ""
        raise ValueError(f"{name}{more} has no frames: cannot vote on an empty track")
    return offsets


def vote(proba_or_pred: np.ndarray, offsets: np.ndarray, n_classes: int,
         *, track_ids: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Majority vote per track over its frames' predicted classes.

    Parameters
    ----------
    proba_or_pred : np.ndarray [shape=(n_frames, n_classes)] float, or [shape=(n_frames,)] int
        Either class probabilities of every frame (each frame votes for its arg-max, the
        lowest index among equal maxima), or the predicted class index of every frame.
    offsets : np.ndarray [shape=(n_tracks + 1,)], int
        Frames of track ``i`` are rows ``offsets[i]:offsets[i + 1]``.
    n_classes : int
        Number of classes; predicted indices must lie in ``[0, n_classes)``.
    track_ids : sequence of str, optional, keyword-only
        Track names, used to name an empty track in the error.

    Returns
    -------
    track_pred : np.ndarray [shape=(n_tracks,)], int64
        Winning class index of every track.
    track_scores : np.ndarray [shape=(n_tracks, n_classes)], float64
        Share of the track's frames that voted for each class (rows sum to 1).

    Raises
    ------
    ValueError
        A track has no frames (named), shapes disagree, or a class index is out of range.

    Notes
    -----
    Tie rule: the class with most votes wins. Among classes with equally many votes, the
    one with the largest sum of frame probabilities over the track wins (only when
    probabilities are given; sums are compared exactly, in float64). If still tied, the
    lowest class index wins.

    Examples
    --------
    >>> vote(np.array([0, 1, 1, 2, 2]), np.array([0, 3, 5]), 3)[0]
    array([1, 2])
    """
    a = np.asarray(proba_or_pred)
    n_classes = int(n_classes)
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    if a.ndim == 2:
        if a.shape[1] != n_classes:
            raise ValueError(f"probabilities have {a.shape[1]} columns, expected n_classes={n_classes}")
        proba: np.ndarray | None = a
        pred = np.argmax(a, axis=1) if len(a) else np.zeros(0, dtype=np.int64)
    elif a.ndim == 1:
        if a.size and not np.issubdtype(a.dtype, np.integer):
            if not np.all(np.mod(a, 1) == 0):
                raise ValueError("1-D predictions must be integer class indices")
        proba = None
        pred = a.astype(np.int64, copy=False)
        if pred.size and (pred.min() < 0 or pred.max() >= n_classes):
            raise ValueError(f"predicted class indices must lie in [0, {n_classes}), "
                             f"got {pred.min()} ... {pred.max()}")
    else:
        raise ValueError(f"expected (n_frames,) predictions or (n_frames, n_classes) probabilities, "
                         f"got shape {a.shape}")
    offsets = check_offsets(offsets, len(a), track_ids)
    n_tracks = len(offsets) - 1
    if n_tracks == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, n_classes))

    lengths = np.diff(offsets)
    track_of_frame = np.repeat(np.arange(n_tracks, dtype=np.int64), lengths)
    counts = np.bincount(track_of_frame * n_classes + pred, minlength=n_tracks * n_classes)
    counts = counts.reshape(n_tracks, n_classes)
    tied = counts == counts.max(axis=1, keepdims=True)
    if proba is not None:
        # offsets[:-1] are valid, strictly increasing starts: no track is empty here.
        sums = np.add.reduceat(proba.astype(np.float64, copy=False), offsets[:-1], axis=0)
        key = np.where(tied, sums, -np.inf)
    else:
        key = tied.astype(np.int8)
    track_pred = np.argmax(key, axis=1).astype(np.int64)  # first maximum = lowest index
    return track_pred, counts / lengths[:, None]


def mean_per_track(values: np.ndarray, offsets: np.ndarray,
                   *, track_ids: Sequence[str] | None = None) -> np.ndarray:
    """Mean of the rows of every track.

    Parameters
    ----------
    values : np.ndarray [shape=(n_frames, k)]
    offsets : np.ndarray [shape=(n_tracks + 1,)], int
    track_ids : sequence of str, optional
        Names used in the error for an empty track.

    Returns
    -------
    means : np.ndarray [shape=(n_tracks, k)], float64
    """
    values = np.asarray(values)
    offsets = check_offsets(offsets, len(values), track_ids)
    if len(offsets) == 1:
        return np.zeros((0,) + values.shape[1:])
    sums = np.add.reduceat(values.astype(np.float64, copy=False), offsets[:-1], axis=0)
    return sums / np.diff(offsets).reshape((-1,) + (1,) * (values.ndim - 1))

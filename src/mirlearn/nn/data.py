"""Minibatches of frames for training, streamed from (possibly memory-mapped) arrays.

GTZAN's training frames are ~1.3 GB at 513 dims (and may outgrow RAM for other datasets), so
nothing here copies the whole matrix: each minibatch is gathered from ``X`` on demand. Row
indices inside a batch are sorted so that a memory-mapped ``X`` is read front to back; the
order of the rows inside a batch does not change the minibatch gradient (a sum), and sorting
always, in RAM or not, keeps the result independent of how ``X`` is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np
import torch

if TYPE_CHECKING:
    from mirlearn.distributed import World

__all__ = ["FrameBatches", "check_frames", "epoch_permutation", "sequential_batches"]


def check_frames(X: np.ndarray, y: np.ndarray, *, name: str = "X", n_in: int | None = None, n_out: int | None = None) -> None:
    """Check a frame matrix and its labels before any work is spent on them.

    Parameters
    ----------
    X : np.ndarray [shape=(n, dim)], float
    y : np.ndarray [shape=(n,)], integer class indices, or [shape=(n, n_tags)], 0/1 tag targets
    name : str
        How to call the pair in error messages (``'training'``, ``'validation'``).
    n_in, n_out : int or None
        Expected ``dim`` and number of classes (labels must lie in ``[0, n_out)``).

    Raises
    ------
    ValueError
        Naming the array and what is wrong with it.
    """
    if X.ndim != 2:
        raise ValueError(f"{name} frames must be 2-D (n, dim), got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"{name} frames must be floating point, got {X.dtype}")
    if y.ndim == 2:  # tag targets
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"{name} tag targets have {y.shape[0]} rows, expected {X.shape[0]} to match the frames")
        if n_out is not None and y.shape[1] != n_out:
            raise ValueError(f"{name} tag targets have {y.shape[1]} columns, the model has {n_out} outputs")
    elif y.shape != (X.shape[0],):
        raise ValueError(f"{name} labels have shape {y.shape}, expected ({X.shape[0]},) to match the frames")
    elif not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} labels must be integer class indices, got {y.dtype}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} set is empty")
    if n_in is not None and X.shape[1] != n_in:
        raise ValueError(f"{name} frames have {X.shape[1]} dims, the model expects {n_in}")
    if n_out is not None and y.ndim == 1:
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_out:
            raise ValueError(f"{name} labels span [{lo}, {hi}], the model has {n_out} classes")


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The visiting order of epoch ``epoch``: a permutation of ``range(n)``, int64.

    A pure function of ``(seed, epoch)``, so a resumed run shuffles exactly as an
    uninterrupted one without carrying any random state.
    """
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n).astype(np.int64, copy=False)


class FrameBatches:
    """Shuffled minibatches of ``(X, y)`` as torch tensors.

    Parameters
    ----------
    X : np.ndarray [shape=(n, dim)], float32, possibly a read-only ``np.memmap``
    y : np.ndarray [shape=(n,)], int64 class indices
    batch_size : int
        Frames per batch; the last batch of an epoch holds the remainder (no frame is skipped).
    seed : int
        Shuffling seed; epoch ``e``'s order is :func:`epoch_permutation` ``(n, seed, e)``.
    device : str or torch.device
        Where the batches go.
    frames_per_epoch : int or None
        When smaller than ``len(y)``, epoch ``e`` visits only the first ``frames_per_epoch``
        rows of its permutation: a fresh sample each epoch, so the cost of an epoch stops
        growing with the data while training as a whole still sees every frame. ``None``
        (default) visits every frame.

    Examples
    --------
    >>> X = np.zeros((10, 3), np.float32); y = np.arange(10) % 2
    >>> [len(yb) for xb, yb in FrameBatches(X, y, batch_size=4).epoch(1)]
    [4, 4, 2]
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int = 0, device: str | torch.device = "cpu",
                 frames_per_epoch: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if frames_per_epoch is not None and frames_per_epoch < 1:
            raise ValueError(f"frames_per_epoch must be positive or None, got {frames_per_epoch}")
        check_frames(X, y)
        self.X = X
        # Labels are small (8 bytes per frame): keep them in RAM as int64 for cheap gathers;
        # tag targets (n, n_tags) stay float32 for the sigmoid outputs' binary cross-entropy.
        self.y = np.ascontiguousarray(y, dtype=_target_dtype(y))
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.frames_per_epoch = None if frames_per_epoch is None else int(frames_per_epoch)

    def __len__(self) -> int:
        """Batches per epoch."""
        return -(-self.n // self.batch_size)

    @property
    def n(self) -> int:
        """Frames per epoch."""
        if self.frames_per_epoch is None:
            return len(self.y)
        return min(len(self.y), self.frames_per_epoch)

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield the ``(x, y)`` batches of epoch ``epoch`` (1-based), shapes ``(b, dim)``, ``(b,)``.

        Each batch is a fresh copy (float32, int64) that the caller may keep or modify.
        """
        # The permutation is always of all frames, so a capped epoch is a uniform sample of them.
        order = epoch_permutation(len(self.y), self.seed, epoch)[:self.n]
        for start in range(0, self.n, self.batch_size):
            idx = np.sort(order[start:start + self.batch_size])
            # Fancy indexing copies the rows into a new C-contiguous array (for a memmap it is
            # the read); np.asarray(..., float32) is then free unless X has another dtype.
            xb = torch.from_numpy(np.asarray(self.X[idx], dtype=np.float32))
            yb = torch.from_numpy(self.y[idx])
            if self.device.type != "cpu":
                xb = xb.to(self.device)
                yb = yb.to(self.device)
            yield xb, yb


    def epoch_share(self, epoch: int, ranks: "World") -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
        """Yield this rank's ``(x, y, n_global)`` of every batch of epoch ``epoch``.

        The batches are those of :meth:`epoch` (the same permutation on every rank); each rank
        takes its contiguous share of each sorted batch (:func:`mirlearn.distributed.World.bounds`),
        which may be empty for a last batch with fewer rows than ranks; ``n_global`` is the
        batch's size over all ranks.
        """
        order = epoch_permutation(len(self.y), self.seed, epoch)[:self.n]
        for start in range(0, self.n, self.batch_size):
            idx = np.sort(order[start:start + self.batch_size])
            lo, hi = ranks.bounds(len(idx))
            mine = idx[lo:hi]
            xb = torch.from_numpy(np.asarray(self.X[mine], dtype=np.float32))
            yb = torch.from_numpy(self.y[mine])
            if self.device.type != "cpu":
                xb, yb = xb.to(self.device), yb.to(self.device)
            yield xb, yb, len(idx)


def sequential_batches(X: np.ndarray, y: np.ndarray | None, batch_size: int, device: str | torch.device = "cpu") -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """Yield ``X`` (and ``y``) in order, ``batch_size`` rows at a time, as torch tensors.

    For evaluation and feature extraction: contiguous slices are the fastest read of a memmap.
    Each ``x`` is a fresh float32 copy (a read-only memmap cannot be wrapped without a copy).
    """
    device = torch.device(device)
    for start in range(0, len(X), batch_size):
        xb = torch.from_numpy(np.array(X[start:start + batch_size], dtype=np.float32))
        yb = None if y is None else torch.from_numpy(np.ascontiguousarray(y[start:start + batch_size],
                                                                          dtype=_target_dtype(y)))
        if device.type != "cpu":
            xb = xb.to(device)
            yb = None if yb is None else yb.to(device)
        yield xb, yb


def _target_dtype(y: np.ndarray) -> type:
    """int64 for class indices ``(n,)``; float32 for tag targets ``(n, n_tags)``."""
    return np.float32 if np.ndim(y) == 2 else np.int64

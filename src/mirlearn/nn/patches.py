"""Fixed-size time-frequency patches taken from a frame matrix, without copying the data set.

A representation (log-mel, CQT, ...) is stored as one frame matrix ``X`` of shape
``(n_rows, n_bands)`` (float32, usually a read-only ``np.memmap``), the rows of track ``i``
being ``X[offsets[i]:offsets[i + 1]]``. A *patch* is ``patch_frames`` consecutive rows of one
track (e.g. 80 frames ≈ 1.86 s at hop 512 and 22050 Hz); a CNN sees it transposed, as
``(n_bands, patch_frames)`` (bands × frames, low bands first).

- :class:`PatchGrid` says where patches start (row of ``X``), which track they are from, and
  how many of their rows are real data: a track shorter than one patch gives one patch whose
  ``length`` is the track's length, zero-padded at the end.
- :func:`even_patches` (prediction, validation) and :func:`random_patches` (training, a fresh
  draw per epoch) build grids; only integers, never the data.
- :func:`patch_view` is a view of ``X`` (no copy); :func:`gather` makes the one copy per batch:
  the patches transposed, standardised per band (:class:`BandStandardizer`, fitted on training
  tracks only) and zero-padded.

Examples
--------
>>> X = np.arange(20, dtype=np.float32).reshape(10, 2)        # 10 frames × 2 bands
>>> offsets = np.array([0, 7, 10])                              # tracks of 7 and 3 frames
>>> g = even_patches(offsets, patch_frames=4, hop_frames=2)
>>> g.starts.tolist(), g.track.tolist(), g.length.tolist()
([0, 2, 7], [0, 0, 1], [4, 4, 3])
>>> gather(X, g, np.array([2]), 4)[0]                           # bands × frames, padded
array([[14., 16., 18.,  0.],
       [15., 17., 19.,  0.]], dtype=float32)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from mirlearn.errors import ConfigError, MirlearnError

__all__ = ["BandStandardizer", "PatchGrid", "check_offsets", "even_patches", "gather", "padded_tracks",
           "patch_view", "random_patches"]

#: Bands whose standard deviation over the training rows is below this are only centred (divided
#: by 1): a constant band (e.g. a mel band above a low fmax, a dB floor) would otherwise blow up.
STD_FLOOR = 1e-6


@dataclass(frozen=True)
class PatchGrid:
    """Where the patches of a set of tracks lie in a frame matrix.

    Attributes
    ----------
    starts : np.ndarray [shape=(n_patches,)], int64
        Row of ``X`` where each patch starts.
    track : np.ndarray [shape=(n_patches,)], int64
        Index of the track (into ``offsets``) each patch is from.
    length : np.ndarray [shape=(n_patches,)], int64
        Rows of real data in each patch: ``patch_frames``, or fewer for the one patch of a
        track shorter than a patch (the rest is zero-padded by :func:`gather`).
    """

    starts: np.ndarray
    track: np.ndarray
    length: np.ndarray

    def __len__(self) -> int:
        return int(len(self.starts))


def check_offsets(offsets: Sequence[int] | np.ndarray, n_rows: int | None = None) -> np.ndarray:
    """``offsets`` as a checked int64 array: 1-D, at least 2 entries, non-decreasing, from 0.

    Parameters
    ----------
    offsets : array-like [shape=(n_tracks + 1,)]
        Track ``i`` is rows ``offsets[i]:offsets[i + 1]``.
    n_rows : int or None
        Rows of the frame matrix; ``offsets[-1]`` may not exceed it.

    Raises
    ------
    MirlearnError
        Malformed offsets, or a track without any rows (nothing to make a patch of).
    """
    off = np.asarray(offsets)
    if off.ndim != 1 or len(off) < 2 or not np.issubdtype(off.dtype, np.integer):
        raise MirlearnError(f"track offsets must be a 1-D integer array of n_tracks + 1 >= 2 entries, got shape "
                            f"{off.shape} dtype {off.dtype}")
    off = off.astype(np.int64, copy=False)
    if off[0] < 0:
        raise MirlearnError(f"track offsets must start at a row >= 0, got {off[0]}")
    sizes = np.diff(off)
    if (sizes < 0).any():
        raise MirlearnError(f"track offsets must not decrease (track {int(np.flatnonzero(sizes < 0)[0])})")
    if (sizes == 0).any():
        raise MirlearnError(f"track {int(np.flatnonzero(sizes == 0)[0])} has no frames: nothing to make a patch of")
    if n_rows is not None and off[-1] > n_rows:
        raise MirlearnError(f"track offsets end at row {off[-1]}, the frame matrix has {n_rows} rows")
    return off


def _check_positive(**values: int) -> None:
    for name, v in values.items():
        if int(v) < 1:
            raise ConfigError(f"{name} must be a positive number of frames, got {v}")


def padded_tracks(offsets: Sequence[int] | np.ndarray, patch_frames: int) -> np.ndarray:
    """Indices (int64) of the tracks shorter than one patch: their one patch is zero-padded."""
    off = check_offsets(offsets)
    return np.flatnonzero(np.diff(off) < int(patch_frames)).astype(np.int64)


def even_patches(offsets: Sequence[int] | np.ndarray, patch_frames: int, hop_frames: int) -> PatchGrid:
    """Evenly hopped patches of every track, in track order (prediction and validation).

    Track ``i`` of ``n`` frames gives patches starting at frames ``0, hop, 2·hop, ...`` of the
    track, as many as fit whole (``(n - patch_frames) // hop + 1``); frames after the last
    whole patch are not covered (no extra patch). A track shorter than one patch gives one
    patch at its start with ``length = n`` (padded).

    Parameters
    ----------
    offsets : array-like [shape=(n_tracks + 1,)], int
    patch_frames, hop_frames : int
        Patch length and hop, in frames.

    Returns
    -------
    PatchGrid
    """
    _check_positive(patch_frames=patch_frames, hop_frames=hop_frames)
    off = check_offsets(offsets)
    P, hop = int(patch_frames), int(hop_frames)
    sizes = np.diff(off)
    counts = np.where(sizes >= P, (sizes - P) // hop + 1, 1)
    track = np.repeat(np.arange(len(sizes), dtype=np.int64), counts)
    # k-th patch of its track: position in the flat list minus where the track's patches begin.
    first = np.cumsum(counts) - counts
    k = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(first, counts)
    starts = off[:-1][track] + k * hop
    length = np.minimum(sizes[track], P)
    return PatchGrid(starts=starts.astype(np.int64), track=track, length=length.astype(np.int64))


def random_patches(offsets: Sequence[int] | np.ndarray, patch_frames: int, per_track: int,
                   rng: np.random.Generator) -> PatchGrid:
    """``per_track`` uniformly random patches of every track, grouped by track (training).

    Each start is drawn uniformly (with replacement) among the ``n - patch_frames + 1`` starts
    where a whole patch fits; a track shorter than one patch gives its one padded patch,
    repeated ``per_track`` times. One draw of ``rng`` per patch (short tracks included), so the
    grid is a pure function of ``rng``'s state.

    Returns
    -------
    PatchGrid
        ``n_tracks * per_track`` patches, track 0's first.
    """
    _check_positive(patch_frames=patch_frames, per_track=per_track)
    off = check_offsets(offsets)
    P, m = int(patch_frames), int(per_track)
    sizes = np.diff(off)
    track = np.repeat(np.arange(len(sizes), dtype=np.int64), m)
    n_starts = np.maximum(sizes - P + 1, 1)[track]
    starts = off[:-1][track] + rng.integers(0, n_starts, dtype=np.int64)
    length = np.minimum(sizes[track], P)
    return PatchGrid(starts=starts.astype(np.int64), track=track, length=length.astype(np.int64))


def patch_view(X: np.ndarray, start: int, length: int) -> np.ndarray:
    """``X[start:start + length]``: rows × bands, a view of ``X`` (of its memory map), never a copy."""
    start, length = int(start), int(length)
    if start < 0 or length < 0 or start + length > len(X):
        raise IndexError(f"patch rows [{start}, {start + length}) outside the frame matrix of {len(X)} rows")
    return X[start:start + length]


class BandStandardizer:
    """Zero mean, unit variance per band, from the rows of the training tracks only.

    Attributes
    ----------
    mean_, std_ : np.ndarray [shape=(n_bands,)], float64
        Per-band mean and standard deviation (population, ``ddof=0``) of the fitted rows;
        a band with ``std < STD_FLOOR`` gets ``std_ = 1`` (centred only).
    n_rows_ : int
        Rows the statistics were computed on.
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None
        self.n_rows_: int = 0

    def fit(self, X: np.ndarray, offsets: Sequence[int] | np.ndarray, tracks: Sequence[int] | None = None,
            chunk_rows: int = 65536) -> "BandStandardizer":
        """Per-band mean and standard deviation over the rows of ``tracks`` (default: all).

        Streamed in chunks of at most ``chunk_rows`` rows (memory bounded by one chunk in
        float64, whatever the size of ``X``), combined exactly with Chan et al.'s pairwise
        update of (count, mean, sum of squared deviations), which stays accurate where
        ``E[x²] - E[x]²`` would cancel (dB values far from 0).
        """
        off = check_offsets(offsets, len(X))
        if X.ndim != 2:
            raise MirlearnError(f"the frame matrix must be 2-D (rows, bands), got shape {X.shape}")
        if int(chunk_rows) < 1:
            raise ConfigError(f"chunk_rows must be positive, got {chunk_rows}")
        n_tracks = len(off) - 1
        idx = np.arange(n_tracks) if tracks is None else np.asarray(tracks, dtype=np.int64).reshape(-1)
        if len(idx) == 0:
            raise MirlearnError("no training tracks to fit the band standardisation on")
        if idx.min() < 0 or idx.max() >= n_tracks:
            raise MirlearnError(f"track indices span [{idx.min()}, {idx.max()}], there are {n_tracks} tracks")
        n_bands = X.shape[1]
        count = 0
        mean = np.zeros(n_bands)
        m2 = np.zeros(n_bands)
        step = int(chunk_rows)
        for t in idx:
            for a in range(int(off[t]), int(off[t + 1]), step):
                chunk = np.asarray(X[a:min(a + step, int(off[t + 1]))], dtype=np.float64)
                n_b = len(chunk)
                mean_b = chunk.mean(axis=0)
                m2_b = ((chunk - mean_b) ** 2).sum(axis=0)
                total = count + n_b
                delta = mean_b - mean
                mean = mean + delta * (n_b / total)
                m2 = m2 + m2_b + delta ** 2 * (count * n_b / total)
                count = total
        if not np.isfinite(mean).all() or not np.isfinite(m2).all():
            raise MirlearnError("the training frames hold non-finite values (NaN or inf); check the representation")
        std = np.sqrt(m2 / count)
        self.mean_ = mean
        self.std_ = np.where(std < STD_FLOOR, 1.0, std)
        self.n_rows_ = int(count)
        return self

    def _check_fitted(self) -> None:
        if self.mean_ is None:
            raise MirlearnError("BandStandardizer is not fitted: call fit() first")

    def transform(self, batch: np.ndarray) -> np.ndarray:
        """Standardise ``batch`` [shape=(..., n_bands, frames)]: a new float32 array."""
        self._check_fitted()
        batch = np.asarray(batch)
        if batch.ndim < 2 or batch.shape[-2] != len(self.mean_):
            raise MirlearnError(f"expected (..., {len(self.mean_)} bands, frames), got shape {batch.shape}")
        mean, inv = self._float32_params()
        return ((batch.astype(np.float32) - mean[:, None]) * inv[:, None]).astype(np.float32, copy=False)

    def _float32_params(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and 1/std as float32 (what :meth:`transform` and :func:`gather` apply)."""
        return self.mean_.astype(np.float32), (1.0 / self.std_).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state: ``{'mean': [...], 'std': [...], 'n_rows': int}``."""
        self._check_fitted()
        return {"mean": [float(v) for v in self.mean_], "std": [float(v) for v in self.std_], "n_rows": self.n_rows_}

    @classmethod
    def from_state_dict(cls, d: Mapping[str, Any]) -> "BandStandardizer":
        s = cls()
        s.mean_ = np.asarray(d["mean"], dtype=np.float64)
        s.std_ = np.asarray(d["std"], dtype=np.float64)
        s.n_rows_ = int(d.get("n_rows", 0))
        if s.mean_.shape != s.std_.shape or s.mean_.ndim != 1:
            raise MirlearnError(f"band standardisation: mean {s.mean_.shape} and std {s.std_.shape} must be equal 1-D")
        return s


def gather(X: np.ndarray, grid: PatchGrid, index: np.ndarray, patch_frames: int,
           standardizer: BandStandardizer | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """A batch of patches as bands × frames: the one copy of the data per batch.

    Parameters
    ----------
    X : np.ndarray [shape=(n_rows, n_bands)], float
        The frame matrix (a read-only memmap is fine: only the batch's rows are read).
    grid : PatchGrid
    index : np.ndarray [shape=(batch,)], int
        Which patches of ``grid``, in the order wanted.
    patch_frames : int
        Frames per patch (``grid.length`` never exceeds it).
    standardizer : BandStandardizer or None
        Applied per band when given.
    out : np.ndarray [shape=(>= batch, n_bands, patch_frames)], float32, or None
        Reused buffer (its first ``batch`` entries are overwritten and returned).

    Returns
    -------
    np.ndarray [shape=(batch, n_bands, patch_frames)], float32
        Patch ``k`` is ``X[s:s + L].T`` standardised, then zeros in frames ``L:`` (zero is the
        band's training mean after standardising), with ``s, L = grid.starts[i], grid.length[i]``.
    """
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    P, B, n_bands = int(patch_frames), len(index), X.shape[1]
    if out is None:
        out = np.empty((B, n_bands, P), dtype=np.float32)
    else:
        if out.dtype != np.float32 or out.ndim != 3 or out.shape[0] < B or out.shape[1:] != (n_bands, P):
            raise ValueError(f"out must be float32 of shape (>={B}, {n_bands}, {P}), got {out.dtype} {out.shape}")
        out = out[:B]
    starts, lengths = grid.starts[index], grid.length[index]
    if B and int(lengths.max()) > P:
        raise ValueError(f"grid patches of {int(lengths.max())} frames do not fit patch_frames={P}")
    for k in range(B):
        s, L = int(starts[k]), int(lengths[k])
        # The transposed view of the rows is written straight into the batch: one copy.
        out[k, :, :L] = X[s:s + L].T
        if L < P:
            # A fresh or reused buffer holds anything there (NaN too): clear it before arithmetic.
            out[k, :, L:] = 0.0
    if standardizer is not None:
        standardizer._check_fitted()
        if len(standardizer.mean_) != n_bands:
            raise MirlearnError(f"the band standardisation has {len(standardizer.mean_)} bands, the frames {n_bands}")
        mean, inv = standardizer._float32_params()
        out -= mean[:, None]
        out *= inv[:, None]
        # Padding after standardising: padded frames are exactly 0 (the band mean).
        for k in np.flatnonzero(lengths < P):
            out[k, :, int(lengths[k]):] = 0.0
    return out

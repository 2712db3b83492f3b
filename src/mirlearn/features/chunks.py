"""Reading a (possibly memory-mapped) frame matrix in bounded chunks of rows."""

from __future__ import annotations

from typing import Iterator

import numpy as np

#: Values read per chunk when no chunk size is given: 8 M (64 MB in float64).
CHUNK_VALUES = 8 << 20


def chunk_rows_for(dim: int, chunk_rows: int | None = None) -> int:
    """Rows per chunk: ``chunk_rows`` if given (must be ≥ 1), else about 8 M values, at most 65 536 rows."""
    if chunk_rows is not None:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
        return int(chunk_rows)
    return max(1, min(65536, CHUNK_VALUES // max(dim, 1)))


def float64_chunks(X: np.ndarray, rows: np.ndarray | None, step: int) -> Iterator[np.ndarray]:
    """Copies of consecutive chunks of ``X`` (or of ``X[rows]``) in float64, ``step`` rows each.

    ``rows`` are sorted first so that a memory map is read front to back; statistics such as
    means and covariances do not depend on the order. The chunks are copies, so callers may
    centre them in place without touching ``X``.
    """
    if rows is not None:
        rows = np.sort(np.asarray(rows, dtype=np.int64).ravel())
        n_total = len(rows)
    else:
        n_total = int(X.shape[0])
    for start in range(0, n_total, step):
        stop = min(start + step, n_total)
        chunk = X[rows[start:stop]] if rows is not None else X[start:stop]
        yield np.array(chunk, dtype=np.float64)


def merge_moments(n_a: int, mean_a: np.ndarray, m2_a: np.ndarray, chunk: np.ndarray, *, full: bool
                  ) -> tuple[int, np.ndarray, np.ndarray]:
    """Add a chunk of rows to running (count, mean, scatter) statistics.

    Chan, Golub & LeVeque (1979): the chunk's scatter is taken around its own mean and merged
    with a correction term, which keeps float64 accuracy for features with large means.

    Parameters
    ----------
    n_a, mean_a, m2_a : rows seen so far, their mean ``(dim,)`` and scatter — ``(dim,)``
        (sums of squared deviations) or ``(dim, dim)`` when ``full``
    chunk : np.ndarray [shape=(n_b, dim)], float64; centred in place
    full : keep the full scatter matrix (for a covariance) instead of its diagonal

    Returns
    -------
    (n, mean, m2) of all rows
    """
    n_b = chunk.shape[0]
    if n_b == 0:
        return n_a, mean_a, m2_a
    mean_b = chunk.mean(axis=0)
    chunk -= mean_b
    m2_b = chunk.T @ chunk if full else np.einsum("ij,ij->j", chunk, chunk)
    n = n_a + n_b
    delta = mean_b - mean_a
    correction = np.outer(delta, delta) if full else delta * delta
    return n, mean_a + delta * (n_b / n), m2_a + m2_b + correction * (n_a * n_b / n)


class StreamingMoments:
    """Mixin of estimators fitted on the count, mean and scatter of (many) rows.

    ``partial_fit`` of the standardiser (diagonal scatter) and of PMSC (full scatter) read the
    rows in bounded float64 chunks and merge them with :func:`merge_moments`.
    """

    chunk_rows: int | None = None
    _full_scatter: bool = False
    _what: str = "the estimator"

    def _chunk_rows(self, dim: int) -> int:
        return chunk_rows_for(dim, self.chunk_rows)

    def _accumulate(self, X: np.ndarray, rows: np.ndarray | None) -> None:
        X = X if hasattr(X, "ndim") else np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be two-dimensional (n_frames, dim), got shape {X.shape}")
        dim = int(X.shape[1])
        if not hasattr(self, "n_samples_seen_"):
            self.n_samples_seen_ = 0
            self.mean_ = np.zeros(dim, dtype=np.float64)
            self._m2 = np.zeros((dim, dim) if self._full_scatter else dim, dtype=np.float64)
        elif self.mean_.shape != (dim,):
            raise ValueError(f"X has {dim} dimensions, {self._what} was fitted on {self.mean_.shape[0]}")
        for chunk in float64_chunks(X, rows, self._chunk_rows(dim)):
            self.n_samples_seen_, self.mean_, self._m2 = merge_moments(
                self.n_samples_seen_, self.mean_, self._m2, chunk, full=self._full_scatter)

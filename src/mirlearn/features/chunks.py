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

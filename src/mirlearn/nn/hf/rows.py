"""Reading a frame matrix chunk of rows at a time.

The training set may be a read-only ``np.memmap`` far larger than memory (GTZAN: ≈ 650 000 ×
513 float32 = 2.6 GB); every pass over it converts one chunk of rows to a tensor, uses it and
drops it, so memory stays bounded by the chunk size whatever the data size.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

__all__ = ["take_rows", "row_slices", "split_rows", "first_nonfinite_row"]


def take_rows(X: np.ndarray | torch.Tensor, rows: slice | np.ndarray, *,
              dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
    """Rows of ``X`` [shape=(n, dim)] as a new tensor of ``dtype`` on ``device``.

    ``rows`` is a slice or a sorted index array; a sorted index keeps memmap reads sequential.
    """
    if isinstance(X, torch.Tensor):
        index = rows if isinstance(rows, slice) else torch.as_tensor(rows, device=X.device)
        return X[index].to(device=device, dtype=dtype)
    a = np.asarray(X[rows])
    a = np.ascontiguousarray(a, dtype=torch.empty((), dtype=dtype).numpy().dtype)
    if not a.flags.writeable:  # a memmap slice: torch wants memory it may write
        a = a.copy()
    return torch.from_numpy(a).to(device)


def row_slices(n: int, chunk_rows: int) -> Iterator[slice]:
    """Consecutive slices of at most ``chunk_rows`` rows covering ``range(n)``."""
    for start in range(0, n, chunk_rows):
        yield slice(start, min(start + chunk_rows, n))


def split_rows(index: np.ndarray, chunk_rows: int) -> list[np.ndarray]:
    """``index`` cut into consecutive pieces of at most ``chunk_rows`` entries."""
    return [index[i:i + chunk_rows] for i in range(0, len(index), chunk_rows)]


def first_nonfinite_row(X: np.ndarray | torch.Tensor, chunk_rows: int = 65536) -> int | None:
    """Index of the first row of ``X`` holding NaN or ±inf, or None (one pass, chunked)."""
    for sl in row_slices(len(X), chunk_rows):
        block = X[sl]
        bad = ~torch.isfinite(block).all(dim=1) if isinstance(block, torch.Tensor) \
            else ~np.isfinite(np.asarray(block)).all(axis=1)
        hit = np.flatnonzero(bad.cpu().numpy() if isinstance(bad, torch.Tensor) else bad)
        if hit.size:
            return sl.start + int(hit[0])
    return None

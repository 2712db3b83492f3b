"""Per-dimension standardisation (zero mean, unit variance), fitted by streaming.

The statistics are fitted on the frames of the training tracks only and saved with the
model. The frame matrix may be a memory-mapped file larger than memory (GTZAN is 2.65 GB),
so :class:`Standardizer` reads it in chunks of rows and accumulates in float64 with Chan's
parallel update of mean and centred sum of squares, which is stable where the textbook
``sum(x**2) - n * mean**2`` loses every digit on large-mean, small-variance dimensions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mirlearn.features.chunks import StreamingMoments

#: Dimensions whose standard deviation is below this are left unscaled (scale 1).
STD_FLOOR = 1e-8


class Standardizer(StreamingMoments):
    """Subtract the mean and divide by the standard deviation of every dimension.

    scikit-learn style: hyper-parameters are constructor arguments, :meth:`fit` returns
    ``self``, fitted state ends in ``_``.

    Parameters
    ----------
    chunk_rows : int or None
        Rows read (and converted to float64) at a time. ``None`` picks about 8 M values
        per chunk (16 k rows at 513 dims, 64 MB of float64), bounding memory whatever the
        width of the matrix.
    std_floor : float
        A dimension with standard deviation below this gets scale 1 instead, so that
        constant dimensions map to 0 rather than to inf/NaN.

    Attributes
    ----------
    mean_ : np.ndarray [shape=(dim,)], float64
    var_ : np.ndarray [shape=(dim,)], float64
        Population variance (``ddof=0``).
    scale_ : np.ndarray [shape=(dim,)], float64
        ``sqrt(var_)``, with 1 where it is below ``std_floor``.
    n_samples_seen_ : int
        Rows accumulated so far.

    Examples
    --------
    >>> X = np.arange(12, dtype=np.float32).reshape(4, 3)
    >>> s = Standardizer().fit(X)
    >>> s.transform(X)[:, 0]
    array([-1.3416408, -0.4472136,  0.4472136,  1.3416408], dtype=float32)
    """

    _full_scatter = False
    _what = "the standardiser"

    def __init__(self, chunk_rows: int | None = None, std_floor: float = STD_FLOOR) -> None:
        self.chunk_rows = chunk_rows
        self.std_floor = std_floor

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, X: np.ndarray, rows: np.ndarray | None = None) -> "Standardizer":
        """Fit the statistics of ``X`` (or of its ``rows``), forgetting earlier fits.

        Parameters
        ----------
        X : np.ndarray [shape=(n_frames, dim)]
            Any float dtype; may be a read-only ``np.memmap``; only ``chunk_rows`` rows are
            in memory at a time.
        rows : np.ndarray [shape=(n_rows,)], int, optional
            Row indices of ``X`` to fit on (e.g. ``FrameSet.frame_rows(train_ids)``), so
            that the training frames need not be copied out. Order and repeats count as
            given (each listed row is one sample).

        Returns
        -------
        Standardizer
            ``self``.

        Raises
        ------
        ValueError
            If there are no rows to fit on.
        """
        for attr in ("mean_", "var_", "scale_", "n_samples_seen_", "_m2"):
            self.__dict__.pop(attr, None)
        self.partial_fit(X, rows=rows)
        if self.n_samples_seen_ == 0:
            raise ValueError("no rows to fit the standardiser on")
        return self

    def partial_fit(self, X: np.ndarray, rows: np.ndarray | None = None) -> "Standardizer":
        """Add the rows of ``X`` (or its ``rows``) to the statistics fitted so far.

        Parameters are as for :meth:`fit`. Fitting in any number of ``partial_fit`` calls
        gives the statistics of all rows together (up to float64 rounding).
        """
        self._accumulate(X, rows)
        self._finish()
        return self

    def _finish(self) -> None:
        n = max(self.n_samples_seen_, 1)
        self.var_ = self._m2 / n
        std = np.sqrt(self.var_)
        self.scale_ = np.where(std < self.std_floor, 1.0, std)

    # -- transforming -------------------------------------------------------------------------
    def _check_fitted(self, X: np.ndarray) -> None:
        if not hasattr(self, "scale_") or self.n_samples_seen_ == 0:
            raise RuntimeError("this Standardizer is not fitted yet; call fit() first")
        if X.ndim != 2 or X.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"X has shape {X.shape}, expected (n, {self.mean_.shape[0]})")

    def transform(self, X: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """Standardise ``X``: ``(X - mean_) / scale_`` in float32.

        Parameters
        ----------
        X : np.ndarray [shape=(n_frames, dim)]
            Any float dtype; may be memory-mapped (read chunk by chunk).
        out : np.ndarray [shape=(n_frames, dim)], float32, optional
            Where to write the result (e.g. a writable ``np.memmap``, or ``X`` itself for
            in-place); a new array when omitted.

        Returns
        -------
        np.ndarray [shape=(n_frames, dim)], float32
        """
        self._check_fitted(X)
        if out is None:
            out = np.empty(X.shape, dtype=np.float32)
        elif out.shape != X.shape or out.dtype != np.float32:
            raise ValueError(f"out must be float32 of shape {X.shape}, got {out.dtype} {out.shape}")
        # The mean as a float32 pair hi + lo: X - hi is exact for values near the mean
        # (Sterbenz), so a large-mean, small-spread dimension keeps its digits; a single
        # float32 mean would shift it by up to half an ulp of the mean (1e-4 std at
        # mean 50, std 0.01).
        mean_hi = self.mean_.astype(np.float32)
        mean_lo = (self.mean_ - mean_hi).astype(np.float32)
        scale = self.scale_.astype(np.float32)
        step = self._chunk_rows(X.shape[1])
        for start in range(0, X.shape[0], step):
            o = out[start:start + step]
            np.subtract(X[start:start + step], mean_hi, out=o, casting="unsafe")
            o -= mean_lo
            o /= scale
        return out

    def fit_transform(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """:meth:`fit` on ``X`` (or its ``rows``), then :meth:`transform` all of ``X``."""
        return self.fit(X, rows=rows).transform(X)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: ``X * scale_ + mean_``, float32."""
        self._check_fitted(X)
        return (np.asarray(X, dtype=np.float32) * self.scale_.astype(np.float32)
                + self.mean_.astype(np.float32))

    # -- saving -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The fitted state, to save with the model (numpy arrays and plain numbers).

        Suitable for ``torch.save``, ``np.savez`` (one entry per key) or, after
        ``.tolist()``, JSON.
        """
        if not hasattr(self, "scale_"):
            raise RuntimeError("this Standardizer is not fitted yet; call fit() first")
        return {
            "mean": self.mean_.copy(),
            "var": self.var_.copy(),
            "scale": self.scale_.copy(),
            "n_samples_seen": int(self.n_samples_seen_),
            "std_floor": float(self.std_floor),
            "chunk_rows": self.chunk_rows,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> "Standardizer":
        """Rebuild a fitted standardiser from :meth:`state_dict`'s output.

        ``partial_fit`` may continue from it: the centred sum of squares is recovered
        from ``var * n_samples_seen``.
        """
        chunk_rows = state.get("chunk_rows")
        s = cls(chunk_rows=None if chunk_rows is None else int(chunk_rows),
                std_floor=float(state.get("std_floor", STD_FLOOR)))
        s.mean_ = np.asarray(state["mean"], dtype=np.float64).copy()
        s.var_ = np.asarray(state["var"], dtype=np.float64).copy()
        s.n_samples_seen_ = int(state["n_samples_seen"])
        s._m2 = s.var_ * s.n_samples_seen_
        s.scale_ = np.asarray(state["scale"], dtype=np.float64).copy()
        if not (s.mean_.shape == s.var_.shape == s.scale_.shape) or s.mean_.ndim != 1:
            raise ValueError("state_dict arrays mean/var/scale must be 1-D of one length")
        return s

    def __repr__(self) -> str:
        fitted = f", fitted on {self.n_samples_seen_} rows" if hasattr(self, "scale_") else ""
        return f"Standardizer(chunk_rows={self.chunk_rows}, std_floor={self.std_floor}{fitted})"

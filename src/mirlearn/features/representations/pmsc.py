"""PMSC, the principal mel-spectrum components of Hamel & Eck: PCA whitening of log-mel rows.

The PMSC baseline of the paper's Table 2 (68.45 % on ISMIR 2004). It is not a frame kind:
it needs a fit on the training tracks, so the cache holds ``"logmel"`` frames and a
:class:`PMSC` fitted on the training rows is applied afterwards, like the standardiser.

Examples
--------
>>> from mirlearn.features.representations.mel import logmel_frames
>>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
>>> pmsc = PMSC().fit(logmel_frames(y))
>>> pmsc.transform(logmel_frames(y)).shape
(42, 128)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mirlearn.features.chunks import StreamingMoments


class PMSC(StreamingMoments):
    """Principal mel-spectrum components: PCA whitening of log-mel frames.

    Hamel & Eck's baseline: the log mel spectrum of each frame (here
    :func:`~mirlearn.features.representations.mel.logmel_frames`, 128 bands by default) projected on the principal axes of the *training* frames and
    scaled to unit variance, ``z = (x - mean_) @ components_.T / sqrt(explained_variance_
    + eps)``. The paper reproduced does not give the band count nor how many components
    were kept; we use 128 bands and keep all components unless ``n_components`` says
    otherwise. Works on any frame matrix, not only log-mel.

    The fit streams the rows in chunks and accumulates the mean and the centred scatter
    matrix in float64 with Chan's pairwise update, so a memory-mapped matrix larger than
    memory can be fitted and the result does not depend on the chunking (up to rounding).
    scikit-learn style: hyper-parameters in the constructor, :meth:`fit` returns ``self``,
    fitted state ends in ``_``.

    Parameters
    ----------
    n_components : int or None
        Components kept, largest variance first; ``None`` keeps all ``dim``.
    eps : float
        Added to every eigenvalue before the inverse square root (input units squared,
        dB² for log-mel), so that (near-)constant directions are not blown up to inf.
        Covariance of the output on the training frames is ``λ / (λ + eps)`` per
        component: identity to within ``eps / λ_min``.
    chunk_rows : int or None
        Rows converted to float64 at a time; ``None``: about 8 M values per chunk.

    Attributes
    ----------
    mean_ : np.ndarray [shape=(dim,)], float64
    components_ : np.ndarray [shape=(n_components_, dim)], float64
        Orthonormal principal axes, by decreasing variance; each row's entry of largest
        magnitude is positive (a deterministic sign).
    explained_variance_ : np.ndarray [shape=(n_components_,)], float64
        Eigenvalues of the population covariance (``ddof=0``), negatives clipped to 0.
    covariance_ : np.ndarray [shape=(dim, dim)], float64
        Population covariance of the rows seen.
    n_components_ : int
    n_samples_seen_ : int

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((1000, 8)) @ np.diag([1, 2, 3, 4, 5, 6, 7, 8])
    >>> Z = PMSC(eps=0.0).fit(X).transform(X, dtype=np.float64)
    >>> bool(np.allclose(Z.T @ Z / len(Z), np.eye(8)))
    True
    """

    _full_scatter = True
    _what = "PMSC"

    def __init__(self, n_components: int | None = None, eps: float = 1e-8,
                 chunk_rows: int | None = None) -> None:
        self.n_components = n_components
        self.eps = eps
        self.chunk_rows = chunk_rows

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, X: np.ndarray, rows: np.ndarray | None = None) -> "PMSC":
        """Fit mean and principal axes on ``X`` (or its ``rows``), forgetting earlier fits.

        Parameters
        ----------
        X : np.ndarray [shape=(n_frames, dim)]
            The *training* frames, any float dtype; may be a read-only ``np.memmap``.
        rows : np.ndarray [shape=(n_rows,)], int, optional
            Row indices of ``X`` to fit on (e.g. the rows of the training tracks in a
            frame set shared with the test tracks).

        Returns
        -------
        PMSC
            ``self``.

        Raises
        ------
        ValueError
            If there are fewer than 2 rows, or ``n_components`` exceeds ``dim``.
        """
        for attr in ("mean_", "_m2", "n_samples_seen_", "covariance_", "components_",
                     "explained_variance_", "n_components_"):
            self.__dict__.pop(attr, None)
        self.partial_fit(X, rows=rows)
        return self

    def partial_fit(self, X: np.ndarray, rows: np.ndarray | None = None) -> "PMSC":
        """Add the rows of ``X`` (or its ``rows``) to the fit so far and refit the axes.

        Parameters are as for :meth:`fit`. Any sequence of ``partial_fit`` calls gives the
        fit of all rows together (up to float64 rounding); e.g. one call per track.
        """
        self._accumulate(X, rows)
        self._finish()
        return self

    def _finish(self) -> None:
        dim = self.mean_.shape[0]
        if self.n_samples_seen_ < 2:
            raise ValueError(f"PMSC needs at least 2 rows to fit, got {self.n_samples_seen_}")
        k = dim if self.n_components is None else int(self.n_components)
        if not 1 <= k <= dim:
            raise ValueError(f"n_components must be in [1, {dim}], got {self.n_components}")
        if self.eps < 0:
            raise ValueError(f"eps must be non-negative, got {self.eps}")
        m2 = (self._m2 + self._m2.T) / 2  # exactly symmetric
        self.covariance_ = m2 / self.n_samples_seen_
        evals, evecs = np.linalg.eigh(self.covariance_)
        order = np.argsort(evals)[::-1][:k]
        evals = np.clip(evals[order], 0.0, None)
        comps = evecs[:, order].T
        # Deterministic signs: the largest-magnitude entry of every axis is positive.
        big = np.argmax(np.abs(comps), axis=1)
        comps *= np.sign(comps[np.arange(k), big])[:, None]
        self.components_ = comps
        self.explained_variance_ = evals
        self.n_components_ = k

    # -- transforming -------------------------------------------------------------------------
    def _check_fitted(self, X: np.ndarray) -> None:
        if not hasattr(self, "components_"):
            raise RuntimeError("this PMSC is not fitted yet; call fit() first")
        if X.ndim != 2 or X.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"X has shape {X.shape}, expected (n, {self.mean_.shape[0]})")

    @property
    def whitening_(self) -> np.ndarray:
        """Matrix ``W`` with ``transform(X) = (X - mean_) @ W``, shape ``(dim, n_components_)``."""
        if not hasattr(self, "components_"):
            raise RuntimeError("this PMSC is not fitted yet; call fit() first")
        return self.components_.T / np.sqrt(self.explained_variance_ + self.eps)

    def transform(self, X: np.ndarray, *, dtype: Any = np.float32,
                  out: np.ndarray | None = None) -> np.ndarray:
        """Whiten ``X``: ``(X - mean_) @ components_.T / sqrt(explained_variance_ + eps)``.

        Parameters
        ----------
        X : np.ndarray [shape=(n_frames, dim)]
            Frames of the same kind as the training frames (any tracks); may be
            memory-mapped; computed in float64 chunk by chunk.
        dtype : numpy dtype
            Output dtype (float32 for frame matrices; float64 for exact checks).
        out : np.ndarray [shape=(n_frames, n_components_)], optional
            Where to write the result (e.g. a writable ``np.memmap``).

        Returns
        -------
        np.ndarray [shape=(n_frames, n_components_)]
            Whitened frames: on the training frames, mean 0 and covariance the identity
            (to within ``eps / λ_min``), in units of standard deviations.
        """
        self._check_fitted(X)
        shape = (X.shape[0], self.n_components_)
        if out is None:
            out = np.empty(shape, dtype=dtype)
        elif out.shape != shape:
            raise ValueError(f"out must have shape {shape}, got {out.shape}")
        W = self.whitening_
        step = self._chunk_rows(X.shape[1])
        for start in range(0, X.shape[0], step):
            chunk = np.array(X[start:start + step], dtype=np.float64)
            chunk -= self.mean_
            out[start:start + step] = chunk @ W
        return out

    def fit_transform(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """:meth:`fit` on ``X`` (or its ``rows``), then :meth:`transform` all of ``X`` (float32)."""
        return self.fit(X, rows=rows).transform(X)

    # -- saving -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The fitted state (numpy arrays and plain numbers), to save with the model.

        Holds the covariance too, so that :meth:`from_state_dict` can continue with
        :meth:`partial_fit` or refit with another ``n_components``.
        """
        if not hasattr(self, "components_"):
            raise RuntimeError("this PMSC is not fitted yet; call fit() first")
        return {
            "mean": self.mean_.copy(),
            "covariance": self.covariance_.copy(),
            "components": self.components_.copy(),
            "explained_variance": self.explained_variance_.copy(),
            "n_samples_seen": int(self.n_samples_seen_),
            "n_components": self.n_components,
            "eps": float(self.eps),
            "chunk_rows": self.chunk_rows,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> "PMSC":
        """Rebuild a fitted PMSC from :meth:`state_dict`'s output."""
        n_components = state.get("n_components")
        chunk_rows = state.get("chunk_rows")
        p = cls(n_components=None if n_components is None else int(n_components),
                eps=float(state["eps"]),
                chunk_rows=None if chunk_rows is None else int(chunk_rows))
        p.mean_ = np.asarray(state["mean"], dtype=np.float64).copy()
        p.covariance_ = np.asarray(state["covariance"], dtype=np.float64).copy()
        p.components_ = np.asarray(state["components"], dtype=np.float64).copy()
        p.explained_variance_ = np.asarray(state["explained_variance"], dtype=np.float64).copy()
        p.n_samples_seen_ = int(state["n_samples_seen"])
        p.n_components_ = p.components_.shape[0]
        p._m2 = p.covariance_ * p.n_samples_seen_
        dim = p.mean_.shape[0]
        if (p.mean_.ndim != 1 or p.covariance_.shape != (dim, dim)
                or p.components_.shape[1:] != (dim,)
                or p.explained_variance_.shape != (p.n_components_,)):
            raise ValueError("inconsistent PMSC state_dict: shapes of mean, covariance, "
                             "components and explained_variance do not agree")
        return p

    def __repr__(self) -> str:
        fitted = (f", fitted on {self.n_samples_seen_} rows"
                  if hasattr(self, "components_") else "")
        return (f"PMSC(n_components={self.n_components}, eps={self.eps}, "
                f"chunk_rows={self.chunk_rows}{fitted})")

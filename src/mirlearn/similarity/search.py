"""Nearest-neighbour search over an index's vectors: exact (scikit-learn) or a FAISS HNSW graph.

Measured on 2 cores (``python -m benchmarks.bench_index``, BENCHMARKS.md): scikit-learn's brute
force is within 1.2× of a bare numpy matrix product from 10 k tracks up, and from there FAISS's
exact ``IndexFlatIP`` is no faster than it (1.2–2.4× slower). FAISS's HNSW graph answers a query 1.4×
faster at 10 k tracks and 5.7× faster at 100 k, with recall@10 of 1.000 and 0.997 on vectors
correlated as learned features are (``efSearch`` 128), at the price of building the graph
(14.5 s for 100 k × 400). So ``auto`` searches exactly below :data:`HNSW_MIN_TRACKS` tracks and
with HNSW from there when ``faiss-cpu`` is installed (an optional dependency: ``pip install
mirlearn[faiss]``); the graph is saved with the index, so ``mirlearn similar`` does not rebuild it.

Both return distances of the index's metric: cosine distance ``1 - cos`` or Euclidean distance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mirlearn.errors import MirlearnError

__all__ = ["SEARCHES", "HNSW_MIN_TRACKS", "HNSW_EF_SEARCH", "faiss_available", "resolve_search",
           "ExactSearch", "HNSWSearch", "make_search"]

#: The search names an index accepts.
SEARCHES = ("auto", "exact", "hnsw")
#: ``auto`` uses the HNSW graph from this many tracks (when FAISS is installed).
HNSW_MIN_TRACKS = 50_000
#: Graph degree and search breadth of the HNSW index (recall@10 ≥ 0.997 in the benchmark).
HNSW_M = 32
HNSW_EF_SEARCH = 128
HNSW_EF_CONSTRUCTION = 40


def faiss_available() -> bool:
    """True when ``faiss`` (the ``faiss-cpu`` package) can be imported."""
    try:
        import faiss  # noqa: F401  # type: ignore[import-not-found]
    except ImportError:
        return False
    return True


def resolve_search(search: str, n_tracks: int) -> str:
    """``exact`` or ``hnsw`` for ``search`` on a collection of ``n_tracks``.

    Raises MirlearnError for an unknown name, or ``hnsw`` without FAISS installed.
    """
    if search not in SEARCHES:
        raise MirlearnError(f"search {search!r}: use one of {', '.join(SEARCHES)}")
    if search == "auto":
        return "hnsw" if n_tracks >= HNSW_MIN_TRACKS and faiss_available() else "exact"
    if search == "hnsw" and not faiss_available():
        raise MirlearnError("search 'hnsw' needs FAISS: pip install faiss-cpu (or mirlearn[faiss])")
    return search


class ExactSearch:
    """scikit-learn's brute-force ``NearestNeighbors``: exact, BLAS-bound."""

    kind = "exact"

    def __init__(self, Z: np.ndarray, metric: str) -> None:
        from sklearn.neighbors import NearestNeighbors

        self._nn = NearestNeighbors(metric=metric, algorithm="brute").fit(Z)

    def kneighbors(self, Q: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(distances, rows)``, each ``(n_queries, n)``, nearest first."""
        return self._nn.kneighbors(Q, n_neighbors=n)


class HNSWSearch:
    """A FAISS HNSW graph over the vectors (L2-normalised for the cosine distance)."""

    kind = "hnsw"

    def __init__(self, Z: np.ndarray, metric: str, graph: Any = None) -> None:
        import faiss  # type: ignore[import-not-found]

        self.metric = metric
        if graph is None:
            kind = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
            graph = faiss.IndexHNSWFlat(Z.shape[1], HNSW_M, kind)
            graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            graph.add(self._prepare(Z))
        graph.hnsw.efSearch = HNSW_EF_SEARCH
        self.graph = graph

    def _prepare(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float32)
        if self.metric == "cosine":
            X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        return X

    def kneighbors(self, Q: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(distances, rows)``, each ``(n_queries, n)``, nearest first; rows the graph could
        not reach are ``-1`` with distance ``inf``."""
        sims, rows = self.graph.search(self._prepare(Q), int(n))
        sims = sims.astype(np.float64)
        dist = 1.0 - sims if self.metric == "cosine" else np.sqrt(np.maximum(sims, 0.0))
        dist[rows < 0] = np.inf
        return dist, rows.astype(np.int64)

    def save(self, path: str | Path) -> None:
        """Write the graph (``faiss.write_index``) to ``path``."""
        import faiss  # type: ignore[import-not-found]

        faiss.write_index(self.graph, str(path))

    @classmethod
    def load(cls, path: str | Path, metric: str) -> "HNSWSearch":
        """The graph written by :meth:`save`."""
        import faiss  # type: ignore[import-not-found]

        try:
            graph = faiss.read_index(str(path))
        except RuntimeError as e:
            raise MirlearnError(f"{path}: unreadable FAISS index ({str(e).splitlines()[0]})") from None
        return cls(np.empty((0, graph.d), np.float32), metric, graph=graph)


def make_search(kind: str, Z: np.ndarray, metric: str) -> ExactSearch | HNSWSearch:
    """The search of ``kind`` (``exact`` or ``hnsw``) built over ``Z``."""
    return HNSWSearch(Z, metric) if kind == "hnsw" else ExactSearch(Z, metric)

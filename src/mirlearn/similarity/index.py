"""A collection's track vectors, standardised, with a nearest-neighbour search over them.

A :class:`TrackIndex` holds one vector per track (:func:`mirlearn.features.aggregate.track_statistics`
of a model's features, or of MFCC frames), the track ids, audio paths, labels and artists, and
the standardisation fitted on the collection (scikit-learn's ``StandardScaler``: every value
counts alike, whatever its scale). Queries go through scikit-learn's brute-force
``NearestNeighbors`` (exact), or from :data:`~mirlearn.similarity.search.HNSW_MIN_TRACKS` tracks
a FAISS HNSW graph when FAISS is installed (:mod:`mirlearn.similarity.search` says why).

On disk, a folder::

    INDEX/index.npz    vectors (n × d, float32, as computed), mean, scale
    INDEX/index.json   format, version, metric, search, ids, paths, labels, artists, columns, source
    INDEX/distance.pt  a learned distance (siamese net), when the index has one
    INDEX/hnsw.faiss   the HNSW graph, when the index searches with one
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mirlearn.errors import MirlearnError
from mirlearn.io import atomic_path, atomic_write_json
from mirlearn.similarity.distances import check_metric
from mirlearn.similarity.metrics import RetrievalScores, retrieval_scores
from mirlearn.similarity.search import SEARCHES, HNSWSearch, make_search, resolve_search

__all__ = ["TrackIndex", "INDEX_FORMAT", "INDEX_VERSION"]

INDEX_FORMAT = "mirlearn.index"
INDEX_VERSION = 1
#: The learned distance's weights in an index folder.
LEARNED_NAME = "distance.pt"
#: The HNSW graph in an index folder.
GRAPH_NAME = "hnsw.faiss"


@dataclass
class TrackIndex:
    """Track vectors of a collection and what is known of every track.

    Attributes
    ----------
    vectors : np.ndarray [shape=(n_tracks, dim)], float32, as computed (not standardised)
    ids, paths, labels : one per track (label "" when unknown)
    artists : one per track, None where unknown
    metric : "cosine" or "euclidean", on standardised vectors
    columns : a name per value of a vector (``layer2_unit007_mean``, ``mfcc03_var``)
    source : what made the vectors (model folder, layers, frame settings), plain JSON
    mean, scale : the standardisation, fitted on ``vectors``
    search : "auto", "exact" or "hnsw" (see :mod:`mirlearn.similarity.search`)
    """

    vectors: np.ndarray
    ids: list[str]
    paths: list[str]
    labels: list[str]
    artists: list[str | None]
    metric: str = "cosine"
    columns: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    #: a learned distance (:class:`~mirlearn.similarity.siamese.DistanceLearner`): standardised
    #: vectors are embedded by it and searched with the Euclidean distance
    learned: Any = None
    search: str = "auto"

    def __post_init__(self) -> None:
        self.vectors = np.asarray(self.vectors, dtype=np.float32)
        n = len(self.vectors)
        check_metric(self.metric)
        for name in ("ids", "paths", "labels", "artists"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{len(getattr(self, name))} {name} for {n} vectors")
        if self.vectors.ndim != 2 or not np.isfinite(self.vectors).all():
            raise ValueError("vectors must be a finite n_tracks × dim matrix")
        if self.search not in SEARCHES:
            raise ValueError(f"search {self.search!r}: use one of {', '.join(SEARCHES)}")
        if self.learned is not None and self.metric != "euclidean":
            raise ValueError("a learned distance is Euclidean between its embeddings")
        if self.mean is None or self.scale is None:
            from sklearn.preprocessing import StandardScaler

            sc = StandardScaler().fit(self.vectors.astype(np.float64))
            self.mean, self.scale = sc.mean_.astype(np.float32), sc.scale_.astype(np.float32)
        self._position = {t: i for i, t in enumerate(self.ids)}
        self._nn: Any = None

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def dim(self) -> int:
        """Values per vector."""
        return int(self.vectors.shape[1])

    def position(self, track_id: str) -> int:
        """Row of a track id (KeyError when absent)."""
        return self._position[track_id]

    def standardized(self, X: np.ndarray | None = None) -> np.ndarray:
        """``(X - mean) / scale`` as float32; the collection's own vectors when ``X`` is None."""
        X = self.vectors if X is None else np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise MirlearnError(f"query vectors have {X.shape[-1]} values; this index's have {self.dim} "
                                "(made by another model or feature choice)")
        return ((X - self.mean) / self.scale).astype(np.float32)

    def space(self, X: np.ndarray | None = None) -> np.ndarray:
        """The vectors the search compares: standardised, then embedded by the learned distance
        when there is one; the collection's own when ``X`` is None."""
        Z = self.standardized(X)
        return Z if self.learned is None else self.learned.transform(Z)

    def rows(self, rows: Sequence[int]) -> "TrackIndex":
        """The index of some of the tracks, with this index's standardisation and distance."""
        r = list(rows)
        return TrackIndex(self.vectors[r], [self.ids[i] for i in r], [self.paths[i] for i in r],
                          [self.labels[i] for i in r], [self.artists[i] for i in r], metric=self.metric,
                          columns=self.columns, source=dict(self.source), mean=self.mean, scale=self.scale,
                          learned=self.learned, search=self.search)

    @property
    def search_kind(self) -> str:
        """The search queries use: ``exact`` or ``hnsw`` (``auto`` resolved for this collection)."""
        return resolve_search(self.search, len(self))

    def _neighbors(self) -> Any:
        if self._nn is None:
            self._nn = make_search(self.search_kind, self.space(), self.metric)
        return self._nn

    def query(self, X: np.ndarray, k: int = 10, *, exclude: Sequence[Sequence[int]] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest tracks of each query vector.

        Parameters
        ----------
        X : np.ndarray [shape=(n_queries, dim)], query track vectors as computed (the index
            standardises them)
        k : neighbours per query (at most the collection's size)
        exclude : per query, rows never returned (e.g. the query itself when it is in the
            collection, or its artist's tracks)

        Returns
        -------
        rows, distances : np.ndarray [shape=(n_queries, k)]
            Rows into the collection, nearest first; ``-1`` and ``inf`` pad a query that has
            fewer than ``k`` tracks left after its exclusions.
        """
        if k < 1:
            raise MirlearnError(f"k must be >= 1, got {k}")
        Q = self.space(X)
        extra = max((len(e) for e in exclude), default=0) if exclude is not None else 0
        n_ask = min(len(self), k + extra)
        dist, rows = self._neighbors().kneighbors(Q, n_ask)
        out_rows = np.full((len(Q), k), -1, dtype=np.int64)
        out_dist = np.full((len(Q), k), np.inf, dtype=np.float64)
        for i in range(len(Q)):
            r, d = rows[i], dist[i]
            if (r < 0).any():  # an approximate search may return fewer than asked
                r, d = r[r >= 0], d[r >= 0]
            if exclude is not None and len(exclude[i]):
                keep = ~np.isin(r, np.asarray(exclude[i], dtype=np.int64))
                r, d = r[keep], d[keep]
            out_rows[i, :min(k, len(r))] = r[:k]
            out_dist[i, :min(k, len(d))] = d[:k]
        return out_rows, out_dist

    def same_artist(self, row: int) -> list[int]:
        """Rows of the tracks that share ``row``'s artist (itself included); [row] when unknown."""
        a = self.artists[row]
        if not a:
            return [row]
        return [i for i, b in enumerate(self.artists) if b == a]

    def evaluate(self, k: int = 10, *, artist_filter: bool = False) -> RetrievalScores:
        """Precision at ``k`` and average precision, every track a query against the others."""
        return retrieval_scores(self.space(), self.labels, k=k, metric=self.metric,
                                artists=self.artists if artist_filter else None)

    # -- on disk ------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write ``index.npz`` and ``index.json`` into ``folder`` (created); returns it."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / "index.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, vectors=self.vectors, mean=self.mean, scale=self.scale)
        learned_path = folder / LEARNED_NAME
        if self.learned is not None:
            with atomic_path(learned_path) as tmp:
                tmp.write_bytes(self.learned.to_bytes())
        elif learned_path.exists():
            learned_path.unlink()  # an index replaced by one without a learned distance
        graph_path = folder / GRAPH_NAME
        if self.search_kind == "hnsw":
            with atomic_path(graph_path) as tmp:
                self._neighbors().save(tmp)
        elif graph_path.exists():
            graph_path.unlink()
        atomic_write_json(folder / "index.json", {
            "format": INDEX_FORMAT, "version": INDEX_VERSION, "metric": self.metric, "search": self.search,
            "n_tracks": len(self),
            "dim": self.dim, "ids": self.ids, "paths": self.paths, "labels": self.labels, "artists": self.artists,
            "columns": self.columns, "source": self.source,
            "learned_distance": None if self.learned is None else {**self.learned.get_params(),
                                                                   "hidden": list(self.learned.hidden)}})
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "TrackIndex":
        """Read an index folder written by :meth:`save`; one-line MirlearnError naming the file."""
        folder = Path(folder)
        meta_path, arr_path = folder / "index.json", folder / "index.npz"
        if not meta_path.is_file():
            raise MirlearnError(f"{folder}: not an index folder (no index.json); make one with `mirlearn index`")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise MirlearnError(f"{meta_path}: unreadable ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != INDEX_FORMAT:
            raise MirlearnError(f"{meta_path}: not a mirlearn index")
        if meta.get("version", 0) > INDEX_VERSION:
            raise MirlearnError(f"{meta_path}: index version {meta['version']} is newer than this mirlearn reads "
                                f"({INDEX_VERSION}); upgrade mirlearn")
        try:
            with np.load(arr_path) as z:
                vectors, mean, scale = z["vectors"], z["mean"], z["scale"]
        except (OSError, KeyError, ValueError) as e:
            raise MirlearnError(f"{arr_path}: unreadable ({e})") from None
        learned = None
        if meta.get("learned_distance") is not None:
            from mirlearn.similarity.siamese import DistanceLearner

            try:
                learned = DistanceLearner.from_bytes((folder / LEARNED_NAME).read_bytes())
            except (OSError, RuntimeError, KeyError, ValueError) as e:
                raise MirlearnError(f"{folder / LEARNED_NAME}: unreadable ({e})") from None
        try:
            index = cls(vectors, list(meta["ids"]), list(meta["paths"]), list(meta["labels"]), list(meta["artists"]),
                        metric=meta["metric"], columns=list(meta.get("columns", [])), source=meta.get("source", {}),
                        mean=mean, scale=scale, learned=learned, search=meta.get("search", "exact"))
        except (KeyError, ValueError) as e:
            raise MirlearnError(f"{meta_path}: inconsistent with {arr_path.name} ({e})") from None
        if (folder / GRAPH_NAME).is_file() and index.search_kind == "hnsw":
            index._nn = HNSWSearch.load(folder / GRAPH_NAME, index.metric)
            if index._nn.graph.ntotal != len(index):
                raise MirlearnError(f"{folder / GRAPH_NAME}: a graph of {index._nn.graph.ntotal} tracks for "
                                    f"{len(index)} in {arr_path.name}; make the index again")
        return index

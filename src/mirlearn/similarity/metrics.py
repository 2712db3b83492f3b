"""Retrieval quality of track vectors: precision at k and mean average precision.

The measure of music-similarity studies (e.g. Schindler & Lidy's tutorial; Pampalk's artist
filter): every track of a collection is a query in turn, the rest of the collection is ranked by
distance to it, and a track is *relevant* when it has the query's label. With artists known,
the artist filter removes the query's own artist from its ranking, so that a system is not
rewarded for finding the same artist's other songs (the "album effect").

Rankings are computed in blocks of queries (``block × n`` distances at a time), so memory stays
bounded for collections of tens of thousands of tracks. Distances come from
:mod:`mirlearn.similarity.distances`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mirlearn.similarity.distances import pairwise_distances

__all__ = ["RetrievalScores", "retrieval_scores"]


@dataclass(frozen=True)
class RetrievalScores:
    """Per-query precision at k and average precision, with their means.

    Attributes
    ----------
    k : the cut-off of precision at k
    precision_at_k : np.ndarray [shape=(n_queries,)], the share of relevant tracks among the
        k nearest (of those that remain after the filters; fewer than k when fewer remain)
    average_precision : np.ndarray [shape=(n_queries,)], the mean of the precision at every
        relevant track's rank over the whole ranking; NaN for a query with no relevant track
    labels : np.ndarray [shape=(n_queries,)], each query's label
    """

    k: int
    precision_at_k: np.ndarray
    average_precision: np.ndarray
    labels: np.ndarray

    @property
    def mean_precision_at_k(self) -> float:
        """Precision at k averaged over the queries."""
        return float(np.mean(self.precision_at_k)) if len(self.precision_at_k) else float("nan")

    @property
    def mean_average_precision(self) -> float:
        """MAP: average precision averaged over the queries that have a relevant track."""
        ap = self.average_precision[~np.isnan(self.average_precision)]
        return float(np.mean(ap)) if len(ap) else float("nan")

    def per_class(self) -> dict[str, tuple[float, float, int]]:
        """Label → (mean precision at k, MAP, number of queries), labels sorted."""
        out = {}
        for label in sorted(set(self.labels.tolist())):
            m = self.labels == label
            ap = self.average_precision[m]
            ap = ap[~np.isnan(ap)]
            out[str(label)] = (float(np.mean(self.precision_at_k[m])), float(np.mean(ap)) if len(ap) else float("nan"),
                               int(m.sum()))
        return out


def retrieval_scores(vectors: np.ndarray, labels: Sequence[str], *, k: int = 10, metric: str = "cosine",
                     artists: Sequence[str | None] | None = None, block: int = 512) -> RetrievalScores:
    """Every track as a query against all the others: precision at ``k`` and average precision.

    Parameters
    ----------
    vectors : np.ndarray [shape=(n_tracks, dim)]
        One vector per track, already standardised as the index uses them.
    labels : one label per track; a track is relevant to a query that has its label
    k : cut-off, >= 1
    metric : ``"cosine"`` or ``"euclidean"``
    artists : one artist per track (None or "" where unknown); when given, tracks of the
        query's artist are left out of its ranking (the artist filter)
    block : queries ranked at a time (memory: ``block × n_tracks`` distances)

    Returns
    -------
    RetrievalScores
        Ties in distance are broken by collection order (a stable sort), so the result is
        deterministic.
    """
    X = np.asarray(vectors, dtype=np.float32)
    y = np.asarray([str(v) for v in labels])
    n = len(X)
    if len(y) != n:
        raise ValueError(f"{len(y)} labels for {n} vectors")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    art = None
    if artists is not None:
        if len(artists) != n:
            raise ValueError(f"{len(artists)} artists for {n} vectors")
        art = np.asarray(["" if a is None else str(a) for a in artists])
    p_at_k = np.zeros(n, dtype=np.float64)
    ap = np.full(n, np.nan, dtype=np.float64)
    for q0 in range(0, n, block):
        q1 = min(n, q0 + block)
        D = pairwise_distances(X[q0:q1], X, metric=metric).astype(np.float64)
        rows = np.arange(q1 - q0)
        D[rows, np.arange(q0, q1)] = np.inf  # never the query itself
        if art is not None:
            same = (art[q0:q1, None] == art[None, :]) & (art[q0:q1, None] != "")
            D[same] = np.inf
        order = np.argsort(D, axis=1, kind="stable")
        for r in range(q1 - q0):
            q = q0 + r
            ranked = order[r]
            ranked = ranked[np.isfinite(D[r, ranked])]
            rel = y[ranked] == y[q]
            top = rel[:k]
            p_at_k[q] = float(top.mean()) if len(top) else 0.0
            hits = np.flatnonzero(rel)
            if len(hits):
                ap[q] = float(np.mean(np.arange(1, len(hits) + 1) / (hits + 1)))
    return RetrievalScores(k=k, precision_at_k=p_at_k, average_precision=ap, labels=y)

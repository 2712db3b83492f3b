"""Similarity search on track vectors: distances, retrieval quality, and a nearest-neighbour index.

- :mod:`~mirlearn.similarity.distances`: cosine and Euclidean distances (scikit-learn);
- :mod:`~mirlearn.similarity.metrics`: precision at k and mean average precision, every track a
  query, "same label" relevant, with the artist filter;
- :mod:`~mirlearn.similarity.index`: :class:`TrackIndex`, a collection's standardised track
  vectors with exact nearest-neighbour queries, saved as a folder.
"""

from mirlearn.similarity.distances import METRICS, check_metric, pairwise_distances
from mirlearn.similarity.index import TrackIndex
from mirlearn.similarity.metrics import RetrievalScores, retrieval_scores

__all__ = ["METRICS", "check_metric", "pairwise_distances", "RetrievalScores", "retrieval_scores", "TrackIndex"]

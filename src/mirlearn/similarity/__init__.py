"""Similarity search on track vectors: distances, retrieval quality, and a nearest-neighbour index.

- :mod:`~mirlearn.similarity.distances`: cosine and Euclidean distances (scikit-learn);
- :mod:`~mirlearn.similarity.metrics`: precision at k and mean average precision, every track a
  query, "same label" relevant, with the artist filter.
"""

from mirlearn.similarity.distances import METRICS, check_metric, pairwise_distances
from mirlearn.similarity.metrics import RetrievalScores, retrieval_scores

__all__ = ["METRICS", "check_metric", "pairwise_distances", "RetrievalScores", "retrieval_scores"]

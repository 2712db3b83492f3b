"""The distances between track vectors that similarity search offers.

``cosine`` (1 − cosine similarity, in [0, 2]) and ``euclidean``, both on standardised vectors;
scikit-learn computes them (``sklearn.metrics.pairwise_distances``, BLAS underneath).
"""

from __future__ import annotations

import numpy as np

from mirlearn.errors import MirlearnError

__all__ = ["METRICS", "check_metric", "pairwise_distances"]

#: The metrics, in the order ``--metric`` lists them.
METRICS = ("cosine", "euclidean")


def check_metric(metric: str) -> str:
    """``metric`` when it is one of :data:`METRICS`; else a one-line MirlearnError."""
    if metric not in METRICS:
        raise MirlearnError(f"metric {metric!r}: must be one of {', '.join(METRICS)}")
    return metric


def pairwise_distances(A: np.ndarray, B: np.ndarray, *, metric: str = "cosine") -> np.ndarray:
    """Distances between the rows of ``A`` (m × d) and of ``B`` (n × d): an m × n float32 matrix.

    A zero vector has cosine distance 1 to everything (scikit-learn's convention), never NaN.
    """
    from sklearn.metrics import pairwise_distances as sk_distances

    check_metric(metric)
    D = sk_distances(np.asarray(A, dtype=np.float32), np.asarray(B, dtype=np.float32), metric=metric)
    return np.maximum(D, 0.0, out=D).astype(np.float32, copy=False)

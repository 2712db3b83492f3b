"""Frame (or window) classifier, majority vote per track, and track-level evaluation.

- :func:`vote` — majority vote per track over frame predictions (ties: summed
  probabilities, then lowest class index).
- :class:`TrackForestClassifier` — Random Forest (or another scikit-learn classifier) on
  the frames of a :class:`~mirlearn.features.FrameSet`, voted per track.
- :func:`evaluate_tracks`, :class:`Metrics`, :func:`format_confusion`,
  :func:`write_predictions` — accuracy, per-class accuracy, confusion, predictions CSV.

scikit-learn is imported only when a classifier is fitted.
"""

from __future__ import annotations

from mirlearn.classify.forest import BACKENDS, TrackForestClassifier, TrackPrediction, stratified_subsample
from mirlearn.classify.metrics import (Metrics, confusion_matrix, evaluate_tracks, format_confusion,
                                       write_predictions)
from mirlearn.classify.voting import mean_per_track, vote

__all__ = [
    "BACKENDS",
    "Metrics",
    "TrackForestClassifier",
    "TrackPrediction",
    "confusion_matrix",
    "evaluate_tracks",
    "format_confusion",
    "mean_per_track",
    "stratified_subsample",
    "vote",
    "write_predictions",
]

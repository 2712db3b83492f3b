"""Classifiers of whole tracks from their track vectors, tuned on validation tracks only.

Choi et al.'s transfer study puts a simple classifier on a convnet's track-level features; the
two a user of scikit-learn reaches for are a logistic regression and an SVM with an RBF kernel.
Both sit behind a ``StandardScaler`` fit on the training tracks. The regularisation ``C`` (and
the SVM's ``gamma``) are chosen by accuracy on the validation tracks — never on test tracks —
and the chosen classifier is then fit again on training + validation tracks, as the forest
cells are (:mod:`mirlearn.pipeline`), before it labels the test tracks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = ["TRACK_CLASSIFIERS", "TunedTrackClassifier", "fit_track_classifier", "GRIDS"]

#: The classifiers, by the name results use.
TRACK_CLASSIFIERS = ("logreg", "svm")

#: The hyper-parameter grids searched on the validation tracks.
GRIDS: dict[str, list[dict[str, Any]]] = {
    "logreg": [{"C": c} for c in (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)],
    "svm": [{"C": c, "gamma": g} for c in (0.1, 1.0, 10.0, 100.0) for g in ("scale", 0.1, 0.01)],
}


def _estimator(kind: str, params: dict[str, Any], seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if kind == "logreg":
        clf = LogisticRegression(max_iter=2000, random_state=seed, **params)
    elif kind == "svm":
        clf = SVC(kernel="rbf", random_state=seed, **params)
    else:
        raise ValueError(f"unknown track classifier {kind!r}; known: {', '.join(TRACK_CLASSIFIERS)}")
    return make_pipeline(StandardScaler(), clf)


@dataclass
class TunedTrackClassifier:
    """A track classifier with the hyper-parameters validation chose.

    Attributes
    ----------
    kind : "logreg" or "svm"
    params : the chosen hyper-parameters
    valid_accuracy : accuracy on the validation tracks of every candidate, in grid order
    estimator : the scikit-learn pipeline fit on training + validation tracks
    """

    kind: str
    params: dict[str, Any]
    valid_accuracy: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    estimator: Any = None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices of track vectors ``X`` (n × d)."""
        return self.estimator.predict(np.asarray(X, dtype=np.float64))


def fit_track_classifier(kind: str, X_train: np.ndarray, y_train: Sequence[int], X_valid: np.ndarray,
                         y_valid: Sequence[int], *, seed: int = 0,
                         grid: Sequence[dict[str, Any]] | None = None) -> TunedTrackClassifier:
    """Choose the hyper-parameters on validation tracks, then fit on training + validation.

    Parameters
    ----------
    kind : "logreg" or "svm"
    X_train, X_valid : np.ndarray [shape=(n, dim)], track vectors
    y_train, y_valid : class indices
    seed : the estimators' random state
    grid : candidates (default :data:`GRIDS` ``[kind]``); ties go to the first

    Returns
    -------
    TunedTrackClassifier
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    X_valid = np.asarray(X_valid, dtype=np.float64)
    y_train, y_valid = np.asarray(y_train), np.asarray(y_valid)
    candidates = list(grid if grid is not None else GRIDS[kind])
    scores = []
    for params in candidates:
        est = _estimator(kind, params, seed).fit(X_train, y_train)
        scores.append((dict(params), float(np.mean(est.predict(X_valid) == y_valid)) if len(y_valid) else 0.0))
    best = max(range(len(scores)), key=lambda i: (scores[i][1], -i))
    chosen = scores[best][0]
    final = _estimator(kind, chosen, seed).fit(np.vstack([X_train, X_valid]), np.concatenate([y_train, y_valid]))
    return TunedTrackClassifier(kind, chosen, scores, final)

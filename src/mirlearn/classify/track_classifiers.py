"""Classifiers (and regressors) of whole tracks from their track vectors, tuned on validation only.

Choi et al.'s transfer study puts a simple classifier on a convnet's track-level features; the
two a user of scikit-learn reaches for are a logistic regression and an SVM with an RBF kernel.
Both sit behind a ``StandardScaler`` fit on the training tracks. The regularisation ``C`` (and
the SVM's ``gamma``) are chosen on the validation tracks — never on test tracks — and the
chosen model is then fit again on training + validation tracks, as the forest cells are
(:mod:`mirlearn.pipeline`), before it scores the test tracks.

The same two serve the other tasks (:data:`~mirlearn.classify.task_metrics.TASKS`):

- ``tags`` (multi-label): one sigmoid output per tag — a one-vs-rest logistic regression, or an
  RBF SVM per tag whose decision values rank the tracks — chosen by macro ROC-AUC;
- ``target`` (regression): ridge regression and an RBF support-vector regressor, chosen by R².
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from mirlearn.classify.task_metrics import TASKS, regression_scores, tag_scores

__all__ = ["TRACK_CLASSIFIERS", "TASK_CLASSIFIERS", "TunedTrackClassifier", "fit_track_classifier", "GRIDS"]

#: The classifiers of single-label tasks, by the name results use.
TRACK_CLASSIFIERS = ("logreg", "svm")

#: The track models of every task, by the name results use.
TASK_CLASSIFIERS: dict[str, tuple[str, ...]] = {"label": TRACK_CLASSIFIERS, "tags": TRACK_CLASSIFIERS,
                                                "target": ("ridge", "svr")}

#: The hyper-parameter grids searched on the validation tracks.
GRIDS: dict[str, list[dict[str, Any]]] = {
    "logreg": [{"C": c} for c in (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)],
    "svm": [{"C": c, "gamma": g} for c in (0.1, 1.0, 10.0, 100.0) for g in ("scale", 0.1, 0.01)],
    "ridge": [{"alpha": a} for a in (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)],
    "svr": [{"C": c, "gamma": g} for c in (0.1, 1.0, 10.0, 100.0) for g in ("scale", 0.1, 0.01)],
}


def _estimator(kind: str, params: dict[str, Any], seed: int, task: str):
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    if kind not in TASK_CLASSIFIERS[task]:
        raise ValueError(f"unknown track classifier {kind!r} for task {task!r}; known: "
                         f"{', '.join(TASK_CLASSIFIERS[task])}")
    if kind == "logreg":
        model = LogisticRegression(max_iter=2000, random_state=seed, **params)
    elif kind == "svm":
        model = SVC(kernel="rbf", random_state=seed, **params)
    elif kind == "ridge":
        model = Ridge(**params)
    else:
        model = SVR(kernel="rbf", **params)
    if task == "tags":
        model = OneVsRestClassifier(model)
    return make_pipeline(StandardScaler(), model)


def _outputs(est: Any, X: np.ndarray, task: str) -> np.ndarray:
    if task == "tags":
        # Decision values rank the tracks per tag as well as probabilities do, and SVC has no
        # probabilities without an extra internal cross-validation.
        return np.asarray(est.decision_function(X), dtype=np.float64).reshape(len(X), -1)
    return est.predict(X)


def _score(task: str, truth: np.ndarray, out: np.ndarray) -> float:
    if len(truth) == 0:
        return 0.0
    if task == "label":
        return float(np.mean(out == truth))
    if task == "tags":
        s = tag_scores(truth, out, [str(k) for k in range(truth.shape[1])])["roc_auc"]
        return float(s) if np.isfinite(s) else 0.0
    return regression_scores(truth, out)["r2"]


@dataclass
class TunedTrackClassifier:
    """A track model with the hyper-parameters validation chose.

    Attributes
    ----------
    kind : "logreg", "svm", "ridge" or "svr"
    params : the chosen hyper-parameters
    valid_scores : the validation score of every candidate, in grid order (accuracy for
        ``label``, macro ROC-AUC for ``tags``, R² for ``target``)
    estimator : the scikit-learn pipeline fit on training + validation tracks
    task : "label", "tags" or "target"
    """

    kind: str
    params: dict[str, Any]
    valid_scores: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    estimator: Any = None
    task: str = "label"

    def predict(self, X: np.ndarray) -> np.ndarray:
        """What the task asks of track vectors ``X`` (n × d).

        Returns class indices (n,) for ``label``, tag scores (n × n_tags, higher = more likely)
        for ``tags`` and predicted targets (n,) for ``target``.
        """
        return _outputs(self.estimator, np.asarray(X, dtype=np.float64), self.task)


def fit_track_classifier(kind: str, X_train: np.ndarray, y_train: np.ndarray, X_valid: np.ndarray,
                         y_valid: np.ndarray, *, seed: int = 0, task: str = "label",
                         grid: Sequence[dict[str, Any]] | None = None) -> TunedTrackClassifier:
    """Choose the hyper-parameters on validation tracks, then fit on training + validation.

    Parameters
    ----------
    kind : one of ``TASK_CLASSIFIERS[task]``
    X_train, X_valid : np.ndarray [shape=(n, dim)], track vectors
    y_train, y_valid : class indices (n,) for ``label``; 0/1 tag indicators (n, n_tags) for
        ``tags``; float targets (n,) for ``target``
    seed : the estimators' random state
    task : "label", "tags" or "target"
    grid : candidates (default :data:`GRIDS` ``[kind]``); ties go to the first

    Returns
    -------
    TunedTrackClassifier
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    X_valid = np.asarray(X_valid, dtype=np.float64)
    y_train, y_valid = np.asarray(y_train), np.asarray(y_valid)
    _estimator(kind, {}, seed, task)  # names checked before any fitting
    candidates = list(grid if grid is not None else GRIDS[kind])
    scores = []
    with warnings.catch_warnings():
        # A tag no training track has gets a constant output: scikit-learn warns once per tag.
        warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")
        warnings.filterwarnings("ignore", message=".*not present in all training examples")
        for params in candidates:
            est = _estimator(kind, params, seed, task).fit(X_train, y_train)
            out = _outputs(est, X_valid, task) if len(X_valid) else np.empty(0)
            scores.append((dict(params), _score(task, y_valid, out)))
        best = max(range(len(scores)), key=lambda i: (scores[i][1], -i))
        chosen = scores[best][0]
        final = _estimator(kind, chosen, seed, task).fit(np.vstack([X_train, X_valid]),
                                                          np.concatenate([y_train, y_valid]))
    return TunedTrackClassifier(kind, chosen, scores, final, task)

"""Scores of the tasks beyond one label per track: auto-tagging and regression.

Auto-tagging is scored as MagnaTagATune studies score it (Choi et al. 2016, 2017): every tag
is a ranking problem over the test tracks, measured by the area under the ROC curve and by
average precision (the area under the precision-recall curve), and the headline number is the
macro mean over tags. A tag needs positive and negative test tracks to be ranked at all; tags
without either are listed but left out of the means. Regression is scored by R² (the share of
the target's variance that the prediction explains), with the mean absolute error beside it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["TASKS", "HEADLINE", "tag_scores", "regression_scores", "headline"]

#: The tasks a track table can describe: its labels, its tags or its numeric targets.
TASKS = ("label", "tags", "target")

#: The number each task is judged by (a key of the task's score dict); higher is better for all.
HEADLINE = {"label": "accuracy", "tags": "roc_auc", "target": "r2"}


def tag_scores(Y_true: np.ndarray, scores: np.ndarray, tag_names: Sequence[str]) -> dict[str, Any]:
    """Per-tag and macro ROC-AUC and PR-AUC of tag scores.

    Parameters
    ----------
    Y_true : np.ndarray [shape=(n_tracks, n_tags)], 0/1
        Which tags every test track has.
    scores : np.ndarray [shape=(n_tracks, n_tags)], float
        Any monotone score per tag (probability, logit, decision value): only the order counts.
    tag_names : the tags, in column order

    Returns
    -------
    dict
        ``roc_auc`` and ``pr_auc``: macro means over the tags that have positive and negative
        tracks (NaN when none has); ``n_scored``: how many tags that is; ``per_tag``: for every
        tag ``{"positives", "roc_auc", "pr_auc"}`` (the AUCs ``None`` when the tag cannot be
        ranked).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    Y_true = np.asarray(Y_true)
    scores = np.asarray(scores, dtype=np.float64)
    if Y_true.shape != scores.shape or Y_true.ndim != 2 or Y_true.shape[1] != len(tag_names):
        raise ValueError(f"Y_true {Y_true.shape}, scores {scores.shape} and {len(tag_names)} tag names "
                         "do not agree; expected (n_tracks, n_tags) for both")
    per_tag: dict[str, dict[str, Any]] = {}
    rocs, prs = [], []
    for k, name in enumerate(tag_names):
        y = Y_true[:, k].astype(bool)
        pos = int(y.sum())
        entry: dict[str, Any] = {"positives": pos, "roc_auc": None, "pr_auc": None}
        if 0 < pos < len(y):
            entry["roc_auc"] = float(roc_auc_score(y, scores[:, k]))
            entry["pr_auc"] = float(average_precision_score(y, scores[:, k]))
            rocs.append(entry["roc_auc"])
            prs.append(entry["pr_auc"])
        per_tag[name] = entry
    return {"roc_auc": float(np.mean(rocs)) if rocs else float("nan"),
            "pr_auc": float(np.mean(prs)) if prs else float("nan"),
            "n_scored": len(rocs), "per_tag": per_tag}


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """R² and mean absolute error of predicted targets.

    Parameters
    ----------
    y_true, y_pred : np.ndarray [shape=(n_tracks,)], float

    Returns
    -------
    dict
        ``r2`` (1 is perfect, 0 is as good as predicting the test mean, negative is worse) and
        ``mae`` (in the target's unit).
    """
    from sklearn.metrics import mean_absolute_error, r2_score

    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape}: expected two (n_tracks,) arrays")
    return {"r2": float(r2_score(y_true, y_pred)), "mae": float(mean_absolute_error(y_true, y_pred))}


def headline(task: str, result: dict[str, Any]) -> float:
    """The number ``task`` is judged by, from a score dict of that task."""
    return float(result[HEADLINE[task]])

"""Scores of tagging and regression, checked against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.classify.task_metrics import headline, regression_scores, tag_scores


def test_tag_scores_by_hand():
    Y = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 1], [0, 0, 1]])
    S = np.array([[0.9, 0.2, 0.5], [0.8, 0.7, 0.1], [0.3, 0.1, 0.4], [0.1, 0.6, 0.3]])
    r = tag_scores(Y, S, ["a", "b", "c"])
    # tag a: positives score 0.9, 0.3; negatives 0.8, 0.1 -> pairs won: (0.9>0.8, 0.9>0.1, 0.3>0.1) = 3 of 4
    assert r["per_tag"]["a"]["roc_auc"] == pytest.approx(0.75)
    # ranking 0.9(+) 0.8(-) 0.3(+) 0.1(-): precision at the hits is 1 and 2/3
    assert r["per_tag"]["a"]["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    # tag b: positives 0.7, 0.1; negatives 0.2, 0.6 -> 0.7 beats both, 0.1 beats none = 2 of 4
    assert r["per_tag"]["b"]["roc_auc"] == pytest.approx(0.5)
    # tag c is on every track: it cannot be ranked and stays out of the means
    assert r["per_tag"]["c"] == {"positives": 4, "roc_auc": None, "pr_auc": None}
    assert r["n_scored"] == 2 and r["roc_auc"] == pytest.approx(0.625)
    assert headline("tags", r) == pytest.approx(0.625)


def test_tag_scores_with_no_rankable_tag_and_bad_shapes():
    r = tag_scores(np.ones((3, 2)), np.zeros((3, 2)), ["x", "y"])
    assert np.isnan(r["roc_auc"]) and r["n_scored"] == 0
    with pytest.raises(ValueError, match="do not agree"):
        tag_scores(np.ones((3, 2)), np.zeros((3, 3)), ["x", "y"])


def test_regression_scores_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    r = regression_scores(y, np.array([1.0, 2.0, 3.0, 5.0]))
    # SS_res = 1, SS_tot = 5 -> R² = 0.8; MAE = 1/4
    assert r == {"r2": pytest.approx(0.8), "mae": pytest.approx(0.25)}
    assert regression_scores(y, np.full(4, 2.5))["r2"] == pytest.approx(0.0)
    with pytest.raises(ValueError):
        regression_scores(y, y[:3])

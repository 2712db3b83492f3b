"""Track classifiers: hyper-parameters chosen on validation tracks, then fit on train + valid."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.classify.task_metrics import regression_scores, tag_scores
from mirlearn.classify.track_classifiers import GRIDS, fit_track_classifier


def _blobs(rng, n_per, shift=2.5):
    y = np.repeat(np.arange(3), n_per)
    X = rng.standard_normal((len(y), 6)) + shift * np.eye(3, 6)[y]
    return X, y


@pytest.mark.parametrize("kind", ["logreg", "svm"])
def test_chosen_on_validation_and_refit_on_train_and_valid(rng, kind):
    Xtr, ytr = _blobs(rng, 20)
    Xva, yva = _blobs(rng, 10)
    Xte, yte = _blobs(rng, 30)
    t = fit_track_classifier(kind, Xtr, ytr, Xva, yva)
    assert [p for p, _ in t.valid_scores] == GRIDS[kind]
    best = max(acc for _, acc in t.valid_scores)
    assert next(acc for p, acc in t.valid_scores if p == t.params) == best
    assert t.estimator[-1].n_features_in_ == 6
    assert len(t.estimator[0].mean_) == 6 and t.estimator[0].n_samples_seen_ == 90   # train + valid
    assert np.mean(t.predict(Xte) == yte) > 0.8


def test_ties_go_to_the_first_candidate_and_a_bad_kind_is_refused(rng):
    Xtr, ytr = _blobs(rng, 10, shift=8.0)     # so easy that every C is perfect on validation
    Xva, yva = _blobs(rng, 5, shift=8.0)
    t = fit_track_classifier("logreg", Xtr, ytr, Xva, yva, grid=[{"C": 1.0}, {"C": 10.0}])
    assert t.params == {"C": 1.0}
    with pytest.raises(ValueError, match="unknown track classifier 'knn' for task 'label'"):
        fit_track_classifier("knn", Xtr, ytr, Xva, yva, grid=[{}])


def test_tags_one_sigmoid_per_tag_chosen_by_validation_roc_auc(rng):
    def tagged(n):
        X = rng.standard_normal((n, 5))
        Y = np.stack([X[:, 0] > 0.3, X[:, 1] + X[:, 2] > 0, np.zeros(n, bool)], axis=1).astype(np.uint8)
        return X, Y
    (Xtr, Ytr), (Xva, Yva), (Xte, Yte) = tagged(80), tagged(40), tagged(100)
    Ytr[0, 2] = 1  # a tag with one training track only still gets an output
    for kind in ("logreg", "svm"):
        t = fit_track_classifier(kind, Xtr, Ytr, Xva, Yva, task="tags")
        S = t.predict(Xte)
        assert S.shape == (100, 3)
        r = tag_scores(Yte, S, ["a", "b", "c"])
        assert r["n_scored"] == 2 and r["roc_auc"] > 0.9
        assert max(s for _, s in t.valid_scores) == next(s for p, s in t.valid_scores if p == t.params)


def test_target_regression_chosen_by_validation_r2(rng):
    def numeric(n):
        X = rng.standard_normal((n, 4))
        return X, 2.0 * X[:, 0] - X[:, 3] + 0.1 * rng.standard_normal(n)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = numeric(60), numeric(30), numeric(100)
    t = fit_track_classifier("ridge", Xtr, ytr, Xva, yva, task="target")
    assert [p for p, _ in t.valid_scores] == GRIDS["ridge"]
    assert t.params["alpha"] <= 1.0   # little noise: validation prefers weak regularisation
    assert regression_scores(yte, t.predict(Xte))["r2"] > 0.95
    assert regression_scores(yte, fit_track_classifier("svr", Xtr, ytr, Xva, yva, task="target").predict(Xte))["r2"] > 0.6
    with pytest.raises(ValueError, match="unknown track classifier 'logreg' for task 'target'"):
        fit_track_classifier("logreg", Xtr, ytr, Xva, yva, task="target")
    with pytest.raises(ValueError, match="unknown task 'mood'"):
        fit_track_classifier("logreg", Xtr, ytr, Xva, yva, task="mood")

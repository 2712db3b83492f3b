"""Track classifiers: hyper-parameters chosen on validation tracks, then fit on train + valid."""

from __future__ import annotations

import numpy as np
import pytest

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
    assert [p for p, _ in t.valid_accuracy] == GRIDS[kind]
    best = max(acc for _, acc in t.valid_accuracy)
    assert next(acc for p, acc in t.valid_accuracy if p == t.params) == best
    assert t.estimator[-1].n_features_in_ == 6
    assert len(t.estimator[0].mean_) == 6 and t.estimator[0].n_samples_seen_ == 90   # train + valid
    assert np.mean(t.predict(Xte) == yte) > 0.8


def test_ties_go_to_the_first_candidate_and_a_bad_kind_is_refused(rng):
    Xtr, ytr = _blobs(rng, 10, shift=8.0)     # so easy that every C is perfect on validation
    Xva, yva = _blobs(rng, 5, shift=8.0)
    t = fit_track_classifier("logreg", Xtr, ytr, Xva, yva, grid=[{"C": 1.0}, {"C": 10.0}])
    assert t.params == {"C": 1.0}
    with pytest.raises(ValueError, match="unknown track classifier 'knn'"):
        fit_track_classifier("knn", Xtr, ytr, Xva, yva, grid=[{}])

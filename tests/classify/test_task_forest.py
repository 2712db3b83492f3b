"""The window forest for tags and targets: windows carry their track's tags, tracks average windows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mirlearn.classify.task_forest import fit_task_forest, predict_task_forest

PARAMS = {"n_estimators": 30, "min_samples_leaf": 1, "max_samples": 10_000, "n_jobs": 1, "random_state": 0}


def _tracks(rng, n_tracks, per=5):
    centre = rng.standard_normal((n_tracks, 3))
    X = np.repeat(centre, per, axis=0) + 0.1 * rng.standard_normal((n_tracks * per, 3))
    return centre, X, np.arange(0, n_tracks * per + 1, per)


def test_tags_are_learned_from_windows_and_averaged_per_track(rng):
    c, X, off = _tracks(rng, 60)
    Y = np.stack([c[:, 0] > 0, c[:, 1] > 0.5, np.zeros(60, bool)], axis=1).astype(np.uint8)
    f = fit_task_forest("tags", X, off, Y, forest_params=PARAMS)
    assert f.n_estimators == 30 and f.max_samples == 300   # capped at the windows there are
    c2, X2, off2 = _tracks(rng, 40)
    P = predict_task_forest(f, X2, off2)
    assert P.shape == (40, 3) and np.all((P >= 0) & (P <= 1))
    assert np.all(P[:, 2] == 0)                             # a tag no window had: probability 0
    assert roc_auc_score(c2[:, 0] > 0, P[:, 0]) > 0.9
    # the track score is the mean of its windows' probabilities
    w = f.predict_proba(X2[:5])[0][:, 1]
    assert P[0, 0] == pytest.approx(w.mean())


def test_targets_are_learned_and_averaged_per_track(rng):
    c, X, off = _tracks(rng, 80)
    f = fit_task_forest("target", X, off, 3 * c[:, 0], forest_params=PARAMS)
    c2, X2, off2 = _tracks(rng, 40)
    p = predict_task_forest(f, X2, off2)
    assert p.shape == (40,) and np.corrcoef(p, 3 * c2[:, 0])[0, 1] > 0.9
    with pytest.raises(ValueError, match="task must be"):
        fit_task_forest("label", X, off, c[:, 0], forest_params=PARAMS)
    with pytest.raises(ValueError, match="79 track targets for 80 tracks"):
        fit_task_forest("target", X, off, c[1:, 0], forest_params=PARAMS)

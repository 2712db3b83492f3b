"""The learned distance: pairs from labels, the contrastive loss, and a siamese net that helps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from mirlearn.errors import MirlearnError
from mirlearn.similarity import retrieval_scores
from mirlearn.similarity.siamese import DistanceLearner, contrastive_loss, label_pairs


def test_label_pairs_are_half_same_and_never_a_row_with_itself(rng):
    y = np.array(list("aaabbbbcc"))
    a, b, same = label_pairs(y, 1000, rng)
    assert (a != b).all() and same[:500].all() and not same[500:].any()
    np.testing.assert_array_equal(same, (y[a] == y[b]).astype(np.float32))
    assert set(np.unique(np.concatenate([a, b]))) == set(range(9))
    with pytest.raises(MirlearnError, match="two labels"):
        label_pairs(np.array(["a", "a"]), 10, rng)


def test_contrastive_loss_by_hand():
    z1 = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    z2 = torch.tensor([[3.0, 4.0], [0.3, 0.4], [3.0, 4.0]])   # distances 5, 0.5, 5
    same = torch.tensor([1.0, 0.0, 0.0])
    # 0.5 * (25 + (1 - 0.5)² + 0) / 3
    assert float(contrastive_loss(z1, z2, same, margin=1.0)) == pytest.approx(0.5 * (25 + 0.25) / 3, rel=1e-5)


def _clusters(rng, n_per=30, noise_dims=20):
    """Labels live in 2 of the dimensions; 20 more of pure noise drown them for a plain distance."""
    centers = np.array([[0, 0], [3, 0], [0, 3], [3, 3]], dtype=np.float32)
    y = np.repeat(np.arange(4), n_per)
    X = np.hstack([centers[y] + 0.5 * rng.standard_normal((len(y), 2)), 3 * rng.standard_normal((len(y), noise_dims))])
    X = (X - X.mean(0)) / X.std(0)
    return X.astype(np.float32), y.astype(str)


def test_the_learned_distance_beats_the_plain_one_on_held_out_tracks(rng):
    X, y = _clusters(rng)
    Xt, yt = _clusters(rng)            # held-out tracks of the same labels
    Xv, yv = _clusters(rng, n_per=10)
    dl = DistanceLearner(hidden=(32,), n_out=8, epochs=30, pairs_per_epoch=1024, patience=5, seed=0)
    dl.fit(X, y, Xv, yv)
    before = retrieval_scores(Xt, yt, k=10, metric="euclidean").mean_precision_at_k
    after = retrieval_scores(dl.transform(Xt), yt, k=10, metric="euclidean").mean_precision_at_k
    assert after > before + 0.2, (before, after)
    assert dl.transform(Xt).shape == (120, 8) and len(dl.history_) >= 1
    # the estimator API and the bytes round trip
    assert clone(dl).get_params()["n_out"] == 8
    back = DistanceLearner.from_bytes(dl.to_bytes())
    np.testing.assert_array_equal(back.transform(Xt), dl.transform(Xt))
    again = DistanceLearner(hidden=(32,), n_out=8, epochs=30, pairs_per_epoch=1024, patience=5, seed=0).fit(X, y, Xv, yv)
    np.testing.assert_array_equal(again.transform(Xt), dl.transform(Xt))   # the seed decides everything


def test_bad_settings_and_unfitted_use(rng):
    X, y = _clusters(rng, n_per=3)
    with pytest.raises(MirlearnError, match="n_out must be >= 1"):
        DistanceLearner(n_out=0).fit(X, y)
    with pytest.raises(MirlearnError, match="not fitted"):
        DistanceLearner().transform(X)
    dl = DistanceLearner(hidden=(), n_out=2, epochs=1, pairs_per_epoch=8).fit(X, y)
    with pytest.raises(MirlearnError, match="takes 22"):
        dl.transform(X[:, :3])

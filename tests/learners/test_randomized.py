"""The random-weights baseline: the same learner, untrained weights, the same standardisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.features.frameset import FrameSet
from mirlearn.learners import MLPLearner
from mirlearn.learners.cnn import CNNLearner


def _frames(rng, n_tracks=8, frames=60, dim=80) -> FrameSet:
    tracks = [Track(f"t{i}", Path(f"t{i}.wav"), f"c{i % 2}") for i in range(n_tracks)]
    X = (rng.standard_normal((n_tracks * frames, dim)) + np.repeat(np.arange(n_tracks) % 2, frames)[:, None]
         ).astype(np.float32)
    return FrameSet(X, np.arange(n_tracks + 1) * frames, TrackTable(tracks))


def _differs(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return any(not torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_mlp_random_weights_keep_the_standardiser_and_leave_the_trained_net(rng):
    fs = _frames(rng, dim=12)
    ids = fs.tracks.ids
    trained = MLPLearner(hidden=(8, 8, 8), max_epochs=3, progress=False).fit(fs.subset(ids[:6]), fs.subset(ids[6:]))
    before = [p.clone() for p in trained.net_.parameters()]
    rand = trained.randomized(seed=5)
    assert _differs(rand.net_, trained.net_)
    assert all(torch.equal(p, q) for p, q in zip(before, trained.net_.parameters()))      # the original is kept
    assert torch.equal(rand.net_.mean, trained.net_.mean) and torch.equal(rand.net_.inv_scale, trained.net_.inv_scale)
    assert not _differs(rand.net_, trained.randomized(seed=5).net_)                        # the seed decides
    assert _differs(rand.net_, trained.randomized(seed=6).net_)
    assert rand.transform(fs, layers="all").X.shape == (len(fs.X), 24) and rand.classes_ == trained.classes_


def test_cnn_random_weights(rng):
    fs = _frames(rng)
    ids = fs.tracks.ids
    trained = CNNLearner(architecture="schindler-shallow", patch_frames=40, patch_hop=20, max_epochs=1,
                         patches_per_track=1, progress=False).fit(fs.subset(ids[:6]), fs.subset(ids[6:]))
    rand = trained.randomized(seed=3)
    assert _differs(rand.net_, trained.net_) and not _differs(rand.net_, trained.randomized(seed=3).net_)
    assert rand.standardizer_ is trained.standardizer_
    f = rand.transform(fs, layers="dense")
    assert f.X.shape[1] == trained.transform(fs, layers="dense").X.shape[1] and np.isfinite(f.X).all()

"""Learners trained on tags: one sigmoid output per tag, binary cross-entropy (auto-tagging)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from mirlearn.config import load_config
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import ConfigError, MirlearnError
from mirlearn.features.frameset import FrameSet
from mirlearn.learners import MLPLearner, learner_from_config
from mirlearn.learners.cnn import CNNLearner

TAGS = ("bright", "low", "loud")


def _tagged(rng, n_tracks=60, frames=60, dim=24):
    """Tags are read from the frames: 'bright' shifts bands 0-3 up, 'low' bands 8-11, 'loud' all."""
    has = rng.random((n_tracks, 3)) < 0.5
    tracks = TrackTable([Track(f"t{i}", Path(f"t{i}.wav"), "", tags=tuple(g for g, h in zip(TAGS, has[i]) if h))
                         for i in range(n_tracks)])
    X = rng.standard_normal((n_tracks * frames, dim)).astype(np.float32)
    shift = np.zeros((n_tracks, dim), np.float32)
    shift[:, 0:4] += 2.0 * has[:, [0]]
    shift[:, 8:12] += 2.0 * has[:, [1]]
    shift += 1.0 * has[:, [2]]
    X += np.repeat(shift, frames, axis=0)
    return FrameSet(X, np.arange(n_tracks + 1) * frames, tracks), has


def _per_track(P, offsets):
    return np.stack([P[a:b].mean(0) for a, b in zip(offsets[:-1], offsets[1:])])


@pytest.mark.parametrize("make", [
    lambda: MLPLearner(hidden=(32, 32, 32), lr=0.05, max_epochs=15, task="tags", progress=False),
    lambda: CNNLearner(architecture="schindler-shallow", patch_frames=20, patch_hop=10, max_epochs=6,
                       batch_size=16, task="tags", progress=False),
])
def test_a_learner_trained_on_tags_has_one_sigmoid_per_tag(rng, make):
    fs, _ = _tagged(rng)
    ids = fs.tracks.ids
    learner = make().fit(fs.subset(ids[:40]), fs.subset(ids[40:50]))
    assert learner.classes_ == sorted(TAGS) and learner.multilabel
    test, truth = _tagged(rng, n_tracks=20)
    out = learner.output(test)
    assert out.X.shape[1] == 3 and np.all((out.X >= 0) & (out.X <= 1))
    assert not np.allclose(out.X.sum(1), 1.0)                       # independent outputs, not a softmax
    scores = _per_track(out.X, out.offsets)
    aucs = [roc_auc_score(truth[:, TAGS.index(g)], scores[:, k]) for k, g in enumerate(learner.classes_)]
    assert min(aucs) > 0.9
    hist = learner.train_result_.history
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert "task" in learner.saved_params() and clone(learner).task == "tags"


def test_tags_through_the_config_and_bad_settings(rng):
    cfg = load_config("demo", {"training": {"task": "tags"}})
    assert learner_from_config(cfg).task == "tags"
    assert "task" not in learner_from_config(load_config("demo")).saved_params()   # earlier runs stay current
    with pytest.raises(ConfigError, match="training.task='mood': must be 'label' or 'tags'"):
        load_config("demo", {"training": {"task": "mood"}})
    with pytest.raises(ConfigError, match="Hessian-Free here learns classes"):
        load_config("sigtia2014-sigmoid-hf-50", {"training": {"task": "tags"}})
    fs = FrameSet(np.zeros((20, 4), np.float32), np.array([0, 10, 20]),
                  TrackTable([Track("a", Path("a"), "x"), Track("b", Path("b"), "y")]))
    with pytest.raises(MirlearnError, match="the training tracks carry no tags"):
        MLPLearner(task="tags", progress=False).fit(fs, fs)

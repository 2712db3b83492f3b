"""AdaGrad through the learners: from a configuration, in their fingerprints, trained."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.config import load_config
from mirlearn.learners import CNNLearner, MLPLearner, learner_from_config

from .blobs import blobs


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def test_unset_settings_leave_a_learners_fingerprint_as_it_was():
    params = learner_from_config(load_config("demo")).saved_params()
    assert "adagrad_eps" not in params and "adagrad_initial_accumulator" not in params
    cfg = load_config("demo", {"training": {"optimizer": "adagrad", "adagrad_eps": 1e-8}})
    learner = learner_from_config(cfg)
    assert learner.optimizer == "adagrad" and learner.saved_params()["adagrad_eps"] == 1e-8
    assert "adagrad_initial_accumulator" not in learner.saved_params()
    cnn = learner_from_config(load_config("mirex2015", {"training": {"optimizer": "adagrad",
                                                                     "adagrad_initial_accumulator": 0.1}}))
    assert isinstance(cnn, CNNLearner) and cnn.saved_params()["adagrad_initial_accumulator"] == 0.1


def test_the_mlp_learns_with_adagrad_and_reloads(rng, tmp_path):
    fs = blobs(rng)
    ids = fs.tracks.ids
    learner = MLPLearner(hidden=(16, 16), optimizer="adagrad", lr=0.05, max_epochs=6, batch_size=32,
                         adagrad_initial_accumulator=0.1, progress=False, run_dir=tmp_path / "net")
    learner.fit(fs.subset(ids[:8]), fs.subset(ids[8:]))
    assert learner.train_result_.runner == "adagrad"
    assert learner.train_result_.best_valid_acc > 0.9
    learner.save(tmp_path / "saved")
    again = MLPLearner.load(tmp_path / "saved")
    assert again.optimizer == "adagrad" and again.adagrad_initial_accumulator == 0.1


def test_the_cnn_trains_with_adagrad(rng):
    fs = blobs(rng, frames=60, dim=24)
    ids = fs.tracks.ids
    learner = CNNLearner(architecture="schindler-shallow", patch_frames=40, patch_hop=20, max_epochs=2,
                         patches_per_track=2, optimizer="adagrad", lr=0.01, adagrad_eps=1e-8, progress=False)
    learner.fit(fs.subset(ids[:8]), fs.subset(ids[8:]))
    hist = learner.train_result_.history
    assert len(hist) == 2 and all(np.isfinite(r["train_loss"]) for r in hist)

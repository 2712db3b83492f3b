"""Few labels through the pipeline: the forests of the feature cells see the labelled tracks only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mirlearn import pipeline as protocol
from mirlearn.config import load_config
from mirlearn.datasets.labelled import labelled_split
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.experiments.layout import SplitLayout
from mirlearn.features.frameset import FrameSet
from mirlearn.learners import MLPLearner
from mirlearn.model import GenreModel


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n_tracks, frames, labels = 24, 30, ["a", "b", "c"]
    tracks = TrackTable([Track(f"t{i:02d}", Path("x"), labels[i % 3]) for i in range(n_tracks)], labels)
    centres = rng.normal(0, 3, (3, 16))
    X = np.concatenate([centres[i % 3] + rng.standard_normal((frames, 16)) for i in range(n_tracks)]).astype(np.float32)
    fs = FrameSet(X, np.arange(n_tracks + 1) * frames, tracks)
    ids = tracks.ids
    return fs, Split("s0", train=ids[:12], valid=ids[12:18], test=ids[18:])


def config(**training):
    return load_config("demo", {"network": {"hidden": [8, 8, 8], "activation": "sigmoid"},
                                "training": {"max_epochs": 2, **training},
                                "pretrain": {"method": "rbm", "epochs": 2},
                                "forest": {"n_estimators": 10, "n_jobs": 1},
                                "features": {"layers": ["all"], "window_seconds": 0.1, "hop_seconds": 0.05}})


def test_run_split_fits_every_forest_on_the_labelled_tracks_only(data, tmp_path, monkeypatch):
    fs, split = data
    seen = {}
    real = MLPLearner.fit

    def spy(self, train, valid):
        seen.update(train=train.tracks.ids, valid=valid.tracks.ids)
        return real(self, train, valid)

    monkeypatch.setattr(MLPLearner, "fit", spy)
    cfg = config(label_fraction=0.25)
    outcome = protocol.run_split(cfg, fs, split, SplitLayout(tmp_path), progress=False, log=lambda s: None)
    assert seen == {"train": split.train, "valid": split.valid}  # the learner gets all (pre-training)
    few = labelled_split(split, fs.tracks, 0.25, seed=cfg.training.seed)
    assert (len(few.train), len(few.valid)) == (3, 3)
    for name, cell in outcome.cells.items():
        assert cell["split_sizes"] == {"train": 3, "valid": 3, "test": 6}, name
    assert outcome.cells["layer-all_frames"]["n_fit_rows"] == 6 * 30  # the 6 labelled tracks' frames
    windows = outcome.cells["layer-all_agg"]["n_fit_rows"]
    assert windows % 6 == 0 and 0 < windows < 6 * 30  # ... and their windows (as many per track here)
    rows = (tmp_path / "predictions" / "layer-all_frames.csv").read_text().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == sorted(split.test)  # every test track is scored
    # Every label: the same cells, the whole split (another fingerprint, so they are recomputed).
    full = protocol.run_split(config(), fs, split, SplitLayout(tmp_path / "all"), progress=False, log=lambda s: None)
    assert full.cells["layer-all_frames"]["split_sizes"] == {"train": 12, "valid": 6, "test": 6}


def test_the_api_model_fits_its_forest_on_the_labelled_tracks(data, tmp_path):
    fs, split = data
    cfg = config(label_fraction=0.25)
    model = GenreModel.from_config(cfg, progress=False).fit(fs, split, work_dir=tmp_path)
    few = labelled_split(split, fs.tracks, 0.25, seed=0)
    windows_per_track = model.forest.n_train_frames_ / 6
    assert model.learner.label_fraction == 0.25 and len(few.train) + len(few.valid) == 6
    assert windows_per_track == int(windows_per_track) and 0 < model.forest.n_train_frames_ < 18 * windows_per_track
    assert 0 <= model.info["test_track_accuracy"] <= 1


def test_labelled_split_of_a_learner_without_the_option_is_the_split(data):
    fs, split = data
    assert protocol.labelled_split_of(MLPLearner(), split, fs.tracks) is split
    few = protocol.labelled_split_of(MLPLearner(label_fraction=0.5, seed=3), split, fs.tracks)
    assert few == labelled_split(split, fs.tracks, 0.5, seed=3) and few.test == split.test

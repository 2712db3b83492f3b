"""GenreModel: fit from a configuration on a split, features of new frames, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mirlearn.config import load_config
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.features.frameset import FrameSet
from mirlearn.features.settings import FrameSettings
from mirlearn.model import GenreModel


def _frames(n_tracks: int = 8, frames: int = 120, dim: int = 16) -> FrameSet:
    rng = np.random.default_rng(0)
    labels = ["a", "b"] * (n_tracks // 2)
    tracks = TrackTable([Track(f"t{i}", Path("x"), lab) for i, lab in enumerate(labels)], ["a", "b"])
    X = np.concatenate([rng.standard_normal((frames, dim)) + (2.0 if lab == "a" else -2.0) for lab in labels])
    tb = FrameSettings(sr=1000, n_fft=200, hop_length=100).time_base  # 10 frames/s: 12 s tracks
    return FrameSet(X.astype(np.float32), np.arange(n_tracks + 1) * frames, tracks, time_base=tb)


def test_fit_from_config_predicts_and_survives_save_and_load(tmp_path):
    cfg = load_config("demo", {"network": {"hidden": [8, 8, 8]}, "training": {"max_epochs": 3},
                               "forest": {"n_estimators": 10, "n_jobs": 1},
                               "features": {"window_seconds": 2.0, "hop_seconds": 1.0}})
    fs = _frames()
    split = Split("s0", train=["t0", "t1", "t2", "t3"], valid=["t4", "t5"], test=["t6", "t7"])
    model = GenreModel.from_config(cfg, progress=False).fit(fs, split, work_dir=tmp_path)
    assert model.info["split"] == "s0" and model.info["test_track_accuracy"] == model.metrics_.accuracy
    assert model.metrics_.accuracy == 1.0  # two well separated blobs
    assert not (tmp_path / ".scratch").exists()
    feats = model.features(fs)
    # aggregated over 2 s windows every 1 s of the frames' own time base: mean and variance of 24 dims
    assert feats.dim == 2 * 24 and feats.time_base.kind == "windows"
    assert 9 <= feats.lengths[0] <= 12
    model.save(tmp_path / "model")
    again = GenreModel.load(tmp_path / "model")
    np.testing.assert_array_equal(again.features(fs).X, feats.X)
    np.testing.assert_array_equal(again.forest.predict(again.features(fs)), model.forest.predict(feats))

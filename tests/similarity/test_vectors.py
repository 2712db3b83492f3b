"""Track vectors of a collection: the same as embedding each recording, in bounded batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mirlearn.config import load_config
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.features.frameset import FrameSet
from mirlearn.features.representations import frames as compute_frames
from mirlearn.model import GenreModel
from mirlearn.similarity.vectors import frame_track_vectors, model_track_vectors

SR = 8000
FRAMES = {"sr": SR, "n_fft": 256, "hop_length": 128}


def _signal(i: int) -> np.ndarray:
    rng = np.random.default_rng(i)
    t = np.arange(int((2 + i % 3) * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * (300 if i % 2 else 1500) * t) + 0.05 * rng.standard_normal(len(t))
            ).astype(np.float32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cfg = load_config("demo", {"frames": FRAMES, "network": {"hidden": [8, 8, 8]}, "training": {"max_epochs": 2},
                               "forest": {"n_estimators": 5, "n_jobs": 1},
                               "features": {"window_seconds": 1.0, "hop_seconds": 0.5}})
    signals = [_signal(i) for i in range(8)]
    mats = [compute_frames(y, cfg.frames) for y in signals]
    tracks = TrackTable([Track(f"t{i}", Path(f"t{i}.wav"), "low" if i % 2 else "high") for i in range(8)])
    fs = FrameSet(np.concatenate(mats), np.concatenate([[0], np.cumsum([len(m) for m in mats])]), tracks,
                  time_base=cfg.frames.time_base)
    split = Split("s0", train=["t0", "t1", "t2", "t3"], valid=["t4", "t5"], test=["t6", "t7"])
    model = GenreModel.from_config(cfg, progress=False).fit(fs, split, work_dir=tmp_path_factory.mktemp("v"))
    return model, fs, signals


def test_vectors_equal_each_recordings_embedding_whatever_the_batch(trained):
    model, fs, signals = trained
    V, columns = model_track_vectors(model, fs, layers="all", batch_tracks=3)
    assert V.shape == (8, 48) and columns[0] == "layer1_unit000_mean" and columns[24] == "layer1_unit000_var"
    for i in (0, 5, 7):
        np.testing.assert_allclose(V[i], model.embed(signals[i], SR, layers="all").vector, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(V, model_track_vectors(model, fs, layers="all", batch_tracks=100)[0])
    V2, columns2 = model_track_vectors(model, fs, layers="2")
    assert V2.shape == (8, 16) and columns2[0] == "layer2_unit000_mean"


def test_frame_vectors_name_their_values(trained):
    _, fs, _ = trained
    V, columns = frame_track_vectors(fs, "fft")
    assert V.shape == (8, 2 * fs.dim) and columns[0] == "fft000_mean" and columns[fs.dim] == "fft000_var"
    x = fs.track_frames(2).astype(np.float64)
    np.testing.assert_allclose(V[2, :fs.dim], x.mean(0), rtol=1e-5, atol=1e-6)

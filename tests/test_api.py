"""The Python API on numpy arrays: GenreModel.predict(y, sr) and .transform(y, sr), load of a run
folder, and the top-level names (issue #11 finding 8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mirlearn
from mirlearn.config import load_config
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import MirlearnError
from mirlearn.export import Features
from mirlearn.features.frameset import FrameSet
from mirlearn.features.representations import frames as compute_frames
from mirlearn.model import GenreModel, Prediction

SR = 8000
FRAMES = {"sr": SR, "n_fft": 256, "hop_length": 128}  # 16 ms hop, 32 ms frames
TONES = {"low": 300.0, "high": 2000.0}


def tone(label: str, seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * TONES[label] * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> GenreModel:
    """Two classes of tones, a net of 8 units per layer, a forest on 1 s windows every 0.5 s."""
    cfg = load_config("demo", {"frames": FRAMES, "network": {"hidden": [8, 8, 8]}, "training": {"max_epochs": 3},
                               "forest": {"n_estimators": 10, "n_jobs": 1},
                               "features": {"window_seconds": 1.0, "hop_seconds": 0.5}})
    tracks, mats = [], []
    for i in range(8):
        label = "low" if i % 2 == 0 else "high"
        mats.append(compute_frames(tone(label, 3.0, i), cfg.frames))
        tracks.append(Track(f"t{i}", Path(f"t{i}.wav"), label))
    fs = FrameSet(np.concatenate(mats), np.concatenate([[0], np.cumsum([len(m) for m in mats])]),
                  TrackTable(tracks), time_base=cfg.frames.time_base)
    split = Split("s0", train=["t0", "t1", "t2", "t3"], valid=["t4", "t5"], test=["t6", "t7"])
    tmp = tmp_path_factory.mktemp("api")
    return GenreModel.from_config(cfg, progress=False).fit(fs, split, work_dir=tmp)


def test_predict_on_an_array(model):
    p = model.predict(tone("high", 4.0, 99), SR)
    assert isinstance(p, Prediction) and p.path is None
    assert p.label == "high"
    assert set(p.votes) == set(p.probabilities) == {"high", "low"}
    assert abs(sum(p.votes.values()) - 1) < 1e-9 and abs(sum(p.probabilities.values()) - 1) < 1e-9
    assert p.label == max(p.votes, key=p.votes.get)  # the vote decides
    assert p.n_votes == 7  # 1 s windows every 0.5 s over 4 s
    d = p.to_dict()
    assert d["label"] == "high" and set(d) == {"path", "label", "votes", "mean_probabilities", "n_votes"}
    assert all(round(v, 4) == v for v in d["mean_probabilities"].values())


def test_predict_stereo_and_other_rate_like_a_file(model):
    y = tone("low", 3.0, 5, sr=22050)
    stereo = np.stack([y, y])  # (channels, samples), as mirlearn.audio.load(mono=False)
    assert model.predict(stereo, 22050).label == "low"
    assert model.predict(y, 22050).votes == model.predict(stereo, 22050).votes
    with pytest.raises(MirlearnError, match="channels go first"):
        model.predict(stereo.T, 22050)
    with pytest.raises(MirlearnError, match="sr must be a positive integer"):
        model.predict(y, 0)
    with pytest.raises(MirlearnError, match="shorter than one frame"):
        model.predict(y[:10], 22050)


def test_transform_frames_and_windows_with_times_and_columns(model):
    y = tone("low", 3.0, 7)
    f = model.transform(y, SR, layers="all", aggregate=False)
    assert isinstance(f, Features) and f.path is None
    n = 1 + (len(y) - 256) // 128
    assert f.X.shape == (n, 24) and f.X.dtype == np.float32
    np.testing.assert_allclose(f.start_s, np.arange(n) * 128 / SR)
    np.testing.assert_allclose(f.end_s, f.start_s + 256 / SR)
    assert f.timestamps is f.start_s
    assert f.columns[0] == "layer1_unit000" and f.columns[-1] == "layer3_unit007" and len(f.columns) == 24
    assert (f.window_s, f.hop_s) == (256 / SR, 128 / SR)
    # windows: the model's own 1 s / 0.5 s unless asked otherwise; means then variances
    w = model.transform(y, SR, layers="2", aggregate=True)
    assert w.X.shape[1] == 16 and w.columns[:2] == ["layer2_unit000_mean", "layer2_unit001_mean"]
    assert w.columns[8] == "layer2_unit000_var"
    assert w.time_base.window_seconds == 1.0 and w.time_base.window_hop_seconds == 0.5
    np.testing.assert_allclose(np.diff(w.start_s), w.hop_s)
    # rounded to whole frames: 63 frames (1.024 s from first start to last end) every 31 (0.496 s)
    assert w.hop_s == pytest.approx(31 * 128 / SR) and w.window_s == pytest.approx((62 * 128 + 256) / SR)
    assert w.end_s[-1] <= 3.0
    two = model.transform(y, SR, layers="1,3", aggregate=True, window_seconds=2.0, hop_seconds=1.0)
    assert two.layers == ("1", "3") and two.X.shape == (1, 32) and two.columns[8] == "layer3_unit000_mean"
    with pytest.raises(MirlearnError, match="layer 4 is not a feature layer of this model; its layers are 1, 2, 3"):
        model.transform(y, SR, layers="4")


def test_embed_gives_windows_and_a_track_vector_of_every_frame(model, tmp_path):
    from mirlearn.export import write_features

    y = tone("high", 3.0, 11)
    e = model.embed(y, SR, layers="all")
    frames = model.transform(y, SR, layers="all", aggregate=False)
    assert e.aggregate and e.X.shape[1] == 48 and e.columns == model.transform(y, SR, layers="all").columns
    assert e.vector.shape == (48,) and e.vector.dtype == np.float32
    np.testing.assert_allclose(e.vector[:24], frames.X.astype(np.float64).mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e.vector[24:], frames.X.astype(np.float64).var(0), rtol=1e-4, atol=1e-6)
    assert e.vector_columns[0] == "layer1_unit000_mean" and e.vector_columns[24] == "layer1_unit000_var"
    # frame rows: the same track vector
    f = model.embed(y, SR, layers="all", aggregate=False)
    assert not f.aggregate and np.array_equal(f.vector, e.vector)
    # written with the rows: npz keys, npy and csv files beside the export
    other = model.embed(tone("low", 2.0, 12), SR, layers="all")
    [npz] = write_features(tmp_path / "e.npz", [e, other], "npz")
    with np.load(npz) as z:
        assert z["vectors"].shape == (2, 48) and list(z["vector_columns"]) == e.vector_columns
        np.testing.assert_array_equal(z["vectors"][1], other.vector)
    written = write_features(tmp_path / "e.npy", [e, other], "npy")
    assert [p.name for p in written] == ["e.npy", "e.json", "e.vectors.npy"]
    np.testing.assert_array_equal(np.load(tmp_path / "e.vectors.npy")[0], e.vector)
    written = write_features(tmp_path / "e.csv", [e, other], "csv")
    lines = (tmp_path / "e.vectors.csv").read_text().splitlines()
    assert lines[0].split(",")[:2] == ["path", "layer1_unit000_mean"] and len(lines) == 3
    with pytest.raises(ValueError, match="track vector"):
        write_features(tmp_path / "x.npz", [e, model.transform(y, SR, layers="all")], "npz")


def test_load_accepts_a_run_folder_and_refuses_a_bad_description(model, tmp_path):
    model.save(tmp_path / "run" / "model")
    again = GenreModel.load(tmp_path / "run")
    y = tone("high", 3.0, 11)
    assert again.predict(y, SR) == model.predict(y, SR)
    with pytest.raises(MirlearnError, match="not a mirlearn model or run folder"):
        GenreModel.load(tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.json").write_text("{}")
    with pytest.raises(MirlearnError, match="not a model description written by mirlearn"):
        GenreModel.load(tmp_path / "broken")


def test_top_level_names_are_listed():
    names = dir(mirlearn)
    for name in ("GenreModel", "Prediction", "Features", "load_config", "MLPLearner", "__version__"):
        assert name in names, name
    assert mirlearn.GenreModel is GenreModel and mirlearn.Prediction is Prediction

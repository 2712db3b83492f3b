"""Multi-timescale pooling as an aggregation option: configuration, feature cells and their
fingerprints, baselines, saved models (features.timescales, features.pool; Hamel et al. 2011)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from mirlearn import pipeline as protocol
from mirlearn.config import dump_toml, load_config
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import ConfigError
from mirlearn.experiments.layout import SplitLayout
from mirlearn.features.aggregate import aggregate_frameset
from mirlearn.features.frameset import FrameSet
from mirlearn.features.timebase import TimeBase
from mirlearn.learners import FeatureSpec, cell_features

TINY = {"network": {"hidden": [8, 8, 8]}, "training": {"max_epochs": 2},
        "forest": {"n_estimators": 5, "n_jobs": 1},
        "features": {"layers": ["1", "all"], "aggregate": [False, True], "window_seconds": 0.5, "hop_seconds": 0.25}}
MULTI = {"timescales": [0.1, 0.25, 0.5], "pool": ["mean", "var", "max", "min"]}


def _frames(n_tracks: int = 8, frames: int = 60, dim: int = 6) -> FrameSet:
    rng = np.random.default_rng(0)
    labels = ["a", "b"] * (n_tracks // 2)
    tracks = TrackTable([Track(f"t{i}", Path("x"), lab) for i, lab in enumerate(labels)], ["a", "b"])
    X = np.concatenate([rng.standard_normal((frames - (i % 3) * 17, dim)) + (2.0 if lab == "a" else -2.0)
                        for i, lab in enumerate(labels)]).astype(np.float32)
    lengths = [frames - (i % 3) * 17 for i in range(n_tracks)]
    return FrameSet(X, np.concatenate([[0], np.cumsum(lengths)]), tracks, TimeBase(22050, 512, "fft", n_fft=1024))


SPLIT = Split("s0", train=["t0", "t1", "t2", "t3"], valid=["t4", "t5"], test=["t6", "t7"])


def _cfg(**features):
    return load_config("demo", {**TINY, "features": {**TINY["features"], **features}})


# -- configuration ---------------------------------------------------------------------------
def test_unset_options_leave_the_configuration_as_it_was():
    cfg = load_config("demo")
    assert cfg.features.timescales is None and cfg.features.pool is None
    d = cfg.to_dict()
    assert "timescales" not in d["features"] and "pool" not in d["features"]
    assert "timescales" not in dump_toml(cfg) and "pool" not in dump_toml(cfg)
    cfg = _cfg(**MULTI)
    assert cfg.to_dict()["features"]["timescales"] == [0.1, 0.25, 0.5]
    assert "timescales = [0.1, 0.25, 0.5]" in dump_toml(cfg)


@pytest.mark.parametrize("features, named", [
    ({"timescales": []}, "at least one"),
    ({"timescales": [1.0, -0.5]}, "positive number of seconds"),
    ({"timescales": [0.5, 0.5]}, "twice"),
    ({"timescales": [1.0, 1.001]}, "both 43 frames"),
    ({"timescales": [0.001, 1.0]}, "less than one frame"),
    ({"pool": ["mean", "median"]}, "unknown pooling statistic 'median'"),
    ({"pool": []}, "at least one"),
    ({"pool": ["max", "max"]}, "twice"),
    ({"pool": "max"}, "features.pool"),
    ({"timescales": "1.0"}, "features.timescales"),
])
def test_bad_values_are_one_config_error_naming_the_key(features, named):
    with pytest.raises(ConfigError) as e:
        _cfg(**features)
    msg = str(e.value)
    assert named in msg and "features." in msg and "\n" not in msg


def test_a_tags_task_refuses_the_options_it_does_not_read():
    with pytest.raises(ConfigError, match="features.timescales.*tags"):
        load_config("demo", {"training": {"task": "tags"}, "features": {"timescales": [1.0, 2.0]}})


def test_a_cnn_checks_its_scales_against_its_patch_hop():
    cnn = {"cnn": {"patch_hop": 40}}
    # a patch every 40 frames (0.93 s): 1 s and 1.2 s are the same number of rows
    with pytest.raises(ConfigError, match="both 1 frames"):
        load_config("mirex2015", {**cnn, "features": {"timescales": [1.0, 1.2]}})
    cfg = load_config("mirex2015", {**cnn, "features": {"timescales": [1.0, 4.0]}})
    assert protocol.cells_of(cfg)[-1].timescales == (1.0, 4.0)


# -- cells and their fingerprints ---------------------------------------------------------------
def test_unset_cells_have_the_fingerprint_of_cells_made_before_the_option():
    fs = _frames()
    cfg = _cfg()
    for spec in protocol.cells_of(cfg):
        inputs = protocol._cell_inputs({"x": 1}, cfg, SPLIT, spec, fs)
        # what FeatureSpec had before: its four fields, so earlier runs' cells stay current
        assert inputs["cell"] == {"layers": spec.layers, "aggregate": spec.aggregate,
                                  "window_seconds": 0.5, "hop_seconds": 0.25}
        assert spec.to_dict() == {k: v for k, v in asdict(spec).items() if k not in ("timescales", "pool")}


def test_multi_timescale_cells_pool_only_when_aggregated_and_differ_in_fingerprint():
    fs = _frames()
    cfg = _cfg(**MULTI)
    cells = {c.name: c for c in protocol.cells_of(cfg)}
    assert cells["layer-1_frames"].timescales is None and cells["layer-1_frames"].pool is None
    agg = cells["layer-all_agg"]
    assert agg.timescales == (0.1, 0.25, 0.5) and agg.pool == ("mean", "var", "max", "min")
    assert agg.window_seconds == 0.5  # the rows' window: the longest scale
    single = {c.name: c for c in protocol.cells_of(_cfg())}
    assert protocol._cell_inputs({}, cfg, SPLIT, cells["layer-1_frames"], fs) == \
        protocol._cell_inputs({}, _cfg(), SPLIT, single["layer-1_frames"], fs)
    assert protocol._cell_inputs({}, cfg, SPLIT, agg, fs)["cell"]["timescales"] == [0.1, 0.25, 0.5]
    assert protocol.predict_spec(cfg).timescales == (0.1, 0.25, 0.5)


def test_cell_features_are_the_pooled_windows_of_the_chosen_layers():
    fs = _frames(dim=6)
    all_layers = fs.with_rows(np.asarray(fs.X), kind="features")
    widths = {"1": 2, "2": 4}
    spec = FeatureSpec("2", True, 9.0, 0.25, timescales=(0.1, 0.5), pool=("max", "mean"))
    out = cell_features(all_layers, widths, spec)
    assert out.dim == 2 * 2 * 4 and out.time_base.window_seconds == 0.5
    # the block of the longest scale's means is the single-scale mean of layer 2
    ref = aggregate_frameset(all_layers.with_rows(np.ascontiguousarray(fs.X[:, 2:])), window_seconds=0.5,
                             hop_seconds=0.25)
    np.testing.assert_array_equal(out.offsets, ref.offsets)
    np.testing.assert_allclose(out.X[:, 12:16], ref.X[:, :4], rtol=1e-5, atol=1e-6)


def test_run_split_scores_multi_timescale_cells_and_reuses_or_recomputes_them(tmp_path):
    fs = _frames()
    layout = SplitLayout(tmp_path / "split")
    cfg = _cfg(**MULTI)
    lines: list[str] = []
    out = protocol.run_split(cfg, fs, SPLIT, layout, progress=False, log=lines.append)
    rec = out.cells["layer-all_agg"]
    assert rec["dim"] == 3 * 4 * 24  # 3 scales × 4 statistics × all layers (8 + 8 + 8)
    assert rec["inputs"]["cell"]["pool"] == ["mean", "var", "max", "min"]
    assert out.cells["layer-all_frames"]["dim"] == 24
    # the same settings: reused; other scales: the aggregated cells only are recomputed
    lines.clear()
    protocol.run_split(cfg, fs, SPLIT, layout, progress=False, log=lines.append)
    assert not any("recomputing" in m for m in lines)
    lines.clear()
    protocol.run_split(_cfg(timescales=[0.25, 0.5]), fs, SPLIT, layout, progress=False, log=lines.append)
    again = [m for m in lines if "recomputing" in m]
    assert len(again) == 2 and all("_agg" in m and "timescales" in m for m in again)
    assert json.loads(layout.cell_json("layer-all_agg").read_text())["dim"] == 2 * 2 * 24


@pytest.mark.parametrize("kind", ["mfcc", "pmsc"])
def test_baselines_pool_over_several_timescales_too(kind, tmp_path):
    fs = _frames(dim=12)
    out = protocol.run_baseline(_cfg(**MULTI), kind, fs, SPLIT, SplitLayout(tmp_path / kind), log=lambda m: None)
    assert out["layer-all_agg"]["dim"] == 3 * 4 * 12
    assert out["layer-all_agg"]["inputs"]["cell"]["timescales"] == [0.1, 0.25, 0.5]
    assert out["layer-all_frames"]["dim"] == 12


# -- a saved model ---------------------------------------------------------------------------
def test_a_multi_timescale_model_saves_loads_and_names_its_columns(tmp_path):
    from mirlearn.model import GenreModel

    fs = _frames()
    cfg = _cfg(timescales=[0.25, 0.5], pool=["mean", "max"])
    model = GenreModel.from_config(cfg, progress=False).fit(fs, SPLIT, work_dir=tmp_path)
    assert model.spec.timescales == (0.25, 0.5)
    model.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["features"]["timescales"] == [0.25, 0.5] and meta["features"]["pool"] == ["mean", "max"]
    loaded = GenreModel.load(tmp_path / "model")
    assert loaded.spec == model.spec
    items = loaded.transform_frames(fs.subset(["t6"]))
    f = items[0]
    assert f.X.shape[1] == len(f.columns) == 2 * 2 * 24
    assert f.columns[0] == "layer1_unit000_mean_0.25s" and f.columns[-1] == "layer3_unit007_max_0.5s"
    assert f.window_s == pytest.approx((22 - 1) * 512 / 22050 + 1024 / 22050)  # the longest window
    np.testing.assert_array_equal(loaded.predict_frames(fs.subset(["t6"]))[0].n_votes, len(f.X))
    # a window given replaces the scales by that one window; the statistics stay
    one = loaded.feature_spec(window_seconds=0.25)
    assert one.timescales is None and one.pool == ("mean", "max") and one.window_seconds == 0.25
    assert loaded.transform_frames(fs.subset(["t6"]), one)[0].columns[0] == "layer1_unit000_mean"


def test_a_model_saved_before_the_option_loads_as_it_was(tmp_path):
    spec = FeatureSpec(**{"layers": "all", "aggregate": True, "window_seconds": 5.0, "hop_seconds": 2.5})
    assert spec.timescales is None and spec.pool is None and not spec.pooled
    assert spec.to_dict() == {"layers": "all", "aggregate": True, "window_seconds": 5.0, "hop_seconds": 2.5}

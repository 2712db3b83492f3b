"""Multi-timescale pooling and AdaGrad from the command line: run, features, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mirlearn.cli import main

TINY_NET = ["--set", "network.hidden=[8, 8, 8]", "--set", "training.max_epochs=2", "--set", "forest.n_estimators=5",
            "--set", "features.hop_seconds=0.25", "--set", "splits.n_splits=1"]


def test_run_pools_over_several_timescales_and_features_exports_them(tiny, tmp_path, common, capsys):
    out = tmp_path / "run"
    assert main(["run", "--data", str(tiny), "--out", str(out), *TINY_NET,
                 "--set", "features.timescales=[0.25, 0.5, 1.0]", "--set", 'features.pool=["mean", "max"]',
                 "--set", "training.optimizer='adagrad'", "--set", "training.adagrad_eps=1e-8", *common]) == 0
    text = capsys.readouterr().out
    assert "adagrad" in text
    cell = json.loads(next(out.rglob("cells/layer-all_agg.json")).read_text())
    assert cell["dim"] == 3 * 2 * 24 and cell["inputs"]["cell"]["timescales"] == [0.25, 0.5, 1.0]
    assert json.loads(next(out.rglob("cells/layer-all_frames.json")).read_text())["dim"] == 24
    assert "timescales = [0.25, 0.5, 1.0]" in (out / "config.toml").read_text()
    assert "windows of 0.25, 0.5, 1 s side by side" in (out / "report.md").read_text()
    # the saved model pools the same way: features with named, time-stamped columns
    feats = tmp_path / "f.npz"
    assert main(["features", str(out), str(tiny), "--aggregate", "--out", str(feats), "--no-progress"]) == 0
    assert "windows of 0.25, 0.5, 1 s every 0.25 s" in capsys.readouterr().out
    z = np.load(feats)
    assert z["features"].shape[1] == 3 * 2 * 24 == len(z["columns"])
    assert z["columns"][0] == "layer1_unit000_mean_0.25s" and z["columns"][-1] == "layer3_unit007_max_1s"
    assert float(z["window_s"]) == pytest.approx((43 - 1) * 512 / 22050 + 1024 / 22050)  # the 1 s window


@pytest.mark.parametrize("bad, named", [
    ('features.pool=["mean", "median"]', "features.pool"),
    ("features.timescales=[0.5, -1.0]", "features.timescales"),
    ("features.timescales=[1.0, 1.001]", "features.timescales"),
    ("training.adagrad_eps=1e-8", "training.adagrad_eps"),
    ("training.optimizer='adagrd'", "training.optimizer"),
])
def test_bad_values_are_one_line_before_any_work(bad, named, tiny, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--data", str(tiny), "--out", str(out), "--cache", str(tmp_path / "cache"),
                 "--no-progress", "--set", bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0] and "Traceback" not in err[0]
    assert not out.exists() and not (tmp_path / "cache").exists()

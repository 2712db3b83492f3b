"""End to end through the command line on a small synthetic set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mirlearn.cli import main

SMALL = ["--set", "network.hidden=[32, 32, 32]", "--set", "training.max_epochs=12",
         "--set", "forest.n_estimators=40", "--set", "forest.max_train_frames=6000",
         "--set", "features.window_seconds=1.0", "--set", "features.hop_seconds=0.5"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "data"
    assert main(["synth", str(root), "--classes", "4", "--clips", "12", "--seconds", "4", "--seed", "1"]) == 0
    return root


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


def _common(home: Path) -> list[str]:
    return ["--cache", str(home / "cache"), "-j", "1", "--no-progress"]


def test_run_end_to_end_well_above_chance_and_resumes(synth, home, capsys):
    out = home / "run"
    args = ["run", "--data", str(synth), "--config", "demo", "--out", str(out), *SMALL, *_common(home)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Track accuracy" in text and "aggregated" in text
    res = json.loads((out / "results.json").read_text())
    cells = res["summary"]
    assert set(cells) == {f"layer-{l}_{a}" for l in ("1", "2", "3", "all") for a in ("frames", "agg")}
    best = max(c["mean"] for c in cells.values())
    assert best >= 0.75, cells  # chance is 0.25 with 4 classes
    for f in ("config.toml", "environment.json", "splits.json", "split-0/net/train_log.csv",
              "split-0/net/featurenet.pt", "split-0/predictions/layer-all_agg.csv"):
        assert (out / f).is_file(), f
    env = json.loads((out / "environment.json").read_text())
    assert env["packages"]["torch"].startswith("2.13")
    # a rerun reuses every finished piece and gives the same numbers
    before = {p.name: p.stat().st_mtime_ns for p in (out / "split-0" / "cells").iterdir()}
    assert main(args) == 0
    assert json.loads((out / "results.json").read_text())["summary"] == cells
    after = {p.name: p.stat().st_mtime_ns for p in (out / "split-0" / "cells").iterdir()}
    assert before == after
    assert "reusing" in capsys.readouterr().out


def test_same_seed_same_metrics(synth, home):
    outs = []
    for k in range(2):
        out = home / f"det{k}"
        assert main(["run", "--data", str(synth), "--config", "demo", "--out", str(out), *SMALL,
                     "--set", "features.layers=['all']", "--set", "features.aggregate=[true]",
                     *_common(home)]) == 0
        outs.append(json.loads((out / "results.json").read_text())["summary"])
    assert outs[0] == outs[1]


def test_train_predict_features_evaluate(synth, home, capsys):
    out = home / "train"
    assert main(["train", "--data", str(synth), "--config", "demo", "--out", str(out), *SMALL, *_common(home)]) == 0
    model = out / "model"
    assert (model / "model.json").is_file() and (model / "forest.joblib").is_file()
    capsys.readouterr()
    files = sorted((synth).rglob("*.wav"))[:3]
    assert main(["predict", str(model), *map(str, files), "--json"]) == 0
    preds = json.loads(capsys.readouterr().out)
    assert [Path(p["path"]).name for p in preds] == [f.name for f in files]
    for p in preds:
        assert p["genre"] in p["probabilities"]
        assert abs(sum(p["probabilities"].values()) - 1) < 1e-6
    npz = home / "feats.npz"
    assert main(["features", str(model), str(files[0]), str(files[1]), "--layer", "2", "--aggregate",
                 "--window", "1", "--hop", "0.5", "-o", str(npz)]) == 0
    with np.load(npz) as z:
        assert z["features"].shape[1] == 2 * 32 and len(z["offsets"]) == 3
        assert list(z["paths"]) == [str(files[0].resolve()), str(files[1].resolve())]
    assert main(["evaluate", str(model), "--no-progress", "--cache", str(home / "cache"),
                 "--set", "forest.n_estimators=20", "--set", "features.layers=['1', 'all']"]) == 0
    assert "Track accuracy" in capsys.readouterr().out
    assert (out / "evaluation" / "cells" / "layer-1_frames.json").is_file()


def test_errors_are_one_line(tmp_path, home, capsys):
    assert main(["run", "--data", str(tmp_path / "nope"), *_common(home)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mirlearn: error:") and "nope" in err and "\n" not in err
    one = tmp_path / "one"
    (one / "a").mkdir(parents=True)
    for i in range(3):
        sf.write(one / "a" / f"{i}.wav", np.zeros(4096, np.float32), 22050)
    assert main(["run", "--data", str(one), *_common(home)]) == 2
    assert "2 classes" in capsys.readouterr().err
    assert main(["run", "--data", str(one), "--set", "training.lrr=1", *_common(home)]) == 2
    assert "lrr" in capsys.readouterr().err


def test_bad_files_listed_before_training_and_skip_bad(synth, tmp_path, home, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(synth, data)
    (data / "synth0" / "broken.wav").write_bytes(b"RIFF not really a wav file")
    (data / "synth1" / "empty.wav").write_bytes(b"")
    out = tmp_path / "run"
    args = ["run", "--data", str(data), "--config", "demo", "--out", str(out), *SMALL, *_common(home)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "broken.wav" in err and "empty.wav" in err and "--skip-bad" in err
    assert not (out / "split-0" / "net").exists()  # nothing trained
    with pytest.warns(UserWarning, match="broken.wav"):
        assert main(args + ["--skip-bad", "--set", "features.layers=['all']"]) == 0


def test_train_hessian_free_end_to_end(synth, home, capsys):
    out = home / "hf"
    assert main(["train", "--data", str(synth), "--optimizer", "hf", "--config", "sigtia2014-sigmoid-hf-50",
                 "--out", str(out), "--set", "training.max_epochs=4", "--set", "training.max_cg_iters=30",
                 "--set", "forest.n_estimators=30", "--set", "features.window_seconds=1.0",
                 "--set", "features.hop_seconds=0.5", *_common(home)]) == 0
    text = capsys.readouterr().out
    assert "HF steps" in text
    log = (out / "model" / "hf_log.csv").read_text().splitlines()
    assert log[0].startswith("step,") and len(log) == 1 + 4
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert metrics["accuracy"] > 0.25  # above chance (4 classes) after 4 HF steps


def test_reproduce_dry_run_then_one_net_and_report(synth, home, capsys):
    out = home / "grid"
    common = ["reproduce", "sigtia2014", "--dataset", str(synth), "--out", str(out), "--cache",
              str(home / "cache"), "-j", "1", "--no-progress", "--set", "splits.n_splits=2", *SMALL]
    assert main(common + ["--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "total ~" in text and "reduction: forest.n_estimators = 100" in text
    assert not (out / "run.json").exists()
    assert main(common + ["--nets", "relu-dropout-50", "--no-baselines"]) == 0
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    md = (out / "report.md").read_text()
    assert "ReLU+SGD+Dropout 50" in md and "Table 1" in md
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").read_text() == md
    assert main(["reproduce", "sigtia2014", "--no-progress"]) == 2
    assert "--gtzan" in capsys.readouterr().err

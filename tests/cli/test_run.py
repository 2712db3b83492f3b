"""``run``, ``train``, ``evaluate`` (and ``predict`` / ``features`` on the trained model) end to end,
and the checks ``run`` / ``train`` make before any work."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mirlearn.cli import main


# -- end to end -----------------------------------------------------------------------------
def test_run_end_to_end_well_above_chance_and_resumes(synth, home, small, common, capsys):
    out = home / "run"
    args = ["run", "--data", str(synth), "--config", "demo", "--out", str(out), *small, *common]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Track accuracy" in text and "aggregated" in text
    res = json.loads((out / "results.json").read_text())
    cells = res["summary"]
    assert set(cells) == {f"layer-{l}_{a}" for l in ("1", "2", "3", "all") for a in ("frames", "agg")}
    best = max(c["mean"] for c in cells.values())
    assert best >= 0.75, cells  # chance is 0.25 with 4 classes
    for f in ("config.toml", "environment.json", "splits.json"):
        assert (out / f).is_file(), f
    assert any((out).rglob("train_log.csv")) and any(out.rglob("layer-all_agg.csv"))
    env = json.loads((out / "environment.json").read_text())
    assert env["packages"]["torch"].startswith("2.")
    # a rerun reuses every finished piece, gives the same numbers, and adds its own provenance
    provenance = {f: (out / f).stat().st_mtime_ns for f in ("config.toml", "environment.json")}
    cell_files = sorted(out.rglob("cells/*.json"))
    before = {p: p.stat().st_mtime_ns for p in cell_files}
    assert main(args) == 0
    assert json.loads((out / "results.json").read_text())["summary"] == cells
    assert {p: p.stat().st_mtime_ns for p in cell_files} == before
    assert "reusing" in capsys.readouterr().out
    assert {f: (out / f).stat().st_mtime_ns for f in provenance} == provenance
    assert len(list((out / "invocations").glob("*.json"))) == 2


def test_run_saves_a_model_that_predict_and_evaluate_take_from_the_run_folder(synth, home, small, common, capsys):
    out = home / "run-model"
    args = ["run", "--data", str(synth), "--config", "demo", "--out", str(out), *small,
            "--set", "features.layers=['all']", *common]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "mirlearn predict" in text and f"report: {out / 'report.md'}" in text
    report = (out / "report.md").read_text()  # run writes its report; none of it is "—"
    assert "no usable" not in report and "per-class" in report.lower()
    model = out / "model"
    meta = json.loads((model / "model.json").read_text())
    split = json.loads((out / "splits.json").read_text())
    assert meta["info"]["split"] == meta["info"]["inputs"]["split"]["id"]
    cell = json.loads(next(out.glob(f"split-*/cells/{meta['info']['cell']}.json")).read_text())
    assert meta["info"]["test_track_accuracy"] == cell["metrics"]["accuracy"]  # the cell's own forest
    assert split  # the model names the split file it was trained on
    assert Path(meta["info"]["splits_file"]) == (out / "splits.json").resolve()
    clip = next(Path(synth).rglob("*.wav"))
    assert main(["predict", str(out), str(clip), "--no-progress"]) == 0  # the run folder itself
    assert str(clip.name) in capsys.readouterr().out
    assert main(["evaluate", str(out), "--out", str(out / "evaluation"), *small,
                 "--set", "features.layers=['all']", *common]) == 0
    assert (out / "evaluation" / "cells" / "layer-all_agg.json").is_file()
    # a rerun keeps the model made from the same inputs; a removed model comes back without retraining
    stamp = (model / "forest.joblib").stat().st_mtime_ns
    assert main(args) == 0
    assert (model / "forest.joblib").stat().st_mtime_ns == stamp
    import shutil
    shutil.rmtree(model)
    capsys.readouterr()
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "model saved" in text and "training" not in text
    assert json.loads((model / "model.json").read_text())["info"]["inputs"] == meta["info"]["inputs"]


def test_not_a_model_folder_is_one_line(tmp_path, capsys):
    assert main(["predict", str(tmp_path), str(tmp_path / "x.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a mirlearn model or run folder" in err[0]


def test_same_seed_same_metrics(synth, home, small, common):
    outs = []
    for k in range(2):
        out = home / f"det{k}"
        assert main(["run", "--data", str(synth), "--config", "demo", "--out", str(out), *small,
                     "--set", "features.layers=['all']", "--set", "features.aggregate=[true]", *common]) == 0
        outs.append(json.loads((out / "results.json").read_text())["summary"])
    assert outs[0] == outs[1]


def test_train_predict_features_evaluate(synth, home, small, common, capsys):
    out = home / "train"
    assert main(["train", "--data", str(synth), "--config", "demo", "--out", str(out), "--split",
                 "random-seed0-0", *small, *common]) == 0
    model = out / "model"
    assert (model / "model.json").is_file() and (model / "forest.joblib").is_file()
    assert json.loads((out / "metrics.json").read_text())["split"] == "random-seed0-0"
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    capsys.readouterr()
    files = sorted((synth).rglob("*.wav"))[:3]
    assert main(["predict", str(model), *map(str, files), "--json", "-j", "1", "--no-progress"]) == 0
    preds = json.loads(capsys.readouterr().out)
    assert [Path(p["path"]).name for p in preds] == [f.name for f in files]
    for p in preds:
        assert max(p["votes"], key=p["votes"].get) == p["label"]  # the label is the vote's
        assert abs(sum(p["mean_probabilities"].values()) - 1) < 1e-3  # rounded to 4 decimals
    feats = home / "feats"
    assert main(["features", str(model), str(files[0]), str(files[1]), "--layer", "2", "--aggregate",
                 "--window", "1", "--hop", "0.5", "--out", str(feats), "--combined"]) == 0
    with np.load(feats / "features.npz") as z:
        assert z["features"].shape[1] == 2 * 32 and len(z["offsets"]) == 3
        assert list(z["paths"]) == [str(files[0]), str(files[1])]
    # the former `-o FILE.npz` spelling still names the file itself
    npz = home / "old.npz"
    assert main(["features", str(model), str(files[0]), "--layer", "1", "-o", str(npz)]) == 0
    with np.load(npz) as z:
        assert z["features"].shape[1] == 32
    assert main(["evaluate", str(model), "--no-progress", "--cache", str(home / "cache"),
                 "--set", "forest.n_estimators=20", "--set", "features.layers=['1', 'all']"]) == 0
    assert "Track accuracy" in capsys.readouterr().out
    assert any((out / "evaluation").rglob("layer-1_frames.json"))


def test_train_hessian_free_end_to_end(synth, home, common, capsys):
    out = home / "hf"
    assert main(["train", "--data", str(synth), "--optimizer", "hf", "--config", "sigtia2014-sigmoid-hf-50",
                 "--out", str(out), "--set", "training.max_epochs=4", "--set", "training.max_cg_iters=30",
                 "--set", "forest.n_estimators=30", "--set", "features.window_seconds=1.0",
                 "--set", "features.hop_seconds=0.5", *common]) == 0
    text = capsys.readouterr().out
    assert "HF step" in text and "network trained" in text
    logs = list((out / "model").rglob("*log.csv"))
    assert logs
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert metrics["accuracy"] > 0.25  # above chance (4 classes) after 4 HF steps


def test_bad_files_listed_before_training_and_skip_bad(synth, tmp_path, home, small, common, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(synth, data)
    (data / "synth0" / "broken.wav").write_bytes(b"RIFF not really a wav file")
    (data / "synth1" / "empty.wav").write_bytes(b"")
    out = tmp_path / "run"
    args = ["run", "--data", str(data), "--config", "demo", "--out", str(out), *small, *common]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "broken.wav" in err and "empty.wav" in err and "--skip-bad" in err
    assert not out.exists()  # framing failed: no run folder, no provenance
    with pytest.warns(UserWarning, match="broken.wav"):
        assert main(args + ["--skip-bad", "--set", "features.layers=['all']"]) == 0


# -- checks before work ---------------------------------------------------------------------
def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mirlearn: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else b"")
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty current folder, so that a default ``runs/...`` folder would show."""
    d = tmp_path / "cwd"
    d.mkdir()
    monkeypatch.chdir(d)
    return d


def _assert_no_work(tmp_path: Path, workdir: Path) -> None:
    cache = tmp_path / "cache"
    assert not cache.exists() or not any(cache.iterdir()), "frames were extracted"
    assert list(workdir.iterdir()) == [], "a folder was made"
    assert not list(tmp_path.rglob("net")) and not list(tmp_path.rglob("features-all.f32"))


@pytest.mark.parametrize("command", ["run", "train"])
@pytest.mark.parametrize("bad, named", [
    (["--split", "99"], "--split 99"),
    (["--split", "-1"], "--split -1"),
    (["--split", "nonesuch"], "--split nonesuch"),
    (["-j", "0"], "-j/--jobs 0"),
    (["-j", "-3"], "-j/--jobs -3"),
    (["--device", "gpu7"], "--device gpu7"),
    (["--dataset", "bogus"], "--dataset bogus"),
    (["--set", "forest.min_samples_leaf=0"], "min_samples_leaf"),
    (["--set", "forest.max_features='bogus'"], "max_features"),
    (["--set", "frames.hop_length=0"], "hop_length"),
    (["--set", "frames.n_fft=-5"], "n_fft"),
    (["--set", "frames.max_seconds=-1.0"], "max_seconds"),
    (["--splits", "/nonexistent/splits.json"], "/nonexistent/splits.json"),
])
def test_bad_argument_is_one_line_before_any_work(command, bad, named, tiny, tmp_path, workdir, capsys):
    if command == "train" and bad[0] == "--split" and bad[1] == "99":
        bad = ["--split", "4"]  # train takes one value; the config makes 4 splits
        named = "--split 4"
    assert main([command, "--data", str(tiny), "--config", "demo", "--cache", str(tmp_path / "cache"),
                 "--no-progress", *bad]) == 2
    assert named in _one_error_line(capsys)
    _assert_no_work(tmp_path, workdir)


def test_out_that_is_a_file(tiny, tmp_path, workdir, capsys):
    f = tmp_path / "results.txt"
    f.write_text("mine")
    assert main(["run", "--data", str(tiny), "--out", str(f), "--cache", str(tmp_path / "cache")]) == 2
    assert "is a file" in _one_error_line(capsys)
    assert f.read_text() == "mine"
    _assert_no_work(tmp_path, workdir)


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_out_in_a_folder_that_cannot_be_written(where, tiny, tmp_path, workdir, capsys):
    if where == "proc":
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc on this system")
        out = Path("/proc/mirlearn-run")  # nobody, not even root, can create files in /proc
    else:
        (tmp_path / "plain").write_text("x")
        out = tmp_path / "plain" / "run"
    assert main(["train", "--data", str(tiny), "--out", str(out), "--cache", str(tmp_path / "cache")]) == 2
    assert str(out) in _one_error_line(capsys)
    _assert_no_work(tmp_path, workdir)


def test_out_in_a_read_only_folder_is_found_by_trying(tiny, tmp_path, workdir, capsys, monkeypatch):
    # Root ignores permission bits, so the check must try to create a file; simulate a read-only
    # mount by making creation below `ro` fail the way the kernel does.
    ro = tmp_path / "ro"
    ro.mkdir()
    real_open = os.open

    def open_(path, flags, *a, **k):
        if str(path).startswith(str(ro)) and flags & os.O_CREAT:
            raise OSError(30, "Read-only file system", str(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", open_)
    assert main(["run", "--data", str(tiny), "--out", str(ro / "run"), "--cache", str(tmp_path / "cache")]) == 2
    assert "Read-only file system" in _one_error_line(capsys)
    assert list(ro.iterdir()) == []
    _assert_no_work(tmp_path, workdir)


def test_out_that_is_a_foreign_folder(tiny, tmp_path, workdir, capsys):
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "cat.jpg").write_bytes(b"\xff\xd8")
    assert main(["run", "--data", str(tiny), "--out", str(mine), "--cache", str(tmp_path / "cache")]) == 2
    assert "not a mirlearn run folder" in _one_error_line(capsys)
    assert [p.name for p in mine.iterdir()] == ["cat.jpg"]


def test_failed_command_keeps_a_finished_runs_provenance(tmp_path, workdir, capsys):
    d1 = tmp_path / "D1"
    d1.mkdir()
    (d1 / "config.toml").write_text('name = "earlier"\n')
    (d1 / "environment.json").write_text('{"earlier": true}')
    (d1 / "results.json").write_text("{}")
    before = _snapshot(d1)
    assert main(["run", "--data", str(tmp_path / "nope"), "--out", str(d1), "--cache", str(tmp_path / "cache")]) == 2
    assert "nope" in _one_error_line(capsys)
    assert _snapshot(d1) == before
    # without --out no runs/<time>-<config>/ folder is left behind
    assert main(["run", "--data", str(tmp_path / "nope")]) == 2
    _one_error_line(capsys)
    assert list(workdir.iterdir()) == []


def test_errors_are_one_line(tmp_path, workdir, capsys):
    one = tmp_path / "one"
    (one / "a").mkdir(parents=True)
    for i in range(3):
        sf.write(one / "a" / f"{i}.wav", np.zeros(4096, np.float32), 22050)
    assert main(["run", "--data", str(one), "--cache", str(tmp_path / "cache")]) == 2
    assert "2 classes" in _one_error_line(capsys)
    assert main(["run", "--data", str(one), "--set", "training.lrr=1"]) == 2
    assert "lrr" in _one_error_line(capsys)
    assert main(["run", "--data", str(one), "--bogus-option"]) == 2
    assert "--bogus-option" in _one_error_line(capsys)
    assert main(["train", "--data", str(one), "--split", "0", "1"]) == 2  # train takes one split
    assert "unrecognized arguments: 1" in _one_error_line(capsys)
    _assert_no_work(tmp_path, workdir)


def test_demo_checks_before_generating(tmp_path, workdir, capsys):
    data = tmp_path / "demo-data"
    assert main(["demo", "--data", str(data), "--classes", "1"]) == 2
    assert "--classes 1" in _one_error_line(capsys)
    assert main(["demo", "--data", str(data), "--set", "training.max_epochs=0"]) == 2
    assert "max_epochs" in _one_error_line(capsys)
    assert not data.exists()
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("no_progress", [False, True])
def test_demo_in_a_pipe_logs_lines_not_redraws(no_progress, tmp_path, home, monkeypatch, capsys):
    """Issue #11 finding 7: stderr that is not a terminal gets one line per epoch and a few per
    stage, never carriage returns; --no-progress drops the progress lines, not the epoch log."""
    monkeypatch.delenv("MIRLEARN_PROGRESS", raising=False)
    args = ["demo", "--data", str(tmp_path / "data"), "--classes", "2", "--clips", "6", "--seconds", "3",
            "--out", str(tmp_path / "run"), "--cache", str(home / "cache"), "-j", "1",
            "--set", "training.max_epochs=3", "--set", "forest.n_estimators=20",
            "--set", "features.layers=['all']", "--set", "features.window_seconds=1.0",
            "--set", "features.hop_seconds=0.5"] + (["--no-progress"] if no_progress else [])
    assert main(args) == 0
    cap = capsys.readouterr()
    assert "\r" not in cap.err and "\r" not in cap.out
    epochs = [line for line in cap.err.splitlines() if line.startswith("sgd epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["sgd epoch 1/3", "sgd epoch 2/3", "sgd epoch 3/3"]
    progress = [line for line in cap.err.splitlines() if line.startswith(("forest:", "fft frames:"))]
    assert (progress == []) if no_progress else (any(p.startswith("forest: 20/20 trees") for p in progress))
    assert len(cap.err) < 2000, cap.err  # kilobytes of redraws before
    assert "window acc" in cap.out  # an aggregated cell's second accuracy is over windows


def test_a_run_on_other_data_into_a_finished_run_stops_naming_what_differs(synth, tiny, tmp_path, home, common,
                                                                           capsys):
    """The other dataset's nets and cells are never reported as this run's results."""
    tiny_net = ["--set", "network.hidden=[8, 8, 8]", "--set", "training.max_epochs=2",
                "--set", "forest.n_estimators=5", "--set", "features.window_seconds=1.0",
                "--set", "features.hop_seconds=0.5", "--set", "splits.n_splits=1"]
    out = tmp_path / "run"
    assert main(["run", "--data", str(tiny), "--out", str(out), *tiny_net, *common]) == 0
    cells = sorted(p.read_bytes() for p in out.rglob("cells/*.json"))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["run", "--data", str(synth), "--out", str(out), *tiny_net, *common]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "other inputs" in err[0] and "data" in err[0] and "Traceback" not in captured.err
    assert "reusing" not in captured.out
    assert sorted(p.read_bytes() for p in out.rglob("cells/*.json")) == cells  # nothing overwritten
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # not even provenance


def test_another_split_into_the_same_run_is_its_own_folder(tiny, tmp_path, home, common, capsys):
    tiny_net = ["--set", "network.hidden=[8, 8, 8]", "--set", "training.max_epochs=2",
                "--set", "forest.n_estimators=5", "--set", "features.window_seconds=1.0",
                "--set", "features.hop_seconds=0.5", "--set", "splits.n_splits=2"]
    out = tmp_path / "run"
    assert main(["run", "--data", str(tiny), "--out", str(out), "--split", "0", *tiny_net, *common]) == 0
    capsys.readouterr()
    assert main(["run", "--data", str(tiny), "--out", str(out), "--split", "1", *tiny_net, *common]) == 0
    text = capsys.readouterr().out
    assert "reusing" not in text
    results = json.loads((out / "results.json").read_text())
    name = results["splits"][0]
    assert name.endswith("-1")
    cell = json.loads(next((out / f"split-{name}" / "cells").glob("*.json")).read_text())
    assert cell["split"] == name

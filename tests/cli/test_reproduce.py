"""``reproduce`` and ``report`` through the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mirlearn.cli import main
from mirlearn.cli.reproduce import SYNTHETIC_GRID


def test_reproduce_dry_run_then_one_net_and_report(synth, home, small, capsys):
    out = home / "grid"
    common = ["reproduce", "sigtia2014", "--data", str(synth), "--out", str(out), "--cache",
              str(home / "cache"), "-j", "1", "--no-progress", "--set", "splits.n_splits=2", *small]
    assert main(common + ["--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "total ~" in text and "reduction: forest.n_estimators = 100" in text
    assert not out.exists()  # a plan is not work: no run folder
    assert main(common + ["--nets", "relu-dropout-50", "--no-baselines"]) == 0
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    cap = capsys.readouterr()
    # Issue #11 finding 7: stdout says where the report is instead of printing it; stderr (not a
    # terminal here) has no redraws, and --no-progress keeps one line per epoch of each net.
    assert f"report: {out / 'report.md'}" in cap.out and "Table 1" not in cap.out
    assert cap.out.count("\n") < 60, cap.out  # the log of 16 cells, 2 models and the plan; no report
    assert "\r" not in cap.err
    assert len(re.findall(r"^sgd epoch \d+/12: train loss .*, valid acc .*$", cap.err, re.M)) >= 2 * 2, cap.err
    assert (out / "config.toml").is_file() and list((out / "invocations").glob("*.json"))
    md = (out / "report.md").read_text()
    assert "ReLU+SGD+Dropout 50" in md and "Table 1" in md
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").read_text() == md
    # every net of the grid leaves a model that predict takes from the net's folder
    net_dir = next(out.glob("*/relu-dropout-50"))
    info = json.loads((net_dir / "model" / "model.json").read_text())["info"]
    assert info["split_index"] == 0 and Path(info["splits_file"]) == (out / "splits.json").resolve()
    clip = next(Path(synth).rglob("*.wav"))
    capsys.readouterr()
    assert main(["predict", str(net_dir), str(clip), "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["label"]


def test_reproduce_old_dataset_path_is_data_with_a_note(synth, home, small, capsys):
    out = home / "grid-old"
    assert main(["reproduce", "sigtia2014", "--dataset", str(synth), "--out", str(out), "--cache",
                 str(home / "cache"), "-j", "1", "--no-progress", "--set", "splits.n_splits=2", *small,
                 "--dry-run"]) == 0
    cap = capsys.readouterr()
    assert "total ~" in cap.out
    assert cap.err.strip() == "mirlearn: note: --dataset PATH is deprecated; use --data PATH"


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mirlearn: error: "), err
    return lines[0]


@pytest.mark.parametrize("args, named", [
    ([], "--gtzan"),
    (["--dataset", "gtzan"], "--gtzan"),
    (["--gtzan", "/nonexistent/gtzan"], "/nonexistent/gtzan"),
    (["--data", "/nonexistent/set"], "/nonexistent/set"),
    (["--dataset", "synthetic", "--nets", "relu-dropout-5000"], "relu-dropout-5000"),
    (["--dataset", "synthetic", "-j", "0"], "-j/--jobs 0"),
    (["--dataset", "synthetic", "--set", "training.max_epochs=0"], "max_epochs"),
    (["--dataset", "synthetic", "--ismir2004", "/nonexistent/ismir"], "/nonexistent/ismir"),
])
def test_reproduce_checks_before_work(args, named, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MIRLEARN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "sigtia2014", "--no-progress", "--cache", str(tmp_path / "cache"), *args]) == 2
    assert named in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no synthetic set, no cache, no runs/


def test_synthetic_grid_is_the_documented_set():
    assert SYNTHETIC_GRID == {"n_classes": 4, "clips_per_class": 12, "seconds": 6.0, "seed": 0}


def test_report_of_a_missing_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "nope" in _one_error_line(capsys)


def test_reproduce_logs_lines_in_a_pipe_with_progress_on(tiny, tmp_path, monkeypatch, capsys):
    """Without --no-progress and with stderr not a terminal: frame and epoch lines, no '\\r'."""
    monkeypatch.delenv("MIRLEARN_PROGRESS", raising=False)
    out = tmp_path / "grid"
    assert main(["reproduce", "sigtia2014", "--data", str(tiny), "--out", str(out), "--cache", str(tmp_path / "c"),
                 "-j", "1", "--nets", "relu-sgd-50", "--no-baselines", "--set", "splits.n_splits=1",
                 "--set", "network.hidden=[8, 8, 8]", "--set", "training.max_epochs=3",
                 "--set", "forest.n_estimators=10", "--set", "features.window_seconds=1.0",
                 "--set", "features.hop_seconds=0.5"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert re.search(r"^fft frames: 8/8 tracks \(100%\)", err, re.M), err
    assert [int(k) for k in re.findall(r"^sgd epoch (\d+)/3: ", err, re.M)] == [1, 2, 3], err


@pytest.mark.parametrize("nets", [["--nets", "relu-dropout-5", "--dry-run"],
                                  ["--nets", "relu-dropout-50", "relu-dropout-5"],
                                  ["--nets", "relu-dropout-50,relu-dropout-5"]])
def test_reproduce_unknown_net_is_one_line_listing_the_nets(nets, tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MIRLEARN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "sigtia2014", "--data", str(tiny), "--cache", str(tmp_path / "cache"), *nets]) == 2
    line = _one_error_line(capsys)
    assert "--nets relu-dropout-5: no such net; the nets are relu-sgd-50, " in line
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_reproduce_nets_before_the_paper(tiny, tmp_path, monkeypatch, capsys):
    """`--nets` takes several values, so it also swallowed the paper: the message then was
    "the following arguments are required: paper". The paper is given back; a typo is named."""
    monkeypatch.setenv("MIRLEARN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    base = ["reproduce", "--data", str(tiny), "--cache", str(tmp_path / "cache")]
    assert main([*base, "--nets", "relu-dropout-5", "sigtia2014"]) == 2
    assert "--nets relu-dropout-5: no such net" in _one_error_line(capsys)
    assert main([*base, "--nets", "sigtia2014"]) == 2
    assert "--nets: give at least one net" in _one_error_line(capsys)
    assert main(base) == 2
    assert "give the paper to reproduce" in _one_error_line(capsys)
    assert main([*base, "--nets", "relu-sgd-50,relu-dropout-50", "sigtia2014", "--no-baselines", "--dry-run",
                 "--set", "splits.n_splits=1"]) == 0
    text = capsys.readouterr().out
    assert "net=relu-sgd-50" in text and "net=relu-dropout-50" in text and "net=sigmoid-hf-50" not in text


# -- schindler2016 ---------------------------------------------------------------------------------
#: Both CNNs on tiny clips: 40 bands × 40-frame patches (the deep net's smallest), 1 epoch, 1 split.
TINY_CNN = ["--set", "frames.n_mels=40", "--set", "cnn.patch_frames=40", "--set", "cnn.patch_hop=20",
            "--set", "training.max_epochs=1", "--set", "training.patches_per_track=2", "--set", "splits.n_splits=1",
            "--set", "forest.n_estimators=5", "--set", "features.window_seconds=1.0",
            "--set", "features.hop_seconds=0.5"]


@pytest.fixture(scope="module")
def tiny_gtzan(tmp_path_factory) -> Path:
    """3 GTZAN genres × 4 clips × 2 s in GTZAN's layout (genre folders, ``<genre>.000NN.wav``)."""
    from mirlearn.datasets.synthetic import make_synthetic

    root = make_synthetic(tmp_path_factory.mktemp("gtzan") / "mygenres", n_classes=3, clips_per_class=4,
                          seconds=2.0, seed=5)
    for genre, folder in zip(("blues", "classical", "rock"), sorted(p for p in root.iterdir() if p.is_dir())):
        for k, clip in enumerate(sorted(folder.glob("*.wav"))):
            clip.rename(folder / f"{genre}.{k:05d}.wav")
        folder.rename(root / genre)
    return root


def test_reproduce_schindler_dry_run_then_both_nets_baseline_report_and_reuse(tiny_gtzan, tmp_path, capsys):
    out = tmp_path / "s16"
    args = ["reproduce", "schindler2016", "--data", str(tiny_gtzan), "--out", str(out), "--cache",
            str(tmp_path / "cache"), "-j", "1", "--no-progress", "--profile", "paper", *TINY_CNN]
    with pytest.warns(UserWarning, match="GTZAN copy is not complete"):
        assert main(args + ["--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "plan (schindler2016, 100 epochs, paper profile, 1 split(s) of gtzan)" in text
    assert "net=shallow" in text and "net=deep" in text and "method=mfcc" in text
    assert not out.exists()  # a plan is not work
    with pytest.warns(UserWarning, match="GTZAN copy is not complete"):
        assert main(args) == 0
    run = json.loads((out / "run.json").read_text())
    assert (run["paper"], run["nets"], run["epochs"], run["dataset"]) == ("schindler2016", ["shallow", "deep"],
                                                                          100, "gtzan")
    assert run["timings"]["frames_s"] >= 0 and run["profile"] == "paper"
    for net in ("shallow", "deep"):
        names = {p.stem for p in (out / "gtzan" / net).rglob("cells/*.json")}
        assert {"output-meanprob", "output-vote", "layer-dense_agg", "layer-all_frames"} <= names
    assert len(list((out / "baselines" / "gtzan" / "mfcc").rglob("cells/*.json"))) == 2
    md = (out / "report.md").read_text()
    assert "## GTZAN" in md and "| Net | Max probability | Majority vote | Best forest cell |" in md
    assert re.search(r"^\| shallow \|.*\| 78\.1 \|$", md, re.M) and re.search(r"^\| deep \|.*\| 78\.6 \|$", md, re.M)
    assert "| MFCC (baseline) |" in md
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("cells/*.json")}
    capsys.readouterr()
    with pytest.warns(UserWarning):
        assert main(args) == 0
    assert "training CNN" not in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("cells/*.json")} == stamps


@pytest.mark.parametrize("extra, named", [
    (["--nets", "medium"], "--nets medium: no such net; the nets are shallow, deep"),
    (["--epochs", "150"], "--epochs 150"),
    (["--ismir2004", "/nonexistent/ismir"], "--ismir2004"),
    (["--data", "/nonexistent/set"], "/nonexistent/set"),
])
def test_reproduce_schindler_checks_before_work(extra, named, tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MIRLEARN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    data = [] if "--data" in extra else ["--data", str(tiny)]
    assert main(["reproduce", "schindler2016", *data, "--cache", str(tmp_path / "cache"), *extra]) == 2
    assert named in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_reproduce_sigtia_refuses_epochs(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "sigtia2014", "--data", str(tiny), "--epochs", "100", "--dry-run"]) == 2
    assert "--epochs is an option of schindler2016" in _one_error_line(capsys)

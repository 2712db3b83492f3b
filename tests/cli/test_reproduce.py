"""``reproduce`` and ``report`` through the command line."""

from __future__ import annotations

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
    assert (out / "config.toml").is_file() and list((out / "invocations").glob("*.json"))
    md = (out / "report.md").read_text()
    assert "ReLU+SGD+Dropout 50" in md and "Table 1" in md
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").read_text() == md


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

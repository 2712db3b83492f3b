"""`mirlearn compare`: two real runs on the same splits, side by side."""

from __future__ import annotations

import json

import numpy as np

from mirlearn.cli import main


def test_compare_two_runs_on_the_same_splits(synth, home, small, common, tmp_path, capsys):
    runs = []
    for name, hidden in (("wide", "[32, 32, 32]"), ("narrow", "[8, 8, 8]")):
        out = home / f"compare-{name}"
        assert main(["run", "--data", str(synth), "--config", "demo", "--out", str(out), "--set", "splits.n_splits=2",
                     *small, "--set", "training.max_epochs=3",
                     "--set", f"network.hidden={hidden}", *common]) == 0
        runs.append(out)
    capsys.readouterr()
    dest = tmp_path / "cmp"
    assert main(["compare", *map(str, runs), "--labels", "wide,narrow", "--out", str(dest)]) == 0
    printed = capsys.readouterr().out
    assert "| cell | wide | narrow | Δ narrow − wide | better / same / worse |" in printed
    doc = json.loads((dest / "compare.json").read_text())
    wide, narrow = (json.loads((r / "results.json").read_text())["summary"] for r in runs)
    assert doc["splits"] == ["random-seed0-0", "random-seed0-1"]
    for cell, entry in doc["cells"].items():
        np.testing.assert_allclose(entry["runs"]["narrow"]["delta"]["per_split"],
                                   np.subtract(narrow[cell]["per_split"], wide[cell]["per_split"]))
    assert doc["differences"]["network.hidden"] == ["[32, 32, 32]", "[8, 8, 8]"]
    md = (dest / "compare.md").read_text()
    assert "network.hidden" in md and (dest / "compare.html").is_file()
    assert (dest / "figures" / "compare_splits.png").is_file()


def test_compare_checks_its_arguments_before_writing(tmp_path, capsys):
    a = tmp_path / "a"
    a.mkdir()
    dest = tmp_path / "cmp"
    assert main(["compare", str(a), "--out", str(dest)]) == 2
    assert "at least two run folders" in capsys.readouterr().err
    assert main(["compare", str(a), str(a), "--labels", "x", "--out", str(dest)]) == 2
    assert "--labels: 1 label(s) for 2 run folder(s)" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path / "b"), "--out", str(dest)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a/results.json: not found" in err[0]
    assert main(["compare", str(a), str(a)]) == 2
    assert "--out: required" in capsys.readouterr().err
    assert not dest.exists()

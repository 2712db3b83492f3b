"""`mirlearn transfer`: a model of one set, frozen, on another; MFCC and random weights beside it."""

from __future__ import annotations

import json

from mirlearn.cli import main


def test_transfer_to_another_set_with_the_baselines(tiny_model, synth, home, tmp_path, capsys):
    out = tmp_path / "tr"
    assert main(["transfer", str(tiny_model), "--data", str(synth), "--n-splits", "2", "--random-weights",
                 "--out", str(out), "--cache", str(home / "cache"), "-j", "1", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| features | forest + vote (windows) |" in printed
    doc = json.loads((out / "transfer.json").read_text())
    assert doc["sources"] == ["model", "random weights", "mfcc"] and doc["splits"] == ["random-seed0-0",
                                                                                         "random-seed0-1"]
    for split in doc["splits"]:
        for src in doc["sources"]:
            r = doc["per_split"][split][src]
            assert set(r) == {"forest", "logreg", "svm"}
            assert all(0.0 <= r[c]["accuracy"] <= 1.0 for c in r)
            assert "C" in r["logreg"]["params"]
    # MFCC separates the synthetic classes (chance is 25 %)
    assert sum(doc["per_split"][s]["mfcc"]["svm"]["accuracy"] for s in doc["splits"]) / 2 >= 0.6
    md = (out / "transfer.md").read_text()
    assert md.startswith("# Transfer:") and "random weights" in md and (out / "transfer.html").is_file()


def test_transfer_checks_before_work(tiny_model, synth, tmp_path, capsys):
    assert main(["transfer", str(tiny_model), "--data", str(synth)]) == 2
    assert "--out: required" in capsys.readouterr().err
    assert main(["transfer", str(tiny_model), "--data", str(synth), "--layer", "9", "--out", str(tmp_path / "x")]) == 2
    assert "layer 9 is not a feature layer" in capsys.readouterr().err
    assert main(["transfer", str(tmp_path), "--data", str(synth), "--out", str(tmp_path / "x")]) == 2
    assert "not a mirlearn model or run folder" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()

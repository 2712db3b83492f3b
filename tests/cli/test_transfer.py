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


def test_transfer_tags_and_target_from_a_manifest(tiny_model, tagged_manifest, home, tmp_path, capsys):
    m, classes = tagged_manifest
    common = ["--cache", str(home / "cache"), "-j", "1", "--no-progress", "--n-splits", "2"]
    assert main(["transfer", str(tiny_model), "--data", str(m), "--out", str(tmp_path / "tags"), *common]) == 0
    printed = capsys.readouterr().out
    assert "roc_auc: forest" in printed and "| features | forest, mean of windows |" in printed
    doc = json.loads((tmp_path / "tags" / "transfer.json").read_text())
    assert doc["task"] == "tags" and doc["tag_names"] == sorted([*classes, "low", "high"])
    for split in doc["splits"]:
        for src in doc["sources"]:
            for clf in ("forest", "logreg", "svm"):
                r = doc["per_split"][split][src][clf]
                assert set(r["per_tag"]) == set(doc["tag_names"]) and r["n_scored"] == 6
                assert 0 <= r["roc_auc"] <= 1 and 0 <= r["pr_auc"] <= 1
    # MFCC ranks the synthetic classes' tags far above chance (0.5)
    assert min(doc["per_split"][s]["mfcc"]["logreg"]["roc_auc"] for s in doc["splits"]) > 0.8
    md = (tmp_path / "tags" / "transfer.md").read_text()
    assert "ROC-AUC, macro over tags" in md and "PR-AUC" in md and "## Per tag" in md and "| low |" in md

    assert main(["transfer", str(tiny_model), "--data", str(m), "--task", "target", "--out", str(tmp_path / "reg"),
                 *common]) == 0
    doc = json.loads((tmp_path / "reg" / "transfer.json").read_text())
    assert doc["task"] == "target" and doc["classifiers"] == ["forest", "ridge", "svr"]
    assert max(doc["per_split"][s]["mfcc"]["svr"]["r2"] for s in doc["splits"]) > 0.5
    assert "R² (%)" in (tmp_path / "reg" / "transfer.md").read_text()


def test_a_task_the_data_cannot_serve_fails_before_work(tiny_model, tagged_manifest, synth, tmp_path, capsys):
    m, _ = tagged_manifest
    assert main(["transfer", str(tiny_model), "--data", str(m), "--task", "label", "--out", str(tmp_path / "x")]) == 2
    assert "--task label: --data" in capsys.readouterr().err
    assert main(["transfer", str(tiny_model), "--data", str(synth), "--task", "tags", "--out", str(tmp_path / "x")]) == 2
    assert "has no tags" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    # training learns classes: a manifest of tags only is refused in one line, naming transfer
    assert main(["run", "--data", str(m), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "no labels to learn" in err and "mirlearn transfer" in err and len(err.strip().splitlines()) == 1


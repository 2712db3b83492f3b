"""`mirlearn run --task tags`: a network trained on a manifest's tags, scored per tag and macro."""

from __future__ import annotations

import json

from mirlearn.cli import main
from mirlearn.learners import load_learner


def test_run_learns_tags_with_sigmoid_outputs(tagged_manifest, home, tmp_path, small, capsys):
    m, classes = tagged_manifest
    out = tmp_path / "tag-run"
    args = ["run", "--data", str(m), "--task", "tags", *small, "--set", "splits.n_splits=2", "--split", "0",
            "--out", str(out), "--cache", str(home / "cache"), "-j", "1", "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "the net's own sigmoid outputs, ROC-AUC" in printed
    doc = json.loads((out / "tagging.json").read_text())
    assert doc["tag_names"] == sorted([*classes, "low", "high"]) and doc["sources"] == ["learned features", "mfcc"]
    own = doc["own_output"]["random-seed0-0"]
    assert own["n_scored"] == 6 and own["roc_auc"] > 0.7          # the synthetic classes' tags are learnable
    for src in doc["sources"]:
        assert set(doc["per_split"]["random-seed0-0"][src]) == {"forest", "logreg", "svm"}
    md = (out / "tagging.md").read_text()
    assert md.startswith("# Auto-tagging") and "network's own outputs" in md and "| low |" in md
    # the net has one output per tag, saved with the run's split
    net = load_learner(out / "split-random-seed0-0" / "net")
    assert net.task == "tags" and net.classes_ == doc["tag_names"]
    # a second run reuses the split's scores; `report` rebuilds the same tagging report
    assert main(args) == 0
    assert "tagging: reusing" in capsys.readouterr().out
    (out / "tagging.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "tagging.md").read_text() == md and not (out / "report.md").exists()


def test_train_refuses_a_tags_config_before_work(tagged_manifest, synth, tmp_path, capsys):
    m, _ = tagged_manifest
    assert main(["train", "--data", str(m), "--set", "training.task=tags", "--out", str(tmp_path / "t")]) == 2
    assert "train on tags with `mirlearn run --task tags`" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()
    assert main(["run", "--data", str(synth), "--task", "tags", "--out", str(tmp_path / "t")]) == 2
    assert "--task tags needs tags" in capsys.readouterr().err

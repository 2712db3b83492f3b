"""End to end on real recordings: the GTZAN music/speech set (skipped when ../shared is absent)."""

from __future__ import annotations

import json

import pytest

from mirlearn.cli import main
from mirlearn.experiments.layout import RunLayout


def test_music_speech_end_to_end_small_net(shared_data, tmp_path, capsys):
    data = shared_data / "music_speech"
    out = tmp_path / "run"
    # A small net and forest on the first 10 s of each clip keep this under a minute or two;
    # the paper-sized run is in the closing note of issue #2 and in tests marked slow.
    assert main(["run", "--data", str(data), "--config", "sigtia2014-relu-dropout-50", "--out", str(out),
                 "--split", "0", "--cache", str(tmp_path / "cache"), "--no-progress",
                 "--set", "frames.max_seconds=10.0", "--set", "training.max_epochs=15",
                 "--set", "forest.n_estimators=50", "--set", "forest.max_train_frames=8000",
                 "--set", "features.layers=['1', 'all']", "--set", "features.window_seconds=2.5",
                 "--set", "features.hop_seconds=1.25"]) == 0
    summary = json.loads((out / "results.json").read_text())["summary"]
    best = max(c["mean"] for c in summary.values())
    assert best >= 0.85, summary  # music vs speech; chance is 0.5
    split = json.loads((out / "splits.json").read_text())["splits"][0]
    test_ids = split["test"]
    rows = RunLayout(out).split(split["name"]).predictions_csv("layer-all_agg").read_text().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == sorted(test_ids) and len(test_ids) == 32


@pytest.mark.slow
def test_music_speech_paper_dropout_500(shared_data, tmp_path):
    """The paper's 500-unit ReLU + dropout net on music/speech, all 4 splits (tens of minutes).

    The forest uses the quick profile's reductions (100 trees, 50 000 training rows), the
    network every setting of the paper.
    """
    out = tmp_path / "run"
    assert main(["run", "--data", str(shared_data / "music_speech"), "--config", "sigtia2014-relu-dropout-500",
                 "--out", str(out), "--cache", str(tmp_path / "cache"), "--no-progress",
                 "--set", "forest.n_estimators=100", "--set", "forest.max_train_frames=50000"]) == 0
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert summary["layer-all_agg"]["mean"] >= 0.9, summary


@pytest.mark.slow
def test_music_speech_hessian_free_sigmoid_50(shared_data, tmp_path):
    """The paper's sigmoid 3 × 50 net trained with Hessian-Free (200 steps, CG ≤ 250) on music/speech."""
    out = tmp_path / "hf"
    assert main(["train", "--data", str(shared_data / "music_speech"), "--optimizer", "hf",
                 "--config", "sigtia2014-sigmoid-hf-50", "--out", str(out), "--cache", str(tmp_path / "cache"),
                 "--no-progress", "--set", "forest.n_estimators=100", "--set", "forest.max_train_frames=50000"]) == 0
    assert json.loads((out / "metrics.json").read_text())["metrics"]["accuracy"] >= 0.85

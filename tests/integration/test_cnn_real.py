"""The spectrogram CNNs on real recordings (skipped when ../shared is absent).

The default test is a quick CNN on music/speech; the full measurements of issue #12 (MIREX 2015
CNN ≥ 99 % on music/speech over 4 splits, the shallow Schindler CNN beating MFCC on
Philharmonia) are marked ``slow`` and run on purpose: ``python -m pytest -m slow``.
"""

from __future__ import annotations

import json

import pytest

from mirlearn.cli import main


def _summary(out):
    return json.loads((out / "results.json").read_text())["summary"]


def test_mirex_cnn_on_music_speech_one_split_quick(shared_data, tmp_path):
    """Split 0, 10 s of each clip, a few epochs: the CNN's own output is far above chance."""
    out = tmp_path / "run"
    assert main(["run", "--data", str(shared_data / "music_speech"), "--config", "mirex2015", "--split", "0",
                 "--out", str(out), "--cache", str(tmp_path / "cache"), "--no-progress",
                 "--set", "frames.max_seconds=10.0", "--set", "training.max_epochs=8",
                 "--set", "forest.n_estimators=50", "--set", "features.layers=['dense']",
                 "--set", "features.aggregate=[false]", "--set", "features.predict_aggregate=false"]) == 0
    s = _summary(out)
    assert s["output-meanprob"]["mean"] >= 0.8, s  # chance is 0.5
    assert s["layer-dense_frames"]["mean"] >= 0.8, s


@pytest.mark.slow
def test_mirex_cnn_on_music_speech_reaches_99_percent(shared_data, tmp_path):
    """Issue #12: the MIREX 2015 CNN's own output ≥ 99 % over the 4 splits (about 5 min on 2 cores)."""
    out = tmp_path / "run"
    assert main(["run", "--data", str(shared_data / "music_speech"), "--config", "mirex2015", "--out", str(out),
                 "--cache", str(tmp_path / "cache"), "--no-progress"]) == 0
    s = _summary(out)
    assert s["output-meanprob"]["mean"] >= 0.99, s


@pytest.mark.slow
def test_shallow_cnn_beats_mfcc_on_philharmonia(shared_data, tmp_path):
    """Issue #12: the shallow CNN's best cell beats the MFCC baseline on the same 4 splits by more
    than the split-to-split standard deviation (about 45 min on 2 cores)."""
    data = shared_data / "philharmonia"
    cnn, grid = tmp_path / "cnn", tmp_path / "grid"
    assert main(["run", "--data", str(data), "--config", "schindler2016-shallow", "--skip-bad", "--out", str(cnn),
                 "--cache", str(tmp_path / "cache"), "--no-progress", "--set", "training.lr=0.0005",
                 "--set", "training.patience=10", "--set", "cnn.patch_frames=40", "--set", "cnn.patch_hop=10",
                 "--set", "features.window_seconds=2.0", "--set", "features.hop_seconds=1.0"]) == 0
    assert main(["reproduce", "sigtia2014", "--data", str(data), "--nets", "relu-sgd-50", "--profile", "quick",
                 "--skip-bad", "--out", str(grid), "--cache", str(tmp_path / "cache"), "--no-progress"]) == 0
    assert json.loads((cnn / "splits.json").read_text()) == json.loads((grid / "splits.json").read_text())
    mfcc = []
    for f in grid.rglob("baselines/*/mfcc/*/cells/*.json"):
        mfcc.append(json.loads(f.read_text()))
    import numpy as np

    by_cell: dict[str, list[float]] = {}
    for c in mfcc:
        by_cell.setdefault(c["cell"], []).append(c["metrics"]["accuracy"])
    mfcc_best = max(by_cell.values(), key=np.mean)
    s = _summary(cnn)
    best = max((c for c in s.values()), key=lambda c: c["mean"])
    margin = best["mean"] - float(np.mean(mfcc_best))
    assert margin > max(best["std"], float(np.std(mfcc_best))), (best, mfcc_best)

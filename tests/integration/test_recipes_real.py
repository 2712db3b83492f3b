"""Issue #16's recipes measured on Philharmonia (skipped when ../shared is absent; all ``slow``).

Each test reruns one row of the issue's closing note at its settings (2 splits) and checks the
direction the note reports, by more than the splits' spread: run them on purpose with
``python -m pytest -m slow tests/integration/test_recipes_real.py`` (both: 4.5 min on the quiet
2-core machine).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from mirlearn.cli import main

pytestmark = pytest.mark.slow

# The README's Philharmonia settings: notes are 1.3 s at the median, so 2 s windows.
PHILHARMONIA = ["--skip-bad", "--set", "features.window_seconds=2.0", "--set", "features.hop_seconds=1.0",
                "--set", "training.frames_per_epoch=40000", "--set", "forest.n_estimators=100",
                "--split", "0", "1", "--no-progress"]


def _per_split(out, cell: str) -> np.ndarray:
    return np.array(json.loads((out / "results.json").read_text())["summary"][cell]["per_split"])


def _run(shared_data, tmp_path, name: str, *settings: str):
    out = tmp_path / name
    assert main(["run", "--data", str(shared_data / "philharmonia"), *PHILHARMONIA, *settings,
                 "--cache", str(tmp_path / "cache"), "--out", str(out)]) == 0
    return out


def _gain(base: np.ndarray, option: np.ndarray) -> tuple[float, float]:
    delta = option - base
    return float(delta.mean()), float(delta.std())


def test_rbm_pretraining_helps_with_ten_percent_of_the_labels(shared_data, tmp_path):
    """Hamel's question: with 10 % of the labelled tracks, the DBN's aggregated
    features beat the same sigmoid net trained from random weights on both splits."""
    common = ("--config", "dbn-sigmoid-500", "--set", "training.label_fraction=0.1",
              "--set", "pretrain.frames_per_epoch=40000", "--set", "features.layers=['all']",
              "--set", "features.aggregate=[true]")
    none = _run(shared_data, tmp_path, "none", *common, "--set", "pretrain.method=none")
    rbm = _run(shared_data, tmp_path, "rbm", *common)
    mean, std = _gain(_per_split(none, "layer-all_agg"), _per_split(rbm, "layer-all_agg"))
    assert mean > 0.03 and mean > std, (mean, std)


def test_multi_timescale_pooling_beats_one_window(shared_data, tmp_path):
    """Hamel 2011: 0.5, 1 and 2 s windows with four statistics beat one 2 s window of
    mean and variance, on the same trained nets (the second run reuses them)."""
    common = ("--config", "sigtia2014-relu-dropout-500", "--set", "training.max_epochs=40",
              "--set", "forest.max_samples=20000", "--set", "forest.min_samples_leaf=5",
              "--set", "features.layers=['3']", "--set", "features.aggregate=[true]")
    single = _run(shared_data, tmp_path, "single", *common)
    # A copy of the run without its settings files: the nets and frames are reused, the cells redone.
    multi = tmp_path / "multi"
    shutil.copytree(single, multi, ignore=shutil.ignore_patterns("config.toml", "environment.json", "invocations"))
    multi = _run(shared_data, tmp_path, "multi", *common, "--set", "features.timescales=[0.5, 1.0, 2.0]",
                 "--set", "features.pool=['mean', 'var', 'max', 'min']")
    base, option = _per_split(single, "layer-3_agg"), _per_split(multi, "layer-3_agg")
    mean, _ = _gain(base, option)
    assert mean > 0 and (option >= base).all(), (base, option)

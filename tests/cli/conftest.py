"""Shared fixtures of the command-line tests: small synthetic sets and a frame cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirlearn.cli import main


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> Path:
    """4 classes × 12 clips × 4 s, for the end-to-end runs."""
    root = tmp_path_factory.mktemp("synth") / "data"
    assert main(["synth", "--out", str(root), "--classes", "4", "--clips", "12", "--seconds", "4", "--seed", "1"]) == 0
    return root


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    """2 classes × 4 clips × 2 s: enough for the checks that must fire before any work."""
    from mirlearn.datasets.synthetic import make_synthetic

    return make_synthetic(tmp_path_factory.mktemp("tiny") / "data", n_classes=2, clips_per_class=4,
                          seconds=2.0, seed=0)


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Path:
    """A folder for run folders and the frame cache shared by the end-to-end tests."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture
def small() -> list[str]:
    """``--set`` options of a net and forest small enough for seconds-long runs."""
    return ["--set", "network.hidden=[32, 32, 32]", "--set", "training.max_epochs=12",
            "--set", "forest.n_estimators=40", "--set", "forest.max_train_frames=6000",
            "--set", "features.window_seconds=1.0", "--set", "features.hop_seconds=0.5"]


@pytest.fixture
def common(home) -> list[str]:
    """Cache, one job, no progress bars."""
    return ["--cache", str(home / "cache"), "-j", "1", "--no-progress"]

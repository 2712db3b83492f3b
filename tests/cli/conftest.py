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


@pytest.fixture(scope="session")
def tiny_model(tiny, tmp_path_factory) -> Path:
    """A run folder holding a model of ``tiny``: 8 units per layer, 3 epochs, 10 trees."""
    from mirlearn.config import load_config
    from mirlearn.datasets.splits import Split
    from mirlearn.datasets.tracks import Track, TrackTable
    from mirlearn.features.frameset import FrameSet
    from mirlearn.model import GenreModel, frames_of_files

    files = sorted(tiny.rglob("*.wav"))
    cfg = load_config("demo", {"network": {"hidden": [8, 8, 8]}, "training": {"max_epochs": 3},
                               "forest": {"n_estimators": 10, "n_jobs": 1},
                               "features": {"window_seconds": 0.5, "hop_seconds": 0.25}})
    raw, _ = frames_of_files(files, cfg.frames)
    tracks = TrackTable([Track(f.stem, f, f.parent.name) for f in files])
    fs = FrameSet(raw.X, raw.offsets, tracks, time_base=raw.time_base)
    ids = tracks.ids  # synth0.0000{0..3}, synth1.0000{0..3}
    split = Split("s0", train=ids[0:2] + ids[4:6], valid=[ids[2], ids[6]], test=[ids[3], ids[7]])
    tmp = tmp_path_factory.mktemp("use")
    m = GenreModel.from_config(cfg, progress=False).fit(fs, split, work_dir=tmp)
    return m.save(tmp / "run" / "model").parent  # the run folder: predict and features take it


@pytest.fixture
def tagged_manifest(synth, tmp_path) -> tuple[Path, list[str]]:
    """``synth`` as a manifest without labels: every clip tagged with its class and its half of
    the classes ('low' or 'high'), its class number as a numeric target. Returns (path, classes)."""
    files = sorted(synth.rglob("*.wav"))
    classes = sorted({f.parent.name for f in files})
    lines = ["path,tags,target"]
    for f in files:
        k = classes.index(f.parent.name)
        lines.append(f"{f},{f.parent.name};{'low' if k < 2 else 'high'},{k}")
    path = tmp_path / "tagged.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, classes

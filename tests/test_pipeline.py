"""The protocol's training step keeps large parts of a memory-mapped cache on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mirlearn.config import load_config
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.experiments import protocol
from mirlearn.features.frameset import FrameSet


def _cached_frames(tmp_path: Path, n_tracks: int = 8, frames: int = 40, dim: int = 16) -> FrameSet:
    rng = np.random.default_rng(0)
    labels = ["a", "b"] * (n_tracks // 2)
    tracks = TrackTable([Track(f"t{i}", Path("x"), lab) for i, lab in enumerate(labels)], ["a", "b"])
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n_tracks * frames, dim))
    for i, lab in enumerate(labels):
        X[i * frames:(i + 1) * frames] = rng.standard_normal((frames, dim)) + (3.0 if lab == "a" else -3.0)
    X.flush()
    return FrameSet(np.load(tmp_path / "X.npy", mmap_mode="r"), np.arange(n_tracks + 1) * frames, tracks)


def test_subset_to_disk_equals_subset_in_memory(tmp_path):
    fs = _cached_frames(tmp_path)
    ids = ["t5", "t0", "t3"]
    mem, disk = fs.subset(ids), fs.subset(ids, out=tmp_path / "part.npy")
    assert isinstance(disk.X, np.memmap) and not disk.X.flags.writeable
    np.testing.assert_array_equal(mem.X, disk.X)
    np.testing.assert_array_equal(mem.offsets, disk.offsets)
    assert disk.tracks.ids == ids


def test_subset_without_copy_is_a_view_only_for_consecutive_tracks(tmp_path):
    fs = _cached_frames(tmp_path)
    view = fs.subset(["t2", "t3", "t4"], copy=False)
    copied = fs.subset(["t2", "t3", "t4"])
    assert isinstance(view.X, np.memmap) and np.shares_memory(view.X, fs.X)
    assert not np.shares_memory(copied.X, fs.X)
    np.testing.assert_array_equal(view.X, copied.X)
    np.testing.assert_array_equal(view.offsets, copied.offsets)
    assert view.tracks.ids == ["t2", "t3", "t4"]
    # out of order or with a gap: copied, whatever copy says
    for ids in (["t3", "t2"], ["t0", "t2"]):
        other = fs.subset(ids, copy=False)
        assert not np.shares_memory(other.X, fs.X)
        np.testing.assert_array_equal(other.X, fs.subset(ids).X)


def test_forest_parts_of_split_ordered_features_are_views(tmp_path):
    fs = _cached_frames(tmp_path)
    split = Split("s", train=["t0", "t1", "t2", "t3"], valid=["t4", "t5"], test=["t6", "t7"])
    fit, test = protocol.fit_and_test_parts(fs, split)
    assert np.shares_memory(fit.X, fs.X) and np.shares_memory(test.X, fs.X)
    assert fit.tracks.ids == ["t0", "t1", "t2", "t3", "t4", "t5"] and test.tracks.ids == ["t6", "t7"]
    np.testing.assert_array_equal(test.X, fs.subset(["t6", "t7"]).X)


def test_training_parts_go_to_disk_when_large_and_same_net(tmp_path, monkeypatch):
    fs = _cached_frames(tmp_path)
    split = Split("s", train=["t0", "t1", "t2", "t3"], valid=["t4", "t5"], test=["t6", "t7"])
    cfg = load_config("demo", {"network": {"hidden": [8, 8, 8]}, "training": {"max_epochs": 2}})
    seen: list[bool] = []
    real_fit = protocol.FeatureLearner.fit

    def spy(self, train, valid):
        seen.append(isinstance(train.X, np.memmap) and isinstance(valid.X, np.memmap))
        return real_fit(self, train, valid)

    monkeypatch.setattr(protocol.FeatureLearner, "fit", spy)
    in_ram = protocol.train_network(cfg, fs, split, tmp_path / "ram", progress=False, log=lambda s: None)
    monkeypatch.setattr(protocol, "SUBSET_IN_RAM_BYTES", 0)
    on_disk = protocol.train_network(cfg, fs, split, tmp_path / "disk", progress=False, log=lambda s: None)
    assert seen == [False, True]
    # The temporary copies are gone, and the net is the same wherever its frames lived.
    assert not list((tmp_path / "disk").glob("frames-*"))
    for a, b in zip(in_ram.net_.state_dict().values(), on_disk.net_.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy())

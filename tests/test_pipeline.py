"""The recipe: bounded memory, results tied to their inputs, no debris after a kill."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mirlearn.config import load_config
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn import pipeline as protocol
from mirlearn.experiments.layout import RunLayout, SplitLayout
from mirlearn.learners import MLPLearner
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
    real_fit = MLPLearner.fit

    def spy(self, train, valid):
        seen.append(isinstance(train.X, np.memmap) and isinstance(valid.X, np.memmap))
        return real_fit(self, train, valid)

    monkeypatch.setattr(MLPLearner, "fit", spy)
    in_ram = protocol.train_learner(cfg, fs, split, SplitLayout(tmp_path / "ram"), progress=False, log=lambda s: None)
    monkeypatch.setattr(protocol, "SUBSET_IN_RAM_BYTES", 0)
    on_disk = protocol.train_learner(cfg, fs, split, SplitLayout(tmp_path / "disk"), progress=False,
                                     log=lambda s: None)
    assert seen == [False, True]
    # The temporary copies are gone, and the net is the same wherever its frames lived.
    assert not (tmp_path / "disk" / ".scratch").exists() and not list((tmp_path / "disk").rglob("*.npy"))
    for a, b in zip(in_ram.net_.state_dict().values(), on_disk.net_.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy())


# -- every stored result is tied to its inputs -------------------------------------------------
TINY = {"network": {"hidden": [8, 8, 8]}, "training": {"max_epochs": 2},
        "forest": {"n_estimators": 5, "n_jobs": 1}, "features": {"layers": ["1", "all"], "aggregate": [False]}}


def _splits():
    return [Split("s0", train=["t0", "t1", "t2", "t3"], valid=["t4", "t5"], test=["t6", "t7"]),
            Split("s1", train=["t2", "t3", "t4", "t5"], valid=["t6", "t7"], test=["t0", "t1"])]


def _quiet(lines):
    return lambda m: lines.append(m)


def test_split_folders_are_named_by_split_id_and_another_split_is_never_reused(tmp_path):
    fs = _cached_frames(tmp_path)
    cfg = load_config("demo", TINY)
    s0, s1 = _splits()
    lines: list[str] = []
    protocol.run_protocol(cfg, fs, [s0], tmp_path / "run", progress=False, log=_quiet(lines))
    lines.clear()
    result = protocol.run_protocol(cfg, fs, [s1], tmp_path / "run", progress=False, log=_quiet(lines))
    assert not any("reusing" in m for m in lines)
    run = RunLayout(tmp_path / "run")
    assert run.split("s0").cell_json("layer-1_frames").is_file() and run.split("s1").cell_json("layer-1_frames").is_file()
    cell = json.loads(run.split("s1").cell_json("layer-1_frames").read_text())
    assert cell["split"] == "s1" and result["splits"] == ["s1"]
    # the same split again: everything is reused
    lines.clear()
    protocol.run_protocol(cfg, fs, [s1], tmp_path / "run", progress=False, log=_quiet(lines))
    assert any("reusing" in m for m in lines) and not any("training" in m for m in lines)


def test_a_net_of_other_inputs_stops_the_run_with_what_differs(tmp_path):
    fs = _cached_frames(tmp_path)
    cfg = load_config("demo", TINY)
    s0, s1 = _splits()
    layout = SplitLayout(tmp_path / "split")
    protocol.train_learner(cfg, fs, s0, layout, progress=False, log=lambda m: None)
    before = (layout.net_dir / "featurenet.pt").read_bytes()
    # another split into the same folder
    with pytest.raises(protocol.InputsMismatch, match="split"):
        protocol.train_learner(cfg, fs, s1, layout, progress=False, log=lambda m: None)
    # other data with the same track ids (another dataset)
    other = FrameSet(np.asarray(fs.X) * 2 + 1, fs.offsets, fs.tracks)
    with pytest.raises(protocol.InputsMismatch, match="data"):
        protocol.train_learner(cfg, other, s0, layout, progress=False, log=lambda m: None)
    # other settings
    with pytest.raises(protocol.InputsMismatch, match="lr"):
        protocol.train_learner(load_config("demo", {**TINY, "training": {"max_epochs": 2, "lr": 0.5}}), fs, s0,
                               layout, progress=False, log=lambda m: None)
    assert (layout.net_dir / "featurenet.pt").read_bytes() == before  # nothing overwritten


def test_a_cell_of_other_inputs_is_recomputed_and_says_why(tmp_path):
    fs = _cached_frames(tmp_path)
    s0 = _splits()[0]
    layout = SplitLayout(tmp_path / "split")
    protocol.run_split(load_config("demo", TINY), fs, s0, layout, progress=False, log=lambda m: None)
    first = json.loads(layout.cell_json("layer-1_frames").read_text())
    assert first["inputs"]["forest"]["n_estimators"] == 5
    lines: list[str] = []
    cfg = load_config("demo", {**TINY, "forest": {"n_estimators": 7, "n_jobs": 1}})
    protocol.run_split(cfg, fs, s0, layout, progress=False, log=_quiet(lines))
    assert any("recomputing" in m and "n_estimators 5 → 7" in m for m in lines)
    again = json.loads(layout.cell_json("layer-1_frames").read_text())
    assert again["inputs"]["forest"]["n_estimators"] == 7 and again["settings"]["forest"]["n_estimators"] == 7


def test_a_cell_without_a_fingerprint_is_not_trusted(tmp_path):
    fs = _cached_frames(tmp_path)
    s0 = _splits()[0]
    layout = SplitLayout(tmp_path / "split")
    cfg = load_config("demo", TINY)
    protocol.run_split(cfg, fs, s0, layout, progress=False, log=lambda m: None)
    record = json.loads(layout.cell_json("layer-1_frames").read_text())
    record.pop("inputs")
    record["metrics"]["accuracy"] = -1.0  # what an old, unrelated cell would report
    layout.cell_json("layer-1_frames").write_text(json.dumps(record))
    out = protocol.run_split(cfg, fs, s0, layout, progress=False, log=lambda m: None)
    assert out.cells["layer-1_frames"]["metrics"]["accuracy"] >= 0.0


def test_a_dead_process_scratch_is_removed_by_the_next_run(tmp_path):
    import subprocess
    import sys

    fs = _cached_frames(tmp_path)
    s0 = _splits()[0]
    layout = SplitLayout(tmp_path / "split")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    debris = layout.root / ".scratch" / f"{int(dead.stdout)}-frames-abcd"
    debris.mkdir(parents=True)
    (debris / "train.npy").write_bytes(b"x" * 1000)
    # half-written files of a killed process (atomic writes carry the writer's pid)
    half = [layout.root / f".features-all.f32.{int(dead.stdout)}-abcd.tmp.f32",
            layout.net_dir / f".checkpoint.pt.{int(dead.stdout)}-efgh.tmp.pt"]
    for p in half:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * 1000)
    protocol.run_split(load_config("demo", TINY), fs, s0, layout, progress=False, log=lambda m: None)
    assert not (layout.root / ".scratch").exists()
    assert not any(p.exists() for p in half)
    assert not [p for p in layout.root.rglob(".*")]


KILLED_TRAINING = """
import sys, time
import numpy as np
from pathlib import Path
from mirlearn import pipeline
from mirlearn.config import load_config
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.experiments.layout import SplitLayout
from mirlearn.features.frameset import FrameSet

root = Path(sys.argv[1])
labels = ["a", "b"] * 4
tracks = TrackTable([Track(f"t{i}", Path("x"), lab) for i, lab in enumerate(labels)], ["a", "b"])
fs = FrameSet(np.load(root / "X.npy", mmap_mode="r"), np.arange(9) * 40, tracks)
pipeline.SUBSET_IN_RAM_BYTES = 0  # the training parts go to scratch memory maps
cfg = load_config("demo", {"network": {"hidden": [8, 8, 8]}, "training": {"max_epochs": 100000, "patience": 100000}})
split = Split("s0", train=["t0", "t1", "t2", "t3"], valid=["t4", "t5"], test=["t6", "t7"])
pipeline.train_learner(cfg, fs, split, SplitLayout(root / "split"), progress=False, log=lambda m: None)
"""


def test_kill_during_training_leaves_nothing_a_later_run_does_not_clean(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    fs = _cached_frames(tmp_path)
    script = tmp_path / "train.py"
    script.write_text(KILLED_TRAINING)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    layout = SplitLayout(tmp_path / "split")
    try:
        for _ in range(600):  # until training has checkpointed at least once
            if (layout.net_dir / "checkpoint.pt").is_file() and list(layout.root.glob(".scratch/*/train.npy")):
                break
            time.sleep(0.1)
        else:
            pytest.fail("training never started")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert list(layout.root.glob(".scratch/*/train.npy"))  # the kill left its scratch behind ...
    checkpoint = (layout.net_dir / "checkpoint.pt").read_bytes()
    # ... the next run in that folder removes it; here it has other settings, so it also
    # refuses the half-trained net, without touching it
    with pytest.raises(protocol.InputsMismatch, match="max_epochs"):
        protocol.run_split(load_config("demo", TINY), fs, _splits()[0], layout, progress=False, log=lambda m: None)
    assert not (layout.root / ".scratch").exists()
    assert (layout.net_dir / "checkpoint.pt").read_bytes() == checkpoint
    assert [p.name for p in layout.root.iterdir()] == ["net"]


def test_own_output_cells_score_the_learners_own_decisions_and_are_reused(tmp_path):
    """features.own_output: the learner's mean probability and its majority vote per test
    track, no forest; both recorded, summarised, printed, and reused on a rerun."""
    fs = _cached_frames(tmp_path)
    cfg = load_config("demo", {**TINY, "features": {**TINY.get("features", {}), "own_output": True}})
    s0, _ = _splits()
    lines: list[str] = []
    result = protocol.run_protocol(cfg, fs, [s0], tmp_path / "run", progress=False, log=_quiet(lines))
    layout = RunLayout(tmp_path / "run").split("s0")
    learner = MLPLearner.load(layout.net_dir)
    test = fs.subset(s0.test)
    P = learner.predict_proba(test)
    mean_pred = np.stack([P[a:b].mean(0) for a, b in zip(test.offsets[:-1], test.offsets[1:])]).argmax(1)
    vote_pred = np.array([np.bincount(P[a:b].argmax(1), minlength=P.shape[1]).argmax()
                          for a, b in zip(test.offsets[:-1], test.offsets[1:])])
    for name, pred in (("output-meanprob", mean_pred), ("output-vote", vote_pred)):
        record = json.loads(layout.cell_json(name).read_text())
        assert record["metrics"]["accuracy"] == pytest.approx(float(np.mean(pred == test.tracks.y)))
        assert result["summary"][name]["per_split"] == [record["metrics"]["accuracy"]]
    table = protocol.format_table(result["summary"], cfg.features.layers, cfg.features.aggregate)
    assert "own output" in table and "majority vote" in table
    stamp = layout.cell_json("output-vote").stat().st_mtime_ns
    protocol.run_protocol(cfg, fs, [s0], tmp_path / "run", progress=False, log=_quiet(lines))
    assert layout.cell_json("output-vote").stat().st_mtime_ns == stamp

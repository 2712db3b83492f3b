"""``reproduce`` under ``torchrun`` (issue #15): the units of the grid — each net on each split,
each baseline on each split — spread over 2 gloo ranks give the files one process gives, and a
relaunch reuses every finished unit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

#: 2 nets × 2 splits + MFCC and PMSC × 2 splits = 8 units, each a few seconds on one thread.
GRID = ["--set", "splits.n_splits=2", "--set", "network.hidden=[32, 32, 32]", "--set", "training.max_epochs=4",
        "--set", "forest.n_estimators=20", "--set", "forest.max_train_frames=4000",
        "--set", "features.window_seconds=1.0", "--set", "features.hop_seconds=0.5",
        "--nets", "relu-sgd-50,relu-dropout-50"]

#: Fields of a cell record that say when or where it was made, not what it found: the seconds of
#: each stage, and the commit of the working tree (others may commit between the two runs).
NOT_RESULTS = ("timings", "git_commit")


def _reproduce(ranks, synth: Path, out: Path, cache: Path, world_size: int) -> list[tuple[int, str, str]]:
    """``python -m mirlearn reproduce`` as ``world_size`` ranks (1: one process, as without
    torchrun), each on one thread so that the runs are bitwise comparable."""
    argv = ["-m", "mirlearn", "reproduce", "sigtia2014", "--data", str(synth), "--out", str(out), "--cache",
            str(cache), "-j", "1", "--no-progress", *GRID]
    results = ranks(argv, world_size, cwd=out.parent).wait(timeout=300)
    for rank, (rc, _, err) in enumerate(results):
        assert rc == 0, f"rank {rank} of {world_size} exited with {rc}:\n{err[-4000:]}"
    return results


def _cells(out: Path) -> dict[str, dict[str, Any]]:
    """Every cell record of a run folder by its path in it, without :data:`NOT_RESULTS`."""
    return {str(p.relative_to(out)): {k: v for k, v in json.loads(p.read_text()).items() if k not in NOT_RESULTS}
            for p in sorted(out.rglob("cells/*.json"))}


def test_grid_on_two_ranks_gives_the_table_of_one_process_and_a_relaunch_reuses_it(ranks, synth, tmp_path):
    cache = tmp_path / "cache"
    one, two = tmp_path / "one", tmp_path / "two"
    (_, alone, _), = _reproduce(ranks, synth, one, cache, 1)
    assert "units over" not in alone  # one process: the grid in order, as before

    (_, out0, _), (_, out1, _) = _reproduce(ranks, synth, two, cache, 2)
    share = re.search(r"^8 units over 2 ranks, dealt by estimated cost: rank 0: (\d+), rank 1: (\d+)$", out0, re.M)
    assert share and int(share[1]) > 0 and int(share[2]) > 0, out0
    assert out1 == ""  # rank 0 speaks for the job
    assert (two / "table1.csv").read_bytes() == (one / "table1.csv").read_bytes()
    cells = _cells(one)
    assert len(cells) == 2 * 2 * 8 + 2 * 2 * 2  # nets × splits × cells + baselines × splits × cells
    assert _cells(two) == cells
    for net in ("relu-sgd-50", "relu-dropout-50"):  # the first split's unit saves each net's model
        assert (two / synth.name / net / "model" / "model.json").is_file()
    assert (two / "report.md").is_file() and json.loads((two / "run.json").read_text())["nets"] == \
        ["relu-sgd-50", "relu-dropout-50"]

    stamps = {p: p.stat().st_mtime_ns for p in two.rglob("cells/*.json")}
    (_, again, _), _ = _reproduce(ranks, synth, two, cache, 2)
    assert "8 units over 2 ranks, dealt by estimated cost: rank 0: 4 (4 finished), rank 1: 4 (4 finished)" in again
    assert "training relu" not in again
    assert {p: p.stat().st_mtime_ns for p in two.rglob("cells/*.json")} == stamps
    assert (two / "table1.csv").read_bytes() == (one / "table1.csv").read_bytes()

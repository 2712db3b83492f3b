"""The arithmetic of ``benchmarks/bench_distributed.py``: dealing units to machines, the projection."""

from __future__ import annotations

import pytest

from benchmarks.bench_distributed import gtzan_plan, lpt_makespan, project


def test_longest_first_dealing():
    # longest first to the least loaded: {5, 3} and {4, 3, 3} (the best, {5, 4} and {3, 3, 3}, is 9)
    assert lpt_makespan([3.0, 5.0, 3.0, 4.0, 3.0], 2) == 10.0
    assert lpt_makespan([1.0, 1.0, 1.0], 8) == 1.0               # more machines than units
    assert lpt_makespan([2.0, 3.0], 1) == 5.0


def test_the_gtzan_grid_at_the_paper_settings_has_32_units_and_more_machines_never_slow_it():
    plan = gtzan_plan()
    assert len(plan) == 32 and sum(j["stage"] == "table1" for j in plan) == 24
    fake = {"extract": {"one": {"audio_s": 300.0, "seconds": 1.0}}}  # 300 s of audio per second
    pr = project(fake)
    times = [pr["machines"][m]["grid_s"] for m in (1, 8, 32)]
    assert times[0] == pytest.approx(pr["sum_s"] + pr["extract_s"])
    assert times[0] > times[1] > times[2] >= pr["largest_s"]
    assert pr["extract_s"] == pytest.approx(1000 * 30.0 / 300.0)

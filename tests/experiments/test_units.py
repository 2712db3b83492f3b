"""The units of a grid: dealt over the ranks by cost, run alone on each rank, failures shared."""

from __future__ import annotations

import pytest

from mirlearn.experiments.units import Unit, deal, describe_shares, on_main, run_units


def test_deal_gives_every_unit_once_balanced_by_cost_in_grid_order():
    costs = [1.0, 8.0, 2.0, 7.0, 3.0, 3.0]
    shares = deal(costs, 2)
    assert sorted(i for s in shares for i in s) == list(range(6))
    assert all(s == sorted(s) for s in shares)  # each rank runs its units in the grid's order
    loads = [sum(costs[i] for i in s) for s in shares]
    assert max(loads) - min(loads) <= 1.0  # 12 and 12 here; round-robin of the sorted list gives 13 and 11
    # finished units (no cost left) still spread over the ranks, not all on rank 0
    assert [len(s) for s in deal([0.0] * 7, 3)] == [3, 2, 2]
    assert deal([5.0], 3) == [[0], [], []]


def test_one_process_runs_every_unit_in_order_and_sums_seconds_by_key():
    ran: list[str] = []
    units = [Unit(name, key, cost, lambda name=name: ran.append(name))
             for name, key, cost in (("a", "t/a", 1.0), ("b", "base", 5.0), ("c", "base", 9.0))]
    timings = run_units(units, log=lambda m: pytest.fail(f"one process logs no shares: {m}"))
    assert ran == ["a", "b", "c"] and sorted(timings) == ["base", "t/a"]
    assert describe_shares(units, [[0, 2], [1]]) == "3 units over 2 ranks, dealt by estimated cost: rank 0: 2, rank 1: 1"
    assert on_main(lambda: 7) == 7


#: Run as 2 ranks: a unit sees a one-process world; rank 1's unit fails and both ranks stop,
#: rank 0 naming it; a failure inside on_main on rank 0 reaches rank 1 as one line.
SCRIPT = """
import sys
from mirlearn import distributed
from mirlearn.errors import MirlearnError
from mirlearn.experiments.units import Unit, on_main, run_units

w = distributed.init()
print("on_main", on_main(lambda: "written"))

def fail():
    raise OSError("disk full")

try:
    on_main(fail)
except OSError as e:
    print("own error", e)
except MirlearnError as e:
    print("told", e)

def alone():
    print("inside", distributed.world().size)

def broken():
    raise ValueError("unit b broke")

units = [Unit("a", "t", 2.0, alone), Unit("b", "t", 1.0, broken)]
try:
    run_units(units, log=lambda m: print("log", m))
except ValueError as e:
    print("own error", e)
except MirlearnError as e:
    print("told", e)
distributed.finish()
"""


def test_two_ranks_run_their_units_alone_and_share_a_failure(ranks):
    (rc0, out0, err0), (rc1, out1, err1) = ranks(["-c", SCRIPT], 2).wait(timeout=120)
    assert rc0 == 0 and rc1 == 0, err0 + err1
    assert out0.splitlines() == [
        "on_main written",
        "own error disk full",
        "log 2 units over 2 ranks, dealt by estimated cost: rank 0: 1, rank 1: 1",
        "inside 1",  # the unit trains alone: no data-parallel collectives inside it
        "told rank 1 failed on b (ValueError: unit b broke); what was finished is kept: relaunch the same "
        "command to resume",
    ]
    assert out1.splitlines() == ["on_main None", "told rank 0 stopped (OSError: disk full)", "own error unit b broke"]

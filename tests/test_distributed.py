"""The one-process behaviour of :mod:`mirlearn.distributed` and the shares it hands out."""

from __future__ import annotations

import pytest

from mirlearn import distributed
from mirlearn.distributed import World


@pytest.mark.parametrize("n", [0, 1, 5, 7, 64])
@pytest.mark.parametrize("size", [1, 2, 3, 8])
def test_shares_cover_every_row_once_and_differ_by_at_most_one(n, size):
    shares = [World(rank=r, size=size).bounds(n) for r in range(size)]
    assert shares[0][0] == 0 and shares[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(shares, shares[1:]))  # contiguous, in rank order
    lengths = [hi - lo for lo, hi in shares]
    assert max(lengths) - min(lengths) <= 1
    items = list(range(n))
    dealt = sorted(x for r in range(size) for x in World(rank=r, size=size).split(items))
    assert dealt == items


def test_without_torchrun_everything_is_one_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    w = distributed.init()
    assert w == World() and w.is_main and not w.active and distributed.world() == w
    assert w.sum_floats(1.5, 2) == (1.5, 2.0)
    assert w.broadcast_object({"a": 1}) == {"a": 1} and w.gather_objects(3) == [3]
    w.barrier()  # no process group: returns at once
    assert distributed.device_for("cuda") == "cuda" and distributed.device_for("cpu") == "cpu"
    assert distributed.lost_rank_message(RuntimeError("gloo: Connection reset by peer")) is None


def test_single_process_block_hides_the_world():
    with distributed.single_process() as w:
        assert w == World() and distributed.world() == World()


def test_a_bad_backend_name_is_refused(monkeypatch):
    monkeypatch.setenv(distributed.BACKEND_ENV, "mpi")
    with pytest.raises(ValueError, match="gloo"):
        distributed._backend()


_WAITER = """
import os, sys, time
from mirlearn import distributed
w = distributed.init()
if w.rank == 1:
    time.sleep(3)                      # busy for longer than the silence limit: still alive
w.wait_for_all("a slow rank")
print("met", flush=True)
if w.rank == 1:
    os._exit(9)                        # dies while rank 0 waits for it below
try:
    w.wait_for_all("a dead rank")
except Exception as e:
    print(distributed.lost_rank_message(e), flush=True)
    sys.exit(3)
"""


def test_a_patient_wait_outlasts_a_busy_rank_and_notices_a_dead_one(ranks):
    (rc0, out0, err0), (rc1, out1, _) = ranks(["-c", _WAITER], env={"MIRLEARN_DIST_SILENCE": "2"}).wait(timeout=120)
    assert "met" in out0 and "met" in out1, err0[-2000:]
    assert rc1 == 9 and rc0 == 3, err0[-2000:]
    assert "rank(s) 1 stopped (no heartbeat for 2 s) while waiting for a dead rank" in out0
    assert "relaunch the same command to resume" in out0

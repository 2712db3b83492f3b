"""Shared fixtures: a seeded RNG and the path of ../shared/data (tests skip when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# Keep tests on the CI machine's budget (2 cores) and deterministic.
os.environ.setdefault("OMP_NUM_THREADS", "2")

_REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MIRLEARN_SHARED_DATA", _REPO.parent / "shared" / "data"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20140504)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


# -- several ranks on this machine (torch.distributed, gloo on 127.0.0.1) -----------------------

def free_port() -> int:
    """A TCP port nobody listens on now, for a process group's rendezvous."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Ranks:
    """Processes started as ``torchrun`` would start them: one per rank, each with ``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` and one thread.

    ``argv`` is run with this Python (e.g. ``["-m", "mirlearn", "run", ...]`` or a script);
    :meth:`wait` returns ``(returncode, stdout, stderr)`` per rank, killing them all after
    ``timeout`` seconds so that a hung collective fails the test instead of the session.
    """

    def __init__(self, argv: list[str], world_size: int = 2, *, env: dict[str, str] | None = None,
                 cwd: str | os.PathLike | None = None) -> None:
        import subprocess
        import sys

        port = free_port()
        self.procs = []
        for rank in range(world_size):
            e = {**os.environ, "RANK": str(rank), "WORLD_SIZE": str(world_size), "LOCAL_RANK": str(rank),
                 "LOCAL_WORLD_SIZE": str(world_size), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                 "OMP_NUM_THREADS": "1", "MIRLEARN_DIST_TIMEOUT": "120", **(env or {})}
            self.procs.append(subprocess.Popen([sys.executable, *argv], env=e, cwd=cwd, stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, text=True))

    def wait(self, timeout: float = 300) -> list[tuple[int, str, str]]:
        import subprocess
        import time

        deadline = time.monotonic() + timeout
        out = []
        for p in self.procs:
            try:
                so, se = p.communicate(timeout=max(deadline - time.monotonic(), 1))
            except subprocess.TimeoutExpired:
                for q in self.procs:
                    q.kill()
                so, se = p.communicate()
                se += "\n[killed: the ranks did not finish in time]"
            out.append((p.returncode, so, se))
        return out


@pytest.fixture
def ranks():
    """``ranks(argv, world_size=2, env=None, cwd=None)`` starts the ranks (see :class:`Ranks`);
    any still running at the end of the test are killed."""
    started: list[Ranks] = []

    def start(argv: list[str], world_size: int = 2, *, env: dict[str, str] | None = None,
              cwd: str | os.PathLike | None = None) -> Ranks:
        r = Ranks(argv, world_size, env=env, cwd=cwd)
        started.append(r)
        return r

    yield start
    for r in started:
        for p in r.procs:
            if p.poll() is None:
                p.kill()
                p.communicate()

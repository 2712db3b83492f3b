"""Several processes, one job: ``torch.distributed`` as launched by ``torchrun``.

mirlearn does not schedule anything itself. ``torchrun --nproc-per-node N [--nnodes M
--rdzv-endpoint HOST:PORT] -m mirlearn run ...`` starts the processes (*ranks*) and sets
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init`
joins the process group they form (gloo on the CPU, NCCL when the ranks train on CUDA).
Without those variables, or with ``WORLD_SIZE=1``, nothing is initialised and every function
here behaves as for one process, so the same code runs unchanged either way.

What the layers above do with a :class:`World` (:func:`world`):

- extraction: each rank decodes its share of the files (:meth:`World.split`);
- data-parallel training: each rank takes its rows of every batch (:meth:`World.shard`) and
  gradients, losses and curvature products are summed over the ranks (:meth:`World.all_reduce`);
- writing: rank 0 alone writes results, checkpoints and reports (:attr:`World.is_main`); the
  others wait at :meth:`World.barrier`;
- the grid of ``reproduce``: each rank trains its share of the nets alone
  (:func:`single_process` inside the cell).

A rank that dies makes the collectives of the others fail; :func:`lost_rank_message` turns that
failure into one line saying how to resume.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import os
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterator, Sequence, TypeVar

if TYPE_CHECKING:
    import torch

__all__ = ["World", "world", "init", "single_process", "device_for", "lost_rank_message", "abandon", "LostRank",
           "TIMEOUT_ENV", "BACKEND_ENV", "SILENCE_S"]

T = TypeVar("T")

#: Seconds a rank waits in a collective (e.g. at a barrier while rank 0 writes a report)
#: before the job fails; default 3 hours, since rank 0 alone fits the forests of a large run.
TIMEOUT_ENV = "MIRLEARN_DIST_TIMEOUT"
#: ``gloo`` or ``nccl``: overrides the backend chosen from the machine (NCCL when CUDA is present).
BACKEND_ENV = "MIRLEARN_DIST_BACKEND"
_DEFAULT_TIMEOUT_S = 3 * 3600


@dataclass(frozen=True)
class World:
    """This process's place among the ranks of a job.

    Attributes
    ----------
    rank : int
        0 … ``size`` − 1; rank 0 writes.
    size : int
        Number of ranks (1: an ordinary single process; nothing is communicated).
    local_rank : int
        Index among the ranks of this machine (which GPU a rank uses).
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes results, checkpoints and reports."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """More than one rank: collectives communicate."""
        return self.size > 1

    def bounds(self, n: int) -> tuple[int, int]:
        """``(lo, hi)``: this rank's contiguous share of ``range(n)`` (shares differ by at most 1)."""
        return n * self.rank // self.size, n * (self.rank + 1) // self.size

    def shard(self, n: int) -> slice:
        """:meth:`bounds` as a slice, for rows of a (memory-mapped) matrix: a contiguous read."""
        lo, hi = self.bounds(n)
        return slice(lo, hi)

    def split(self, items: Sequence[T]) -> list[T]:
        """Every ``size``-th item from ``rank`` on: a share of work items of uneven cost (files of
        different lengths, nets of different sizes) that stays balanced whatever their order."""
        return list(items[self.rank::self.size])

    # -- collectives (no-ops for one process) -------------------------------------------------
    def barrier(self) -> None:
        """Wait until every rank gets here (at most :data:`TIMEOUT_ENV` seconds)."""
        if self.active:
            _torch().distributed.barrier()

    def wait_for_all(self, what: str = "") -> None:
        """A barrier for waits of hours (rank 0 fitting a split's forests, the slowest unit of a
        grid): no time limit while every rank is alive, but a rank whose process died (its
        heartbeat stopped for :data:`SILENCE_S` seconds) makes it raise :class:`LostRank`.

        Every rank must call it the same number of times, in the same order (as any collective).
        """
        if not self.active:
            return
        store = _store()
        if store is None:  # no key-value store to poll: an ordinary barrier
            self.barrier()
            return
        global _waits
        _waits += 1
        key = f"mirlearn/wait/{_waits}"
        store.add(key, 1)
        while int(store.add(key, 0)) < self.size:
            silent = _silent_ranks(store, self.size)
            if silent:
                raise LostRank(f"rank {self.rank} of {self.size}: rank(s) {', '.join(map(str, silent))} stopped "
                               f"(no heartbeat for {SILENCE_S:.0f} s) while waiting{' for ' + what if what else ''}")
            time.sleep(_POLL_S)
        self.barrier()  # everyone is here: returns at once

    def all_reduce(self, tensor: "torch.Tensor") -> "torch.Tensor":
        """Sum ``tensor`` over the ranks, in place; returns it. Every rank gets the same bits."""
        if self.active:
            _torch().distributed.all_reduce(tensor)
        return tensor

    def sum_floats(self, *values: float) -> tuple[float, ...]:
        """Each value summed over the ranks, in float64 (losses, counts of rows and errors)."""
        if not self.active:
            return tuple(float(v) for v in values)
        torch = _torch()
        t = torch.tensor(values, dtype=torch.float64, device=_collective_device())
        torch.distributed.all_reduce(t)
        return tuple(float(v) for v in t.cpu())

    def broadcast_object(self, obj: Any, src: int = 0) -> Any:
        """Rank ``src``'s ``obj`` on every rank (any picklable object)."""
        if not self.active:
            return obj
        box = [obj if self.rank == src else None]
        _torch().distributed.broadcast_object_list(box, src=src)
        return box[0]

    def gather_objects(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.size
        _torch().distributed.all_gather_object(out, obj)
        return out


def _torch() -> Any:
    """torch, imported on first use: code that only asks :func:`world` (a report, say) must not
    pay for importing it, and a process group cannot exist before torch is imported anyway."""
    import torch

    return torch


class LostRank(RuntimeError):
    """Another rank of the job died while this one waited for it."""


#: Seconds without a heartbeat after which a rank counts as dead in :meth:`World.wait_for_all`
#: (``MIRLEARN_DIST_SILENCE`` overrides it); each rank beats 4 times as often.
SILENCE_ENV = "MIRLEARN_DIST_SILENCE"
SILENCE_S = float(os.environ.get(SILENCE_ENV) or 120.0)
_HEARTBEAT_S = SILENCE_S / 4
_POLL_S = min(2.0, SILENCE_S / 4)
_waits = 0

_SINGLE = World()
_override: contextvars.ContextVar[World | None] = contextvars.ContextVar("mirlearn_world", default=None)


def world() -> World:
    """The :class:`World` this code runs in: the initialised process group, or one process."""
    forced = _override.get()
    if forced is not None:
        return forced
    if "torch" not in sys.modules:  # no process group without torch
        return _SINGLE
    dist = sys.modules["torch"].distributed
    if not (dist.is_available() and dist.is_initialized()):
        return _SINGLE
    return World(rank=dist.get_rank(), size=dist.get_world_size(),
                 local_rank=int(os.environ.get("LOCAL_RANK", dist.get_rank())))


@contextlib.contextmanager
def single_process() -> Iterator[World]:
    """Inside the block this rank works alone: training does not communicate and this rank
    writes its own outputs (the nets of the ``reproduce`` grid, one per rank)."""
    token = _override.set(_SINGLE)
    try:
        yield _SINGLE
    finally:
        _override.reset(token)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def launched_size() -> int:
    """``WORLD_SIZE`` as ``torchrun`` set it (1 when not launched by it)."""
    return _env_int("WORLD_SIZE", 1)


def _backend() -> str:
    """gloo without CUDA; with CUDA, gloo for CPU tensors and NCCL for CUDA tensors (each
    collective goes by its tensor's device), so a job may train on the GPUs or, with
    ``--device cpu``, on the CPUs of the same machines."""
    forced = os.environ.get(BACKEND_ENV, "").strip().lower()
    if forced:
        if forced not in ("gloo", "nccl"):
            raise ValueError(f"{BACKEND_ENV}={forced!r}: use 'gloo' or 'nccl'")
        return forced
    return "cpu:gloo,cuda:nccl" if _torch().cuda.is_available() else "gloo"


def init() -> World:
    """Join the process group ``torchrun`` set up (if any) and return this rank's :class:`World`.

    Idempotent. With ``WORLD_SIZE`` unset or 1, nothing happens and a one-process world is
    returned. Under NCCL each rank takes the GPU of its ``LOCAL_RANK``. The collective timeout
    is :data:`TIMEOUT_ENV` seconds (default 3 hours).
    """
    size = launched_size()
    if size <= 1 and "torch" not in sys.modules:
        return _SINGLE
    torch = _torch()
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return world()
    if size <= 1:
        return _SINGLE
    if not dist.is_available():
        raise RuntimeError("this torch build has no torch.distributed; run without torchrun")
    backend = _backend()
    timeout = timedelta(seconds=_env_int(TIMEOUT_ENV, _DEFAULT_TIMEOUT_S))
    local_rank = _env_int("LOCAL_RANK", _env_int("RANK", 0))
    if "nccl" in backend:
        torch.cuda.set_device(local_rank % max(torch.cuda.device_count(), 1))
    dist.init_process_group(backend=backend, timeout=timeout)
    _start_heartbeat(dist.get_rank())
    return world()


def _store() -> Any:
    """The process group's key-value store (the one ``torchrun`` or ``MASTER_ADDR`` provides), or
    ``None`` where this torch does not expose it."""
    try:
        from torch.distributed.distributed_c10d import _get_default_store

        return _get_default_store()
    except Exception:  # noqa: BLE001 - a private helper: without it, waits fall back to barriers
        return None


_heartbeat_stop = threading.Event()
_heartbeat: threading.Thread | None = None


def _start_heartbeat(rank: int) -> None:
    """A thread that stamps ``mirlearn/alive/<rank>`` in the store every few seconds, so that a
    rank waiting in :meth:`World.wait_for_all` can tell a busy rank from a dead one. Stopped by
    :func:`finish` (or at exit) before the store goes: a thread inside a store call while the
    store is destroyed aborts the process."""
    global _heartbeat
    store = _store()
    if store is None or _heartbeat is not None:
        return

    def beat() -> None:
        while True:
            try:
                store.set(f"mirlearn/alive/{rank}", repr(time.time()))
            except Exception:  # noqa: BLE001 - the store went away: the job is ending
                return
            if _heartbeat_stop.wait(_HEARTBEAT_S):
                return

    _heartbeat_stop.clear()
    _heartbeat = threading.Thread(target=beat, name="mirlearn-heartbeat", daemon=True)
    _heartbeat.start()
    atexit.register(_stop_heartbeat)


def _stop_heartbeat() -> None:
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat_stop.set()
        _heartbeat.join(timeout=30)
        _heartbeat = None


def _silent_ranks(store: Any, size: int) -> list[int]:
    """Ranks whose last heartbeat is older than :data:`SILENCE_S` (a rank not yet heard from
    counts as alive: it may still be starting)."""
    now, silent = time.time(), []
    for r in range(size):
        key = f"mirlearn/alive/{r}"
        if not store.check([key]):
            continue
        if now - float(store.get(key).decode()) > SILENCE_S:
            silent.append(r)
    return silent


def finish() -> None:
    """Leave the process group (at the end of a command), if one was joined."""
    _stop_heartbeat()
    if "torch" not in sys.modules:
        return
    dist = _torch().distributed
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def abandon(status: int) -> None:
    """End this process at once with ``status`` after a lost rank: the process group is broken,
    and tearing it down (or letting interpreter exit run its destructors) can hang or abort while
    a peer is gone. Output is flushed first; what was written to disk is complete (atomic files)."""
    _stop_heartbeat()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed pipe: nothing left to say
            pass
    os._exit(status)


def _collective_device() -> "torch.device":
    """Where tensors of a collective must live: the rank's GPU under NCCL, else the CPU."""
    torch = _torch()
    dist = torch.distributed
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def device_for(device: str) -> str:
    """The device a rank uses for ``device``: a bare ``'cuda'`` means the rank's own GPU
    (``cuda:LOCAL_RANK``) when several ranks share a machine; anything else is unchanged."""
    w = world()
    if device == "cuda" and w.active and _torch().cuda.is_available():
        return f"cuda:{w.local_rank % _torch().cuda.device_count()}"
    return device


def lost_rank_message(exc: BaseException) -> str | None:
    """One line for a collective that failed because another rank died or hung, else ``None``.

    Gloo raises a plain ``RuntimeError`` naming itself ("Connection reset by peer"); newer
    backends raise ``torch.distributed.DistError``.
    """
    w = world()
    if not w.active:
        return None
    if isinstance(exc, LostRank):
        return f"{exc}; what was finished is kept: relaunch the same command to resume from the last checkpoint"
    text = str(exc)
    dist_error = getattr(_torch().distributed, "DistError", ())
    if not (isinstance(exc, dist_error) or (isinstance(exc, RuntimeError)
                                            and any(k in text for k in ("gloo", "NCCL", "Connection", "Timed out")))):
        return None
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return (f"rank {w.rank} of {w.size}: another rank stopped or stopped answering ({first[:160]}); "
            f"what was finished is kept: relaunch the same command to resume from the last checkpoint")

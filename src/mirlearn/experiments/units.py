"""The independent units of a grid, run by one process in order or spread over the ranks.

A *unit* is one piece of a reproduction that writes its own files and reads none another unit
writes: a net trained and evaluated on one split, a baseline on one split, a net of Table 2
transferred to ISMIR 2004. One process runs the units in the grid's order, as it always did.
Under ``torchrun`` (several ranks, :func:`mirlearn.distributed.world`):

- rank 0 deals the units out by estimated cost (:func:`deal`; a unit found finished costs
  nothing) and sends every rank the same shares, so each unit runs exactly once;
- each rank runs its share alone, inside :func:`mirlearn.distributed.single_process`: a net of
  the grid trains on one rank without data-parallel collectives, and writes the files one
  process writes;
- the ranks meet when every share is done: the units' seconds are gathered, and a unit that
  failed on one rank fails the command on every rank (the others would otherwise wait at the
  next collective until its timeout). What was finished is kept; a relaunch reuses it.

Files written once for every unit (the run's provenance, its splits) are written by rank 0
alone while the others wait (:func:`on_main`). The run folder must be one that every rank sees
(one machine, or storage the machines share): :func:`check_shared` says so at once otherwise.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

from mirlearn import distributed
from mirlearn.errors import MirlearnError
from mirlearn.experiments.layout import SplitLayout

__all__ = ["Unit", "deal", "run_units", "on_main", "check_shared", "cells_done", "describe_shares"]

T = TypeVar("T")
Log = Callable[[str], None]


@dataclass(frozen=True)
class Unit:
    """One independent piece of a grid.

    Attributes
    ----------
    name : what it is, e.g. ``table1/relu-sgd-50/split-0`` (in the log and in errors)
    timing : the ``run.json`` timings key its seconds add to (several units may share one)
    cost_s : estimated seconds of work left in it, for dealing only (its scale does not matter,
        only the ratios between units of one grid)
    run : does the work; reuses what a finished run left (fingerprinted results)
    done : found finished (every result file there): counts as no work when dealing
    """

    name: str
    timing: str
    cost_s: float
    run: Callable[[], object]
    done: bool = False


def cells_done(layout: SplitLayout, cells: Iterable[str], *more: Path) -> bool:
    """Whether every cell record (by name) of ``layout`` and every path of ``more`` exists.

    Existence only, for dealing the units: whether a result is reused is decided by its
    fingerprint when the unit runs.
    """
    return all(layout.cell_json(c).is_file() for c in cells) and all(p.exists() for p in more)


def deal(costs: Sequence[float], n: int) -> list[list[int]]:
    """Indices of the units each of ``n`` ranks takes, so that the ranks' total costs are close.

    Largest first, each unit to the rank with the least cost so far (then the fewest units,
    then the lowest rank: units of no cost, e.g. finished ones, still spread). Each rank's
    indices are in increasing order, so it runs its units in the grid's order.
    """
    load = [0.0] * n
    shares: list[list[int]] = [[] for _ in range(n)]
    for i in sorted(range(len(costs)), key=lambda i: (-max(0.0, float(costs[i])), i)):
        r = min(range(n), key=lambda r: (load[r], len(shares[r]), r))
        shares[r].append(i)
        load[r] += max(0.0, float(costs[i]))
    return [sorted(s) for s in shares]


def describe_shares(units: Sequence[Unit], shares: Sequence[Sequence[int]]) -> str:
    """One line: how many units each rank runs (and how many of them were finished earlier)."""
    parts = []
    for r, share in enumerate(shares):
        done = sum(units[i].done for i in share)
        parts.append(f"rank {r}: {len(share)}" + (f" ({done} finished)" if done else ""))
    return f"{len(units)} units over {len(shares)} ranks, dealt by estimated cost: " + ", ".join(parts)


def _run_one(unit: Unit, timings: dict[str, float]) -> None:
    """Run ``unit``, adding its wall seconds to ``timings[unit.timing]``."""
    t0 = time.perf_counter()
    unit.run()
    timings[unit.timing] = timings.get(unit.timing, 0.0) + time.perf_counter() - t0


def run_units(units: Sequence[Unit], *, log: Log = print) -> dict[str, float]:
    """Run every unit once, on this process or spread over the ranks; their seconds by timing key.

    One process runs them all in order (an exception stops it, as it stops a plain loop).
    Several ranks: see the module's text; every rank returns every unit's seconds (summed over
    the units of a key: the seconds of work, not of the wall clock). A unit that fails stops
    its rank's share and, once every rank is done, raises on every rank: the original exception
    on its own rank, a :class:`~mirlearn.errors.MirlearnError` naming it on the others.
    """
    w = distributed.world()
    timings: dict[str, float] = {}
    if not w.active:
        for unit in units:
            _run_one(unit, timings)
        return timings
    costs = [0.0 if u.done else u.cost_s for u in units]
    shares: list[list[int]] = w.broadcast_object(deal(costs, w.size) if w.is_main else None)
    if w.is_main:
        log(describe_shares(units, shares))
    mine = [units[i] for i in shares[w.rank]]
    error: BaseException | None = None
    failure: tuple[str, str] | None = None  # (unit, what went wrong), told to the other ranks
    with distributed.single_process():
        for unit in mine:
            try:
                _run_one(unit, timings)
            except Exception as exc:  # noqa: BLE001 - shared with the other ranks below, then re-raised
                error, failure = exc, (unit.name, f"{type(exc).__name__}: {exc}")
                break
    w.wait_for_all("the other ranks' units")  # the slowest share may take hours
    reports = w.gather_objects((timings, failure))
    if error is not None:
        raise error
    failures = [(r, f) for r, (_, f) in enumerate(reports) if f is not None]
    if failures:
        r, (name, text) = failures[0]
        first = text.strip().splitlines()[0][:200] if text.strip() else "?"
        raise MirlearnError(f"rank {r} failed on {name} ({first}); what was finished is kept: relaunch the "
                            "same command to resume")
    merged: dict[str, float] = {}
    for t, _ in reports:
        for key, seconds in t.items():
            merged[key] = merged.get(key, 0.0) + seconds
    return merged


def on_main(fn: Callable[[], T]) -> T | None:
    """``fn()`` on rank 0 alone (one process: here), the other ranks waiting until it is done.

    Returns its result on rank 0, ``None`` on the others. When it raises, every rank raises:
    rank 0 the exception itself, the others a :class:`~mirlearn.errors.MirlearnError` naming it
    (instead of waiting at the next collective until its timeout).
    """
    w = distributed.world()
    if not w.active:
        return fn()
    result: T | None = None
    error: BaseException | None = None
    if w.is_main:
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - told to the other ranks, then re-raised
            error = exc
    text = w.broadcast_object(None if error is None else f"{type(error).__name__}: {error}")
    if error is not None:
        raise error
    if text is not None:
        raise MirlearnError(f"rank 0 stopped ({text.splitlines()[0][:200]})")
    return result


def check_shared(folder: Path) -> None:
    """Stop every rank when some rank does not see the files rank 0 writes in ``folder``.

    The units of a grid write their results in the run folder and rank 0 reads them all for the
    report, so the folder must be on storage every rank shares. Rank 0 writes a random token
    in it, the others read it back; nothing happens for one process.
    """
    w = distributed.world()
    if not w.active:
        return
    path = folder / f".ranks-{w.size}.token"
    token = on_main(lambda: _write_token(path))
    token = w.broadcast_object(token)
    try:
        seen = path.read_text(encoding="utf-8").strip() == token
    except OSError:
        seen = False
    sees = w.gather_objects(seen)
    if w.is_main:
        path.unlink(missing_ok=True)
    blind = [r for r, ok in enumerate(sees) if not ok]
    if blind:
        raise MirlearnError(f"rank(s) {', '.join(map(str, blind))} do not see the files rank 0 writes in {folder}: "
                            "the run folder (--out) must be on storage every rank shares")


def _write_token(path: Path) -> str:
    token = secrets.token_hex(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token + "\n", encoding="utf-8")
    return token

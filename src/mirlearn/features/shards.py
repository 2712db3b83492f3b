"""Sharded frame extraction: the ranks of a ``torchrun`` job build one frame cache together.

:func:`mirlearn.features.cache.extract_frames` comes here when it runs in a job of several ranks
(:func:`mirlearn.distributed.world`). Every rank computes the same cache key; then

1. rank 0 alone looks for a published cache (and decodes its bad files again, as one process
   does) and tells the others what it found; on a hit every rank opens that cache;
2. on a miss each rank frames its share of the tracks — every ``size``-th track from its rank on
   (:meth:`World.split`), which stays balanced whatever the lengths of the files — with its own
   ``n_jobs`` threads, into its own *shard* beside the cache::

       .frames-<key>.shard-<r>of<n>/              frames of rank r's share of n ranks
           X.f32      raw float32 frames of the share's usable tracks, in share order
           shard.json key, rank, size, ids of the share, per track its frame count or cause
                      (written last: a shard is complete when it has it)
       .frames-<key>.shard-<r>of<n>.part-<host>-<pid>/   the same being written

   A complete shard is renamed into place, so a relaunched job reuses every finished shard
   and frames again only the shares that were not (as long as it runs on as many ranks);
3. rank 0 reads the shards in track order into exactly the files one process writes (same
   frame bytes, offsets, tracks and meta: nothing in them says how many ranks made them),
   publishes the folder by the same atomic rename, removes the shards and hands the meta,
   bad files included, to every rank, which then opens the cache as one process would.

The cache folder must be one that every rank sees (a shared file system when the ranks run on
several machines). A rank whose step fails makes every rank raise, after the others finished
that step, instead of leaving them waiting at a collective: the failing rank raises its own
exception, the others a ``RuntimeError`` naming it (or the same ``DatasetError`` when no track
is usable at all).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, TypeVar

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import DatasetError
from mirlearn.features.cache import (_PART_MARK, _PREFIX, _TMP_MARK, FORMAT_VERSION, TrackTransform,
                                     _any_recovered, _finish, _fsync_dir, _load_json, _owner, _publish,
                                     _read_meta, _write_frames)
from mirlearn.features.settings import FrameSettings

if TYPE_CHECKING:
    from mirlearn.distributed import World

__all__ = ["extract_sharded"]

T = TypeVar("T")

_SHARD_MARK = ".shard-"
_SHARD_META = "shard.json"
# Bytes copied at a time from a shard into the cache: bounds memory for very long tracks.
_COPY_CHUNK = 64 << 20


def extract_sharded(w: "World", final: Path, tracks: TrackTable, settings: FrameSettings, key: str, *,
                    n_jobs: int, progress: bool, max_seconds: float | None,
                    transform: TrackTransform | None = None) -> dict:
    """Make sure the cache ``final`` (for ``key``) is published, the ranks sharing the work;
    return its meta, the same on every rank. Called by every rank of ``w`` with the same arguments.

    ``progress`` shows rank 0's share only (the other ranks write nothing).
    """
    cache_dir = final.parent
    meta = _on_main(w, lambda: _published(final, key, settings, max_seconds, transform))
    if meta is not None:
        return meta
    _on_every_rank(w, lambda: _ensure_shard(w, cache_dir, tracks, settings, key, n_jobs=n_jobs,
                                            progress=progress and w.is_main, max_seconds=max_seconds,
                                            transform=transform))
    return _on_main(w, lambda: _assemble(w.size, final, tracks, settings, key, max_seconds=max_seconds,
                                         transform=transform))


# --------------------------------------------------------------------------- steps


def _published(final: Path, key: str, settings: FrameSettings, max_seconds: float | None,
               transform: TrackTransform | None) -> dict | None:
    """Rank 0: the meta of the published cache when it can be used as it is, else None (as one
    process decides: a file listed as bad that now decodes means a rebuild)."""
    meta = _read_meta(final, key)
    if meta is None or (meta["bad"] and _any_recovered(meta["bad"], settings, max_seconds, transform)):
        return None
    _remove_shards(final.parent, key)  # left by a rank 0 killed between publishing and cleaning
    return meta


def _ensure_shard(w: "World", cache_dir: Path, tracks: TrackTable, settings: FrameSettings, key: str, *,
                  n_jobs: int, progress: bool, max_seconds: float | None,
                  transform: TrackTransform | None) -> None:
    """This rank's complete shard: reused when an earlier launch finished it (and none of its
    bad files decodes now), else framed into a part folder renamed into place when complete."""
    share = w.split(list(tracks))
    shard = _shard_dir(cache_dir, key, w.rank, w.size)
    done = _read_shard(shard, key, share, settings.dim)
    if done is not None and not _any_recovered(_shard_bad(done, share), settings, max_seconds, transform):
        return
    part = shard.with_name(shard.name + _PART_MARK + _owner(True))
    if part.exists():  # left by an earlier failure of this very process
        shutil.rmtree(part)
    part.mkdir()
    try:
        lengths, bad, notes = _write_frames(part / "X.f32", share, settings, n_jobs=n_jobs, progress=progress,
                                            max_seconds=max_seconds, transform=transform,
                                            share=f", rank {w.rank}'s share of {w.size}")
        _write_shard_meta(part, key, w.rank, w.size, share, lengths, bad, notes)
        _fsync_dir(part)
        if shard.exists():  # a stale shard (a bad file decodes now): replaced
            shutil.rmtree(shard)
        os.rename(part, shard)
        _fsync_dir(cache_dir)
    finally:
        if part.exists():
            shutil.rmtree(part, ignore_errors=True)


def _assemble(size: int, final: Path, tracks: TrackTable, settings: FrameSettings, key: str, *,
              max_seconds: float | None, transform: TrackTransform | None) -> dict:
    """Rank 0: the shards of ``size`` ranks read in track order into a temporary folder that
    holds exactly what one process writes, published as ``final``; the shards are removed.

    Raises DatasetError when no track is usable (nothing is published then; the shards stay).
    """
    cache_dir = final.parent
    shards = [_read_shard(_shard_dir(cache_dir, key, r, size), key, share, settings.dim)
              for r, share in enumerate(_shares(tracks, size))]
    if any(s is None for s in shards):
        meta = _read_meta(final, key)
        if meta is not None:  # another job of the same cache published it and took its shards
            return meta
        missing = [r for r, s in enumerate(shards) if s is None]
        raise RuntimeError(f"frame cache {final.name}: the shards of ranks {missing} are missing or incomplete "
                           f"in {cache_dir}; run again (finished shards are reused)")
    tmp = cache_dir / f".{_PREFIX}{key}{_TMP_MARK}{_owner(True)}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        lengths, bad, notes = _merge(shards, [_shard_dir(cache_dir, key, r, size) / "X.f32" for r in range(size)],
                                     tracks, tmp / "X.f32", row_bytes=4 * settings.dim)
        meta = _finish(tmp, tracks, settings, key, lengths, bad, notes, max_seconds=max_seconds, transform=transform)
        _publish(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _remove_shards(cache_dir, key)
    return _read_meta(final, key) or meta  # another process may have published first


def _merge(shards: list[dict], frame_files: list[Path], tracks: TrackTable, out: Path, *,
           row_bytes: int) -> tuple[list[int], list[dict], list[dict]]:
    """Copy the frames of the usable tracks from the shards' raw files into ``out``, in track
    order; return ``(lengths, bad, notes)`` of the whole table, as one process records them.

    Track ``i`` is item ``i // size`` of shard ``i % size``, so each shard file is read once, in
    order. ``row_bytes``: bytes of one frame (4 × dim).
    """
    size = len(shards)
    lengths: list[int] = []
    bad: list[dict] = []
    notes: list[dict] = []
    sources = [open(p, "rb") for p in frame_files]  # noqa: SIM115 - closed below
    try:
        with open(out, "wb") as f:
            for i, t in enumerate(tracks):
                item = shards[i % size]["items"][i // size]
                if "cause" in item:
                    bad.append({"track_id": t.track_id, "path": str(t.path), "cause": item["cause"]})
                    continue
                if "note" in item:
                    notes.append({"track_id": t.track_id, "path": str(t.path), "note": item["note"]})
                _copy(sources[i % size], f, item["n"] * row_bytes)
                lengths.append(item["n"])
            f.flush()
            os.fsync(f.fileno())  # the rename that publishes it must not publish data still in flight
    finally:
        for s in sources:
            s.close()
    return lengths, bad, notes


def _copy(src: BinaryIO, dst: BinaryIO, n_bytes: int) -> None:
    """The next ``n_bytes`` of ``src`` appended to ``dst``, in chunks of at most :data:`_COPY_CHUNK`."""
    while n_bytes > 0:
        chunk = src.read(min(n_bytes, _COPY_CHUNK))
        if not chunk:
            raise RuntimeError(f"shard file {src.name} ends early")
        dst.write(chunk)
        n_bytes -= len(chunk)


# --------------------------------------------------------------------------- shard files


def _shares(tracks: TrackTable, size: int) -> list[list[Track]]:
    """The tracks of every rank, as :meth:`World.split` deals them: rank r has r, r + size, …"""
    items = list(tracks)
    return [items[r::size] for r in range(size)]


def _shard_dir(cache_dir: Path, key: str, rank: int, size: int) -> Path:
    return cache_dir / f".{_PREFIX}{key}{_SHARD_MARK}{rank}of{size}"


def _write_shard_meta(folder: Path, key: str, rank: int, size: int, share: list[Track],
                      lengths: list[int | None], bad: list[dict], notes: list[dict]) -> None:
    """``shard.json``: per track of the share ``{"n": frames}`` (with ``"note"`` when a transform
    used it as it is) or ``{"cause": why it is unusable}``; written last, atomically."""
    from mirlearn.io import atomic_write_json

    causes = {b["track_id"]: b["cause"] for b in bad}
    noted = {x["track_id"]: x["note"] for x in notes}
    items: list[dict[str, Any]] = []
    for t, n in zip(share, lengths, strict=True):
        if n is None:
            items.append({"cause": causes[t.track_id]})
        else:
            items.append({"n": n, **({"note": noted[t.track_id]} if t.track_id in noted else {})})
    atomic_write_json(folder / _SHARD_META, {"format": FORMAT_VERSION, "key": key, "rank": rank, "size": size,
                                             "ids": [t.track_id for t in share], "items": items})


def _read_shard(folder: Path, key: str, share: list[Track], dim: int) -> dict | None:
    """The meta of a complete shard of ``share`` for ``key`` (frames of ``dim`` values), else None."""
    meta = _load_json(folder / _SHARD_META)
    if meta is None or meta.get("key") != key or meta.get("format") != FORMAT_VERSION \
            or meta.get("ids") != [t.track_id for t in share]:
        return None
    try:
        n_bytes = os.path.getsize(folder / "X.f32")
    except OSError:
        return None
    if n_bytes != 4 * dim * sum(item.get("n", 0) for item in meta["items"]):
        return None
    return meta


def _shard_bad(meta: dict, share: list[Track]) -> list[dict]:
    """The unusable tracks of a shard, as :func:`_any_recovered` takes them."""
    return [{"track_id": t.track_id, "path": str(t.path), "cause": item["cause"]}
            for t, item in zip(share, meta["items"]) if "cause" in item]


def _remove_shards(cache_dir: Path, key: str) -> None:
    """Remove the complete shards of ``key`` (of any number of ranks); parts being written are
    left to their owners (``_clean_leftovers`` removes those of ended processes)."""
    head = f".{_PREFIX}{key}{_SHARD_MARK}"
    for entry in cache_dir.iterdir():
        if entry.name.startswith(head) and _PART_MARK not in entry.name and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


# --------------------------------------------------------------------------- collectives


def _outcome(fn: Callable[[], T]) -> tuple[tuple, BaseException | None]:
    """Run ``fn``: ``(("ok", value), None)``, or a picklable account of its failure and the exception."""
    try:
        return ("ok", fn()), None
    except Exception as exc:  # noqa: BLE001 - handed to the other ranks, then re-raised
        return ("failed", type(exc).__name__, str(exc), isinstance(exc, DatasetError)), exc


def _raise_for(outcome: tuple, rank: int) -> None:
    """Raise on a rank that did not fail what ``rank`` failed with."""
    if outcome[0] == "ok":
        return
    _, name, message, dataset = outcome
    if dataset:
        raise DatasetError(message)
    raise RuntimeError(f"frame extraction failed on rank {rank}: {name}: {message}")


def _on_main(w: "World", fn: Callable[[], T]) -> T:
    """``fn()`` run by rank 0, its value on every rank (its failure raised on every rank)."""
    mine, exc = _outcome(fn) if w.is_main else (None, None)
    outcome = w.broadcast_object(mine)
    if exc is not None:
        raise exc
    _raise_for(outcome, 0)
    return outcome[1]


def _on_every_rank(w: "World", fn: Callable[[], object]) -> None:
    """``fn()`` run by every rank; returns once all are done; raises on every rank if one failed."""
    mine, exc = _outcome(fn)
    outcomes = w.gather_objects(mine[:1] if exc is None else mine)
    if exc is not None:
        raise exc
    for rank, outcome in enumerate(outcomes):
        _raise_for(outcome, rank)

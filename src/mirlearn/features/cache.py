"""Extract the spectral frames of a track table once, and keep them memory-mapped on disk.

``extract_frames`` decodes every track and computes its frames in worker threads, writes
the frames straight into one raw float32 file as results arrive (the GTZAN frames are
2.65 GB: they are never all in memory), and returns a :class:`FrameSet` over a read-only
``np.memmap`` of that file. The next call with the same tracks and settings opens the file
without decoding anything.

Layout of ``cache_dir`` (one folder per cache key, published by an atomic rename)::

    frames-<key[:16]>/
        X.f32          raw float32 frames, C order, shape in meta.json
        offsets.npy    int64 (n_tracks + 1,): frames of track i are X[offsets[i]:offsets[i+1]]
        tracks.csv     the tracks in the order of their frames (for people; not read back)
        meta.json      shape, dtype, settings, key, bad files; written last
    .frames-<key>.tmp-<pid>/   a folder being built (removed on error; ignored when left
                               behind by a killed process, and cleaned once that pid is gone)
    .frames-<key>.shard-<r>of<n>/   under torchrun, the frames of rank r's share (of n ranks),
                               assembled by rank 0 into the folder above, then removed
                               (:mod:`mirlearn.features.shards`)

The key is the sha256 of the frame settings (all but ``max_seconds``), ``max_seconds``, a
format version and, per track, its id, absolute path, file size and modification time (ns),
and the identity of a ``transform`` when one is given (an augmented copy of the tracks, e.g.
every track time-stretched by 1.2: :mod:`mirlearn.features.augment`): changing any of these
gives a new key, hence a miss. Labels are not part of the key: the returned tracks are the
caller's, so relabelling reuses the cached frames.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import warnings
from collections import deque
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Protocol

import numpy as np

from mirlearn.datasets.folder import dangling_symlink
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import AudioError, DatasetError
from mirlearn.features.frameset import FrameSet
from mirlearn.features.representations import frames
from mirlearn.features.settings import FrameSettings, frame_count
from mirlearn.io import pid_alive

if TYPE_CHECKING:
    from mirlearn.distributed import World

#: Bumped whenever the layout or the content of a cache folder changes; part of the key.
FORMAT_VERSION = 1

_PREFIX = "frames-"
_TMP_MARK = ".tmp-"
_OLD_MARK = ".old-"
_PART_MARK = ".part-"  # a rank's shard being written (mirlearn.features.shards)
# Results waiting to be written, per worker: bounds memory if the writer falls behind.
_IN_FLIGHT_PER_JOB = 4

#: Result of one track: its frames, or ``None`` and what is wrong with the file (with frames:
#: ``None``, or a transform's note prefixed by ``_NOTE``).
_Result = tuple["np.ndarray | None", "str | None"]
_NOTE = "note: "


class TrackTransform(Protocol):
    """Audio → audio, applied to every track after decoding and before framing (an augmented
    copy of the data set). Implemented by :class:`mirlearn.features.augment.AudioTransform`."""

    def key(self) -> dict:
        """JSON-ready identity: everything that changes the output (part of the cache key)."""
        ...

    def describe(self) -> str:
        """A few words for progress and logs, e.g. ``"time stretch ×1.2"``."""
        ...

    def __call__(self, y: np.ndarray, sr: int, track_id: str) -> tuple[np.ndarray, str | None]:
        """The transformed samples (mono float32 at ``sr`` Hz) of track ``track_id``, and a note
        when the track was used as it is (too short to transform), else ``None``."""
        ...


class _Unset:
    """Marks an argument left out (``None`` is a meaningful ``max_seconds``)."""

    def __repr__(self) -> str:
        return "<from settings>"


_UNSET = _Unset()


def _resolve(settings: FrameSettings, max_seconds: "float | None | _Unset") -> FrameSettings:
    """``settings`` with ``max_seconds`` replaced when the argument was given."""
    if isinstance(max_seconds, _Unset):
        return settings
    if max_seconds is not None and not (np.isfinite(max_seconds) and max_seconds > 0):
        raise ValueError(f"max_seconds must be a positive number of seconds or None, got {max_seconds!r}")
    return settings.replace(max_seconds=max_seconds)


def _framing(settings: FrameSettings) -> dict:
    """The settings as hashed into cache keys: all but ``max_seconds``, which the key holds
    on its own (so keys, hence caches, are those of the time before it was a setting)."""
    d = settings.to_dict()
    d.pop("max_seconds")
    return d


# --------------------------------------------------------------------------- public API


def cache_key(tracks: TrackTable, settings: FrameSettings,
              max_seconds: "float | None | _Unset" = _UNSET, transform: TrackTransform | None = None) -> str:
    """The hex sha256 that names the cache of these tracks and settings.

    Parameters
    ----------
    tracks : TrackTable
        The tracks; their order matters (it is the order of the frames).
    settings : FrameSettings
    max_seconds : float or None, optional
        Truncation of every track, in seconds; overrides ``settings.max_seconds`` when given.
    transform : TrackTransform or None
        An audio transform applied to every track (its ``key()`` enters the hash).

    Returns
    -------
    str
        64 hex digits; the cache folder is ``frames-<key[:16]>``.
    """
    entries = []
    for t in tracks:
        path = os.path.abspath(os.fspath(t.path))
        try:
            st = os.stat(path)
            size, mtime = int(st.st_size), int(st.st_mtime_ns)
        except OSError:  # a missing file is a bad file; it still gets a distinct key
            size = mtime = None
        entries.append([t.track_id, path, size, mtime])
    settings = _resolve(settings, max_seconds)
    payload = {
        "format": FORMAT_VERSION,
        "settings": _framing(settings),
        "max_seconds": settings.max_seconds,
        "tracks": entries,
    }
    if transform is not None:  # absent otherwise: the keys of plain caches stay as they were
        payload["transform"] = transform.key()
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def extract_frames(
    tracks: TrackTable,
    settings: FrameSettings,
    *,
    cache_dir: str | os.PathLike[str],
    n_jobs: int = 2,
    skip_bad: bool = False,
    progress: bool = True,
    max_seconds: "float | None | _Unset" = _UNSET,
    transform: TrackTransform | None = None,
) -> FrameSet:
    """Frames of every track, computed once and then read from a memory-mapped cache.

    Parameters
    ----------
    tracks : TrackTable
        The tracks to frame, in the order their frames will have.
    settings : FrameSettings
        Decoding rate, framing and kind (``settings.sr``, ``n_fft``, ``hop_length``,
        ``kind``, ``max_seconds``, ...).
    cache_dir : str or path-like
        Folder holding the caches (created when missing); several caches may share it.
    n_jobs : int
        Worker threads decoding and framing in parallel (the decoders and the FFT release
        the GIL); 1 works in the calling thread; -1 uses every CPU.
    skip_bad : bool
        ``False``: any unusable file raises :class:`DatasetError` listing all of them.
        ``True``: unusable files are listed in a warning and left out of the result.
    progress : bool
        Show progress while decoding (:class:`mirlearn.progress.Progress`: a bar on a
        terminal, a line every 10 % elsewhere).
    max_seconds : float or None, optional
        Keep only the first ``max_seconds`` seconds of every track (the ISMIR 2004 protocol
        uses 30 s); ``None`` keeps all. Overrides ``settings.max_seconds`` when given.
    transform : TrackTransform or None
        Frames of every track transformed by it after decoding (an augmented copy; cached
        under its own key). Tracks it used as they are (too short) are named in a warning.

    Returns
    -------
    FrameSet
        ``X`` : read-only ``np.memmap`` [shape=(n_frames, settings.dim)], float32;
        ``offsets`` : int64 [shape=(n_tracks + 1,)]; ``tracks`` : the usable tracks of
        ``tracks`` (all of them unless ``skip_bad``), in their order; ``time_base`` :
        ``settings.time_base`` (rate, hop, kind, frame length, centring).

    Raises
    ------
    DatasetError
        If some file is missing, empty, corrupt or shorter than one frame and ``skip_bad``
        is false (the message lists every such file and its cause, one per line); or if no
        track at all is usable.

    Notes
    -----
    The cache is published by renaming a complete temporary folder, so a killed run never
    leaves a folder that a later run takes for a cache, and existing caches are never
    touched by a failing run. Frames of bad tracks are not stored; their list is, so that a
    later call answers without decoding the good tracks again. On such a call the bad files
    alone are decoded again: if one has become readable, the cache is rebuilt.

    In a job of several ranks (``torchrun``, :mod:`mirlearn.distributed`) every rank must call
    this with the same arguments: each frames its share of the tracks with its ``n_jobs``
    threads, rank 0 publishes the very cache one process writes (:mod:`mirlearn.features.shards`),
    and only rank 0 shows progress and warns.

    Examples
    --------
    >>> fs = extract_frames(table, FrameSettings(), cache_dir="cache")  # doctest: +SKIP
    >>> fs.X.shape  # doctest: +SKIP
    (1291000, 513)
    """
    if len(tracks) == 0:
        raise DatasetError("no tracks to extract frames from")
    settings = _resolve(settings, max_seconds)
    max_seconds = settings.max_seconds
    n_jobs = _n_jobs(n_jobs)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(cache_dir)

    key = cache_key(tracks, settings, max_seconds, transform)
    final = cache_dir / f"{_PREFIX}{key[:16]}"
    w = _ranks()
    if w is not None:  # several ranks: each frames its share, rank 0 publishes the same cache
        from mirlearn.features.shards import extract_sharded

        meta = extract_sharded(w, final, tracks, settings, key, n_jobs=n_jobs, progress=progress,
                               max_seconds=max_seconds, transform=transform)
        return _open_cache(final, meta, tracks, skip_bad, settings, warn=w.is_main)
    meta = _read_meta(final, key)
    if meta is not None:
        bad = meta["bad"]
        if not bad or not _any_recovered(bad, settings, max_seconds, transform):
            return _open_cache(final, meta, tracks, skip_bad, settings)
        # A file listed as bad now decodes (e.g. its permissions were fixed, which changes
        # neither size nor mtime): rebuild below, replacing the stale folder.

    tmp = cache_dir / f".{_PREFIX}{key}{_TMP_MARK}{os.getpid()}"
    if tmp.exists():  # left by an earlier failure of this very process
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        meta = _build(tmp, tracks, settings, key, n_jobs=n_jobs, progress=progress,
                      max_seconds=max_seconds, transform=transform)
        _publish(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    meta = _read_meta(final, key) or meta  # another process may have published first
    return _open_cache(final, meta, tracks, skip_bad, settings)


def clear_cache(cache_dir: str | os.PathLike[str]) -> int:
    """Remove every frame cache (and leftover temporary folder) in ``cache_dir``.

    Other files in ``cache_dir`` are left alone.

    Parameters
    ----------
    cache_dir : str or path-like

    Returns
    -------
    int
        Number of folders removed (0 when ``cache_dir`` does not exist).
    """
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return 0
    removed = 0
    for entry in cache_dir.iterdir():
        if entry.is_dir() and (entry.name.startswith(_PREFIX) or entry.name.startswith("." + _PREFIX)):
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


# --------------------------------------------------------------------------- workers


def _decode(path: str, sr: int, max_seconds: float | None) -> np.ndarray:
    """Mono float32 samples of ``path`` at ``sr`` Hz, at most ``max_seconds`` long."""
    from mirlearn import audio

    return audio.load(path, sr=sr, mono=True, duration=max_seconds)


def _track_frames(path: str, settings: FrameSettings, max_seconds: float | None,
                  transform: TrackTransform | None = None, track_id: str = "") -> _Result:
    """Frames of one file, or ``(None, cause)`` when the file cannot be used; with a
    ``transform``, of the transformed audio (``(frames, "note: ...")`` when the transform
    used the track as it is).

    Runs in a worker thread; anything but a problem with the file (a bug) propagates.
    """
    try:
        y = _decode(path, settings.sr, max_seconds)
    except AudioError as exc:
        return None, dangling_symlink(path) or exc.cause
    note = None
    if transform is not None and len(y):
        y, note = transform(y, settings.sr, track_id)
    if frame_count(len(y), settings) == 0:
        return None, f"shorter than one frame ({len(y)} samples < {settings.n_fft})"
    return np.ascontiguousarray(frames(y, settings), dtype=np.float32), (None if note is None else _NOTE + note)


def _n_jobs(n_jobs: int) -> int:
    if n_jobs == -1:
        return os.cpu_count() or 1
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    return int(n_jobs)


def _results(jobs: Iterable[tuple], n_jobs: int, settings: FrameSettings) -> Iterator[_Result]:
    """Apply :func:`_track_frames` to every job, yielding results in the jobs' order.

    At most ``_IN_FLIGHT_PER_JOB * n_jobs`` jobs are submitted ahead of the one being
    consumed, so finished frames never pile up in memory.
    """
    if n_jobs == 1:
        for job in jobs:
            yield _track_frames(*job)
        return
    from concurrent.futures import ThreadPoolExecutor

    # Threads, not processes: decoding (libsndfile, FFmpeg, soxr), the window multiply and
    # the FFT all run with the GIL released, so n threads keep n cores busy. Worker
    # processes cost about twice the CPU per clip here (benchmarks/results/frames.md): each
    # clip's frames were pickled back through a pipe, and every fresh buffer in a worker
    # page-faulted, where threads reuse the memory of one heap.
    frames(np.zeros(settings.n_fft, dtype=np.float32), settings)  # window and FFT plans, once
    it = iter(jobs)
    executor = ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="mirlearn-frames")
    try:
        pending = deque(executor.submit(_track_frames, *job)
                        for job in islice(it, _IN_FLIGHT_PER_JOB * n_jobs))
        while pending:
            result = pending.popleft().result()
            job = next(it, None)
            if job is not None:
                pending.append(executor.submit(_track_frames, *job))
            yield result
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- building


def _build(
    tmp: Path,
    tracks: TrackTable,
    settings: FrameSettings,
    key: str,
    *,
    n_jobs: int,
    progress: bool,
    max_seconds: float | None,
    transform: TrackTransform | None = None,
) -> dict:
    """Fill the folder ``tmp`` with the frames of ``tracks``; return its meta.

    Raises DatasetError when no track is usable (nothing is published then).
    """
    lengths, bad, notes = _write_frames(tmp / "X.f32", list(tracks), settings, n_jobs=n_jobs, progress=progress,
                                        max_seconds=max_seconds, transform=transform)
    return _finish(tmp, tracks, settings, key, [n for n in lengths if n is not None], bad, notes,
                   max_seconds=max_seconds, transform=transform)


def _write_frames(
    out: Path,
    tracks: list[Track],
    settings: FrameSettings,
    *,
    n_jobs: int,
    progress: bool,
    max_seconds: float | None,
    transform: TrackTransform | None = None,
    share: str = "",
) -> tuple[list[int | None], list[dict], list[dict]]:
    """Write the frames of the usable ``tracks``, in their order, to the raw float32 file ``out``.

    Returns ``(lengths, bad, notes)``: per track its number of frames (``None``: unusable), the
    unusable tracks (``track_id``, ``path``, ``cause``) and the tracks a transform used as they
    are (``track_id``, ``path``, ``note``). ``share`` ends the progress description (a rank's share).
    """
    from mirlearn.progress import Progress

    jobs = ((os.path.abspath(os.fspath(t.path)), settings, max_seconds, transform, t.track_id) for t in tracks)
    lengths: list[int | None] = []
    bad: list[dict] = []
    notes: list[dict] = []
    dim = settings.dim
    what = f"{settings.kind} frames" + ("" if transform is None else f", {transform.describe()}") + share
    with open(out, "wb") as f, \
            Progress(len(tracks), what, "track", enabled=progress) as bar:
        for t, (X, cause) in zip(tracks, _results(jobs, n_jobs, settings)):
            if X is None:
                bad.append({"track_id": t.track_id, "path": str(t.path), "cause": cause})
                lengths.append(None)
            else:
                if cause is not None:
                    notes.append({"track_id": t.track_id, "path": str(t.path), "note": cause[len(_NOTE):]})
                if X.ndim != 2 or X.shape[1] != dim:
                    raise RuntimeError(f"frames of {t.path} have shape {X.shape}, expected (n, {dim})")
                f.write(memoryview(X).cast("B"))
                lengths.append(int(X.shape[0]))
            bar.update(1)
        f.flush()
        os.fsync(f.fileno())  # the rename that publishes it must not publish data still in flight
    return lengths, bad, notes


def _finish(
    tmp: Path,
    tracks: TrackTable,
    settings: FrameSettings,
    key: str,
    lengths: list[int],
    bad: list[dict],
    notes: list[dict],
    *,
    max_seconds: float | None,
    transform: TrackTransform | None = None,
) -> dict:
    """Complete the folder ``tmp``, whose ``X.f32`` holds the frames of the usable tracks
    (``lengths``: frames of each, in track order): write offsets, tracks and meta; return the meta.

    Raises DatasetError when no track is usable.
    """
    if not lengths:
        raise DatasetError(_bad_message(bad, len(tracks), skipped=False, none_left=True))
    bad_ids = {b["track_id"] for b in bad}
    good = tracks.without(bad_ids)
    dim = settings.dim
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    np.save(tmp / "offsets.npy", offsets)
    good.to_csv(tmp / "tracks.csv")
    meta = {
        "format": FORMAT_VERSION,
        "key": key,
        "shape": [int(offsets[-1]), dim],
        "dtype": "<f4",
        "settings": _framing(settings),
        "max_seconds": max_seconds,
        "n_tracks": len(good),
        "n_bad": len(bad),
        "bad": bad,
        "versions": _versions(),
    }
    if transform is not None:
        meta["transform"] = transform.key()
        meta["notes"] = notes
    # meta.json last: its presence is what marks a folder as complete.
    from mirlearn.io import atomic_write_json

    atomic_write_json(tmp / "meta.json", meta)
    return meta


def _publish(tmp: Path, final: Path) -> None:
    """Rename the complete folder ``tmp`` to ``final``.

    If ``final`` is a complete cache already (another process won the race), ``tmp`` is
    dropped. If ``final`` exists but is stale or incomplete, it is replaced; readers that
    hold its memory map keep reading the old, unlinked file.
    """
    _fsync_dir(tmp)
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.exists():
            raise
        old = final.with_name(f".{final.name}{_OLD_MARK}{os.getpid()}")
        meta_other = _load_json(final / "meta.json")
        tmp_meta = _load_json(tmp / "meta.json")
        if meta_other is not None and tmp_meta is not None and meta_other.get("key") == tmp_meta.get("key") \
                and meta_other.get("bad") == tmp_meta.get("bad"):
            return  # an equivalent cache is there: keep it, tmp is removed by the caller
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(final.parent)


def _fsync_dir(path: Path) -> None:
    # Makes the renames durable on power loss; not every platform can open a directory.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _versions() -> dict[str, str]:
    """Versions of the libraries that decide the numbers in the frames."""
    import scipy
    import soundfile
    import soxr

    import mirlearn

    out = {"mirlearn": mirlearn.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
           "soundfile": soundfile.__version__, "libsndfile": soundfile.__libsndfile_version__,
           "soxr": getattr(soxr, "__version__", "?")}
    try:
        from mirlearn.audio import RESAMPLER

        out["resampler"] = RESAMPLER
    except ImportError:  # pragma: no cover
        pass
    return out


# --------------------------------------------------------------------------- reading


def _load_json(path: Path) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _read_meta(final: Path, key: str) -> dict | None:
    """The meta of a complete cache folder for ``key``, else None."""
    meta = _load_json(final / "meta.json")
    if meta is None or meta.get("key") != key or meta.get("format") != FORMAT_VERSION:
        return None
    try:
        size = os.path.getsize(final / "X.f32")
    except OSError:
        return None
    n, dim = meta["shape"]
    if size != n * dim * 4 or not (final / "offsets.npy").is_file():
        return None
    return meta


def _any_recovered(bad: list[dict], settings: FrameSettings, max_seconds: float | None,
                   transform: TrackTransform | None = None) -> bool:
    """True when some file recorded as bad can now be framed."""
    return any(_track_frames(os.path.abspath(b["path"]), settings, max_seconds, transform, b["track_id"])[0]
               is not None for b in bad)


def _open_cache(final: Path, meta: dict, tracks: TrackTable, skip_bad: bool,
                settings: FrameSettings, *, warn: bool = True) -> FrameSet:
    """FrameSet over the cache folder ``final``; raise or (when ``warn``) warn about its bad files."""
    bad = meta["bad"]
    if bad:
        if not skip_bad:
            raise DatasetError(_bad_message(bad, len(tracks), skipped=False))
        if warn:
            warnings.warn(_bad_message(bad, len(tracks), skipped=True), stacklevel=3)
    good = tracks.without(b["track_id"] for b in bad)
    offsets = np.load(final / "offsets.npy")
    n, dim = meta["shape"]
    if offsets.shape != (len(good) + 1,) or offsets[-1] != n:
        raise DatasetError(f"frame cache {final} is inconsistent (offsets do not match its "
                           "tracks); remove it with clear_cache() and run again")
    notes = meta.get("notes") or []
    if notes and warn:
        listed = "; ".join(f"{x['path']}: {x['note']}" for x in notes[:10])
        more = f" (and {len(notes) - 10} more)" if len(notes) > 10 else ""
        warnings.warn(f"{meta['transform'].get('name', 'transform')}: {len(notes)} track(s) used as they are: "
                      f"{listed}{more}", stacklevel=3)
    X = np.memmap(final / "X.f32", dtype=np.dtype(meta["dtype"]), mode="r", shape=(n, dim))
    return FrameSet(X, offsets, good, settings.time_base)


def _bad_message(bad: list[dict], n_tracks: int, *, skipped: bool, none_left: bool = False) -> str:
    """One line per bad file (``path: cause``), framed by what happens about them."""
    lines = [f"  {b['path']}: {b['cause']}" for b in bad]
    if none_left:
        head = f"none of the {n_tracks} audio files can be used:"
        tail = "Fix the files (or the paths in the track table) and run again."
    elif skipped:
        head = f"{len(bad)} of {n_tracks} audio files cannot be used and are left out:"
        tail = ""
    else:
        head = f"{len(bad)} of {n_tracks} audio files cannot be used:"
        tail = "Fix or remove them, or use --skip-bad to leave them out."
    return "\n".join([head, *lines] + ([tail] if tail else []))


def _clean_leftovers(cache_dir: Path) -> None:
    """Remove temporary folders whose process is gone (a killed run); never read them."""
    for entry in cache_dir.iterdir():
        name = entry.name
        if not name.startswith("." + _PREFIX) or not entry.is_dir():
            continue
        mark = next((m for m in (_TMP_MARK, _OLD_MARK, _PART_MARK) if m in name), None)
        if mark is not None and _owner_gone(name.rsplit(mark, 1)[1]):
            shutil.rmtree(entry, ignore_errors=True)


def _owner(ranks: bool) -> str:
    """Who writes a temporary folder: the pid, or for the ranks of a job (which may share a
    cache folder across machines) ``<host>-<pid>``, so that no machine mistakes a live folder of
    another machine for a leftover."""
    if not ranks:
        return str(os.getpid())
    import re
    import socket

    return f"{re.sub(r'[^A-Za-z0-9._-]', '_', socket.gethostname())}-{os.getpid()}"


def _owner_gone(owner: str) -> bool:
    """Whether the process named by an :func:`_owner` tag has ended (False when it cannot be
    told: another machine's process, or a name this code did not write)."""
    host, _, pid_text = owner.rpartition("-")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if host and host != _owner(True).rpartition("-")[0]:
        return False
    return pid != os.getpid() and not pid_alive(pid)


def _ranks() -> "World | None":
    """The :class:`~mirlearn.distributed.World` of a job of several ranks, else None.

    Without torch imported no process group can exist, so one process never imports it here.
    """
    if "torch.distributed" not in sys.modules:
        return None
    from mirlearn.distributed import world

    w = world()
    return w if w.active else None


__all__ = ["FORMAT_VERSION", "TrackTransform", "cache_key", "clear_cache", "extract_frames"]

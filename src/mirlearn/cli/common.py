"""Steps that several commands share, in the order every command takes them.

parse → :mod:`~mirlearn.cli.checks` (types, ranges, paths) → :func:`load_run_config` →
:func:`load_tracks` and :func:`source_splits` (cheap: no decoding) → ``--split`` checked
against the splits → only then :func:`extract`, :func:`start_run` (folder + provenance) and
the work itself. Heavy libraries are imported inside the functions.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Sequence

from mirlearn.cli import checks
from mirlearn.cli.options import data_home
from mirlearn.errors import MirlearnError


def overrides(items: Sequence[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` items as a nested dict (values in TOML syntax; a bare word is a string)."""
    import tomllib

    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise MirlearnError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            parsed = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value  # a bare word is a string
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise MirlearnError(f"--set {item}: {part} is both a value and a section")
        node[parts[-1]] = parsed
    return out


def load_run_config(args: argparse.Namespace):
    """The validated configuration of ``--config`` / ``--optimizer`` / ``--set``.

    Raises :class:`~mirlearn.errors.ConfigError` (one line) for unknown keys and bad values.
    """
    from mirlearn.config import load_config

    over = overrides(args.set)
    name = args.config
    optimizer = getattr(args, "optimizer", None)
    if name is None:
        name = "sigtia2014-sigmoid-hf-500" if optimizer == "hf" else args.config_default
    if optimizer:
        over.setdefault("training", {})["optimizer"] = optimizer
    task = getattr(args, "task", None)
    if task:
        over.setdefault("training", {})["task"] = task
    return validated(load_config(name, over))


def validated(cfg):
    """``cfg`` after :meth:`~mirlearn.config.Config.validate` (a bad value: one-line ``ConfigError``)."""
    return cfg.validate()


def load_tracks(data: str | Path, kind: str):
    """The track table (and a manifest's stored split) of ``--data``; reads no audio."""
    from mirlearn.datasets import load_dataset

    return load_dataset(data, kind)


def load_labelled_tracks(data: str | Path, kind: str):
    """:func:`load_tracks` for commands that learn classes: a manifest without labels (only tags or
    targets) fails in one line that says which command serves it."""
    tracks, stored = load_tracks(data, kind)
    if len(tracks.classes) < 2:
        raise MirlearnError(f"--data {data}: no labels to learn (the manifest has no label column); its tags or "
                            f"target are a task for `mirlearn transfer MODEL --data {data} --task tags|target`")
    return tracks, stored


def source_splits(splits_arg: str | None, cfg, tracks, stored) -> list:
    """The splits before framing: ``--splits``, else the stored split, else the config's random splits.

    Each split is restricted to ``tracks`` and checked.
    """
    from mirlearn.datasets.splits import load_split_dir, load_splits, make_splits

    if splits_arg:
        p = Path(splits_arg)
        if not p.exists():
            raise MirlearnError(f"--splits {p}: split file not found")
        splits = [load_split_dir(p)] if p.is_dir() else load_splits(p)
    elif stored is not None:
        splits = [stored]
    else:
        splits = make_splits(tracks, n_splits=cfg.splits.n_splits, fractions=tuple(cfg.splits.fractions),
                             seed=cfg.splits.seed)
    return splits


def checked_splits(splits_arg: str | None, cfg, tracks, stored, *, warn: bool = True) -> list:
    """:func:`source_splits` restricted to ``tracks`` and checked against them."""
    splits = [s.restrict(tracks, warn=warn) for s in source_splits(splits_arg, cfg, tracks, stored)]
    for s in splits:
        s.check(tracks)
    return splits


def frame_cache(args: argparse.Namespace) -> Path:
    """``--cache``, or the default cache folder."""
    return Path(args.cache) if args.cache else data_home() / "frames"


def extract(args: argparse.Namespace, cfg, tracks):
    """Frames of every track (from the cache when there): ``(FrameSet, FrameSettings, seconds)``."""
    from mirlearn.features.cache import extract_frames

    settings = cfg.frames
    cache = frame_cache(args)
    t0 = time.perf_counter()
    fs = extract_frames(tracks, settings, cache_dir=cache, n_jobs=args.jobs, skip_bad=args.skip_bad,
                        progress=not getattr(args, "no_progress", False))
    dt = time.perf_counter() - t0
    print(f"frames: {len(fs.X):,} × {fs.dim} from {fs.n_tracks} tracks in {dt:.1f} s (cache {cache})")
    return fs, settings, dt


def extract_augmented(args: argparse.Namespace, cfg, frames) -> list:
    """The offline augmentation's ``(transform, copies)`` pairs of the framed tracks (from the
    cache when there); ``[]`` when ``[augment]`` is off or lists no offline transform."""
    from mirlearn.features.augment.transforms import extract_augmented as extract_variants

    transforms = cfg.augment.transforms()
    if not transforms:
        return []
    cache = frame_cache(args)
    t0 = time.perf_counter()
    out = extract_variants(frames.tracks, cfg.frames, transforms, cache_dir=cache, n_jobs=args.jobs,
                           skip_bad=True, progress=not getattr(args, "no_progress", False))
    rows = sum(len(fs.X) for _, fs in out)
    print(f"augmentation: {len(out)} variant(s) of {frames.n_tracks} tracks, {rows:,} frames in "
          f"{time.perf_counter() - t0:.1f} s (cache {cache}); the learner trains on the training tracks' copies only")
    return out


def start_run(run_dir: Path, config_toml: str, extra: dict[str, Any]) -> Path:
    """Create the run folder and record this invocation's provenance (work starts now).

    Under several ranks rank 0 does it and the others wait until it is done."""
    from mirlearn.distributed import world
    from mirlearn.runs import record_run

    ranks = world()
    if not ranks.is_main:
        ranks.barrier()
        return run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    rec = record_run(run_dir, config_toml, extra)
    print(f"run directory: {run_dir}")
    if rec.config_differs:
        print(f"note: {run_dir / 'config.toml'} holds the settings of an earlier invocation; this "
              f"invocation's are in {rec.invocation}")
    if ranks.size > 1:
        print(f"{ranks.size} ranks (torch.distributed); rank 0 writes the results")
    ranks.barrier()
    return run_dir


def check_common(args: argparse.Namespace, *, data_exists: bool = True, dataset_kind: bool = True) -> None:
    """The checks of the options most commands share (those present in ``args``).

    Parameters
    ----------
    data_exists : ``--data`` is an input that must exist (``demo`` writes it instead)
    dataset_kind : check ``--dataset`` (``reproduce`` reads its deprecated path form itself)
    """
    if hasattr(args, "jobs"):
        checks.check_jobs(args.jobs)
    if hasattr(args, "device"):
        checks.check_device(args.device)
    if dataset_kind and getattr(args, "dataset", None) is not None:
        checks.check_dataset_kind(args.dataset)
    if data_exists and getattr(args, "data", None):
        checks.check_exists(args.data, "--data", what="dataset")
    if getattr(args, "splits", None):
        checks.check_exists(args.splits, "--splits", what="split file")
    if getattr(args, "cache", None):
        checks.check_out_dir(args.cache, "--cache")

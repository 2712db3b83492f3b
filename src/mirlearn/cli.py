"""The ``mirlearn`` command line.

Every subcommand shares one option vocabulary (``--data``, ``--dataset``, ``--config``,
``--set``, ``--splits``, ``--split``, ``--out``, ``--cache``, ``--jobs``, ``--skip-bad``,
``--device``, ``--no-progress``). Errors a user can fix print as one line, without a traceback.
Heavy libraries are imported inside the commands so that ``mirlearn --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from mirlearn import __version__
from mirlearn.errors import MirlearnError


def data_home() -> Path:
    """Where mirlearn keeps generated data and caches: ``$MIRLEARN_HOME`` or ``~/.cache/mirlearn``."""
    return Path(os.environ.get("MIRLEARN_HOME", Path.home() / ".cache" / "mirlearn"))


# -- shared options -------------------------------------------------------------------------
def _add_data(p: argparse.ArgumentParser, required: bool = True) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", required=required, metavar="PATH",
                   help="dataset folder (GTZAN, folder-per-label, synthetic) or CSV manifest")
    g.add_argument("--dataset", default="auto", choices=["auto", "gtzan", "folder", "manifest", "synthetic"],
                   help="layout of --data (default: detect)")
    g.add_argument("--splits", metavar="FILE", help="split file (.json from `mirlearn splits`) or a folder "
                   "holding train.txt/valid.txt/test.txt; default: the config's random stratified splits")
    g.add_argument("--cache", metavar="DIR", help=f"frame cache folder (default: {data_home() / 'frames'})")
    g.add_argument("--skip-bad", action="store_true", help="leave out undecodable files (with a warning) "
                   "instead of stopping")
    g.add_argument("-j", "--jobs", type=int, default=2, help="worker threads for decoding and framing (default 2)")


def _add_run(p: argparse.ArgumentParser, config_default: str | None = "sigtia2014-relu-dropout-500") -> None:
    g = p.add_argument_group("run")
    g.add_argument("--config", default=None, metavar="NAME|FILE",
                   help=f"packaged config name or TOML file (default: {config_default}, or "
                        "sigtia2014-sigmoid-hf-500 with --optimizer hf); see `mirlearn configs`")
    g.add_argument("--optimizer", choices=["sgd", "hf"], help="override training.optimizer: sgd or hf "
                   "(Hessian-Free); without --config, hf picks the paper's sigmoid + HF config")
    p.set_defaults(config_default=config_default)
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set training.max_epochs=20 (TOML value syntax)")
    g.add_argument("--out", metavar="DIR", help="run directory (default: runs/<time>-<config>)")
    g.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def _overrides(items: Sequence[str]) -> dict[str, Any]:
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
        node[parts[-1]] = parsed
    return out


def _config(args: argparse.Namespace):
    from mirlearn.config import load_config

    overrides = _overrides(args.set)
    name = args.config
    optimizer = getattr(args, "optimizer", None)
    if name is None:
        name = "sigtia2014-sigmoid-hf-500" if optimizer == "hf" else args.config_default
    if optimizer:
        overrides.setdefault("training", {})["optimizer"] = optimizer
    return load_config(name, overrides)


def _load_tracks(args: argparse.Namespace):
    from mirlearn.datasets import load_dataset

    return load_dataset(args.data, args.dataset)


def _frames(args: argparse.Namespace, cfg, tracks):
    from mirlearn.features.cache import extract_frames
    from mirlearn.features.spectral import FrameSettings

    settings = FrameSettings(sr=cfg.frames.sr, n_fft=cfg.frames.n_fft, hop_length=cfg.frames.hop_length,
                             center=cfg.frames.center)
    cache = Path(args.cache) if args.cache else data_home() / "frames"
    t0 = time.perf_counter()
    fs = extract_frames(tracks, settings, cache_dir=cache, n_jobs=args.jobs, skip_bad=args.skip_bad,
                        progress=not getattr(args, "no_progress", False), max_seconds=cfg.frames.max_seconds)
    dt = time.perf_counter() - t0
    print(f"frames: {len(fs.X):,} × {fs.dim} from {fs.n_tracks} tracks in {dt:.1f} s (cache {cache})")
    return fs, settings, dt


def _splits(args: argparse.Namespace, cfg, tracks, stored, run_dir: Path):
    from mirlearn.datasets.splits import load_split_dir, load_splits, make_splits, save_splits

    if args.splits:
        p = Path(args.splits)
        if not p.exists():
            raise MirlearnError(f"split file not found: {p}")
        splits = [load_split_dir(p)] if p.is_dir() else load_splits(p)
    elif stored is not None:
        splits = [stored]
    else:
        splits = make_splits(tracks, n_splits=cfg.splits.n_splits, fractions=tuple(cfg.splits.fractions),
                             seed=cfg.splits.seed)
    splits = [s.restrict(tracks) for s in splits]
    for s in splits:
        s.check(tracks)
    save_splits(splits, run_dir / "splits.json")
    return splits


def _start(args: argparse.Namespace, name: str):
    from mirlearn.config import dump_toml
    from mirlearn.runs import new_run_dir, record_run

    cfg = _config(args)
    run_dir = new_run_dir(args.out, name or cfg.name)
    record_run(run_dir, dump_toml(cfg), {"data": str(Path(args.data).resolve()) if args.data else None,
                                         "dataset": getattr(args, "dataset", None)})
    print(f"run directory: {run_dir}")
    return cfg, run_dir


# -- commands -------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    """Train and evaluate a config on every split; print the table of track accuracies."""
    from mirlearn.experiments.protocol import format_table, run_protocol

    cfg, run_dir = _start(args, "")
    tracks, stored = _load_tracks(args)
    frames, _, t_frames = _frames(args, cfg, tracks)
    splits = _splits(args, cfg, frames.tracks, stored, run_dir)
    if args.split is not None:
        splits = [splits[k] for k in args.split]
    t0 = time.perf_counter()
    result = run_protocol(cfg, frames, splits, run_dir, device=args.device, progress=not args.no_progress)
    print(f"\nTrack accuracy (%) of {cfg.name} over {len(splits)} split(s), "
          f"forest of {cfg.forest.n_estimators} trees + majority vote:")
    print(format_table(result["summary"], cfg.features.layers, cfg.features.aggregate))
    print(f"\nframes {t_frames:.1f} s, networks + forests {time.perf_counter() - t0:.1f} s; "
          f"results in {run_dir / 'results.json'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Make the synthetic set (if absent) and run the whole pipeline with the demo config."""
    from mirlearn.datasets.synthetic import make_synthetic

    root = Path(args.data) if args.data else data_home() / "synthetic-demo"
    t0 = time.perf_counter()
    make_synthetic(root, n_classes=args.classes, clips_per_class=args.clips, seconds=args.seconds, seed=args.seed)
    print(f"synthetic dataset: {root} ({args.classes} classes × {args.clips} clips × {args.seconds:g} s, "
          f"ready in {time.perf_counter() - t0:.1f} s)")
    args.data, args.dataset, args.splits, args.split = str(root), "folder", None, None
    return cmd_run(args)


def cmd_train(args: argparse.Namespace) -> int:
    """Train the network of one split, fit the forest for `predict`, save the model."""
    from mirlearn.classify import evaluate_tracks
    from mirlearn.experiments.protocol import (cell_features, fit_and_test_parts, make_forest, part_frames,
                                               split_activations)
    from mirlearn.io import atomic_write_json
    from mirlearn.learner import FeatureLearner, FeatureSpec
    from mirlearn.model import GenreModel

    cfg, run_dir = _start(args, "")
    tracks, stored = _load_tracks(args)
    frames, settings, _ = _frames(args, cfg, tracks)
    splits = _splits(args, cfg, frames.tracks, stored, run_dir)
    k = args.split[0] if args.split else 0
    if not 0 <= k < len(splits):
        raise MirlearnError(f"--split {k} out of range: {len(splits)} split(s)")
    split = splits[k]
    model_dir = run_dir / "model"
    learner = FeatureLearner.from_config(cfg, run_dir=model_dir, device=args.device, progress=not args.no_progress)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="frames-", dir=run_dir) as tmp:
        # Large parts of a memory-mapped cache stay on disk (see protocol.part_frames).
        learner.fit(part_frames(frames, split.train, Path(tmp) / "train.npy"),
                    part_frames(frames, split.valid, Path(tmp) / "valid.npy"))
    print(f"network trained in {time.perf_counter() - t0:.1f} s: {learner.training_summary()}")
    f = cfg.features
    spec = FeatureSpec(f.predict_layers, f.predict_aggregate, f.window_seconds, f.hop_seconds)
    with tempfile.TemporaryDirectory(prefix="features-", dir=run_dir) as tmp:
        # As run_split: frames and activations stay on disk when large, the forest's parts are views.
        all_layers = split_activations(learner, frames, split, Path(tmp) / "features-all.f32")
        fit, test = fit_and_test_parts(cell_features(all_layers, learner.widths_, spec, cfg), split)
        forest = make_forest(cfg).fit(fit)
        m = evaluate_tracks(test.tracks.y, forest.predict(test), test.tracks.classes)
        del all_layers, fit, test  # release the memory maps before the folder goes
    info = {"config": cfg.name, "data": str(Path(args.data).resolve()), "dataset": args.dataset,
            "splits_file": str((run_dir / "splits.json").resolve()), "split_index": k, "split": split.name,
            "test_track_accuracy": m.accuracy, "max_seconds": cfg.frames.max_seconds}
    GenreModel(learner, forest, spec, settings, info).save(model_dir)
    atomic_write_json(run_dir / "metrics.json", {"split": split.name, "cell": spec.name, "metrics": m.to_dict()})
    print(f"test track accuracy ({spec.name}): {m.accuracy:.1%} on {len(split.test)} tracks")
    print(f"model saved: {model_dir}   (use: mirlearn predict {model_dir} AUDIO...)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a trained model's features on its split's test part: every layer × aggregation."""
    from mirlearn.config import load_config
    from mirlearn.datasets import load_dataset
    from mirlearn.datasets.splits import load_splits
    from mirlearn.experiments.protocol import format_table, run_split, summarize, cells_of
    from mirlearn.model import GenreModel

    model_dir = Path(args.model)
    model = GenreModel.load(model_dir)
    info = model.info
    run_root = model_dir.parent
    cfg = load_config(run_root / "config.toml", _overrides(args.set)) if (run_root / "config.toml").is_file() \
        else load_config(info["config"], _overrides(args.set))
    args.data = args.data or info["data"]
    args.dataset = args.dataset if args.data != info["data"] else info.get("dataset", "auto")
    tracks, _ = load_dataset(args.data, args.dataset)
    frames, _, _ = _frames(args, cfg, tracks)
    splits = load_splits(args.splits or info["splits_file"])
    split = splits[args.split[0] if args.split else info["split_index"]].restrict(frames.tracks)
    out = Path(args.out) if args.out else run_root / "evaluation"
    outcome = run_split(cfg, frames, split, out, learner=model.learner, progress=not args.no_progress)
    summary = summarize([outcome], cells_of(cfg))
    print(f"\nTrack accuracy (%) on {split.name} test ({len(split.test)} tracks):")
    print(format_table(summary, cfg.features.layers, cfg.features.aggregate))
    print(f"cells in {out / 'cells'}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Genre and class probabilities for audio files."""
    from mirlearn.model import GenreModel, expand_audio_paths

    model = GenreModel.load(args.model)
    paths = expand_audio_paths(args.audio)
    results, bad = model.predict_files(paths, skip_bad=args.skip_bad)
    for p, cause in bad:
        print(f"skipped {p}: {cause}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        top = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:3]
        print(f"{r['genre']:<12} {r['path']}   (" + ", ".join(f"{c} {v:.2f}" for c, v in top) + ")")
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    """Write learned features of audio files to an .npz file."""
    import numpy as np

    from mirlearn.io import atomic_path
    from mirlearn.learner import FeatureSpec
    from mirlearn.model import GenreModel, expand_audio_paths, frames_of_files

    model = GenreModel.load(args.model)
    spec = FeatureSpec(args.layer, args.aggregate, args.window, args.hop)
    frames, bad = frames_of_files(expand_audio_paths(args.audio), model.frame_settings, skip_bad=args.skip_bad)
    for p, cause in bad:
        print(f"skipped {p}: {cause}", file=sys.stderr)
    fs = model.features(frames, spec)
    out = Path(args.output)
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, features=fs.X, offsets=fs.offsets, paths=np.array([str(t.path) for t in fs.tracks]),
                     layers=args.layer, aggregate=args.aggregate,
                     hop_seconds=(args.hop if args.aggregate else model.frame_settings.hop_length / model.frame_settings.sr))
    print(f"features {fs.X.shape[0]} × {fs.X.shape[1]} ({spec.name}) of {fs.n_tracks} files → {out}")
    print("rows of file i: features[offsets[i]:offsets[i+1]]")
    return 0


def cmd_splits(args: argparse.Namespace) -> int:
    """Make the protocol's random stratified splits of a dataset and save them."""
    from mirlearn.datasets.splits import make_splits, save_splits

    tracks, _ = _load_tracks(args)
    splits = make_splits(tracks, n_splits=args.n_splits, fractions=tuple(args.fractions), seed=args.seed)
    save_splits(splits, args.output)
    for s in splits:
        print(f"{s.name}: {len(s.train)} train / {len(s.valid)} valid / {len(s.test)} test")
    print(f"saved {args.output}")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    """Generate the synthetic dataset (folder-per-label WAV files)."""
    from mirlearn.datasets.synthetic import make_synthetic

    root = make_synthetic(args.output, n_classes=args.classes, clips_per_class=args.clips,
                          seconds=args.seconds, seed=args.seed)
    print(f"synthetic dataset in {root}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Reproduce Sigtia & Dixon (2014): Tables 1 and 2 with baselines, as one resumable grid."""
    from mirlearn.config import load_config
    from mirlearn.datasets import load_dataset
    from mirlearn.experiments import sigtia2014 as grid

    if bool(args.gtzan) == bool(args.dataset):
        raise MirlearnError("give the data: --gtzan DIR, or --dataset synthetic|PATH (a folder-per-label set)")
    user = _overrides(args.set)
    base = load_config("sigtia2014-relu-dropout-500", user)
    if args.gtzan:
        data, kind, name = args.gtzan, "gtzan", "gtzan"
    elif args.dataset == "synthetic":
        from mirlearn.datasets.synthetic import make_synthetic

        root = data_home() / "synthetic-grid"
        make_synthetic(root, n_classes=4, clips_per_class=12, seconds=6.0, seed=0)
        data, kind, name = str(root), "folder", "synthetic"
    else:
        data, kind, name = args.dataset, "auto", Path(args.dataset).name
    run_dir = Path(args.out) if args.out else Path("runs") / f"sigtia2014-{name}-{args.profile}"
    run_dir.mkdir(parents=True, exist_ok=True)
    tracks, stored = load_dataset(data, kind)
    cache = Path(args.cache) if args.cache else data_home() / "frames"

    def frames_of(table, kind="fft", max_seconds=None):
        from mirlearn.features.cache import extract_frames

        return extract_frames(table, grid._frame_settings(base, kind), cache_dir=cache, n_jobs=args.jobs,
                              skip_bad=args.skip_bad, progress=not args.no_progress, max_seconds=max_seconds)

    t0 = time.perf_counter()
    frames = frames_of(tracks)
    stage_times = {"frames_s": time.perf_counter() - t0}
    splits = _splits(args, base, frames.tracks, stored, run_dir)
    inputs = grid.Inputs(name, frames, splits)
    ismir = None
    tables = {name: frames.tracks}
    if args.ismir2004:
        from mirlearn.datasets.ismir2004 import ismir2004_split, load_ismir2004

        itracks = load_ismir2004(args.ismir2004, part=("training", "development"))
        t0 = time.perf_counter()
        iframes = frames_of(itracks, max_seconds=30.0)  # the paper: the first 30 s of each track
        stage_times["frames_ismir2004_s"] = time.perf_counter() - t0
        ismir = grid.Inputs("ismir2004", iframes, [ismir2004_split(iframes.tracks).restrict(iframes.tracks)])
        tables["ismir2004"] = iframes.tracks
    nets = [n for n in grid.NETS if not args.nets or n.key in args.nets]
    baselines = [] if args.no_baselines else ["mfcc", "pmsc"]
    plan = grid.plan_grid(inputs, profile=args.profile, nets=nets, user=user, ismir=ismir, baselines=baselines)
    print(f"plan ({args.profile} profile, {len(splits)} split(s)):")
    print(grid.format_plan(plan))
    for r in grid.PROFILES[args.profile]:
        print(f"  reduction: {r.describe()}")
    if args.dry_run:
        return 0

    def frame_source(dataset: str, kind: str):
        return frames_of(tables[dataset], kind, max_seconds=30.0 if dataset == "ismir2004" else None)

    from mirlearn.config import dump_toml
    from mirlearn.runs import record_run

    record_run(run_dir, dump_toml(base), {"profile": args.profile})
    run = grid.reproduce(inputs=inputs, out=run_dir, profile=args.profile, nets=nets, user=user, ismir=ismir,
                         baselines=baselines, frame_source=frame_source, device=args.device,
                         progress=not args.no_progress)
    run["timings"].update(stage_times)
    from mirlearn.io import atomic_write_json

    atomic_write_json(run_dir / "run.json", run)
    return _write_report(run_dir)


def _write_report(run_dir: Path) -> int:
    from mirlearn.experiments.report import write_report

    md, html = write_report(run_dir)
    print(f"\n{md.read_text()}" if md.stat().st_size < 20000 else "")
    print(f"report: {md}  and  {html}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild report.md / report.html of a run from its JSON results alone."""
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise MirlearnError(f"run directory not found: {run_dir}")
    return _write_report(run_dir)


def cmd_configs(args: argparse.Namespace) -> int:
    """List the packaged configs, or print one."""
    from mirlearn.config import dump_toml, load_config, packaged_configs

    if args.name:
        print(dump_toml(load_config(args.name)), end="")
        return 0
    for name in packaged_configs():
        print(f"{name:<30} {load_config(name).description}")
    return 0


# -- parser ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mirlearn", description="Learn features from music audio with deep "
                                "neural networks; measure them on genre classification.")
    p.add_argument("--version", action="version", version=f"mirlearn {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    d = sub.add_parser("demo", help="make the synthetic set and run the whole pipeline (minutes)")
    d.add_argument("--data", help="where to write the synthetic set (default: MIRLEARN_HOME/synthetic-demo)")
    d.add_argument("--classes", type=int, default=4)
    d.add_argument("--clips", type=int, default=24, help="clips per class")
    d.add_argument("--seconds", type=float, default=10.0, help="clip length, s")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--cache", metavar="DIR")
    d.add_argument("-j", "--jobs", type=int, default=2)
    d.add_argument("--skip-bad", action="store_true", help=argparse.SUPPRESS)
    _add_run(d, config_default="demo")
    d.set_defaults(func=cmd_demo)

    r = sub.add_parser("run", help="train + evaluate a config on every split (the paper's protocol)")
    _add_data(r)
    _add_run(r)
    r.add_argument("--split", type=int, nargs="+", metavar="K", help="only these splits (0-based)")
    r.set_defaults(func=cmd_run)

    t = sub.add_parser("train", help="train a network (+ forest) on one split; saves a model")
    _add_data(t)
    _add_run(t)
    t.add_argument("--split", type=int, nargs=1, metavar="K", help="which split (default 0)")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="evaluate a model's features: every layer × aggregation")
    e.add_argument("model", help="model folder written by `mirlearn train`")
    _add_data(e, required=False)
    e.add_argument("--split", type=int, nargs=1, metavar="K", help="split index (default: the model's)")
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    e.add_argument("--out", metavar="DIR")
    e.add_argument("--no-progress", action="store_true")
    e.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", help="genre and class probabilities of audio files")
    pr.add_argument("model")
    pr.add_argument("audio", nargs="+", help="audio files or folders")
    pr.add_argument("--json", action="store_true", help="print JSON")
    pr.add_argument("--skip-bad", action="store_true")
    pr.set_defaults(func=cmd_predict)

    fe = sub.add_parser("features", help="write learned features of audio files to .npz")
    fe.add_argument("model")
    fe.add_argument("audio", nargs="+", help="audio files or folders")
    fe.add_argument("--layer", default="all", help="1, 2, 3 or all (default)")
    fe.add_argument("--aggregate", action="store_true", help="mean + variance over windows")
    fe.add_argument("--window", type=float, default=5.0, help="aggregation window, s")
    fe.add_argument("--hop", type=float, default=2.5, help="aggregation hop, s")
    fe.add_argument("-o", "--output", default="features.npz")
    fe.add_argument("--skip-bad", action="store_true")
    fe.set_defaults(func=cmd_features)

    s = sub.add_parser("splits", help="make K random stratified train/valid/test splits")
    _add_data(s)
    s.add_argument("--n-splits", type=int, default=4)
    s.add_argument("--fractions", type=float, nargs=3, default=[0.5, 0.25, 0.25])
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("-o", "--output", default="splits.json")
    s.set_defaults(func=cmd_splits)

    sy = sub.add_parser("synth", help="generate the synthetic dataset")
    sy.add_argument("output")
    sy.add_argument("--classes", type=int, default=10)
    sy.add_argument("--clips", type=int, default=100, help="clips per class")
    sy.add_argument("--seconds", type=float, default=30.0)
    sy.add_argument("--seed", type=int, default=0)
    sy.set_defaults(func=cmd_synth)

    rp = sub.add_parser("reproduce", help="reproduce Sigtia & Dixon 2014: Tables 1 and 2, baselines, report")
    rp.add_argument("paper", choices=["sigtia2014"])
    src = rp.add_argument_group("data")
    src.add_argument("--gtzan", metavar="DIR", help="your GTZAN copy")
    src.add_argument("--dataset", metavar="synthetic|PATH", help="run the grid on the synthetic set or on "
                     "a folder-per-label dataset instead of GTZAN")
    src.add_argument("--ismir2004", metavar="DIR", help="your ISMIR 2004 genre copy (Table 2)")
    src.add_argument("--splits", metavar="FILE", help="split file or folder (default: the paper's 4 random "
                     "stratified 50/25/25 splits)")
    src.add_argument("--cache", metavar="DIR")
    src.add_argument("-j", "--jobs", type=int, default=2)
    src.add_argument("--skip-bad", action="store_true")
    rp.add_argument("--profile", choices=["paper", "quick"], default="quick",
                    help="paper: every setting as published; quick: named reductions (default)")
    rp.add_argument("--nets", nargs="+", metavar="NET", help="only these nets, e.g. relu-dropout-500")
    rp.add_argument("--no-baselines", action="store_true", help="skip MFCC and PMSC")
    rp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config key for every net and baseline")
    rp.add_argument("--device", default="cpu")
    rp.add_argument("--out", metavar="DIR", help="run directory (default: runs/sigtia2014-<data>-<profile>)")
    rp.add_argument("--dry-run", action="store_true", help="print the plan and a time estimate, run nothing")
    rp.add_argument("--no-progress", action="store_true")
    rp.set_defaults(func=cmd_reproduce)

    rep = sub.add_parser("report", help="rebuild a run's report.md / report.html from its JSON results")
    rep.add_argument("run_dir")
    rep.set_defaults(func=cmd_report)

    c = sub.add_parser("configs", help="list packaged configs, or print one")
    c.add_argument("name", nargs="?")
    c.set_defaults(func=cmd_configs)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MirlearnError as e:
        print(f"mirlearn: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nmirlearn: interrupted; run the same command with the same --out to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Commands that train and evaluate: ``run``, ``demo``, ``train``, ``evaluate``.

Each command checks every argument, loads and validates the configuration, reads the track
table and the splits and checks ``--split`` against them before any frame is extracted or
any folder is made; provenance is written only when the work starts.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from mirlearn.cli import checks, options
from mirlearn.cli.common import (check_common, checked_splits, extract, extract_augmented, load_labelled_tracks,
                                 frame_cache, load_run_config, load_tracks, overrides, start_run, validated)
from mirlearn.errors import MirlearnError


# -- run ------------------------------------------------------------------------------------
def _prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Everything ``run`` and ``train`` check before work; returns what they need afterwards."""
    from mirlearn.config import dump_toml
    from mirlearn.runs import run_dir_path

    check_common(args)
    tokens = checks.check_split_tokens(_tokens(args.split))
    if args.out is not None:
        checks.check_out_dir(args.out, run_folder=True)
    cfg = load_run_config(args)
    if cfg.training.task == "tags":
        tracks, stored = load_tracks(args.data, args.dataset)
        if not tracks.tag_names:
            raise MirlearnError(f"--data {args.data}: --task tags needs tags (a manifest's tags column, tags "
                                f"separated by ';')")
    else:
        tracks, stored = load_labelled_tracks(args.data, args.dataset)
    names = [s.name for s in checked_splits(args.splits, cfg, tracks, stored, warn=False)]
    chosen = checks.resolve_split_tokens(tokens, names)
    run_dir = run_dir_path(args.out, cfg.name)
    if args.out is None:
        checks.check_out_dir(run_dir, "run directory", run_folder=True)
    return {"cfg": cfg, "tracks": tracks, "stored": stored, "chosen": chosen, "run_dir": run_dir,
            "config_toml": dump_toml(cfg),
            "extra": {"data": str(Path(args.data).resolve()), "dataset": args.dataset}}


def _tokens(split: Any) -> list[str]:
    if split is None:
        return []
    return [split] if isinstance(split, str) else list(split)


def _final_splits(args: argparse.Namespace, prep: dict[str, Any], frames) -> list:
    """The splits of the framed tracks (some may have been skipped)."""
    return checked_splits(args.splits, prep["cfg"], frames.tracks, prep["stored"])


def _is_main_rank() -> bool:
    """Whether this process writes (one process, or rank 0 of a ``torchrun`` job)."""
    from mirlearn.distributed import world

    return world().is_main


def _save_splits(splits: list, run_dir: Path) -> None:
    from mirlearn.datasets.splits import save_splits

    if _is_main_rank():
        save_splits(splits, run_dir / "splits.json")


def cmd_run(args: argparse.Namespace) -> int:
    """Train and evaluate a config on every split; print the table of track accuracies."""
    from mirlearn.experiments.layout import RunLayout
    from mirlearn.pipeline import check_frames_fit, check_reusable, format_table, run_protocol

    prep = _prepare(args)
    cfg = prep["cfg"]
    frames, _, t_frames = extract(args, cfg, prep["tracks"])
    check_frames_fit(cfg, frames)
    all_splits = _final_splits(args, prep, frames)
    splits = [all_splits[k] for k in prep["chosen"]] if prep["chosen"] else all_splits
    check_reusable(cfg, frames, splits, RunLayout(prep["run_dir"]))  # before anything is written
    augmented = extract_augmented(args, cfg, frames)
    run_dir = start_run(prep["run_dir"], prep["config_toml"], prep["extra"])
    _save_splits(all_splits, run_dir)
    t0 = time.perf_counter()
    layout = RunLayout(run_dir)
    if cfg.training.task == "tags":
        return _run_tagging(args, cfg, frames, splits, layout, augmented, t0)
    model_info = {"data": str(Path(args.data).resolve()), "dataset": args.dataset,
                  "splits_file": str(layout.splits_json.resolve()),
                  "split_index": [s.name for s in all_splits].index(splits[0].name)}
    result = run_protocol(cfg, frames, splits, layout, device=args.device, progress=not args.no_progress,
                          model_info=model_info, augmented=augmented)
    if not _is_main_rank():  # the other ranks shared the trainings; rank 0 reports
        return 0
    print(f"\nTrack accuracy (%) of {cfg.name} over {len(splits)} split(s), "
          f"forest of {cfg.forest.n_estimators} trees + majority vote:")
    print(format_table(result["summary"], cfg.features.layers, cfg.features.aggregate,
                       rows="patches" if cfg.learner == "cnn" else "frames"))
    print(f"\nframes {t_frames:.1f} s, networks + forests {time.perf_counter() - t0:.1f} s; "
          f"results in {layout.results_json}")
    print(f"model (split {splits[0].name}): {layout.model_dir}   (use: mirlearn predict {run_dir} AUDIO...)")
    _write_report(run_dir)
    return 0


def _run_tagging(args: argparse.Namespace, cfg, frames, splits: list, layout, augmented: list, t0: float) -> int:
    """``run --task tags``: train on tags per split, score the outputs and the features (and MFCC)."""
    from mirlearn.experiments.tagging import tag_split, write_tagging
    from mirlearn.experiments.transfer import pct_mean_std, source_of_frames
    from mirlearn.features.cache import extract_frames
    from mirlearn.similarity.build import mfcc_settings

    mf = extract_frames(frames.tracks, mfcc_settings(), cache_dir=frame_cache(args), n_jobs=args.jobs,
                        skip_bad=False, progress=not args.no_progress)
    mfcc = source_of_frames("mfcc", mf, cfg.features.window_seconds, cfg.features.hop_seconds)
    records = [tag_split(cfg, frames, s, layout.split(s.name), device=args.device, progress=not args.no_progress,
                         augmented=augmented, baselines=[mfcc]) for s in splits]
    if not _is_main_rank():  # the other ranks shared the trainings; rank 0 reports
        return 0
    md, html = write_tagging(records, layout.root, name=cfg.name, data=str(args.data),
                             tag_names=frames.tracks.tag_names)
    own = [r["own output"] for r in records]
    print(f"\nAuto-tagging with {cfg.name} over {len(splits)} split(s): the net's own sigmoid outputs, "
          f"ROC-AUC {pct_mean_std([o['roc_auc'] for o in own])}, PR-AUC {pct_mean_std([o['pr_auc'] for o in own])} (%)")
    for src in records[0]["sources"]:
        for clf in records[0]["sources"][src]:
            print(f"  {src:<16} {clf:<7} ROC-AUC {pct_mean_std([r['sources'][src][clf]['roc_auc'] for r in records])}")
    print(f"networks + classifiers {time.perf_counter() - t0:.1f} s")
    print(f"report: {md}\n        {html}")
    return 0


def _write_report(run_dir: Path) -> None:
    """The run's report (tables, per-class accuracy, learning curves, times), and where it is."""
    from mirlearn.experiments.report import write_report

    md, html = write_report(run_dir)
    print(f"report: {md}\n        {html} (open in a browser; `mirlearn report {run_dir}` rebuilds it)")


# -- demo -----------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    """Make the synthetic set (if absent) and run the whole pipeline with the demo config."""
    from mirlearn.datasets.synthetic import make_synthetic

    root = Path(args.data) if args.data else options.data_home() / "synthetic-demo"
    _check_synthetic(args)
    checks.check_out_dir(root, "--data")
    check_common(args, data_exists=False)
    if args.out is not None:
        checks.check_out_dir(args.out, run_folder=True)
    load_run_config(args)  # a bad --set stops here, before the set is generated
    t0 = time.perf_counter()
    make_synthetic(root, n_classes=args.classes, clips_per_class=args.clips, seconds=args.seconds, seed=args.seed)
    print(f"synthetic dataset: {root} ({args.classes} classes × {args.clips} clips × {args.seconds:g} s, "
          f"ready in {time.perf_counter() - t0:.1f} s)")
    args.data, args.dataset, args.splits, args.split = str(root), "folder", None, None
    return cmd_run(args)


def _check_synthetic(args: argparse.Namespace) -> None:
    checks.check_at_least(args.classes, 2, "--classes")
    checks.check_at_least(args.clips, 1, "--clips")
    checks.check_positive(args.seconds, "--seconds", unit=" s")


# -- train ----------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    """Train the learner of one split, fit the forest for `predict`, save the model."""
    from mirlearn.io import atomic_write_json
    from mirlearn.model import GenreModel
    from mirlearn.pipeline import check_frames_fit

    prep = _prepare(args)
    cfg = prep["cfg"]
    if cfg.training.task != "label":
        raise MirlearnError(f"training.task={cfg.training.task!r}: `mirlearn train` saves a genre model (classes and "
                            "a forest); train on tags with `mirlearn run --task tags`")
    frames, _, _ = extract(args, cfg, prep["tracks"])
    check_frames_fit(cfg, frames)
    splits = _final_splits(args, prep, frames)
    augmented = extract_augmented(args, cfg, frames)
    run_dir = start_run(prep["run_dir"], prep["config_toml"], prep["extra"])
    _save_splits(splits, run_dir)
    k = prep["chosen"][0] if prep["chosen"] else 0
    split = splits[k]
    model_dir = run_dir / "model"
    model = GenreModel.from_config(cfg, run_dir=model_dir, device=args.device, progress=not args.no_progress)
    model.info.update({"data": str(Path(args.data).resolve()), "dataset": args.dataset,
                       "splits_file": str((run_dir / "splits.json").resolve()), "split_index": k})
    model.fit(frames, split, work_dir=run_dir, augmented=augmented)
    if not _is_main_rank():  # the other ranks shared the training; rank 0 fits the forest and saves
        return 0
    model.save(model_dir)
    m = model.metrics_
    atomic_write_json(run_dir / "metrics.json", {"split": split.name, "cell": model.spec.name, "metrics": m.to_dict()})
    print(f"test track accuracy ({model.spec.name}): {m.accuracy:.1%} on {len(split.test)} tracks")
    print(f"model saved: {model_dir}   (use: mirlearn predict {run_dir} AUDIO...)")
    _write_report(run_dir)
    return 0


# -- evaluate -------------------------------------------------------------------------------
def check_model_dir(path: str) -> Path:
    """The model folder of ``path``: a model folder (holding ``model.json``) or a run folder
    of ``run``, ``demo`` or ``train`` (holding ``model/``)."""
    p = checks.check_exists(path, "MODEL", what="model or run folder")
    if (p / "model.json").is_file():
        return p
    if (p / "model" / "model.json").is_file():
        return p / "model"
    raise MirlearnError(f"{p}: not a mirlearn model or run folder (no model.json, no model/model.json); "
                        "`mirlearn run`, `demo` and `train` write one under OUT/model/")


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a trained model's features on its split's test part: every layer × aggregation."""
    from mirlearn.config import load_config
    from mirlearn.datasets.splits import load_splits
    from mirlearn.pipeline import cells_of, format_table, run_split, summarize
    from mirlearn.model import GenreModel

    model_dir = check_model_dir(args.model)
    check_common(args)
    tokens = checks.check_split_tokens(_tokens(args.split))
    run_root = model_dir.parent
    out = Path(args.out) if args.out else run_root / "evaluation"
    checks.check_out_dir(out, "--out" if args.out else "evaluation folder")
    info = json.loads((model_dir / "model.json").read_text())["info"]
    cfg = validated(load_config(run_root / "config.toml", overrides(args.set)) if (run_root / "config.toml").is_file()
                    else load_config(info["config"], overrides(args.set)))
    args.data = args.data or info["data"]
    args.dataset = args.dataset if args.data != info["data"] else info.get("dataset", "auto")
    checks.check_exists(args.data, "--data", what="dataset")
    tracks, _ = load_labelled_tracks(args.data, args.dataset)
    splits_file = args.splits or info["splits_file"]
    checks.check_exists(splits_file, "--splits" if args.splits else "the model's split file", what="split file")
    splits = load_splits(splits_file)
    k = checks.resolve_split_tokens(tokens, [s.name for s in splits])[0] if tokens else info["split_index"]
    splits[k].restrict(tracks, warn=False).check(tracks)
    model = GenreModel.load(model_dir)
    frames, _, _ = extract(args, cfg, tracks)
    split = splits[k].restrict(frames.tracks)
    model.learner.set_params(device=args.device)
    outcome = run_split(cfg, frames, split, out, learner=model.learner, progress=not args.no_progress)
    summary = summarize([outcome], cells_of(cfg))
    print(f"\nTrack accuracy (%) on {split.name} test ({len(split.test)} tracks):")
    print(format_table(summary, cfg.features.layers, cfg.features.aggregate))
    print(f"cells in {out / 'cells'}")
    return 0


# -- parsers --------------------------------------------------------------------------------
def _run_options(p: argparse.ArgumentParser, *, config_default: str) -> None:
    g = p.add_argument_group("configuration")
    options.add_config(g, default=config_default)  # type: ignore[arg-type]
    options.add_optimizer(g)  # type: ignore[arg-type]
    options.add_set(g)  # type: ignore[arg-type]


def _data_options(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    g = p.add_argument_group("data")
    options.add_data(g, required=required)  # type: ignore[arg-type]
    options.add_dataset(g)  # type: ignore[arg-type]
    options.add_splits_file(g)  # type: ignore[arg-type]
    options.add_cache(g)  # type: ignore[arg-type]
    options.add_skip_bad(g)  # type: ignore[arg-type]


_RUN_OUT = ("run folder: new, empty, or one made by mirlearn (a resume); default: "
            "runs/<time>-<config>")


def register(sub: Any) -> None:
    """Add ``demo``, ``run``, ``train`` and ``evaluate`` to the subcommands."""
    d = options.add_command(sub, "demo", help="make the synthetic set and run the whole pipeline (minutes)",
                            description="Generate a synthetic set (if absent) and run the whole pipeline on it "
                            "with the demo config.", example="mirlearn demo --classes 4 --clips 24 --out runs/demo")
    options.add_data(d, required=False, help="where to write the synthetic set (default: "
                     "MIRLEARN_HOME/synthetic-demo)")
    options.add_synthetic(d, classes=4, clips=24, seconds=10.0)
    options.add_cache(d)
    _run_options(d, config_default="demo")
    options.add_out(d, help=_RUN_OUT)
    options.add_execution(d)
    d.set_defaults(func=cmd_demo, dataset="folder", splits=None, split=None, skip_bad=False)

    r = options.add_command(sub, "run", help="train + evaluate a config on every split (the paper's protocol)",
                            description="For every split: train the config's network, then every feature cell "
                            "(layer × aggregation) → forest → vote; prints mean ± std over the splits.",
                            example="mirlearn run --data ~/data/gtzan --config sigtia2014-relu-dropout-500 "
                            "--split 0 1 --out runs/dropout500")
    _data_options(r)
    options.add_split(r, many=True)
    _run_options(r, config_default="sigtia2014-relu-dropout-500")
    r.add_argument("--task", choices=("label", "tags"), default=None,
                   help="what the network learns: the labels, or a manifest's tags column (one sigmoid output per "
                   "tag; scored by per-tag and macro ROC-AUC / PR-AUC, beside MFCC) (default: the config's "
                   "training.task, label)")
    options.add_out(r, help=_RUN_OUT)
    options.add_execution(r)
    r.set_defaults(func=cmd_run)

    t = options.add_command(sub, "train", help="train a network (+ forest) on one split; saves a model",
                            description="Train the network of one split and the forest that `mirlearn predict` "
                            "uses; saves OUT/model/.",
                            example="mirlearn train --data ~/data/gtzan --split random-seed0-0 --out runs/model")
    _data_options(t)
    options.add_split(t, many=False)
    _run_options(t, config_default="sigtia2014-relu-dropout-500")
    options.add_out(t, help=_RUN_OUT)
    options.add_execution(t)
    t.set_defaults(func=cmd_train)

    e = options.add_command(sub, "evaluate", help="evaluate a model's features: every layer × aggregation",
                            description="Evaluate a trained model's features on the test part of a split: "
                            "every layer × aggregation, each with its own forest.",
                            example="mirlearn evaluate runs/model/model --set forest.n_estimators=100")
    e.add_argument("model", help="a run folder of `mirlearn run`, `demo` or `train`, or its model/ folder")
    g = e.add_argument_group("data")
    options.add_data(g, required=False, help="dataset folder or CSV manifest (default: the "  # type: ignore[arg-type]
                     "model's training data)")
    options.add_dataset(g)  # type: ignore[arg-type]
    options.add_splits_file(g, help="split file or folder (default: the model's split file)")  # type: ignore[arg-type]
    options.add_cache(g)  # type: ignore[arg-type]
    options.add_skip_bad(g)  # type: ignore[arg-type]
    options.add_split(e, many=False, help="which split: a 0-based index or a split id (default: "
                      "the model's own split)")
    options.add_set(e)
    options.add_out(e, help="folder of the evaluation's cells (default: MODEL/../evaluation)")
    options.add_execution(e)
    e.set_defaults(func=cmd_evaluate)

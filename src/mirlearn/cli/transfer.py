"""The ``transfer`` command: a trained model's frozen features on another dataset."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from mirlearn.cli import checks, options
from mirlearn.cli.common import check_common, frame_cache, load_tracks


def cmd_transfer(args: argparse.Namespace) -> int:
    """Classifiers on the frozen features of every split of ``--data``, beside MFCC and random weights."""
    from mirlearn.cli.run import check_model_dir
    from mirlearn.datasets.splits import load_split_dir, load_splits, make_splits
    from mirlearn.experiments.report.render import md_table
    from mirlearn.classify.task_metrics import HEADLINE
    from mirlearn.experiments.transfer import (classifiers_of, evaluate_source, source_of_frames, source_of_learner,
                                               transfer_blocks, write_transfer)
    from mirlearn.features.cache import extract_frames
    from mirlearn.model import GenreModel
    from mirlearn.similarity.build import mfcc_settings

    if args.out is None:
        checks.fail("--out: required (the folder for transfer.json, .md and .html)")
    check_common(args)
    checks.check_at_least(args.n_splits, 1, "--n-splits")
    model_dir = check_model_dir(args.model)
    out = checks.check_out_dir(args.out)
    model = GenreModel.load(model_dir)
    model.learner.set_params(device=args.device)
    layers = model.layer_selection(args.layer)
    tracks, stored = load_tracks(args.data, args.dataset)
    task = pick_task(args.task, tracks, args.data)
    if args.splits:
        p = Path(args.splits)
        splits = [load_split_dir(p)] if p.is_dir() else load_splits(p)
    elif stored is not None:
        splits = [stored]
    else:
        splits = make_splits(tracks, n_splits=args.n_splits, seed=args.seed)
    for s in splits:
        s.restrict(tracks, warn=False).check(tracks)
    t0 = time.perf_counter()
    progress = not args.no_progress
    fs = extract_frames(tracks, model.frame_settings, cache_dir=frame_cache(args), n_jobs=args.jobs,
                        skip_bad=args.skip_bad, progress=progress, max_seconds=model.info.get("max_seconds"))
    splits = [s.restrict(fs.tracks) for s in splits]
    win, hop = model.spec.window_seconds, model.spec.hop_seconds
    print(f"frames: {len(fs.X):,} × {fs.dim} from {fs.n_tracks} tracks ({time.perf_counter() - t0:.1f} s)")
    sources = [source_of_learner("model", model.learner, layers, fs, win, hop)]
    if args.random_weights:
        rand = model.learner.randomized(seed=args.seed)
        sources.append(source_of_learner("random weights", rand, layers, fs, win, hop))
    if not args.no_mfcc:
        mf = extract_frames(fs.tracks, mfcc_settings(), cache_dir=frame_cache(args), n_jobs=args.jobs,
                            skip_bad=False, progress=progress, max_seconds=model.info.get("max_seconds"))
        sources.append(source_of_frames("mfcc", mf, win, hop))
    per_split: dict[str, dict[str, Any]] = {}
    metric = HEADLINE[task]
    for split in splits:
        per_split[split.name] = {}
        for src in sources:
            res = evaluate_source(src, split, model.forest, seed=args.seed, task=task)
            per_split[split.name][src.name] = res
            accs = ", ".join(f"{c} {100 * res[c][metric]:.1f}%" for c in classifiers_of(task))
            print(f"[{split.name}] {src.name:<15} {metric}: {accs}", flush=True)
    result = {"format": "mirlearn.transfer", "version": 2, "model": str(model_dir), "data": str(args.data),
              "task": task, "layers": list(layers), "window_seconds": win, "hop_seconds": hop,
              "random_seed": args.seed, "sources": [s.name for s in sources],
              "classifiers": list(classifiers_of(task)), "splits": [s.name for s in splits],
              "per_split": per_split}
    if task == "tags":
        result["tag_names"] = fs.tracks.tag_names
    md, html = write_transfer(result, out)
    table = next(b for b in transfer_blocks(result) if b.kind == "table")
    print(md_table(table.header, table.rows))
    print(f"report: {md}, {html}")
    return 0


def pick_task(asked: str, tracks, data: Any) -> str:
    """The task of ``--task`` for ``tracks``: ``auto`` is labels when there are 2 classes or more,
    else tags, else targets; an explicit task the data cannot serve fails in one line."""
    has = {"label": len(tracks.classes) >= 2, "tags": bool(tracks.tag_names), "target": tracks.has_targets}
    if asked == "auto":
        for task in ("label", "tags", "target"):
            if has[task]:
                return task
        checks.fail(f"--data {data}: the tracks have neither 2 classes, nor tags, nor a numeric target")
    if not has[asked]:
        why = {"label": "fewer than 2 classes (a manifest needs a label column)",
               "tags": "no tags (a manifest needs a tags column, tags separated by ';')",
               "target": "no numeric target for every track (a manifest needs a target column)"}[asked]
        checks.fail(f"--task {asked}: --data {data} has {why}")
    return asked


def register(sub: Any) -> None:
    """Add ``transfer`` to the subcommands."""
    t = options.add_command(
        sub, "transfer", help="a model's frozen features on another dataset, beside MFCC and random weights",
        description="Judge a trained model's features on another dataset (Choi et al. 2017): for every split of "
        "--data, a Random Forest + vote on aggregation windows and a logistic regression and an RBF SVM on "
        "track vectors (hyper-parameters chosen on the validation tracks, never on test) are trained on the "
        "frozen features and scored on the test tracks; the same for MFCC frames and, with --random-weights, "
        "for the same network with untrained weights. A manifest's tags column makes it auto-tagging (per-tag and "
        "macro ROC-AUC / PR-AUC), its target column regression (R²). Writes transfer.json, transfer.md and "
        "transfer.html.",
        example="mirlearn transfer runs/gtzan --data ~/data/ismir2004 --random-weights --out runs/gtzan-to-ismir")
    t.add_argument("model", help="a model or run folder (`mirlearn run`, `train`, `demo`)")
    g = t.add_argument_group("data")
    options.add_data(g)  # type: ignore[arg-type]
    options.add_dataset(g)  # type: ignore[arg-type]
    options.add_splits_file(g)  # type: ignore[arg-type]
    g.add_argument("--n-splits", type=int, default=4, metavar="K",
                   help="random stratified 50/25/25 splits when no --splits and no stored split (default: "
                   "%(default)s)")
    options.add_cache(g)  # type: ignore[arg-type]
    options.add_skip_bad(g)  # type: ignore[arg-type]
    t.add_argument("--task", choices=("auto", "label", "tags", "target"), default="auto",
                   help="what to predict: the labels (accuracy), the manifest's tags column (multi-label: per-tag "
                   "and macro ROC-AUC and PR-AUC) or its target column (regression: R², MAE); auto: labels when "
                   "there are 2 classes or more, else tags, else target (default: %(default)s)")
    t.add_argument("--layer", default=None, metavar="LAYERS",
                   help="the model's feature layers: all, 2, 1,2 ... (default: the model's own choice)")
    t.add_argument("--random-weights", action="store_true",
                   help="add the random-weights baseline: the same network, untrained (default: off)")
    t.add_argument("--no-mfcc", action="store_true", help="leave out the MFCC baseline (default: with it)")
    t.add_argument("--seed", type=int, default=0,
                   help="seed of the splits, the random weights and the classifiers (default: %(default)s)")
    options.add_out(t, help="folder for transfer.json, transfer.md and transfer.html (required)")
    options.add_execution(t)
    t.set_defaults(func=cmd_transfer)

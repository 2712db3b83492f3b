"""Commands of the paper reproduction: ``reproduce`` and ``report``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from mirlearn.cli import checks, options
from mirlearn.cli.common import check_common, checked_splits, frame_cache, overrides, start_run, validated
from mirlearn.errors import MirlearnError

PAPERS = ("sigtia2014", "schindler2016")
"""Papers ``reproduce`` knows."""

SYNTHETIC_GRID = {"n_classes": 4, "clips_per_class": 12, "seconds": 6.0, "seed": 0}
"""The generated set of ``reproduce sigtia2014 --dataset synthetic`` (in ``data_home()/synthetic-grid``)."""


def reproduce_data(args: argparse.Namespace) -> tuple[str, str, str, bool]:
    """Where the grid's data is: ``(path, layout kind, dataset name, generated)``.

    ``--gtzan DIR`` is ``--data DIR --dataset gtzan``; ``--dataset synthetic`` without
    ``--data`` is the generated synthetic set; the deprecated ``--dataset PATH`` is
    ``--data PATH`` (with a note on stderr).
    """
    if args.dataset not in options.DATASET_KINDS:
        if args.data is not None:
            checks.fail(f"--dataset {args.dataset}: not a layout ({', '.join(options.DATASET_KINDS)}); "
                        "the data is --data PATH")
        print("mirlearn: note: --dataset PATH is deprecated; use --data PATH", file=sys.stderr)
        args.data, args.dataset = args.dataset, "auto"
    if args.gtzan is not None:
        if args.data is not None:
            checks.fail("give the data once: --gtzan DIR or --data PATH")
        if args.dataset not in ("auto", "gtzan"):
            checks.fail(f"--gtzan with --dataset {args.dataset}: --gtzan DIR is GTZAN (or use --data PATH "
                        f"--dataset {args.dataset})")
        checks.check_exists(args.gtzan, "--gtzan", what="GTZAN folder")
        return args.gtzan, "gtzan", "gtzan", False
    if args.data is not None:
        checks.check_exists(args.data, "--data", what="dataset")
        return args.data, args.dataset, Path(args.data).name, False
    if args.dataset == "synthetic":
        return str(options.data_home() / "synthetic-grid"), "folder", "synthetic", True
    raise MirlearnError("give the data: --gtzan DIR, --data PATH [--dataset KIND], or --dataset synthetic "
                        "(the generated synthetic set)")


def check_paper_and_nets(args: argparse.Namespace, known: list[str] | dict[str, list[str]]) -> list[str] | None:
    """The paper and the ``--nets`` keys, checked; returns the nets asked for (None: all).

    ``known``: the nets of the paper, or the nets of each paper (``{paper: [net, ...]}``).

    ``--nets`` takes one or more values, so in ``reproduce --nets relu-sgd-50 sigtia2014`` it
    also takes the paper; that paper is given back to the positional argument. Nets may be
    given as several values or comma-separated; an unknown one stops the command with the
    list of valid names, before any work.
    """
    nets = None if args.nets is None else [k for v in args.nets for k in v.split(",") if k]
    if args.paper is None and nets and nets[-1] in PAPERS:
        args.paper = nets.pop()
    if args.paper is None:
        checks.fail(f"give the paper to reproduce, one of {', '.join(PAPERS)}: mirlearn reproduce sigtia2014 ...")
    if isinstance(known, dict):
        known = known[args.paper]
    if nets is not None:
        if not nets:
            checks.fail(f"--nets: give at least one net; the nets are {', '.join(known)}")
        for key in nets:
            if key not in known:
                checks.fail(f"--nets {key}: no such net; the nets are {', '.join(known)}")
    args.nets = nets
    return nets


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Reproduce a paper: ``sigtia2014`` (Tables 1 and 2 with baselines, as one resumable grid) or
    ``schindler2016`` (:func:`cmd_reproduce_schindler`)."""
    from mirlearn.config import dump_toml, load_config
    from mirlearn.datasets import load_dataset
    from mirlearn.distributed import world
    from mirlearn.experiments import schindler2016
    from mirlearn.experiments import sigtia2014 as grid
    from mirlearn.experiments.units import on_main

    t_start = time.perf_counter()
    check_paper_and_nets(args, {"sigtia2014": [n.key for n in grid.NETS], "schindler2016": list(schindler2016.NETS)})
    if args.paper == "schindler2016":
        return cmd_reproduce_schindler(args)
    if args.epochs is not None:
        checks.fail("--epochs is an option of schindler2016 (sigtia2014's nets train for their configs' epochs; "
                    "--set training.max_epochs=N changes them)")
    data, kind, name, generated = reproduce_data(args)
    check_common(args, dataset_kind=False)
    if args.ismir2004:
        checks.check_exists(args.ismir2004, "--ismir2004", what="ISMIR 2004 folder")
    run_dir = Path(args.out) if args.out else Path("runs") / f"sigtia2014-{name}-{args.profile}"
    checks.check_out_dir(run_dir, "--out" if args.out else "run directory", run_folder=True)
    user = overrides(args.set)
    base = validated(load_config("sigtia2014-relu-dropout-500", user))
    nets = [n for n in grid.NETS if not args.nets or n.key in args.nets]
    for net in nets:  # every net's config with the profile and --set, checked before any work
        validated(grid.net_config(net, args.profile, user))
    if not args.no_baselines:
        validated(grid.baseline_config(args.profile, user))

    if generated:
        from mirlearn.datasets.synthetic import make_synthetic

        on_main(lambda: make_synthetic(data, **SYNTHETIC_GRID))  # one rank writes it, the others then read it
    tracks, stored = load_dataset(data, kind)
    checked_splits(args.splits, base, tracks, stored, warn=False)
    itracks = None
    if args.ismir2004:
        from mirlearn.datasets.ismir2004 import load_ismir2004

        itracks = load_ismir2004(args.ismir2004, part=("training", "development"))
    cache = frame_cache(args)

    def frames_of(table, kind="fft", max_seconds=None):
        from mirlearn.features.cache import extract_frames

        return extract_frames(table, grid._frame_settings(base, kind), cache_dir=cache, n_jobs=args.jobs,
                              skip_bad=args.skip_bad, progress=not args.no_progress, max_seconds=max_seconds)

    t0 = time.perf_counter()
    frames = frames_of(tracks)
    stage_times = {"frames_s": time.perf_counter() - t0}
    splits = checked_splits(args.splits, base, frames.tracks, stored)
    inputs = grid.Inputs(name, frames, splits)
    ismir = None
    tables = {name: frames.tracks}
    if itracks is not None:
        from mirlearn.datasets.ismir2004 import ismir2004_split

        t0 = time.perf_counter()
        iframes = frames_of(itracks, max_seconds=30.0)  # the paper: the first 30 s of each track
        stage_times["frames_ismir2004_s"] = time.perf_counter() - t0
        ismir = grid.Inputs("ismir2004", iframes, [ismir2004_split(iframes.tracks).restrict(iframes.tracks)])
        tables["ismir2004"] = iframes.tracks
    baselines = [] if args.no_baselines else ["mfcc", "pmsc"]
    plan = grid.plan_grid(inputs, profile=args.profile, nets=nets, user=user, ismir=ismir, baselines=baselines)
    _print_plan(f"plan ({args.profile} profile, {len(splits)} split(s)):", grid.format_plan(plan),
                grid.PROFILES[args.profile])
    if args.dry_run:
        return 0

    def frame_source(dataset: str, kind: str):
        return frames_of(tables[dataset], kind, max_seconds=30.0 if dataset == "ismir2004" else None)

    from mirlearn.experiments.layout import RunLayout
    from mirlearn.io import atomic_write_json
    from mirlearn.pipeline import check_reusable

    for net in nets:  # nets of other inputs in --out stop the command before anything is written
        check_reusable(grid.net_config(net, args.profile, user), frames, splits, RunLayout(run_dir), name, net.key)
    _start_grid(run_dir, dump_toml(base), {"profile": args.profile, "data": str(Path(data).resolve()),
                                           "dataset": kind}, splits)
    run = grid.reproduce(inputs=inputs, out=run_dir, profile=args.profile, nets=nets, user=user, ismir=ismir,
                         baselines=baselines, frame_source=frame_source, device=args.device,
                         progress=not args.no_progress,
                         model_info={"data": str(Path(data).resolve()), "dataset": kind,
                                     "splits_file": str((run_dir / "splits.json").resolve())})
    if not world().is_main:
        return 0  # rank 0 writes run.json and the report from every rank's results
    run["timings"].update(stage_times)
    atomic_write_json(run_dir / "run.json", run)
    from mirlearn.progress import format_seconds

    table2 = ", and Table 2 on ISMIR 2004" if ismir is not None else ""
    print(f"\nreproduce: {len(nets)} net(s) and {len(baselines)} baseline(s) on {len(splits)} split(s) of {name}"
          f"{table2}, {args.profile} profile: done in {format_seconds(time.perf_counter() - t_start)}")
    return _write_report(run_dir)


def _dataset_kind(data: str, kind: str) -> str:
    """The layout ``load_dataset`` reads ``data`` as: ``kind``, or for ``auto`` the one it detects."""
    if kind != "auto":
        return kind
    from mirlearn.datasets import detect_kind

    return detect_kind(data)


def cmd_reproduce_schindler(args: argparse.Namespace) -> int:
    """Reproduce Schindler, Lidy & Rauber (2016): the shallow and deep CNNs and the MFCC baseline
    on every split of the user's data, beside the published accuracies where the data is GTZAN."""
    from mirlearn.config import dump_toml
    from mirlearn.datasets import load_dataset
    from mirlearn.distributed import world
    from mirlearn.experiments import schindler2016 as s16
    from mirlearn.experiments.units import on_main

    t_start = time.perf_counter()
    nets = s16.check_nets(args.nets)
    epochs = s16.check_epochs(100 if args.epochs is None else args.epochs)
    if args.ismir2004:
        checks.fail("--ismir2004 is sigtia2014's Table 2; for schindler2016 give the data set as --data DIR")
    data, kind, name, generated = reproduce_data(args)
    if not generated and _dataset_kind(data, kind) == "gtzan":
        name = "gtzan"  # told by the loader's layout, so the paper's GTZAN figures apply
    check_common(args, dataset_kind=False)
    run_dir = Path(args.out) if args.out else Path("runs") / f"schindler2016-{name}-{args.profile}-{epochs}"
    checks.check_out_dir(run_dir, "--out" if args.out else "run directory", run_folder=True)
    user = overrides(args.set)
    cfgs = {net: validated(s16.net_config(net, epochs, args.profile, user)) for net in nets}
    bcfg = validated(s16.baseline_config(args.profile, user))
    base = cfgs[nets[0]]

    if generated:
        from mirlearn.datasets.synthetic import make_synthetic

        on_main(lambda: make_synthetic(data, **SYNTHETIC_GRID))  # one rank writes it, the others then read it
    tracks, stored = load_dataset(data, kind)
    checked_splits(args.splits, base, tracks, stored, warn=False)
    cache = frame_cache(args)

    def frames_of(settings):
        from mirlearn.features.cache import extract_frames

        return extract_frames(tracks, settings, cache_dir=cache, n_jobs=args.jobs, skip_bad=args.skip_bad,
                              progress=not args.no_progress)

    from mirlearn.pipeline import check_frames_fit

    t0 = time.perf_counter()
    frames = frames_of(base.frames)  # both nets read the same log-mel rows (their configs' [frames] agree)
    stage_times = {"frames_s": time.perf_counter() - t0}
    for cfg in cfgs.values():
        check_frames_fit(cfg, frames)
    splits = checked_splits(args.splits, base, frames.tracks, stored)
    inputs = s16.Inputs(name, frames, splits)
    baselines = [] if args.no_baselines else ["mfcc"]
    plan = s16.plan_run(inputs, nets=nets, epochs=epochs, profile=args.profile, user=user, baselines=baselines)
    _print_plan(f"plan (schindler2016, {epochs} epochs, {args.profile} profile, {len(splits)} split(s) of {name}):",
                s16.format_plan(plan), s16.PROFILES[args.profile])
    if args.dry_run:
        return 0

    from mirlearn.experiments.layout import RunLayout
    from mirlearn.io import atomic_write_json
    from mirlearn.pipeline import check_reusable

    for net, cfg in cfgs.items():  # nets of other inputs in --out stop the command before anything is written
        check_reusable(cfg, frames, splits, RunLayout(run_dir), name, net)
    _start_grid(run_dir, dump_toml(base), {"paper": "schindler2016", "profile": args.profile, "epochs": epochs,
                                           "data": str(Path(data).resolve()), "dataset": kind}, splits)
    run = s16.reproduce(inputs=inputs, out=run_dir, nets=nets, epochs=epochs, profile=args.profile, user=user,
                        baselines=baselines, frame_source=lambda _kind: frames_of(s16.baseline_frame_settings(bcfg)),
                        device=args.device, progress=not args.no_progress,
                        model_info={"data": str(Path(data).resolve()), "dataset": kind,
                                    "splits_file": str((run_dir / "splits.json").resolve())})
    if not world().is_main:
        return 0  # rank 0 writes run.json and the report from every rank's results
    run["timings"].update(stage_times)
    atomic_write_json(run_dir / "run.json", run)
    from mirlearn.progress import format_seconds

    print(f"\nreproduce schindler2016: {len(nets)} net(s) and {len(baselines)} baseline(s) on {len(splits)} "
          f"split(s) of {name}, {epochs} epochs, {args.profile} profile: done in "
          f"{format_seconds(time.perf_counter() - t_start)}")
    return _write_report(run_dir)


def _start_grid(run_dir: Path, config_toml: str, extra: dict[str, Any], splits: Any) -> None:
    """Record the invocation and write ``splits.json``; under several ranks rank 0 writes both
    while the others wait (every unit of the grid reads the run folder after this)."""
    from mirlearn.datasets.splits import save_splits
    from mirlearn.experiments.units import on_main

    start_run(run_dir, config_toml, extra)  # rank 0 writes, the others wait (start_run's own business)
    on_main(lambda: save_splits(splits, run_dir / "splits.json"))


def _print_plan(title: str, plan_text: str, reductions: Any) -> None:
    """The plan of a grid, then every reduction its profile applies."""
    print(title)
    print(plan_text)
    for r in reductions:
        print(f"  reduction: {r.describe()}")


def _write_report(run_dir: Path) -> int:
    """Write the report and say where it is; its tables are in the files, not on stdout."""
    from mirlearn.experiments.report import write_report

    md, html = write_report(run_dir)
    print(f"report: {md}")
    print(f"        {html} (open in a browser: tables, per-class accuracy, learning curves)")
    tables = [p for p in (md.parent / "table1.csv", md.parent / "table2.csv") if p.is_file()]
    if tables:
        print(f"tables: {', '.join(str(p) for p in tables)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild report.md / report.html of a run from its JSON results alone."""
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise MirlearnError(f"run directory not found: {run_dir}")
    if (run_dir / "tagging.json").is_file():  # `run --task tags`: its own report
        from mirlearn.experiments.tagging import rebuild_tagging

        md, html = rebuild_tagging(run_dir)
        print(f"report: {md}\n        {html}")
        return 0
    return _write_report(run_dir)


def register(sub: Any) -> None:
    """Add ``reproduce`` and ``report`` to the subcommands."""
    rp = options.add_command(sub, "reproduce", help="reproduce a paper (sigtia2014, schindler2016): nets, baselines, "
                             "report",
                             description="Reproduce Sigtia & Dixon (2014): every net of Tables 1 and 2 and the "
                             "MFCC/PMSC baselines as one resumable grid; or Schindler, Lidy & Rauber (2016): the "
                             "shallow and deep CNNs and the MFCC baseline on your data, beside the published "
                             "accuracies. Then report.md and report.html.",
                             example="mirlearn reproduce sigtia2014 --gtzan ~/data/gtzan --ismir2004 ~/data/ismir2004 "
                             "--dry-run\nmirlearn reproduce sigtia2014 --dataset synthetic\n"
                             "mirlearn reproduce schindler2016 --data ~/data/gtzan --epochs 200 --profile paper")
    # Optional for argparse only: check_paper_and_nets requires it (and takes it back from --nets).
    rp.add_argument("paper", nargs="?", choices=list(PAPERS), default=None,
                    help="the paper to reproduce: sigtia2014 or schindler2016")
    g = rp.add_argument_group("data")
    options.add_data(g, required=False, help="dataset folder or CSV manifest for Table 1 (default: none; "  # type: ignore[arg-type]
                     "give --data, --gtzan or --dataset synthetic)")
    options.add_dataset(g, help="layout of --data (default: %(default)s); without --data, synthetic means "  # type: ignore[arg-type]
                        "the generated synthetic set")
    g.add_argument("--gtzan", metavar="DIR", default=None,
                   help="your GTZAN copy, the same as --data DIR --dataset gtzan (default: none)")
    g.add_argument("--ismir2004", metavar="DIR", default=None,
                   help="your ISMIR 2004 genre copy, for Table 2 (default: no Table 2)")
    options.add_splits_file(g, help="split file or folder (default: the paper's 4 random "  # type: ignore[arg-type]
                            "stratified 50/25/25 splits)")
    options.add_cache(g)  # type: ignore[arg-type]
    options.add_skip_bad(g)  # type: ignore[arg-type]
    grid = rp.add_argument_group("grid")
    grid.add_argument("--profile", choices=["paper", "quick"], default="quick",
                      help="paper: every setting as published; quick: named reductions (default: %(default)s)")
    grid.add_argument("--nets", nargs="+", metavar="NET", default=None,
                      help="only these nets (several values or comma-separated), e.g. relu-dropout-500; "
                      "sigtia2014's six are relu-sgd-50/500, relu-dropout-50/500, sigmoid-hf-50/500; "
                      "schindler2016's are shallow and deep (default: all of the paper's)")
    grid.add_argument("--epochs", type=int, default=None, metavar="{100,200}",
                      help="schindler2016: train each CNN for up to 100 or 200 epochs, the paper's two lengths "
                      "(default: 100)")
    grid.add_argument("--no-baselines", action="store_true", help="skip the baselines: MFCC and PMSC (sigtia2014), "
                      "MFCC (schindler2016) (default: off)")
    options.add_set(grid, help="override a config key for every net and baseline (TOML value syntax; "  # type: ignore[arg-type]
                    "repeatable; default: none)")
    grid.add_argument("--dry-run", action="store_true",
                      help="print the plan and a time estimate, write nothing to the run folder (default: off)")
    options.add_out(rp, help="run folder (default: runs/sigtia2014-<data>-<profile>, "
                    "runs/schindler2016-<data>-<profile>-<epochs>)")
    options.add_execution(rp)
    rp.set_defaults(func=cmd_reproduce)

    rep = options.add_command(sub, "report", help="rebuild a run's report.md / report.html from its JSON results",
                              description="Rebuild report.md and report.html of a `mirlearn reproduce` run from "
                              "its JSON results alone.", example="mirlearn report runs/sigtia2014-gtzan-quick")
    rep.add_argument("run_dir", help="the run folder of `mirlearn reproduce`")
    rep.set_defaults(func=cmd_report)

"""The reproduction of Sigtia & Dixon (ICASSP 2014) as one resumable grid.

Table 1: {ReLU+SGD, ReLU+SGD+Dropout, Sigmoid+HF} × {50, 500} units × K splits of GTZAN
(24 networks for K = 4); for each network the features of hidden layer 1, 2, 3 and all three,
on frames and aggregated over 5 s windows → Random Forest → majority vote per track.
Table 2: the best GTZAN network of each method (chosen on validation frames, never on test)
as a feature extractor on ISMIR 2004 (forest trained on its training part, tested on its
development part), beside the MFCC and PMSC baselines — which also run on GTZAN.

Where each result goes is :mod:`mirlearn.experiments.layout`'s business (``<dataset>/<net>/
split-<split id>/`` for Table 1, ``baselines/<dataset>/<method>/split-<split id>/``,
``ismir2004/<net>/`` for Table 2); the recipe of every experiment is :mod:`mirlearn.pipeline`'s.
Every cell is its own JSON file tied to its inputs: a rerun skips the cells and networks made
from the same inputs, and a network killed during training resumes from its last epoch (or HF
step).
"""

from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mirlearn.config import Config, load_config, merge
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import TrackTable
from mirlearn.distributed import world
from mirlearn.errors import MirlearnError
from mirlearn.experiments.layout import RunLayout
from mirlearn.experiments.units import Unit, cells_done, check_shared, run_units
from mirlearn.features.frameset import FrameSet
from mirlearn.io import atomic_write_json
from mirlearn.pipeline import cells_of, run_baseline, run_split, transfer


@dataclass(frozen=True)
class NetSpec:
    """One row of Table 1: a training method at one width."""

    key: str  #: folder name, e.g. ``relu-dropout-500``
    method: str  #: as the paper names it, e.g. ``ReLU+SGD+Dropout``
    units: int  #: hidden units per layer
    config: str  #: packaged configuration

    @property
    def optimizer(self) -> str:
        return "hf" if self.method == "Sigmoid+HF" else "sgd"


NETS: tuple[NetSpec, ...] = tuple(
    NetSpec(f"{key}-{units}", method, units, f"sigtia2014-{key}-{units}")
    for key, method in (("relu-sgd", "ReLU+SGD"), ("relu-dropout", "ReLU+SGD+Dropout"), ("sigmoid-hf", "Sigmoid+HF"))
    for units in (50, 500)
)


@dataclass(frozen=True)
class Reduction:
    """A named departure from the paper's settings, listed in every report that uses it."""

    key: str  #: dotted config key
    value: Any
    applies_to: str  #: "all", "sgd" (ReLU nets) or "hf" (sigmoid + HF nets)
    why: str

    def describe(self) -> str:
        scope = {"all": "", "sgd": " (SGD nets)", "hf": " (Hessian-Free nets)"}[self.applies_to]
        return f"{self.key} = {self.value}{scope}: {self.why}"


#: The profiles: ``paper`` is every setting as published; ``quick`` names each reduction that
#: brings the whole GTZAN grid within a few hours on a 2-core CPU.
PROFILES: dict[str, tuple[Reduction, ...]] = {
    "paper": (),
    "quick": (
        Reduction("forest.max_samples", 20_000, "all",
                  "each tree grows on its own bootstrap sample of 20 000 training frames (or all windows "
                  "when there are fewer) instead of as many as there are (≈ 970 000 GTZAN frames); the "
                  "forest as a whole still sees every frame. Measured on the 500-unit net's features of "
                  "music/speech (1 500 dims, 100 trees): 53 CPU s instead of 294, frame accuracy 80.7 % "
                  "for both (benchmarks/results/forest.md)"),
        Reduction("forest.n_estimators", 100, "all", "100 trees per forest instead of 500"),
        Reduction("forest.min_samples_leaf", 5, "all", "leaves of at least 5 frames (smaller trees)"),
        Reduction("training.max_epochs", 40, "sgd", "at most 40 epochs (early stopping, patience 10, "
                  "usually ends training sooner)"),
        Reduction("training.max_epochs", 25, "hf", "at most 25 HF steps instead of 200"),
        Reduction("training.max_cg_iters", 100, "hf", "at most 100 CG iterations per HF step instead of 250"),
        # The three below bound a net's cost whatever the size of the data set; none of them
        # binds on music/speech (62 000 training frames), all of them bind on GTZAN (≈ 650 000).
        Reduction("training.frames_per_epoch", 100_000, "sgd",
                  "each SGD epoch trains on a fresh random sample of 100 000 training frames (or all "
                  "of them when there are fewer) instead of every frame; over the epochs the net still "
                  "sees nearly every frame, and early stopping counts these shorter epochs"),
        Reduction("training.max_train_frames", 50_000, "hf",
                  "Hessian-Free trains on a seeded random sample of 50 000 training frames (curvature "
                  "on a quarter of them, 12 500) instead of all ≈ 650 000 GTZAN training frames; "
                  "every HF step costs a full gradient plus up to 100 curvature products on the set"),
        Reduction("training.max_valid_frames", 50_000, "all",
                  "early stopping and the choice of the best epoch watch a seeded random sample of "
                  "50 000 validation frames instead of all of them"),
    ),
}


def profile_overrides(profile: str, optimizer: str) -> dict[str, Any]:
    """The nested config overrides of ``profile`` for a net trained with ``optimizer``."""
    if profile not in PROFILES:
        raise MirlearnError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    out: dict[str, Any] = {}
    for r in PROFILES[profile]:
        if r.applies_to in ("all", optimizer):
            section, key = r.key.split(".")
            out.setdefault(section, {})[key] = r.value
    return out


def net_config(net: NetSpec, profile: str, user: dict[str, Any] | None = None) -> Config:
    """The configuration of one net under a profile, with the user's overrides on top."""
    return load_config(net.config, merge(profile_overrides(profile, net.optimizer), user or {}))


def baseline_config(profile: str, user: dict[str, Any] | None = None) -> Config:
    """Forest and aggregation settings of the baselines: those of the paper's nets."""
    return load_config("sigtia2014-relu-dropout-500", merge(profile_overrides(profile, "sgd"), user or {}))


# -- estimates ------------------------------------------------------------------------------
#: Reference throughputs on the 2-core machine (see PERF_NOTES.md and benchmarks/); rough.
SGD_FRAMES_PER_S = {50: 140_000.0, 500: 32_000.0}  # dropout nets, batch 256 (benchmarks/results/train.md)
SGD_EPOCHS_EXPECTED = 25
HF_GRADIENTS_PER_STEP = 1.0 + 0.25 * 1.3 * 60  # full-set gradient + ~60 CG iterations on 25 %
FOREST_S_PER_UNIT = 6e-8  # s per (tree · √dim · row · log2 row), random labels, 2 jobs


def forest_seconds(rows: int, dim: int, trees: int) -> float:
    """Upper-bound estimate of one forest fit (random labels are the worst case)."""
    rows = max(rows, 2)
    return FOREST_S_PER_UNIT * trees * math.sqrt(dim) * rows * math.log2(rows)


def tree_rows(rows: int, cfg: Config) -> int:
    """Rows one tree of the configuration's forest grows on, out of ``rows`` training rows."""
    fc = cfg.forest
    if fc.max_train_frames:
        rows = min(rows, fc.max_train_frames)
    if isinstance(fc.max_samples, float):
        rows = max(1, int(round(rows * fc.max_samples)))
    elif isinstance(fc.max_samples, int):
        rows = min(rows, fc.max_samples)
    return rows


def estimate(plan: Sequence[dict[str, Any]]) -> float:
    """Sum of the plan's estimated seconds."""
    return float(sum(job["estimate_s"] for job in plan))


# -- the runner -----------------------------------------------------------------------------
@dataclass
class Inputs:
    """Frames and splits the grid runs on."""

    name: str  #: "gtzan" or the dataset's folder name
    frames: FrameSet
    splits: list[Split]


def _frame_settings(cfg: Config, kind: str = "fft"):
    """The configuration's frame settings for frames of ``kind`` (``fft``, ``mfcc``, ``logmel``).

    PMSC's log-mel frames are pinned to the paper's baseline (128 bands, 0 Hz to sr / 2, an
    80 dB floor) whatever log-mel settings the configuration holds.
    """
    if kind == "logmel":
        return cfg.frames.replace(kind=kind, n_mels=128, fmin=None, fmax=None, top_db=80.0)
    return cfg.frames.replace(kind=kind)


def plan_grid(inputs: Inputs, *, profile: str, nets: Sequence[NetSpec], user: dict[str, Any] | None,
              ismir: Inputs | None, baselines: Sequence[str]) -> list[dict[str, Any]]:
    """Every job of the grid with a rough time estimate (seconds, on 2 CPU cores)."""
    plan: list[dict[str, Any]] = []
    n_frames = len(inputs.frames.X)
    frac_train = float(np.mean([len(s.train) for s in inputs.splits])) / max(1, inputs.frames.n_tracks)
    frac_fit = float(np.mean([len(s.train) + len(s.valid) for s in inputs.splits])) / max(1, inputs.frames.n_tracks)
    n_train, n_fit = int(n_frames * frac_train), int(n_frames * frac_fit)
    n_valid = max(0, n_fit - n_train)
    for net in nets:
        cfg = net_config(net, profile, user)
        t = cfg.training
        widths = cfg.network.hidden
        frames_per_s = SGD_FRAMES_PER_S[50 if max(widths) <= 100 else 500]
        net_train = min(n_train, t.max_train_frames or n_train)
        # A forward pass costs about a third of a training step.
        valid_s = min(n_valid, t.max_valid_frames or n_valid) / (3 * frames_per_s)
        if net.optimizer == "sgd":
            per_epoch = min(net_train, t.frames_per_epoch or net_train) / frames_per_s + valid_s
            train_s = per_epoch * min(SGD_EPOCHS_EXPECTED, t.max_epochs)
        else:
            train_s = (net_train * HF_GRADIENTS_PER_STEP / frames_per_s + valid_s) * t.max_epochs
        cells = cells_of(cfg)
        forest_s = 0.0
        for c in cells:
            dim = sum(widths) if c.layers == "all" else widths[int(c.layers) - 1]
            rows = n_fit
            if c.aggregate:
                rows = max(1, n_fit * cfg.frames.hop_length // max(1, int(cfg.features.hop_seconds * cfg.frames.sr)))
                dim *= len(c.pool or (0, 0)) * len(c.timescales or (0,))  # statistics × time scales
            rows = tree_rows(rows, cfg)
            forest_s += forest_seconds(rows, dim, cfg.forest.n_estimators)
        for split in inputs.splits:
            plan.append({"stage": "table1", "net": net.key, "split": split.name, "cells": len(cells),
                         "estimate_s": train_s + forest_s, "train_s": train_s, "forest_s": forest_s})
    bcfg = baseline_config(profile, user)
    for kind in baselines:
        dim = 40 if kind == "mfcc" else 128
        rows = tree_rows(n_fit, bcfg)
        for split in inputs.splits:
            plan.append({"stage": "baseline", "dataset": inputs.name, "method": kind, "split": split.name,
                         "estimate_s": 2 * forest_seconds(rows, dim, bcfg.forest.n_estimators)})
    if ismir is not None:
        n_i = int(len(ismir.frames.X) * 0.5)
        for method in sorted({n.method for n in nets}):
            plan.append({"stage": "table2", "method": method, "estimate_s": 8 * forest_seconds(
                tree_rows(n_i, bcfg), 1500, bcfg.forest.n_estimators)})
        for kind in baselines:
            plan.append({"stage": "baseline", "dataset": "ismir2004", "method": kind,
                         "estimate_s": 2 * forest_seconds(tree_rows(n_i, bcfg), 40 if kind == "mfcc" else 128, bcfg.forest.n_estimators)})
    return plan


def format_plan(plan: Sequence[dict[str, Any]]) -> str:
    lines = []
    for job in plan:
        what = " ".join(f"{k}={v}" for k, v in job.items() if k in ("stage", "net", "method", "dataset", "split", "cells"))
        lines.append(f"  {what:<70} ~{_fmt_s(job['estimate_s'])}")
    lines.append(f"  total ~{_fmt_s(estimate(plan))} on 2 CPU cores (rough upper bound: forests estimated "
                 "for random labels)")
    return "\n".join(lines)


def _fmt_s(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def best_nets(run_dir: Path, nets: Sequence[NetSpec], splits: Sequence[Split], dataset: str = "gtzan"
              ) -> dict[str, dict[str, Any]]:
    """For each method, the (units, split) net with the best validation frame accuracy.

    Selection uses the validation frames recorded during training only — never test results.
    """
    run = RunLayout(run_dir)
    best: dict[str, dict[str, Any]] = {}
    for net in nets:
        for k, split in enumerate(splits):
            d = run.split(split.name, dataset, net.key).net_dir
            p = d / "train_result.json"
            if not p.is_file():
                continue
            acc = json.loads(p.read_text()).get("best_valid_acc")
            if acc is None or (isinstance(acc, float) and math.isnan(acc)):
                continue
            if net.method not in best or acc > best[net.method]["valid_acc"]:
                best[net.method] = {"net": net, "split": split.name, "split_index": k, "valid_acc": float(acc),
                                    "net_dir": d}
    return best


def run_baselines(inputs: Inputs, kinds: Sequence[str], cfg: Config, out: Path, *,
                  frame_source: Callable[[str], FrameSet], log: Callable[[str], None]) -> None:
    """MFCC / PMSC → the same aggregation, forest and vote, on every split of ``inputs``."""
    for kind in kinds:
        frames = frame_source("mfcc" if kind == "mfcc" else "logmel")
        for split in inputs.splits:
            _baseline_on_split(inputs.name, kind, split, cfg, frames, out, log)


def _baseline_on_split(dataset: str, kind: str, split: Split, cfg: Config, frames: FrameSet, out: Path,
                       log: Callable[[str], None]) -> None:
    """One baseline (``"mfcc"`` or ``"pmsc"``) on one split of ``dataset``."""
    run_baseline(cfg, kind, frames, split, RunLayout(out).baseline(dataset, kind, split.name),
                 log=lambda m: log(f"{kind.upper()} {m}"), experiment={
                     "table": "baseline", "dataset": dataset, "method": kind.upper(), "units": None, "net": kind})


# -- the grid as independent units (one process, or spread over the ranks) --------------------
def _plan_costs(plan: Sequence[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """The plan's jobs by ``(stage, dataset, net or method, split)``, for the units' costs."""
    return {(job["stage"], job.get("dataset"), job.get("net") or job.get("method"), job.get("split")): job
            for job in plan}


def baseline_units(inputs: Inputs, kinds: Sequence[str], cfg: Config, out: Path, *,
                   frames: Callable[[str], FrameSet], log: Callable[[str], None]) -> list[Unit]:
    """One unit per baseline and split of ``inputs`` (as :func:`run_baselines` runs them).

    ``frames``: ``kind -> FrameSet`` of the baseline's frames (``"mfcc"`` or ``"logmel"``),
    called inside each unit (memoise it: every split of a baseline reads the same frames).
    """
    run = RunLayout(out)
    cells = [c.name for c in cells_of(cfg) if c.layers == "all"]
    units: list[Unit] = []
    for kind in kinds:
        source = "mfcc" if kind == "mfcc" else "logmel"
        for split in inputs.splits:
            units.append(Unit(
                name=f"baselines/{inputs.name}/{kind}/split-{split.name}", timing=f"baselines/{inputs.name}",
                cost_s=_baseline_seconds(inputs.frames, split, kind, cfg),
                done=cells_done(run.baseline(inputs.name, kind, split.name), cells),
                run=lambda kind=kind, source=source, split=split: _baseline_on_split(
                    inputs.name, kind, split, cfg, frames(source), out, log)))
    return units


def _baseline_seconds(frames: FrameSet, split: Split, kind: str, cfg: Config) -> float:
    """Estimated seconds of a baseline on a split: its two forests (frames, windows), counted on
    the rows of ``frames`` (a baseline's frames have about as many rows)."""
    rows = int(sum(frames.lengths[frames.tracks.position(t)] for t in list(split.train) + list(split.valid)))
    return 2 * forest_seconds(tree_rows(rows, cfg), 40 if kind == "mfcc" else 128, cfg.forest.n_estimators)


def _table1_units(inputs: Inputs, out: Path, *, profile: str, nets: Sequence[NetSpec], user: dict[str, Any] | None,
                  device: str, progress: bool, model_info: dict[str, Any] | None, log: Callable[[str], None],
                  costs: dict[tuple, dict[str, Any]]) -> list[Unit]:
    """One unit per net and split: train (or reuse) the net, then every feature cell; the model
    of the first split too. A unit whose net is trained costs its forests only."""
    run = RunLayout(out)
    units: list[Unit] = []
    for net in nets:
        cfg = net_config(net, profile, user)
        cells = [c.name for c in cells_of(cfg)]
        for k, split in enumerate(inputs.splits):
            layout = run.split(split.name, inputs.name, net.key)
            model_dir = out / inputs.name / net.key / "model" if k == 0 else None
            job = costs.get(("table1", None, net.key, split.name), {})
            trained = (layout.net_dir / "featurenet.pt").is_file()
            units.append(Unit(
                name=f"table1/{net.key}/split-{split.name}", timing=f"table1/{net.key}/split-{k}",
                cost_s=float(job.get("forest_s", 1.0) if trained else job.get("estimate_s", 1.0)),
                done=trained and cells_done(layout, cells, *([model_dir / "model.json"] if model_dir else [])),
                run=lambda cfg=cfg, net=net, k=k, split=split, layout=layout, model_dir=model_dir: run_split(
                    cfg, inputs.frames, split, layout, device=device, progress=progress,
                    log=lambda m: log(f"{net.key} {m}"), model_dir=model_dir,
                    model_info={**(model_info or {}), "split_index": k},
                    experiment={"table": 1, "dataset": inputs.name, "net": net.key, "method": net.method,
                                "units": net.units})))
    return units


def _table2_units(inputs: Inputs, ismir: Inputs, out: Path, *, profile: str, nets: Sequence[NetSpec],
                  user: dict[str, Any] | None, log: Callable[[str], None],
                  costs: dict[tuple, dict[str, Any]]) -> list[Unit]:
    """One unit per method: its best net on ``inputs`` (by validation frames, :func:`best_nets`)
    transferred to ISMIR 2004. Call once every net of Table 1 is trained."""
    run = RunLayout(out)
    split = ismir.splits[0]
    units: list[Unit] = []
    for method, pick in sorted(best_nets(out, nets, inputs.splits, inputs.name).items()):
        net: NetSpec = pick["net"]
        cfg = net_config(net, profile, user)
        layout = run.transfer("ismir2004", net.key)

        def work(method=method, pick=pick, net=net, cfg=cfg, layout=layout) -> None:
            log(f"table 2: {method} → ISMIR 2004 with the {net.key} net of {pick['split']} "
                f"(validation frame accuracy {pick['valid_acc']:.1%})")
            transfer(cfg, pick["net_dir"], ismir.frames, split, layout, log=log, experiment={
                "table": 2, "dataset": "ismir2004", "net": net.key, "method": net.method, "units": net.units,
                "source_split": pick["split"], "source_valid_acc": pick["valid_acc"]})

        units.append(Unit(name=f"table2/{net.key}", timing="table2/transfer",
                          cost_s=float(costs.get(("table2", None, method, None), {}).get("estimate_s", 1.0)),
                          done=cells_done(layout, [c.name for c in cells_of(cfg)]), run=work))
    return units


def reproduce(*, inputs: Inputs, out: Path, profile: str = "quick", nets: Sequence[NetSpec] = NETS,
              user: dict[str, Any] | None = None, ismir: Inputs | None = None, baselines: Sequence[str] = ("mfcc", "pmsc"),
              frame_source: Callable[[str, str], FrameSet] | None = None, device: str = "cpu",
              progress: bool = True, model_info: dict[str, Any] | None = None,
              log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) the whole grid and write ``run.json`` and the report.

    Each net's learner of the first split, with the forest of its predict cell, is also saved
    as a model in ``OUT/<dataset>/<net>/model`` (for ``predict``, ``features``, ``evaluate``;
    ``model_info`` goes into its ``model.json``).

    Under several ranks (``torchrun``) the units of the grid — each net on each split, each
    baseline on each split, then each net of Table 2 — are spread over the ranks
    (:mod:`mirlearn.experiments.units`); every rank returns the record, rank 0 alone writes
    ``run.json``. ``out`` must be a folder every rank sees.

    Parameters
    ----------
    inputs : GTZAN (or another labelled set) frames and its splits
    out : the run directory
    profile : ``"paper"`` or ``"quick"`` (see :data:`PROFILES`)
    nets : which rows of Table 1 to train
    user : config overrides applied to every net and baseline (``--set``)
    ismir : ISMIR 2004 frames and its training → development split, for Table 2
    baselines : ``"mfcc"`` and/or ``"pmsc"``
    frame_source : ``(dataset, kind) -> FrameSet`` of baseline frames (``kind`` ``"mfcc"`` or
        ``"logmel"``), for the dataset name of ``inputs`` or ``"ismir2004"``
    """
    out.mkdir(parents=True, exist_ok=True)
    check_shared(out)
    run = RunLayout(out)
    t_all = time.perf_counter()
    # The plan's estimates deal the units over the ranks (one process runs them in order).
    costs = _plan_costs(plan_grid(inputs, profile=profile, nets=nets, user=user, ismir=ismir, baselines=()))
    bcfg = baseline_config(profile, user)
    with_baselines = bool(baselines) and frame_source is not None
    grid = _table1_units(inputs, out, profile=profile, nets=nets, user=user, device=device, progress=progress,
                         model_info=model_info, log=log, costs=costs)
    if with_baselines:
        grid += baseline_units(inputs, baselines, bcfg, out, frames=_frames_of(frame_source, inputs.name, baselines),
                               log=log)
    timings = run_units(grid, log=log)
    if ismir is not None:
        table2 = _table2_units(inputs, ismir, out, profile=profile, nets=nets, user=user, log=log, costs=costs)
        if with_baselines:
            table2 += baseline_units(ismir, baselines, bcfg, out, log=log,
                                     frames=_frames_of(frame_source, "ismir2004", baselines))
        timings.update(run_units(table2, log=log))
    timings["total_s"] = time.perf_counter() - t_all
    previous = json.loads(run.run_json.read_text()) if run.run_json.is_file() else {}
    record = {**previous, "profile": profile, "reductions": [r.describe() for r in PROFILES[profile]],
           "nets": [n.key for n in nets], "dataset": inputs.name, "ismir2004": ismir is not None,
           "baselines": list(baselines), "user_overrides": user or {},
           "timings": {**previous.get("timings", {}), **timings}}
    if world().is_main:
        atomic_write_json(run.run_json, record)
    return record


def _frames_of(frame_source: Callable[[str, str], FrameSet], dataset: str, kinds: Sequence[str]
               ) -> Callable[[str], FrameSet]:
    """``kind -> FrameSet`` of ``dataset``'s baseline frames, each kind extracted once.

    One process extracts a kind when its first unit needs it, as before. Several ranks extract
    every kind here, all ranks together (extraction may share its files out over the ranks),
    before the units run alone.
    """
    frames = functools.cache(lambda kind: frame_source(dataset, kind))
    if world().active:
        for kind in dict.fromkeys("mfcc" if k == "mfcc" else "logmel" for k in kinds):
            frames(kind)
    return frames

"""The reproduction of Schindler, Lidy & Rauber (FMT 2016) on the user's data, as one resumable run.

The shallow and the deep genre CNN (packaged configs ``schindler2016-shallow`` / ``-deep``, 80
log-mel bands × 80-frame patches) are trained for 100 or 200 epochs (the two lengths the paper
reports) on every split; each is scored two ways — its own output ("max probability" = the
class of the highest mean patch probability, ``output-meanprob``; "majority vote" of the
patches, ``output-vote``) and its layers as features → aggregation → forest → vote — beside
mirlearn's MFCC baseline on the same splits, and the published accuracy where the dataset is
one of the paper's (:func:`mirlearn.experiments.published.schindler2016_published`).

Protocol: the configs' 4 random stratified 50/25/25 train / validation / test splits (or the
user's); the tutorial's tables come from stratified cross-validation, with augmentation —
neither is done here, and the report says so.

Where each result goes: ``OUT/<dataset>/<net>/split-<split id>/`` (net, cells), the model of
the first split in ``OUT/<dataset>/<net>/model``, the baseline in
``OUT/baselines/<dataset>/mfcc/split-<split id>/`` (see :mod:`mirlearn.experiments.layout`).
Every cell is a JSON file tied to its inputs: a rerun reuses what was made from the same inputs,
and a net killed during training resumes from its last epoch.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from mirlearn.config import Config, load_config, merge
from mirlearn.distributed import world
from mirlearn.errors import MirlearnError
from mirlearn.experiments.layout import RunLayout
from mirlearn.experiments.sigtia2014 import Inputs, Reduction, baseline_units
from mirlearn.experiments.units import Unit, cells_done, check_shared, run_units
from mirlearn.features.frameset import FrameSet
from mirlearn.features.settings import FrameSettings
from mirlearn.io import atomic_write_json
from mirlearn.pipeline import OWN_OUTPUT_CELLS, cells_of, run_split

__all__ = ["PAPER", "NETS", "CONFIGS", "EPOCHS", "PROFILES", "Inputs", "check_nets", "check_epochs",
           "profile_overrides", "net_config", "baseline_config", "baseline_frame_settings", "plan_run",
           "format_plan", "reproduce"]

PAPER = "schindler2016"
#: The two nets of the paper, in its order.
NETS: tuple[str, ...] = ("shallow", "deep")
#: The packaged configuration of each net.
CONFIGS: dict[str, str] = {"shallow": "schindler2016-shallow", "deep": "schindler2016-deep"}
#: Training lengths (epochs) the paper reports.
EPOCHS: tuple[int, ...] = (100, 200)
#: At most this many epochs under the quick profile.
QUICK_MAX_EPOCHS = 30
#: Training patches per second of each net (batch 32, 2 CPU cores; benchmarks/results/cnn.md):
#: the relative costs by which the units of the run are dealt over the ranks, nothing else.
PATCHES_PER_S: dict[str, float] = {"shallow": 387.0, "deep": 225.0}

#: ``paper``: every setting of the configs; ``quick``: the named reductions, listed in the report.
PROFILES: dict[str, tuple[Reduction, ...]] = {
    "paper": (),
    "quick": (
        Reduction("training.max_epochs", QUICK_MAX_EPOCHS, "all",
                  f"at most {QUICK_MAX_EPOCHS} epochs instead of --epochs (early stopping, patience 10)"),
        Reduction("training.patience", 10, "all", "stop after 10 epochs without a better validation loss "
                  "instead of 20"),
        Reduction("forest.n_estimators", 100, "all", "100 trees per forest instead of 500"),
        Reduction("forest.max_samples", 20_000, "all",
                  "each tree grows on its own bootstrap sample of 20 000 training rows (or all of them "
                  "when there are fewer); the forest as a whole still sees every row"),
    ),
}


def check_nets(nets: Sequence[str] | None) -> list[str]:
    """The nets asked for, in the paper's order (``None``: both); an unknown one is one line."""
    if nets is None:
        return list(NETS)
    if not nets:
        raise MirlearnError(f"--nets: give at least one net; the nets are {', '.join(NETS)}")
    for n in nets:
        if n not in NETS:
            raise MirlearnError(f"--nets {n}: no such net; the nets are {', '.join(NETS)}")
    return [n for n in NETS if n in nets]


def check_epochs(epochs: int) -> int:
    """``epochs`` when the paper reports it (100 or 200); otherwise one line."""
    if epochs not in EPOCHS:
        raise MirlearnError(f"--epochs {epochs}: the paper reports {' and '.join(map(str, EPOCHS))} epochs; "
                            "use one of them (--set training.max_epochs=N trains for another length)")
    return epochs


def profile_overrides(profile: str, epochs: int) -> dict[str, Any]:
    """Nested config overrides of ``--epochs`` and the profile (the quick cap is ``min(cap, epochs)``)."""
    if profile not in PROFILES:
        raise MirlearnError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    out: dict[str, Any] = {"training": {"max_epochs": int(epochs)}}
    for r in PROFILES[profile]:
        section, key = r.key.split(".")
        value = min(r.value, epochs) if r.key == "training.max_epochs" else r.value
        out.setdefault(section, {})[key] = value
    return out


def net_config(net: str, epochs: int, profile: str, user: dict[str, Any] | None = None) -> Config:
    """The configuration of one net: its packaged config, ``--epochs``, the profile, then ``--set``."""
    return load_config(CONFIGS[net], merge(profile_overrides(profile, epochs), user or {}))


def baseline_config(profile: str, user: dict[str, Any] | None = None) -> Config:
    """Forest and aggregation settings of the MFCC baseline: those of the nets' forest cells."""
    return net_config("shallow", EPOCHS[0], profile, user)


def baseline_frame_settings(cfg: Config) -> FrameSettings:
    """MFCC frames at the nets' sample rate, FFT size and hop; every other setting mirlearn's default
    (so the baseline is the same MFCC as the other reproductions', not one shaped by log-mel keys)."""
    f = cfg.frames
    return FrameSettings(sr=f.sr, n_fft=f.n_fft, hop_length=f.hop_length, window=f.window, center=f.center,
                         kind="mfcc", max_seconds=f.max_seconds)


def plan_run(inputs: Inputs, *, nets: Sequence[str], epochs: int, profile: str, user: dict[str, Any] | None,
             baselines: Sequence[str]) -> list[dict[str, Any]]:
    """Every job of the run: one per net and split (training length, patches per epoch, cells), one
    per baseline and split. No time estimate: CNN speed depends too much on the machine."""
    plan: list[dict[str, Any]] = []
    for net in nets:
        cfg = net_config(net, epochs, profile, user)
        n_cells = len(cells_of(cfg)) + (2 if cfg.features.own_output else 0)
        for split in inputs.splits:
            plan.append({"stage": "net", "net": net, "split": split.name, "max_epochs": cfg.training.max_epochs,
                         "patches_per_epoch": len(split.train) * cfg.training.patches_per_track,
                         "cells": n_cells})
    for kind in baselines:
        for split in inputs.splits:
            plan.append({"stage": "baseline", "method": kind, "split": split.name, "cells": 2})
    return plan


def format_plan(plan: Sequence[dict[str, Any]]) -> str:
    keys = ("stage", "net", "method", "split", "max_epochs", "patches_per_epoch", "cells")
    lines = ["  " + " ".join(f"{k}={job[k]}" for k in keys if k in job) for job in plan]
    lines.append(f"  {len(plan)} job(s); no time estimate (CNN training speed depends on the machine: "
                 "`mirlearn bench` / benchmarks/ measure it)")
    return "\n".join(lines)


def reproduce(*, inputs: Inputs, out: Path, nets: Sequence[str] = NETS, epochs: int = 100, profile: str = "paper",
              user: dict[str, Any] | None = None, baselines: Sequence[str] = ("mfcc",),
              frame_source: Callable[[str], FrameSet] | None = None, device: str = "cpu", progress: bool = True,
              model_info: dict[str, Any] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) every net on every split and the baseline; write ``run.json``.

    Under several ranks (``torchrun``) the units — each net on each split, the baseline on
    each split — are spread over the ranks (:mod:`mirlearn.experiments.units`); every rank
    returns the record, rank 0 alone writes ``run.json``. ``out`` must be a folder every rank
    sees.

    Parameters
    ----------
    inputs : log-mel frames of the dataset (the nets' frame settings) and its splits
    out : the run directory
    nets : ``"shallow"`` and/or ``"deep"``
    epochs : 100 or 200 (``training.max_epochs`` before the profile and ``user``)
    profile : ``"paper"`` or ``"quick"`` (see :data:`PROFILES`)
    user : config overrides applied to both nets and the baseline (``--set``)
    baselines : ``("mfcc",)`` or ``()``
    frame_source : ``kind -> FrameSet`` of the baseline's frames (``kind`` ``"mfcc"``); no
        baseline without it
    model_info : goes into each net's ``model/model.json`` (the model of the first split)

    Returns
    -------
    The ``run.json`` record: paper, nets, epochs, profile, reductions, dataset, baselines,
    overrides and timings (seconds).
    """
    check_nets(nets)
    out.mkdir(parents=True, exist_ok=True)
    check_shared(out)
    run = RunLayout(out)
    t_all = time.perf_counter()
    grid: list[Unit] = []
    for net in nets:
        cfg = net_config(net, epochs, profile, user)
        cells = [c.name for c in cells_of(cfg)] + (list(OWN_OUTPUT_CELLS) if cfg.features.own_output else [])
        # Epochs × patches per epoch at the net's speed: the units' relative costs, for dealing.
        per_epoch_s = cfg.training.patches_per_track / PATCHES_PER_S.get(net, min(PATCHES_PER_S.values()))
        for k, split in enumerate(inputs.splits):
            layout = run.split(split.name, inputs.name, net)
            model_dir = out / inputs.name / net / "model" if k == 0 else None
            grid.append(Unit(
                name=f"{net}/split-{split.name}", timing=f"{net}/split-{split.name}",
                cost_s=cfg.training.max_epochs * len(split.train) * per_epoch_s,
                done=cells_done(layout, cells, *([model_dir / "model.json"] if model_dir else [])),
                run=lambda cfg=cfg, net=net, k=k, split=split, layout=layout, model_dir=model_dir: run_split(
                    cfg, inputs.frames, split, layout, device=device, progress=progress,
                    log=lambda m: log(f"{net} {m}"), model_dir=model_dir,
                    model_info={**(model_info or {}), "split_index": k},
                    experiment={"paper": PAPER, "dataset": inputs.name, "net": net, "epochs": epochs})))
    if baselines and frame_source is not None:
        frames = functools.cache(frame_source)
        if world().active:  # every rank extracts together, before the units run alone
            frames("mfcc")
        grid += baseline_units(inputs, baselines, baseline_config(profile, user), out, frames=frames, log=log)
    timings = run_units(grid, log=log)
    timings["total_s"] = time.perf_counter() - t_all
    previous = json.loads(run.run_json.read_text()) if run.run_json.is_file() else {}
    record = {**previous, "paper": PAPER, "nets": list(nets), "epochs": int(epochs), "profile": profile,
              "reductions": [r.describe() for r in PROFILES[profile]], "dataset": inputs.name,
              "splits": [s.name for s in inputs.splits], "baselines": list(baselines if frame_source else []),
              "user_overrides": user or {}, "timings": {**previous.get("timings", {}), **timings}}
    if world().is_main:
        atomic_write_json(run.run_json, record)
    return record

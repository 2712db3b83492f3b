"""Fake run folders for the report tests: cell JSONs, training logs, ``run.json``.

The builders are plain functions, handed to the tests through the :func:`fake` fixture
(``--import-mode=importlib`` keeps test modules from importing each other).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mirlearn.experiments.published import LAYERS, METHODS, UNITS

CLASSES = ["blues", "rock"]
NETS = {("ReLU+SGD", 50): "relu-50", ("ReLU+SGD", 500): "relu-500", ("ReLU+SGD+Dropout", 50): "relu-dropout-50",
        ("ReLU+SGD+Dropout", 500): "relu-dropout-500", ("Sigmoid+HF", 50): "sigmoid-hf-50",
        ("Sigmoid+HF", 500): "sigmoid-hf-500"}
#: Table 1 columns (layers, aggregate), as in the report.
COLUMNS = tuple((layer, agg) for layer in LAYERS for agg in (False, True))
#: Accuracies of the best net, all layers, aggregated, over 4 splits: mean 82.5, population std √31.25.
BEST_ACCS = (0.80, 0.85, 0.90, 0.75)
#: Where the golden outputs of the fake runs are kept.
GOLDEN = Path(__file__).parent / "golden"


def confusion(acc: float, per_class: int = 10) -> list[list[int]]:
    """A 2-class track confusion (rows true) whose accuracy is ``acc`` rounded to 1/20."""
    correct = round(acc * 2 * per_class)
    a = min(per_class, correct)
    b = correct - a
    return [[a, per_class - a], [per_class - b, b]]


def write_cell(root: Path, rel: str, *, table, dataset: str, method: str, units, layers: str, aggregate: bool,
               split: str, acc: float, timings: dict | None = None) -> Path:
    """One cell JSON at ``root/rel/cells/layer-<layers>_<agg|frames>.json``, as the protocol writes it."""
    net = NETS.get((method, units), method.lower())
    conf = confusion(acc)
    n = sum(map(sum, conf))
    cell = {"cell": f"layer-{layers}_{'agg' if aggregate else 'frames'}", "layers": layers, "aggregate": aggregate,
            "split": split,
            "experiment": {"table": table, "dataset": dataset, "net": net, "method": method, "units": units},
            "metrics": {"classes": CLASSES, "n_tracks": n, "accuracy": (conf[0][0] + conf[1][1]) / n,
                        "per_class_accuracy": {c: conf[i][i] / sum(conf[i]) for i, c in enumerate(CLASSES)},
                        "confusion": conf, "frame_accuracy": 0.5, "n_frames": 100 * n},
            "n_fit_rows": 1000, "n_test_rows": 500, "dim": 30,
            "timings": timings or {"features_s": 1.0, "forest_fit_s": 10.0, "forest_predict_s": 2.0}}
    path = root / rel / "cells" / f"{cell['cell']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cell))
    return path


def gtzan_cell(root: Path, method: str, units: int, layers: str, aggregate: bool, k: int, acc: float,
               dataset: str = "gtzan") -> Path:
    """A Table 1 cell of net ``(method, units)`` on split ``k``."""
    return write_cell(root, f"{dataset}/{NETS[(method, units)]}/split-{k}", table=1, dataset=dataset,
                      method=method, units=units, layers=layers, aggregate=aggregate, split=f"random-seed0-{k}",
                      acc=acc)


def write_sgd_log(net_dir: Path, seconds=(1.0, 2.0, 3.0)) -> None:
    """An SGD ``train_log.csv``: per-epoch seconds."""
    net_dir.mkdir(parents=True, exist_ok=True)
    lines = ["epoch,train_loss,valid_loss,valid_acc,seconds,lr"]
    lines += [f"{e + 1},{1.0 / (e + 1)},{1.2 / (e + 1)},{0.5 + 0.1 * e},{s},0.01" for e, s in enumerate(seconds)]
    (net_dir / "train_log.csv").write_text("\n".join(lines) + "\n")


def write_hf_log(net_dir: Path, cumulative=(5.0, 11.0, 20.0)) -> None:
    """A legacy Hessian-Free ``hf_log.csv``: HF steps, validation error, cumulative seconds."""
    net_dir.mkdir(parents=True, exist_ok=True)
    lines = ["step,objective,lambda,cg_iters,chosen_iter,rate,rho,valid_loss,valid_error,seconds"]
    lines += [f"{i + 1},{1.0 / (i + 1)},10,20,20,1,0.5,{1.1 / (i + 1)},{0.5 - 0.1 * i},{s}"
              for i, s in enumerate(cumulative)]
    (net_dir / "hf_log.csv").write_text("\n".join(lines) + "\n")


def make_full_run(run: Path, dataset: str = "gtzan", ismir: bool = True) -> Path:
    """Every Table 1 cell on 4 splits, Table 2 for the best net, all baselines, logs, run.json."""
    rng = np.random.default_rng(0)
    for (method, units) in NETS:
        for k in range(4):
            for layers, agg in COLUMNS:
                if (method, units, layers, agg) == ("ReLU+SGD+Dropout", 500, "all", True):
                    acc = BEST_ACCS[k]
                else:
                    acc = float(rng.choice([0.5, 0.55, 0.6, 0.65, 0.7]))
                gtzan_cell(run, method, units, layers, agg, k, acc, dataset)
            net_dir = run / dataset / NETS[(method, units)] / f"split-{k}" / "net"
            (write_hf_log if method == "Sigmoid+HF" else write_sgd_log)(net_dir)
    if ismir:
        for layers, agg in COLUMNS:
            write_cell(run, "ismir2004/relu-dropout-500", table=2, dataset="ismir2004", method="ReLU+SGD+Dropout",
                       units=500, layers=layers, aggregate=agg, split="train-development",
                       acc=0.75 if (layers, agg) == ("all", True) else 0.6)
    for ds, n_splits in ((("ismir2004", 1),) if ismir else ()) + ((dataset, 4),):
        for feat in ("MFCC", "PMSC"):
            for k in range(n_splits):
                for agg in (False, True):
                    rel = f"baselines/{ds}/{feat.lower()}" + (f"/split-{k}" if ds != "ismir2004" else "")
                    write_cell(run, rel, table="baseline", dataset=ds, method=feat, units=None, layers="all",
                               aggregate=agg, split=f"s{k}", acc=0.6 + 0.05 * k)
    (run / "run.json").write_text(json.dumps({
        "profile": "quick", "reductions": ["2 splits of GTZAN instead of 4", "forest of 50 trees"],
        "settings": {"forest": {"n_estimators": 50}, "seed": 0},
        "timings": {"frames": 12.5, "training": 300.0}, "dataset": dataset, "created": "2024-01-01"}))
    (run / "environment.json").write_text(json.dumps({
        "git_commit": "abc123", "python": "3.11.9", "packages": {"numpy": "2.0.0", "torch": None}}))
    return run


@pytest.fixture
def fake() -> SimpleNamespace:
    """The fake-run builders of this module."""
    return SimpleNamespace(CLASSES=CLASSES, NETS=NETS, COLUMNS=COLUMNS, BEST_ACCS=BEST_ACCS, GOLDEN=GOLDEN,
                           METHODS=METHODS, UNITS=UNITS, write_cell=write_cell, gtzan_cell=gtzan_cell,
                           write_sgd_log=write_sgd_log, write_hf_log=write_hf_log, make_full_run=make_full_run)


@pytest.fixture
def full_run(tmp_path: Path) -> Path:
    """A complete GTZAN run (Table 1, Table 2 for the best net, baselines, logs)."""
    return make_full_run(tmp_path / "run")


@pytest.fixture
def synthetic_run(tmp_path: Path) -> Path:
    """The grid on the synthetic set: no ISMIR 2004, baselines on the synthetic set."""
    return make_full_run(tmp_path / "synthetic", dataset="synthetic", ismir=False)

"""Report of a sigtia2014 run, built from fake run directories of cell JSONs and small logs."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mirlearn.experiments import published as pub
from mirlearn.experiments.report import (TABLE1_COLUMNS, best_cell, collect, format_table1_markdown,
                                         format_table2_markdown, read_learning_curves, summarize_cells, table1,
                                         table1_csv, table2, write_report)

CLASSES = ["blues", "rock"]
NETS = {("ReLU+SGD", 50): "relu-50", ("ReLU+SGD", 500): "relu-500", ("ReLU+SGD+Dropout", 50): "relu-dropout-50",
        ("ReLU+SGD+Dropout", 500): "relu-dropout-500", ("Sigmoid+HF", 50): "sigmoid-hf-50",
        ("Sigmoid+HF", 500): "sigmoid-hf-500"}


def _confusion(acc: float, per_class: int = 10) -> list[list[int]]:
    correct = round(acc * 2 * per_class)
    a = min(per_class, correct)
    b = correct - a
    return [[a, per_class - a], [per_class - b, b]]


def write_cell(root: Path, rel: str, *, table, dataset: str, method: str, units, layers: str, aggregate: bool,
               split: str, acc: float, timings: dict | None = None) -> Path:
    net = NETS.get((method, units), method.lower())
    conf = _confusion(acc)
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


def gtzan_cell(root: Path, method: str, units: int, layers: str, aggregate: bool, k: int, acc: float) -> Path:
    return write_cell(root, f"gtzan/{NETS[(method, units)]}/split-{k}", table=1, dataset="gtzan", method=method,
                      units=units, layers=layers, aggregate=aggregate, split=f"random-seed0-{k}", acc=acc)


# Accuracies of the best net, all layers, aggregated, over 4 splits: mean 82.5, population std √31.25.
BEST_ACCS = (0.80, 0.85, 0.90, 0.75)


def write_sgd_log(net_dir: Path, seconds=(1.0, 2.0, 3.0)) -> None:
    net_dir.mkdir(parents=True, exist_ok=True)
    lines = ["epoch,train_loss,valid_loss,valid_acc,seconds,lr"]
    lines += [f"{e + 1},{1.0 / (e + 1)},{1.2 / (e + 1)},{0.5 + 0.1 * e},{s},0.01" for e, s in enumerate(seconds)]
    (net_dir / "train_log.csv").write_text("\n".join(lines) + "\n")


def write_hf_log(net_dir: Path, cumulative=(5.0, 11.0, 20.0)) -> None:
    net_dir.mkdir(parents=True, exist_ok=True)
    lines = ["step,objective,lambda,cg_iters,chosen_iter,rate,rho,valid_loss,valid_error,seconds"]
    lines += [f"{i + 1},{1.0 / (i + 1)},10,20,20,1,0.5,{1.1 / (i + 1)},{0.5 - 0.1 * i},{s}"
              for i, s in enumerate(cumulative)]
    (net_dir / "hf_log.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture
def full_run(tmp_path: Path) -> Path:
    """Every Table 1 cell on 4 splits, Table 2 for the best net, all baselines, logs, run.json."""
    run = tmp_path / "run"
    rng = np.random.default_rng(0)
    for (method, units) in NETS:
        for k in range(4):
            for layers, agg in TABLE1_COLUMNS:
                if (method, units, layers, agg) == ("ReLU+SGD+Dropout", 500, "all", True):
                    acc = BEST_ACCS[k]
                else:
                    acc = float(rng.choice([0.5, 0.55, 0.6, 0.65, 0.7]))
                gtzan_cell(run, method, units, layers, agg, k, acc)
            net_dir = run / "gtzan" / NETS[(method, units)] / f"split-{k}" / "net"
            (write_hf_log if method == "Sigmoid+HF" else write_sgd_log)(net_dir)
    for layers, agg in TABLE1_COLUMNS:
        write_cell(run, "ismir2004/relu-dropout-500", table=2, dataset="ismir2004", method="ReLU+SGD+Dropout",
                   units=500, layers=layers, aggregate=agg, split="train-development",
                   acc=0.75 if (layers, agg) == ("all", True) else 0.6)
    for dataset, n_splits in (("ismir2004", 1), ("gtzan", 4)):
        for feat in ("MFCC", "PMSC"):
            for k in range(n_splits):
                for agg in (False, True):
                    rel = f"baselines/{dataset}/{feat.lower()}" + (f"/split-{k}" if dataset == "gtzan" else "")
                    write_cell(run, rel, table="baseline", dataset=dataset, method=feat, units=None, layers="all",
                               aggregate=agg, split=f"s{k}", acc=0.6 + 0.05 * k)
    (run / "run.json").write_text(json.dumps({
        "profile": "quick", "reductions": ["2 splits of GTZAN instead of 4", "forest of 50 trees"],
        "settings": {"forest": {"n_estimators": 50}, "seed": 0},
        "timings": {"frames": 12.5, "training": 300.0}, "dataset": "gtzan", "created": "2024-01-01"}))
    (run / "environment.json").write_text(json.dumps({
        "git_commit": "abc123", "python": "3.11.9", "packages": {"numpy": "2.0.0", "torch": None}}))
    return run


# ----------------------------------------------------------------------------------------------
# published


def test_published_known_and_unknown_cells():
    assert pub.published_value(1, "ReLU+SGD+Dropout", 500, "all", True) == 83.0
    assert pub.published(1, "relu + sgd + dropout", 500, "all", True).std == 1.1
    assert pub.published_value(2, "ReLU+SGD+Dropout", 500, "all", True, "ismir2004") == 73.46
    assert pub.published_value("baseline", "MFCC", None, "all", True, "ismir2004") == 67.21
    assert pub.published_value(2, "pmsc", None, "all", True) == 68.45
    # Nothing invented: every other cell is unknown.
    assert pub.published_value(1, "ReLU+SGD+Dropout", 500, "all", False) is None
    assert pub.published_value(1, "ReLU+SGD", 50, 1, True) is None
    assert pub.published_value(1, "Sigmoid+HF", 500, "all", True) is None
    assert len(pub.PUBLISHED) == 4


# ----------------------------------------------------------------------------------------------
# Table 1


def test_table1_layout_mean_std_and_published(full_run: Path):
    rows = table1(collect(full_run))
    assert [(r.method, r.units) for r in rows] == [(m, u) for m in pub.METHODS for u in pub.UNITS]
    assert all(len(r.cells) == 8 for r in rows)
    best = rows[3].cells[("all", True)]
    assert best.n_splits == 4
    assert best.mean == pytest.approx(82.5)
    assert best.std == pytest.approx(math.sqrt(31.25))
    assert best.diff == pytest.approx(-0.5)

    md = format_table1_markdown(rows).splitlines()
    assert len(md) == 2 + 6
    assert all(line.count("|") == 10 for line in md)  # net + 8 columns
    assert "82.5 ± 5.6 (paper 83 ± 1.1, Δ -0.5)" in md[2 + 3]
    assert md[2 + 3].startswith("| ReLU+SGD+Dropout 500 |")
    assert "paper" not in "".join(md[2:5] + md[6:])  # no other published value


def test_table1_missing_cells_show_dash(tmp_path: Path):
    gtzan_cell(tmp_path, "ReLU+SGD", 50, "1", False, 0, 0.6)
    rows = table1(collect(tmp_path))
    assert rows[0].cells[("1", False)].mean == pytest.approx(60.0)
    assert rows[0].cells[("1", True)] is None
    md = format_table1_markdown(rows)
    assert md.count("—") == 47
    # The missing best cell still shows the paper's value.
    assert "— (paper 83 ± 1.1)" in md


def test_table1_csv_long_form(full_run: Path):
    text = table1_csv(table1(collect(full_run)))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 48
    assert list(rows[0]) == ["method", "units", "layers", "aggregate", "n_splits", "mean", "std", "published", "diff"]
    best = [r for r in rows if r["method"] == "ReLU+SGD+Dropout" and r["units"] == "500" and r["layers"] == "all"
            and r["aggregate"] == "true"][0]
    assert (best["n_splits"], float(best["mean"]), best["published"], float(best["diff"])) == ("4", 82.5, "83", -0.5)


def test_fewer_splits_flagged_and_duplicates_ignored(tmp_path: Path):
    for k in range(4):
        gtzan_cell(tmp_path, "ReLU+SGD", 50, "1", False, k, 0.6)
    gtzan_cell(tmp_path, "ReLU+SGD", 50, "2", False, 0, 0.7)
    # The same split again, in another folder: kept once.
    write_cell(tmp_path, "copy/split-0", table=1, dataset="gtzan", method="ReLU+SGD", units=50, layers="2",
               aggregate=False, split="random-seed0-0", acc=0.9)
    notes: list[str] = []
    stats = summarize_cells(collect(tmp_path), notes)
    assert stats[pub.cell_key(1, "ReLU+SGD", 50, "2", False)].accuracies == [90.0]  # "copy/" sorts first
    assert any("second result" in n for n in notes)
    md = format_table1_markdown(table1(stats))
    assert "90.0 [n=1]" in md and "60.0 ± 0.0" in md


# ----------------------------------------------------------------------------------------------
# Best cell, Table 2


def test_best_cell_and_summed_confusion(full_run: Path):
    best = best_cell(collect(full_run))
    assert (best.method, best.units, best.layers, best.aggregate) == ("ReLU+SGD+Dropout", 500, "all", True)
    assert best.classes == CLASSES
    assert best.confusion.sum() == 4 * 20
    assert np.trace(best.confusion) == sum(round(a * 20) for a in BEST_ACCS)


def test_best_cell_prefers_higher_mean(tmp_path: Path):
    gtzan_cell(tmp_path, "ReLU+SGD", 50, "1", False, 0, 0.9)
    gtzan_cell(tmp_path, "ReLU+SGD", 50, "1", False, 1, 0.5)  # mean 70
    gtzan_cell(tmp_path, "Sigmoid+HF", 500, "3", True, 0, 0.75)  # mean 75, one split
    best = best_cell(collect(tmp_path))
    assert (best.method, best.units, best.layers) == ("Sigmoid+HF", 500, "3")
    assert best_cell(collect(tmp_path), table=2) is None


def test_table2_rows_with_baselines(full_run: Path):
    rows = table2(collect(full_run))
    transfer = [r for r in rows if r.section == "transfer"]
    base = [r for r in rows if r.section == "baseline"]
    assert len(transfer) == 8 and len(base) == 8
    assert {(r.method, r.units) for r in transfer} == {("ReLU+SGD+Dropout", 500)}
    top = [r for r in transfer if (r.layers, r.aggregate) == ("all", True)][0]
    assert top.stat.mean == pytest.approx(75.0) and top.published.value == 73.46
    assert [(r.dataset, r.method, r.aggregate) for r in base] == [
        (d, m, a) for d in ("ismir2004", "gtzan") for m in ("MFCC", "PMSC") for a in (False, True)]
    mfcc_agg = [r for r in base if (r.dataset, r.method, r.aggregate) == ("ismir2004", "MFCC", True)][0]
    assert mfcc_agg.published.value == 67.21 and mfcc_agg.stat.diff == pytest.approx(60.0 - 67.21)
    gtzan_mfcc = [r for r in base if r.dataset == "gtzan" and r.method == "MFCC" and r.aggregate][0]
    assert gtzan_mfcc.stat.n_splits == 4 and gtzan_mfcc.stat.mean == pytest.approx(67.5)
    assert gtzan_mfcc.published is None
    md = format_table2_markdown(rows)
    assert "| ReLU+SGD+Dropout 500 | ISMIR 2004 | all | aggregated | 75.00 | 73.46 | +1.54 |" in md
    assert "| MFCC | GTZAN | all | aggregated | 67.50 ± 5.59 | — | — |" in md


def test_table2_lists_the_published_net_when_absent(tmp_path: Path):
    rows = table2([])
    assert len(rows) == 16 and all(r.stat is None for r in rows)
    assert "| ReLU+SGD+Dropout 500 | ISMIR 2004 | all | aggregated | — | 73.46 | — |" in format_table2_markdown(rows)


# ----------------------------------------------------------------------------------------------
# Learning curves


def test_learning_curves_and_training_seconds(full_run: Path):
    curves = read_learning_curves(full_run, collect(full_run))
    assert [c.label for c in curves] == [f"{m} {u} (GTZAN)" for m in pub.METHODS for u in pub.UNITS]
    sgd, hf = curves[0], curves[-1]
    assert sgd.kind == "sgd" and hf.kind == "hf"
    assert [r["split"] for r in sgd.runs] == [f"split-{k}" for k in range(4)]
    assert sgd.seconds == pytest.approx(4 * 6.0)  # per-epoch seconds, summed
    assert hf.seconds == pytest.approx(4 * 20.0)  # cumulative seconds, last taken
    np.testing.assert_allclose(hf.runs[0]["valid_acc"], [50.0, 60.0, 70.0])


# ----------------------------------------------------------------------------------------------
# The report


def test_write_report_files_and_self_contained_html(full_run: Path):
    md_path, html_path = write_report(full_run)
    assert md_path == full_run / "report.md" and html_path == full_run / "report.html"
    for name in ("table1.csv", "table2.csv", "figures/layer_accuracy.png", "figures/confusion_best.png",
                 "figures/learning_curves.png"):
        assert (full_run / name).is_file(), name
        if name.endswith(".png"):
            assert (full_run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in full_run.rglob(".*") if p.is_file()]  # no temporaries left
    html = html_path.read_text()
    assert html.count("data:image/png;base64,") == 3
    assert 'src="http' not in html and "<link" not in html and "<script" not in html and "url(" not in html
    md = md_path.read_text()
    for text in ("Profile: **quick**", "2 splits of GTZAN instead of 4", "forest.n_estimators", "last invocation: training",
                 "82.5 ± 5.6 (paper 83 ± 1.1, Δ -0.5)", "73.46", "67.21", "68.45", "abc123", "numpy",
                 "figures/confusion_best.png", "net training: ReLU+SGD 50 (GTZAN) (4 run(s))",
                 "cells, Table 1 (GTZAN): forest fit", "ReLU+SGD+Dropout 500, all layers, aggregated (GTZAN)",
                 "Table 1: 48 of 48 cells have results (up to 4 split(s) each)."):
        assert text in md, text
    # 48 cells × 4 splits × 10 s of forest fit.
    assert "1,920.0 s (0:32:00)" in md


def test_report_rebuilt_from_json_alone_without_torch(full_run: Path):
    md1, _ = write_report(full_run)
    first = md1.read_text()
    csv1 = (full_run / "table1.csv").read_text()
    for p in ("report.md", "report.html", "table1.csv", "table2.csv"):
        (full_run / p).unlink()
    for p in (full_run / "figures").iterdir():
        p.unlink()
    code = ("import sys; from mirlearn.experiments.report import write_report; "
            f"write_report({str(full_run)!r}); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert (full_run / "report.md").read_text() == first
    assert (full_run / "table1.csv").read_text() == csv1
    assert (full_run / "report.html").is_file()


def test_partial_run_report(tmp_path: Path):
    run = tmp_path / "partial"
    gtzan_cell(run, "ReLU+SGD+Dropout", 500, "all", True, 0, 0.8)
    gtzan_cell(run, "ReLU+SGD+Dropout", 500, "all", True, 1, 0.85)
    gtzan_cell(run, "ReLU+SGD", 50, "1", False, 0, 0.5)
    cells_dir = run / "gtzan" / "relu-50" / "split-0" / "cells"
    (cells_dir / ".layer-2_frames.json.x1.tmp.json").write_text("{half")  # an interrupted atomic write
    (cells_dir / "layer-3_frames.json").write_text("{broken")
    with pytest.warns(UserWarning, match="layer-3_frames"):
        entries = collect(run)
    assert [e["_kind"] for e in entries].count("cell") == 3
    assert [e["_kind"] for e in entries].count("error") == 1

    md_path, html_path = write_report(run)
    md = md_path.read_text()
    assert "Table 1: 2 of 48 cells have results (up to 2 split(s) each)." in md
    assert "the paper's protocol uses 4" in md
    assert "Table 1, ReLU+SGD 50: fewer splits than the other cells: L1 frames (n=1)." in md
    assert "Table 1, Sigmoid+HF 500: missing L1 frames, L1 agg" in md
    assert "layer-3_frames.json: unreadable" in md
    assert "Table 2, ReLU+SGD+Dropout 500 on ISMIR 2004: missing" in md
    assert "82.5 ± 2.5 (paper 83 ± 1.1, Δ -0.5)" in md
    assert "Profile: unknown" in md and "No `environment.json`" in md and "no training logs found" in md
    assert (run / "figures" / "confusion_best.png").is_file()
    assert not (run / "figures" / "learning_curves.png").exists()
    assert html_path.read_text().count("data:image/png;base64,") == 2


def test_empty_run_report(tmp_path: Path):
    md_path, html_path = write_report(tmp_path)
    md = md_path.read_text()
    assert "Table 1: 0 of 48 cells have results." in md
    assert "no results yet" in md
    assert "data:image" not in html_path.read_text()


def test_collect_includes_run_json(full_run: Path):
    entries = collect(full_run)
    runs = [e for e in entries if e["_kind"] == "run"]
    assert len(runs) == 1 and runs[0]["profile"] == "quick" and entries[-1] is runs[0]
    assert sum(e["_kind"] == "cell" for e in entries) == 6 * 8 * 4 + 8 + 2 * 2 * (1 + 4)
    with pytest.raises(FileNotFoundError):
        collect(full_run / "nope")

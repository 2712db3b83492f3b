"""The report of every run folder the package writes: run / demo, train, evaluate, and the grid
with nets or tables left out (issue #11, finding 2)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from mirlearn.cli import main
from mirlearn.experiments.report import write_report
from mirlearn.experiments.report.figures import CURVES_DPI
from mirlearn.experiments.report.kinds import EMPTY, EVALUATE, GRID, RUN, TRAIN, detect_kind

CLASSES = ["blues", "rock"]


def _section(md: str, title: str) -> str:
    """The text of the ``## title`` section of a Markdown report."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", md, flags=re.M | re.S)
    assert m, f"no section {title!r}"
    return m.group(1)


def _png_width(path: Path) -> int:
    import matplotlib.image as mpimg

    return int(mpimg.imread(path).shape[1])


def _assert_no_grid_noise(md: str) -> None:
    for text in ("no usable 'experiment' block", "of 48 cells", "Profile: unknown", "Table 1"):
        assert text not in md, text


def _assert_times_in_words(md: str) -> None:
    times = _section(md, "Time per stage")
    assert not re.search(r"\b\w+_s\b", times), times  # never a raw key such as total_s
    assert re.search(r"\| [\d.]+ s \|", times), times


# ----------------------------------------------------------------------------------------------
# A real `mirlearn demo` folder


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    """``mirlearn demo``, as small as it goes: 3 classes × 6 clips × 3 s, 2 epochs, 5 trees."""
    root = tmp_path_factory.mktemp("demo")
    out = root / "D"
    assert main(["demo", "--data", str(root / "data"), "--classes", "3", "--clips", "6", "--seconds", "3",
                 "--set", "training.max_epochs=2", "--set", "forest.n_estimators=5", "--out", str(out),
                 "--cache", str(root / "cache"), "-j", "1", "--no-progress"]) == 0
    return out


def test_demo_folder_report_states_what_the_run_did(demo_run: Path):
    assert detect_kind(demo_run) == RUN
    md_path, html_path = write_report(demo_run)
    assert (md_path, html_path) == (demo_run / "report.md", demo_run / "report.html")
    md = md_path.read_text()
    _assert_no_grid_noise(md)
    # The configuration, by name and description.
    cfg = _section(md, "Configuration")
    assert "**demo**" in cfg and "ReLU + SGD + Dropout" in cfg and "`network.hidden`" in cfg
    # Every accuracy of results.json, in the row of its layer and column of its aggregation.
    results = json.loads((demo_run / "results.json").read_text())
    table = _section(md, "Track accuracy per feature cell")
    header = next(line for line in table.splitlines() if line.startswith("| Features"))
    assert "aggregated: window acc" in header and "frames: frame acc" in header
    columns = [c.strip() for c in header.strip("|").split("|")]
    for cell in results["summary"].values():
        name = "all layers" if cell["layers"] == "all" else f"layer {cell['layers']}"
        row = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
        entries = [c.strip() for c in row.strip("|").split("|")]
        col = columns.index("aggregated: track acc" if cell["aggregate"] else "frames: track acc")
        assert entries[col] == f"{100 * cell['mean']:.1f}", (row, cell)
    # The data set's size: tracks, classes and their names, each split's parts.
    splits = json.loads((demo_run / "splits.json").read_text())["splits"]
    n_tracks = len({t for s in splits for p in ("train", "valid", "test") for t in s[p]})
    data = _section(md, "Data set")
    assert f"**{n_tracks} tracks**" in data and "**3 classes** (synth0, synth1, synth2)" in data
    s = splits[0]
    assert f"| {s['name']} | {len(s['train'])} | {len(s['valid'])} | {len(s['test'])} |" in data
    # Per-class accuracy of the chosen cell, and how it was chosen.
    per_class = _section(md, "Per-class accuracy")
    assert "| Class | Test tracks | Right | Accuracy (%) |" in per_class
    assert all(f"| {c} |" in per_class for c in ("synth0", "synth1", "synth2"))
    assert "the cell the configuration names for `predict`" in per_class
    _assert_times_in_words(md)
    times = _section(md, "Time per stage")
    assert "net training" in times and "forest fits" in times
    # Figures: the chosen cell's confusion, and learning curves large enough to read.
    curves = demo_run / "figures" / "learning_curves.png"
    assert curves.is_file() and _png_width(curves) >= 900
    assert (demo_run / "figures" / "confusion_best.png").is_file()
    assert "Training loss (dashed) and validation loss (solid)" in _section(md, "Learning curves")
    html = html_path.read_text()
    assert html.count("data:image/png;base64,") == 2 and 'src="http' not in html


def test_demo_report_rebuilt_gives_the_same_text(demo_run: Path, tmp_path: Path):
    first = write_report(demo_run)[0].read_text()
    copy = tmp_path / "copy"
    shutil.copytree(demo_run, copy, ignore=shutil.ignore_patterns("report.*", "figures"))
    md = write_report(copy)[0].read_text()
    assert md.replace("`copy`", "`D`") == first


# ----------------------------------------------------------------------------------------------
# Hand-made folders: older, partial, train and evaluate


def _cell(folder: Path, layers: str, aggregate: bool, split: str, acc: float, *, experiment: bool = False,
          frame_acc: float = 0.5) -> None:
    """A cell record as `mirlearn run` writes it (``experiment`` absent: an older run folder)."""
    right = round(acc * 10)
    conf = [[min(5, right), 5 - min(5, right)], [5 - (right - min(5, right)), right - min(5, right)]]
    rec = {"cell": f"layer-{layers}_{'agg' if aggregate else 'frames'}", "layers": layers, "aggregate": aggregate,
           "split": split, "metrics": {"classes": CLASSES, "n_tracks": 10, "accuracy": right / 10,
                                       "confusion": conf, "frame_accuracy": frame_acc, "n_frames": 1000},
           "timings": {"features_s": 0.5, "forest_fit_s": 41.0, "forest_predict_s": 1.5},
           "split_sizes": {"train": 20, "valid": 10, "test": 10}}
    if experiment:
        rec["experiment"] = {}
    path = folder / "cells" / f"{rec['cell']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))


def _log(net_dir: Path, split: str) -> None:
    net_dir.mkdir(parents=True, exist_ok=True)
    (net_dir / "train_log.csv").write_text("epoch,train_loss,valid_loss,valid_acc,seconds,lr\n"
                                           "1,1.0,1.1,0.5,6.0,0.01\n2,0.8,0.9,0.6,6.3,0.01\n")
    (net_dir / "net.json").write_text(json.dumps({"inputs": {"format": 1}, "split": split}))
    (net_dir / "train_result.json").write_text(json.dumps({"best_epoch": 2, "wall_seconds": 12.3}))


def _old_run(root: Path, *, results: bool = True) -> Path:
    """A `mirlearn run` folder of 2 splits whose cells have no experiment block."""
    accs = {("1", False): (0.6, 0.8), ("all", True): (0.7, 0.9)}
    (root / "config.toml").parent.mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text('name = "mine"\ndescription = "my own"\n[features]\nwindow_seconds = 2.0\n'
                                      'hop_seconds = 1.0\n')
    names = ["s0", "s1"]
    (root / "splits.json").write_text(json.dumps({"format": "mirlearn.splits", "version": 1, "splits": [
        {"name": n, "train": [f"t{i}" for i in range(20)], "valid": [f"t{i}" for i in range(20, 30)],
         "test": [f"t{i}" for i in range(30, 40)]} for n in names]}))
    summary = {}
    for (layers, agg), per in accs.items():
        for n, a in zip(names, per):
            _cell(root / f"split-{n}", layers, agg, n, a)
        summary[f"layer-{layers}_{'agg' if agg else 'frames'}"] = {"layers": layers, "aggregate": agg,
                                                                  "mean": sum(per) / 2, "per_split": list(per)}
    for n in names:
        _log(root / f"split-{n}" / "net", n)
    if results:
        (root / "results.json").write_text(json.dumps({
            "config": "mine", "splits": names, "summary": summary,
            "timings": [{"train_s": 185.0, "features_s": 2.0} for _ in names], "train": []}))
    return root


def test_old_run_folder_without_experiment_blocks(tmp_path: Path):
    run = _old_run(tmp_path / "old")
    assert detect_kind(run) == RUN
    md = write_report(run)[0].read_text()
    _assert_no_grid_noise(md)
    table = _section(md, "Track accuracy per feature cell")
    assert "| layer 1 | 70.0 ± 10.0 | 50.0 ± 0.0 |" in table  # mean ± population std over the 2 splits
    assert "| all layers | — | — | 80.0 ± 10.0 | 50.0 ± 0.0 |" in table
    assert "**40 tracks**, **2 classes** (blues, rock)" in md
    per_class = _section(md, "Per-class accuracy")
    assert "all layers, aggregated" in per_class and "| blues | 10 |" in per_class
    _assert_times_in_words(md)
    times = _section(md, "Time per stage")
    assert "| net training (2 splits) | 6 min 10 s |" in times  # 2 × 185 s
    assert "| forest fits (4 cells) | 2 min 44 s |" in times  # 4 × 41 s
    assert "| total of the stages above |" in times
    assert _png_width(run / "figures" / "learning_curves.png") >= 900


def test_partial_run_folder_never_fails(tmp_path: Path):
    run = _old_run(tmp_path / "partial", results=False)  # stopped before results.json
    (run / "split-s1" / "cells" / "layer-1_frames.json").write_text("{broken")
    assert detect_kind(run) == RUN
    md = write_report(run)[0].read_text()
    assert "| layer 1 | 60.0 |" in md and "split-s1/cells/layer-1_frames.json: unreadable" in md
    started = tmp_path / "started"  # killed during frame extraction
    started.mkdir()
    (started / "config.toml").write_text('name = "demo"\n')
    assert detect_kind(started) == RUN
    md = write_report(started)[0].read_text()
    assert "No result cell yet" in md and "no training log found" in md and "no timings recorded yet" in md


def test_train_folder_report(tmp_path: Path):
    run = tmp_path / "T"
    _old_run(run, results=False)
    shutil.rmtree(run / "split-s0")
    shutil.rmtree(run / "split-s1")
    _log(run / "model", "s0")
    (run / "model" / "model.json").write_text(json.dumps({
        "format": 1, "classes": CLASSES, "features": {"layers": "all", "aggregate": True},
        "info": {"config": "mine", "split": "s0"}}))
    (run / "metrics.json").write_text(json.dumps({"split": "s0", "cell": "layer-all_agg", "metrics": {
        "classes": CLASSES, "n_tracks": 10, "accuracy": 0.9, "confusion": [[5, 0], [1, 4]]}}))
    _cell(run / "evaluation", "2", False, "s0", 0.7)  # `mirlearn evaluate` with its default --out
    assert detect_kind(run) == TRAIN
    md = write_report(run)[0].read_text()
    assert "Test track accuracy of the saved model (all layers, aggregated; split s0): **90.0 %**" in md
    assert "| rock | 5 | 4 | 80.0 |" in _section(md, "Per-class accuracy")
    assert "| layer 2 | 70.0 | 50.0 |" in _section(md, "Evaluation in `evaluation/`")
    assert "| s0 | 20 | 10 | 10 |" in md and "| s1 |" not in md  # the split the model was trained on
    assert "| net training (1 net, from the saved model’s training record) | 12 s |" in md
    assert (run / "figures" / "learning_curves.png").is_file()
    _assert_times_in_words(md)


def test_evaluate_folder_report(tmp_path: Path):
    out = tmp_path / "E"
    for layers in ("1", "all"):
        _cell(out, layers, True, "s0", 0.8, experiment=True)  # new records carry an empty experiment block
    assert detect_kind(out) == EVALUATE
    md = write_report(out)[0].read_text()
    _assert_no_grid_noise(md)
    assert "| all layers | 80.0 | 50.0 |" in md and "| s0 | 20 | 10 | 10 |" in md
    assert "`mirlearn evaluate` does not train" in md
    _assert_times_in_words(md)


def test_kinds(tmp_path: Path, fake):
    assert detect_kind(tmp_path / "nowhere") == EMPTY
    assert detect_kind(tmp_path) == EMPTY
    grid = tmp_path / "grid"
    fake.gtzan_cell(grid, "ReLU+SGD", 50, "1", False, 0, 0.5)  # a grid's cell names its table, no run.json
    assert detect_kind(grid) == GRID
    started = tmp_path / "started-grid"
    started.mkdir()
    (started / "environment.json").write_text(json.dumps({"profile": "quick", "command": ["mirlearn", "reproduce"]}))
    assert detect_kind(started) == GRID
    run = _old_run(tmp_path / "run-with-model", results=False)  # a run saves its model at the end
    _log(run / "model", "s0")
    (run / "model" / "model.json").write_text("{}")
    assert detect_kind(run) == RUN
    (run / "results.json").write_text("{}")
    assert detect_kind(run) == RUN
    assert "| layer 1 | 70.0 ± 10.0 |" in write_report(run)[0].read_text()
    train = tmp_path / "started-train"
    train.mkdir()
    (train / "environment.json").write_text(json.dumps({"command": ["mirlearn", "train", "--data", "x"]}))
    assert detect_kind(train) == TRAIN


# ----------------------------------------------------------------------------------------------
# The grid: what was not asked for is "not run", never "missing"


def test_grid_with_nets_left_out_and_no_ismir_says_not_run(tmp_path: Path, fake):
    run = tmp_path / "grid"
    for k in range(2):
        for layers, agg in fake.COLUMNS:
            fake.gtzan_cell(run, "ReLU+SGD+Dropout", 500, layers, agg, k, 0.8)
        fake.write_sgd_log(run / "gtzan" / "relu-dropout-500" / f"split-{k}" / "net")
        for feat in ("MFCC", "PMSC"):
            for agg in (False, True):
                fake.write_cell(run, f"baselines/gtzan/{feat.lower()}/split-{k}", table="baseline", dataset="gtzan",
                                method=feat, units=None, layers="all", aggregate=agg, split=f"random-seed0-{k}",
                                acc=0.6)
    (run / "run.json").write_text(json.dumps({
        "profile": "quick", "reductions": [], "nets": ["relu-dropout-500"], "dataset": "gtzan", "ismir2004": False,
        "baselines": ["mfcc", "pmsc"], "timings": {"table1/relu-dropout-500/split-0": 75.0, "total_s": 190.0}}))
    (run / "splits.json").write_text(json.dumps({"splits": [
        {"name": f"random-seed0-{k}", "train": [f"t{i}" for i in range(10)], "valid": ["v1", "v2"],
         "test": ["x1", "x2", "x3"]} for k in range(2)]}))
    md = write_report(run)[0].read_text()
    completeness = _section(md, "Completeness")
    assert ("Table 1 nets not run (left out with `--nets`): ReLU+SGD 50, ReLU+SGD 500, ReLU+SGD+Dropout 50, "
            "Sigmoid+HF 50, Sigmoid+HF 500.") in completeness
    assert "Table 2 was not run: no `--ismir2004` data given" in completeness
    assert "missing" not in completeness
    assert "Table 1: 8 of 8 cells have results (up to 2 split(s) each)." in completeness
    t1 = _section(md, "Table 1 — GTZAN, features of each net")
    assert "| ReLU+SGD+Dropout 500 |" in t1 and "| ReLU+SGD 50 |" not in t1
    t2 = _section(md, "Table 2 — transfer to ISMIR 2004, and baselines")
    assert "Table 2 was not run: no `--ismir2004` data given" in t2 and "ISMIR 2004 |" not in t2
    assert "| MFCC | GTZAN | all | aggregated | 60.00 ± 0.00 |" in t2
    # The data set's size, per-class accuracy of the net, times in words.
    assert "GTZAN: **15 tracks**, **2 classes** (blues, rock)" in _section(md, "Data")
    per_class = _section(md, "Per-class accuracy of each net")
    assert "| Class | ReLU+SGD+Dropout 500 (all agg) |" in per_class and "| rock | 60.0 (12/20) |" in per_class
    _assert_times_in_words(md)
    times = _section(md, "Time per stage")
    assert "| last invocation: whole command | 3 min 10 s |" in times
    assert "| last invocation: Table 1, net relu-dropout-500, split 0: training and its cells | 1 min 15 s |" in times
    assert _png_width(run / "figures" / "learning_curves.png") >= 900


def test_learning_curves_figure_is_readable(full_run: Path):
    write_report(full_run)
    import matplotlib.image as mpimg

    h, w = mpimg.imread(full_run / "figures" / "learning_curves.png").shape[:2]
    assert w >= 8 * CURVES_DPI and h >= 5 * CURVES_DPI  # six nets: three per row, two rows


def test_a_cnn_run_reports_patches_and_its_own_output(tmp_path):
    """A CNN's non-aggregated rows are patches, and its own decisions (no forest) get their table."""
    from mirlearn.cli import main
    from mirlearn.datasets.synthetic import make_synthetic

    data = make_synthetic(tmp_path / "data", n_classes=2, clips_per_class=6, seconds=3.0, seed=0)
    out = tmp_path / "run"
    assert main(["run", "--data", str(data), "--config", "mirex2015", "--out", str(out), "--cache",
                 str(tmp_path / "cache"), "-j", "1", "--no-progress", "--set", "splits.n_splits=1",
                 "--set", "training.max_epochs=2", "--set", "forest.n_estimators=5",
                 "--set", "features.window_seconds=1.0", "--set", "features.hop_seconds=0.5",
                 "--set", "cnn.patch_frames=40", "--set", "cnn.patch_hop=20"]) == 0
    md = (out / "report.md").read_text()
    assert "patches: track acc" in md and "frames: track acc" not in md
    assert "highest mean probability" in md and "majority vote of its patches" in md
    assert "layer None" not in md
    assert md.index("layer conv1") < md.index("layer dense") < md.index("all layers")
    assert "validation patch accuracy" in md

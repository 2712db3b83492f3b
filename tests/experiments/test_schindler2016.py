"""The Schindler et al. 2016 reproduction on a tiny synthetic set: both nets, the MFCC baseline,
run.json, reuse on a rerun; the profiles, --epochs and the nets checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirlearn.datasets import load_dataset
from mirlearn.datasets.splits import make_splits
from mirlearn.datasets.synthetic import make_synthetic
from mirlearn.errors import MirlearnError
from mirlearn.experiments import schindler2016 as s16
from mirlearn.features.cache import extract_frames

#: 40 bands × 40-frame patches (the deep net's smallest input), 1 epoch, 5 trees, 1 s windows.
TINY = {"frames": {"n_mels": 40}, "cnn": {"patch_frames": 40, "patch_hop": 20},
        "training": {"max_epochs": 1, "patches_per_track": 2, "batch_size": 8},
        "forest": {"n_estimators": 5, "n_jobs": 1}, "features": {"window_seconds": 1.0, "hop_seconds": 0.5}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("s16")
    tracks, _ = load_dataset(make_synthetic(root / "data", n_classes=3, clips_per_class=4, seconds=2.0, seed=2),
                             "folder")
    cfg = s16.net_config("shallow", 100, "paper", TINY)
    frames = extract_frames(tracks, cfg.frames, cache_dir=root / "cache", n_jobs=1, progress=False)
    inputs = s16.Inputs("synthetic", frames, make_splits(tracks, n_splits=1, seed=0))

    def frame_source(kind):
        return extract_frames(tracks, s16.baseline_frame_settings(cfg), cache_dir=root / "cache", n_jobs=1,
                              progress=False)

    return inputs, frame_source


def _run(world, out: Path, **kw):
    inputs, frame_source = world
    return s16.reproduce(inputs=inputs, out=out, user=TINY, frame_source=frame_source, progress=False,
                         log=lambda m: None, **kw)


def test_both_nets_and_the_baseline_fill_their_cells_and_a_rerun_reuses_them(world, tmp_path):
    out = tmp_path / "run"
    run = _run(world, out)
    split = world[0].splits[0].name
    for net in s16.NETS:
        names = {p.stem for p in (out / "synthetic" / net / f"split-{split}" / "cells").glob("*.json")}
        assert {"output-meanprob", "output-vote", "layer-dense_agg", "layer-all_frames"} <= names
        assert (out / "synthetic" / net / "model" / "model.json").is_file()
        cell = json.loads((out / "synthetic" / net / f"split-{split}" / "cells" / "output-vote.json").read_text())
        assert cell["experiment"] == {"paper": "schindler2016", "dataset": "synthetic", "net": net, "epochs": 100}
    assert {p.stem for p in (out / "baselines" / "synthetic" / "mfcc").rglob("cells/*.json")} == \
        {"layer-all_frames", "layer-all_agg"}
    stored = json.loads((out / "run.json").read_text())
    assert stored["paper"] == "schindler2016" and stored["nets"] == ["shallow", "deep"]
    assert stored["epochs"] == 100 and stored["profile"] == "paper" and stored["baselines"] == ["mfcc"]
    assert run["timings"]["total_s"] > 0
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("cells/*.json")}
    _run(world, out)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("cells/*.json")} == stamps


def test_epochs_and_profiles():
    assert s16.net_config("deep", 200, "paper").training.max_epochs == 200
    quick = s16.net_config("deep", 200, "quick")
    assert quick.training.max_epochs == s16.QUICK_MAX_EPOCHS and quick.forest.n_estimators == 100
    assert s16.net_config("shallow", 100, "quick", {"training": {"max_epochs": 3}}).training.max_epochs == 3
    assert s16.PROFILES["paper"] == () and all(r.why for r in s16.PROFILES["quick"])
    with pytest.raises(MirlearnError, match="--epochs 150"):
        s16.check_epochs(150)
    with pytest.raises(MirlearnError, match="--nets medium: no such net; the nets are shallow, deep"):
        s16.check_nets(["shallow", "medium"])
    assert s16.check_nets(["deep", "shallow"]) == ["shallow", "deep"]
    assert s16.baseline_frame_settings(quick).kind == "mfcc"


def test_plan_lists_every_net_and_split(world):
    plan = s16.plan_run(world[0], nets=["shallow", "deep"], epochs=100, profile="quick", user=TINY,
                        baselines=["mfcc"])
    assert [j["stage"] for j in plan] == ["net", "net", "baseline"]
    assert "3 job(s)" in s16.format_plan(plan)


def test_report_of_a_run_has_the_table_and_says_no_published_figure(world, tmp_path):
    from mirlearn.experiments.report import write_report

    out = tmp_path / "run"
    _run(world, out, nets=["shallow"])
    md, html = write_report(out)
    text = md.read_text()
    assert "Schindler, Lidy & Rauber" in text and "| Net | Max probability | Majority vote |" in text
    assert "| shallow |" in text and "| MFCC (baseline) |" in text
    assert "No published figure for this dataset (synthetic)" in text
    assert "cross-validation" in text and html.is_file()
    write_report(out)
    assert md.read_text() == text  # deterministic


def _cell(net, cell, acc, split, dataset="gtzan", method=None):
    exp = {"paper": "schindler2016", "dataset": dataset, "net": net, "epochs": 200} if method is None else \
        {"table": "baseline", "dataset": dataset, "method": method, "net": method.lower()}
    return {"cell": cell, "split": split, "experiment": exp, "metrics": {"accuracy": acc}}


def test_table_of_fake_cells_shows_the_published_column_on_gtzan():
    from mirlearn.experiments.report.schindler import schindler_rows, schindler_table

    cells = [_cell(net, c, a, s) for net in ("deep", "shallow") for s, a in (("0", 0.7), ("1", 0.8))
             for c in ("output-meanprob", "output-vote", "layer-dense_agg")]
    cells += [_cell(None, "layer-all_agg", 0.6, s, method="MFCC") for s in ("0", "1")]
    cells += [_cell("shallow", "layer-all_agg", 0.9, "0")]
    rows = schindler_rows(cells, epochs=200)
    header, body = schindler_table(rows["gtzan"])
    assert header[1:3] == ["Max probability", "Majority vote"]
    assert [r[0] for r in body] == ["shallow", "deep", "MFCC (baseline)"]
    assert body[0] == ["shallow", "75.0 ± 5.0", "75.0 ± 5.0", "75.0 ± 5.0 (layer-dense_agg)", "80.8"]
    assert body[1][4] == "80.6" and body[2][1] == "—" and body[2][3] == "60.0 ± 0.0 (layer-all_agg)"
    assert schindler_rows(cells, epochs=100)["gtzan"][0].published == 78.1

"""Learning curves: one log format for every trainer, the net named by the files beside its log."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mirlearn.experiments import published as pub
from mirlearn.experiments.report.collect import collect
from mirlearn.experiments.report.curves import read_learning_curves


def test_nets_named_by_the_cells_of_their_split(full_run: Path):
    curves = read_learning_curves(full_run, collect(full_run))
    assert [c.label for c in curves] == [f"{m} {u} (GTZAN)" for m in pub.METHODS for u in pub.UNITS]
    sgd, hf = curves[0], curves[-1]
    assert sgd.x_label == "epoch" and hf.x_label == "HF step"  # hf: a legacy hf_log.csv
    assert [r["split"] for r in sgd.runs] == [f"random-seed0-{k}" for k in range(4)]
    assert sgd.seconds == pytest.approx(4 * 6.0)  # per-epoch seconds, summed
    assert hf.seconds == pytest.approx(4 * 20.0)  # legacy: cumulative seconds, last taken
    np.testing.assert_allclose(hf.runs[0]["valid_acc"], [50.0, 60.0, 70.0])
    np.testing.assert_allclose(sgd.runs[0]["valid_acc"], [50.0, 60.0, 70.0])


def test_net_json_names_the_net_whatever_its_folder(tmp_path: Path, fake):
    # Both trainers' logs in the shared format; the folders say nothing about the nets.
    for i, (method, units, split) in enumerate((("Sigmoid+HF", 50, "a"), ("ReLU+SGD", 500, "b"),
                                                ("Sigmoid+HF", 50, "c"))):
        net_dir = tmp_path / f"x{i}" / "net"
        fake.write_sgd_log(net_dir, seconds=(1.0, 1.0))
        (net_dir / "net.json").write_text(json.dumps({"net": f"n{units}", "method": method, "units": units,
                                                      "split": split, "dataset": "gtzan"}))
    curves = read_learning_curves(tmp_path)
    assert [(c.label, c.x_label, [r["split"] for r in c.runs]) for c in curves] == [
        ("ReLU+SGD 500 (GTZAN)", "epoch", ["b"]), ("Sigmoid+HF 50 (GTZAN)", "epoch", ["a", "c"])]
    assert curves[1].seconds == pytest.approx(4.0)


def test_train_result_json_names_the_net_when_no_net_json(tmp_path: Path, fake):
    net_dir = tmp_path / "somewhere" / "net"
    fake.write_sgd_log(net_dir)
    (net_dir / "train_result.json").write_text(json.dumps({
        "best_epoch": 2, "runner": "hf", "experiment": {"method": "sigmoid+hf", "units": 500, "dataset": "gtzan",
                                                        "net": "sigmoid-hf-500", "split": "s1"}}))
    (curve,) = read_learning_curves(tmp_path)
    assert (curve.label, curve.group, curve.runs[0]["split"]) == ("Sigmoid+HF 500 (GTZAN)", "gtzan/sigmoid-hf-500", "s1")


def test_unnamed_and_broken_logs(tmp_path: Path):
    (tmp_path / "a" / "net").mkdir(parents=True)
    (tmp_path / "a" / "net" / "train_log.csv").write_text("epoch,valid_loss\n")
    (tmp_path / "b" / "net").mkdir(parents=True)
    (tmp_path / "b" / "net" / "train_log.csv").write_text("epoch,valid_loss,valid_acc,seconds\n1,0.5,0.5,2\n")
    (tmp_path / "c" / "net").mkdir(parents=True)  # not trained yet: no log, nothing said
    notes: list[str] = []
    (curve,) = read_learning_curves(tmp_path, notes=notes)
    assert curve.label == "b" and curve.runs[0]["split"] == "run"
    assert notes == ["a/net/train_log.csv: empty log or no epoch column; no learning curve"]


def test_split_of_net_json_with_the_net_named_by_its_cells(tmp_path: Path, fake):
    # net.json as the pipeline writes it today: the split and the inputs' fingerprint, no net name.
    fake.gtzan_cell(tmp_path, "ReLU+SGD", 50, "1", False, 0, 0.5)
    net_dir = tmp_path / "gtzan" / "relu-50" / "split-0" / "net"
    fake.write_sgd_log(net_dir)
    (net_dir / "net.json").write_text(json.dumps({"inputs": {"format": 1}, "split": "random-seed0-0"}))
    (curve,) = read_learning_curves(tmp_path, collect(tmp_path))
    assert (curve.label, curve.runs[0]["split"]) == ("ReLU+SGD 50 (GTZAN)", "random-seed0-0")

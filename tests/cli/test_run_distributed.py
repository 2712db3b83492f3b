"""``run`` and ``train`` under 2 gloo ranks, as ``torchrun --nproc-per-node 2 -m mirlearn ...``
starts them: the ranks share the training, rank 0 alone writes and reports."""

from __future__ import annotations

import csv
import json

import pytest

from mirlearn.cli import main


def train_log(run_dir) -> list[dict[str, float]]:
    (path,) = sorted(run_dir.rglob("train_log.csv"))[:1]
    with open(path) as f:
        return [{k: float(v) for k, v in row.items() if k in ("epoch", "train_loss", "valid_loss")}
                for row in csv.DictReader(f)]


def test_run_on_two_ranks_trains_like_one_process_and_rank_0_reports(synth, home, small, common, ranks,
                                                                       tmp_path, capsys):
    # without dropout: each rank draws the masks of its own rows, so only then are the steps the same
    args = ["run", "--data", str(synth), "--config", "demo", *small, "--set", "network.dropout=0.0", "--split", "0",
            *common]
    one = tmp_path / "one"
    assert main([*args, "--out", str(one)]) == 0
    capsys.readouterr()

    two = tmp_path / "two"
    (rc0, out0, err0), (rc1, out1, err1) = ranks(["-m", "mirlearn", *args, "--out", str(two)]).wait(timeout=400)
    assert rc0 == 0 and rc1 == 0, (err0[-2000:], err1[-2000:])
    assert "Track accuracy" in out0 and "2 ranks" in out0 and "on 2 ranks" in out0
    assert out1 == ""  # rank 1 helped to train and said nothing
    assert (two / "results.json").is_file() and (two / "report.md").is_file() and (two / "model").is_dir()
    assert not any(two.rglob(".scratch"))  # rank 0 removed the shared training frames
    a, b = train_log(one), train_log(two)
    assert [r["epoch"] for r in a] == [r["epoch"] for r in b]
    # 12 epochs (and 2 threads here against 1 per rank) let the rounding of the sums grow; the
    # trainers' own tests (tests/nn/train/test_data_parallel.py) hold them to float32 rounding
    for ra, rb in zip(a, b):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], rel=2e-3)
        assert ra["valid_loss"] == pytest.approx(rb["valid_loss"], rel=2e-3)
    cells = json.loads((two / "results.json").read_text())["summary"]
    assert max(c["mean"] for c in cells.values()) >= 0.75


def test_train_on_two_ranks_saves_one_model(synth, home, small, common, ranks, tmp_path):
    out = tmp_path / "train"
    argv = ["-m", "mirlearn", "train", "--data", str(synth), "--config", "demo", *small, *common, "--out", str(out)]
    (rc0, out0, err0), (rc1, out1, err1) = ranks(argv).wait(timeout=400)
    assert rc0 == 0 and rc1 == 0, (err0[-2000:], err1[-2000:])
    assert "model saved" in out0 and out1 == ""
    assert (out / "model" / "model.json").is_file() and (out / "metrics.json").is_file()


def test_a_command_that_does_not_share_work_refuses_ranks_in_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")  # as torchrun sets it; refused before joining any group
    assert main(["transfer", str(tmp_path), "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["mirlearn: error: `mirlearn transfer` runs as one process: start it without torchrun "
                   "(under torchrun: run, train, reproduce, embed, features)"]

"""The one training loop with either runner: kill and resume bitwise, refusals, one result format."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from mirlearn.errors import ConfigError
from mirlearn.nn.featurenet import FeatureNet
from mirlearn.nn.train import HFConfig, train_hf
from mirlearn.nn.mlp import MLP
from mirlearn.nn.train import LOG_COLUMNS, TrainConfig, TrainResult, load_checkpoint, train_sgd


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(3, 12)) * 1.5
    y = rng.integers(0, 3, size=500).astype(np.int64)
    X = (centres[y] + rng.normal(size=(500, 12))).astype(np.float32)
    return X[:350], y[:350], X[350:], y[350:]


def _scramble(net, seed):
    """Other initial weights (same config): a resumed run must take its weights from the checkpoint."""
    if seed:
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn(p.shape, generator=gen))
    return net


def _sgd(data, run_dir, max_epochs=5, callback=None, seed=0, **kw):
    net = _scramble(MLP(12, (10, 10), 3, dropout=0.25, seed=0), seed)
    cfg = TrainConfig(lr=0.05, batch_size=32, max_epochs=max_epochs, seed=1, **kw)
    cb = None if callback is None else (lambda epoch, row: callback(row))
    return net, train_sgd(net, *data, cfg, run_dir=run_dir, progress=False, callback=cb)


def _hf(data, run_dir, max_epochs=5, callback=None, seed=0, **kw):
    X = data[0]
    net = _scramble(FeatureNet(MLP(12, (8, 8), 3, activation="sigmoid", seed=0), X.mean(0), X.std(0)), seed)
    cfg = HFConfig(max_steps=max_epochs, max_cg_iters=20, **kw)
    return net, train_hf(net, *data, cfg, run_dir=run_dir, progress=False, callback=callback)


RUNNERS = {"sgd": _sgd, "hf": _hf}


def _rows(path):
    with open(path, newline="") as fh:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(fh)]


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_killed_run_resumes_bitwise(runner, data, tmp_path):
    train = RUNNERS[runner]
    whole, r_whole = train(data, tmp_path / "a")

    class Killed(Exception):
        pass

    def kill_after_2(row):
        if row["epoch"] == 2:
            raise Killed

    with pytest.raises(Killed):
        train(data, tmp_path / "b", callback=kill_after_2)
    resumed, r_resumed = train(data, tmp_path / "b", seed=99)  # weights must come from the checkpoint
    for (k, a), (_, b) in zip(whole.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k
    assert r_resumed.best_epoch == r_whole.best_epoch and r_resumed.epochs_run == 5
    assert _rows(tmp_path / "a" / "train_log.csv") == _rows(tmp_path / "b" / "train_log.csv")
    ca, cb = load_checkpoint(tmp_path / "a" / "checkpoint.pt"), load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert ca["runner"] == cb["runner"] == runner and ca["matmul"] in ("onednn", "default")
    for k in ca["model"]:
        assert torch.equal(ca["model"][k], cb["model"][k])


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_one_result_log_and_checkpoint_format(runner, data, tmp_path):
    _, res = RUNNERS[runner](data, tmp_path, max_epochs=3)
    assert isinstance(res, TrainResult) and res.runner == runner
    assert 1 <= res.best_epoch <= res.epochs_run == 3 and 0.0 <= res.best_valid_acc <= 1.0
    assert res.stop_reason == "max_epochs" and not res.stopped_early
    best = res.history[res.best_epoch - 1]
    assert best["valid_loss"] == res.best_valid_loss and best["valid_acc"] == res.best_valid_acc
    assert all(tuple(row)[:len(LOG_COLUMNS)] == LOG_COLUMNS for row in res.history)
    with open(tmp_path / "train_log.csv", newline="") as fh:
        assert tuple(next(csv.reader(fh)))[:len(LOG_COLUMNS)] == LOG_COLUMNS
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["runner"] == runner and saved["best_epoch"] == res.best_epoch and "config" in saved
    unit = "HF step" if runner == "hf" else "epoch"
    assert res.summary().startswith(f"best {unit} {res.best_epoch} of 3 (max {unit.split()[-1]}s), valid loss ")
    # a finished run returns its stored result at once
    _, again = RUNNERS[runner](data, tmp_path, max_epochs=3, seed=5)
    assert again.history == res.history


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_other_data_or_settings_are_refused_in_one_line(runner, data, tmp_path):
    train = RUNNERS[runner]
    train(data, tmp_path, max_epochs=1)
    Xt, yt, Xv, yv = data
    with pytest.raises(ConfigError, match=r"belongs to another run \(the training/validation data differ"):
        train((Xt + 1, yt, Xv, yv), tmp_path, max_epochs=2)
    other = {"sgd": {"frames_per_epoch": 100}, "hf": {"init_damping": 3.0}}[runner]
    key = next(iter(other))
    with pytest.raises(ConfigError, match=f"{key}: .* in the checkpoint, .* now") as exc:
        train(data, tmp_path, max_epochs=2, **other)
    assert "\n" not in str(exc.value)


def test_patience_and_summary_wording(data):
    Xt, yt, Xv, _ = data
    noise = np.random.default_rng(3).integers(0, 3, size=len(Xv))  # unlearnable validation labels
    net = MLP(12, (10,), 3, seed=0)
    res = train_sgd(net, Xt, yt, Xv, noise, TrainConfig(lr=0.2, batch_size=16, max_epochs=60, patience=2),
                    progress=False)
    assert res.stop_reason == "patience" and res.stopped_early and res.epochs_run == res.best_epoch + 2
    assert f"of {res.epochs_run} (patience)" in res.summary()


def test_hf_without_validation_keeps_the_last_weights(data):
    Xt, yt = data[0], data[1]
    net = MLP(12, (6,), 3, activation="sigmoid", seed=0)
    res = train_hf(net, Xt, yt, config=HFConfig(max_steps=2, max_cg_iters=10, patience=1), progress=False)
    assert res.epochs_run == 2 and res.best_epoch == 2 and math.isnan(res.best_valid_loss)
    assert res.summary().startswith("2 HF steps (max steps), no validation; objective ")

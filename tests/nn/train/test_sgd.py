"""Tests of the SGD runner (mirlearn.nn.train.sgd), losses, evaluation and mirlearn.nn.data on tiny nets
and separable Gaussian blobs."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import mirlearn.nn.train.sgd as sgd_mod
from mirlearn.errors import ConfigError, TrainingError
from mirlearn.nn.data import FrameBatches, epoch_permutation
from mirlearn.nn.mlp import MLP
from mirlearn.nn.train import (
    LOG_COLUMNS,
    TrainConfig,
    evaluate,
    load_checkpoint,
    loss_fn,
    train_sgd,
)


def _blobs(rng: np.random.Generator, n: int, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, len(centres), n)
    X = (centres[y] + rng.normal(size=(n, centres.shape[1]))).astype(np.float32)
    return X, y.astype(np.int64)


@pytest.fixture
def blobs(rng):
    """Three well-separated 20-D Gaussian blobs: 600 training and 300 validation frames."""
    centres = rng.normal(size=(3, 20)) * 1.5
    Xt, yt = _blobs(rng, 600, centres)
    Xv, yv = _blobs(rng, 300, centres)
    return Xt, yt, Xv, yv


def _net(seed: int = 0, **kw) -> MLP:
    args = dict(n_in=20, hidden=(16, 16, 16), n_out=3, dropout=0.25, seed=seed)
    args.update(kw)
    return MLP(**args)


def _cfg(**kw) -> TrainConfig:
    args = dict(lr=0.05, batch_size=32, max_epochs=5, patience=10, seed=0)
    args.update(kw)
    return TrainConfig(**args)


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


# --- loss and evaluation ---------------------------------------------------------------------


def test_loss_fn_softmax_and_sigmoid():
    torch.manual_seed(0)
    z = torch.randn(6, 4)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    ce = -torch.log_softmax(z, 1)[torch.arange(6), y].mean()
    torch.testing.assert_close(loss_fn(z, y, "softmax"), ce)
    torch.testing.assert_close(loss_fn(z, y, "softmax", reduction="sum"), 6 * ce)
    t = torch.nn.functional.one_hot(y, 4).float()
    p = torch.sigmoid(z)
    bce = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).sum(1)  # summed over outputs
    torch.testing.assert_close(loss_fn(z, y, "sigmoid"), bce.mean())
    torch.testing.assert_close(loss_fn(z, y, "sigmoid", reduction="sum"), bce.sum())
    with pytest.raises(ValueError):
        loss_fn(z, y, "hinge")


def test_evaluate_is_batch_size_independent_and_keeps_the_mode(blobs):
    Xt, yt, Xv, yv = blobs
    net = _net().train()
    l1, a1 = evaluate(net, Xv, yv, "softmax", batch_size=7)
    l2, a2 = evaluate(net, Xv, yv, "softmax", batch_size=1000)
    assert net.training
    assert l1 == pytest.approx(l2, rel=1e-5) and a1 == a2
    with torch.no_grad():
        z = net.eval()(torch.from_numpy(Xv))
    assert a1 == pytest.approx(float((z.argmax(1).numpy() == yv).mean()))
    assert l1 == pytest.approx(float(loss_fn(z, torch.from_numpy(yv))), rel=1e-5)


# --- batches ---------------------------------------------------------------------------------


def test_frame_batches_cover_every_frame_once_per_epoch():
    X = np.arange(103 * 2, dtype=np.float32).reshape(103, 2)
    y = np.arange(103)
    fb = FrameBatches(X, y, batch_size=10, seed=4)
    assert len(fb) == 11
    seen = []
    for xb, yb in fb.epoch(1):
        idx = yb.numpy()
        assert np.all(np.diff(idx) > 0)  # sorted inside the batch (memmap locality)
        np.testing.assert_array_equal(xb.numpy(), X[idx])
        seen.append(idx)
    assert [len(s) for s in seen] == [10] * 10 + [3]
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(103))
    again = np.concatenate([yb.numpy() for _, yb in fb.epoch(1)])
    np.testing.assert_array_equal(again, np.concatenate(seen))  # (seed, epoch) fixes the order
    other = np.concatenate([yb.numpy() for _, yb in fb.epoch(2)])
    assert not np.array_equal(other, again)
    assert not np.array_equal(epoch_permutation(103, 4, 1), epoch_permutation(103, 5, 1))


def test_frames_per_epoch_draws_a_fresh_uniform_sample_each_epoch():
    X = np.arange(100 * 2, dtype=np.float32).reshape(100, 2)
    y = np.arange(100)
    fb = FrameBatches(X, y, batch_size=8, seed=1, frames_per_epoch=30)
    assert fb.n == 30 and len(fb) == 4
    epochs = [np.concatenate([yb.numpy() for _, yb in fb.epoch(e)]) for e in range(1, 21)]
    for e, seen in enumerate(epochs, start=1):
        assert len(seen) == len(np.unique(seen)) == 30  # no frame twice within an epoch
        # the head of the permutation of *all* frames, so the sample is uniform over them
        np.testing.assert_array_equal(np.sort(seen), np.sort(epoch_permutation(100, 1, e)[:30]))
    assert not np.array_equal(np.sort(epochs[0]), np.sort(epochs[1]))
    assert len(np.unique(np.concatenate(epochs))) == 100  # over the epochs every frame is seen
    # a cap at or above the data size changes nothing
    full = FrameBatches(X, y, batch_size=8, seed=1)
    capped = FrameBatches(X, y, batch_size=8, seed=1, frames_per_epoch=500)
    for (_, a), (_, b) in zip(full.epoch(3), capped.epoch(3)):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="frames_per_epoch"):
        FrameBatches(X, y, batch_size=8, frames_per_epoch=0)


# --- training --------------------------------------------------------------------------------


@pytest.mark.parametrize("activation, loss", [("relu", "softmax"), ("relu", "sigmoid"), ("sigmoid", "softmax")])
def test_training_reaches_high_accuracy_on_blobs(blobs, activation, loss):
    Xt, yt, Xv, yv = blobs
    net = _net(activation=activation, dropout=0.25 if activation == "relu" else 0.0)
    lr = 0.05 if activation == "relu" else 0.5  # sigmoid nets learn slowly with small steps
    res = train_sgd(net, Xt, yt, Xv, yv, _cfg(lr=lr, max_epochs=15, loss=loss), progress=False)
    assert res.best_valid_acc > 0.95
    loss_now, acc_now = evaluate(net, Xv, yv, loss)
    assert loss_now == pytest.approx(res.best_valid_loss, rel=1e-6)  # best weights are in the model
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]


def test_early_stopping_with_scripted_validation_losses(blobs, monkeypatch):
    Xt, yt, Xv, yv = blobs
    script = iter([1.0, 0.5, 0.7, 0.6, 0.8, 0.4, 0.3])
    monkeypatch.setattr(sgd_mod, "evaluate", lambda *a, **k: (next(script), 0.5))
    snapshots = {}
    net = _net()
    res = train_sgd(net, Xt, yt, Xv, yv, _cfg(max_epochs=20, patience=3),
                    progress=False, callback=lambda e, row: snapshots.setdefault(e, _weights(net)))
    # Epoch 2 is best; 3, 4, 5 do not beat it (0.6 > 0.5) so patience 3 stops after epoch 5.
    assert res.best_epoch == 2 and res.best_valid_loss == 0.5
    assert res.epochs_run == 5 and res.stopped_early
    assert [r["valid_loss"] for r in res.history] == [1.0, 0.5, 0.7, 0.6, 0.8]
    _assert_same_weights(_weights(net), snapshots[2])
    assert not all(torch.equal(snapshots[5][k], snapshots[2][k]) for k in snapshots[2])


def test_early_stopping_on_a_validation_set_that_gets_worse(blobs):
    # Validation labels shifted by one class: the better the net learns the true classes, the
    # higher its validation loss, so the best epoch is early and patience ends the run.
    Xt, yt, Xv, yv = blobs
    snapshots = {}
    net = _net()
    res = train_sgd(net, Xt, yt, Xv, (yv + 1) % 3, _cfg(max_epochs=30, patience=3),
                    progress=False, callback=lambda e, row: snapshots.setdefault(e, _weights(net)))
    assert res.stopped_early and res.epochs_run == res.best_epoch + 3 < 30
    losses = [r["valid_loss"] for r in res.history]
    assert res.best_valid_loss == min(losses) == losses[res.best_epoch - 1]
    _assert_same_weights(_weights(net), snapshots[res.best_epoch])


def test_same_seed_same_weights_other_seed_other_weights(blobs):
    Xt, yt, Xv, yv = blobs
    runs = []
    for seed in (0, 0, 1):
        net = _net()
        train_sgd(net, Xt, yt, Xv, yv, _cfg(max_epochs=3, seed=seed), progress=False)
        runs.append(_weights(net))
    _assert_same_weights(runs[0], runs[1])
    assert not torch.equal(runs[0]["layers.0.weight"], runs[2]["layers.0.weight"])


def test_dropout_noise_does_not_touch_the_global_rng(blobs):
    Xt, yt, Xv, yv = blobs

    class Wrapped(nn.Module):  # e.g. FeatureNet: the MLP is a submodule
        def __init__(self):
            super().__init__()
            self.mlp = _net()

        def forward(self, x):
            return self.mlp(x)

    weights = []
    for _ in range(2):
        torch.manual_seed(123)
        net = Wrapped()
        train_sgd(net, Xt, yt, Xv, yv, _cfg(max_epochs=2), progress=False)
        weights.append(_weights(net))
        after = torch.rand(1)
        torch.manual_seed(123)
        assert torch.equal(after, torch.rand(1))  # the trainer drew nothing from it
        assert net.mlp.generator is None  # and gave the module back as it was
    _assert_same_weights(*weights)


def test_memmap_input_gives_the_same_weights(blobs, tmp_path):
    Xt, yt, Xv, yv = blobs
    np.save(tmp_path / "Xt.npy", Xt)
    np.save(tmp_path / "Xv.npy", Xv)
    mt, mv = np.load(tmp_path / "Xt.npy", mmap_mode="r"), np.load(tmp_path / "Xv.npy", mmap_mode="r")
    a, b = _net(), _net()
    ra = train_sgd(a, Xt, yt, Xv, yv, _cfg(max_epochs=2), progress=False)
    rb = train_sgd(b, mt, yt, mv, yv, _cfg(max_epochs=2), progress=False)
    _assert_same_weights(_weights(a), _weights(b))
    assert ra.best_valid_loss == rb.best_valid_loss


def test_resume_after_a_kill_equals_an_uninterrupted_run(blobs, tmp_path):
    Xt, yt, Xv, yv = blobs
    straight = _net()
    r_straight = train_sgd(straight, Xt, yt, Xv, yv, _cfg(max_epochs=5), run_dir=tmp_path / "a", progress=False)

    def kill_after_3(epoch, row):
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_sgd(_net(), Xt, yt, Xv, yv, _cfg(max_epochs=5), run_dir=tmp_path / "b", progress=False, callback=kill_after_3)
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["progress"]["epoch"] == 3
    resumed = _net()
    epochs_seen = []
    r_resumed = train_sgd(resumed, Xt, yt, Xv, yv, _cfg(max_epochs=5), run_dir=tmp_path / "b", progress=False,
                          callback=lambda e, row: epochs_seen.append(e))
    assert epochs_seen == [4, 5]
    _assert_same_weights(_weights(straight), _weights(resumed))
    _assert_same_weights(load_checkpoint(tmp_path / "a" / "checkpoint.pt")["model"],
                         load_checkpoint(tmp_path / "b" / "checkpoint.pt")["model"])
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(r_straight.history) == strip(r_resumed.history)
    assert (r_straight.best_epoch, r_straight.best_valid_loss) == (r_resumed.best_epoch, r_resumed.best_valid_loss)


def test_a_max_epochs_cut_can_be_extended(blobs, tmp_path):
    Xt, yt, Xv, yv = blobs
    straight = _net()
    train_sgd(straight, Xt, yt, Xv, yv, _cfg(max_epochs=5), progress=False)
    cut = _net()
    r3 = train_sgd(cut, Xt, yt, Xv, yv, _cfg(max_epochs=3), run_dir=tmp_path, progress=False)
    assert r3.epochs_run == 3 and not r3.stopped_early
    more = _net()
    r5 = train_sgd(more, Xt, yt, Xv, yv, _cfg(max_epochs=5), run_dir=tmp_path, progress=False)
    assert r5.epochs_run == 5
    _assert_same_weights(_weights(straight), _weights(more))


def test_a_finished_run_returns_its_stored_result(blobs, tmp_path):
    Xt, yt, Xv, yv = blobs
    net = _net()
    first = train_sgd(net, Xt, yt, Xv, yv, _cfg(max_epochs=3), run_dir=tmp_path, progress=False)
    again_net = _net()
    with torch.no_grad():  # other weights in memory: the stored best weights replace them
        for prm in again_net.parameters():
            prm.zero_()
    calls = []
    again = train_sgd(again_net, Xt, yt, Xv, yv, _cfg(max_epochs=3), run_dir=tmp_path, progress=False,
                      callback=lambda e, row: calls.append(e))
    assert calls == [] and again == first
    assert (tmp_path / "result.json").exists()
    _assert_same_weights(_weights(net), _weights(again_net))


def test_resume_refuses_other_settings_or_data(blobs, tmp_path):
    Xt, yt, Xv, yv = blobs
    train_sgd(_net(), Xt, yt, Xv, yv, _cfg(max_epochs=2), run_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="lr"):
        train_sgd(_net(), Xt, yt, Xv, yv, _cfg(max_epochs=4, lr=0.1), run_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="model"):
        train_sgd(_net(dropout=0.5), Xt, yt, Xv, yv, _cfg(max_epochs=4), run_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="data"):
        train_sgd(_net(), Xt + 1, yt, Xv, yv, _cfg(max_epochs=4), run_dir=tmp_path, progress=False)


def test_non_finite_loss_raises_and_keeps_the_last_good_checkpoint(blobs, tmp_path):
    Xt, yt, Xv, yv = blobs
    net = _net()

    def poison_after_2(epoch, row):
        if epoch == 2:
            with torch.no_grad():
                net.layers[0].weight.fill_(float("nan"))

    with pytest.raises(TrainingError, match=r"epoch 3, batch 1 of 19.*epoch 2"):
        train_sgd(net, Xt, yt, Xv, yv, _cfg(max_epochs=5), run_dir=tmp_path, progress=False, callback=poison_after_2)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["progress"]["epoch"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())
    with open(tmp_path / "train_log.csv") as f:
        assert len(list(csv.DictReader(f))) == 2
    # Nothing computed is lost: a re-call resumes from the good checkpoint.
    res = train_sgd(_net(), Xt, yt, Xv, yv, _cfg(max_epochs=4), run_dir=tmp_path, progress=False)
    assert res.epochs_run == 4 and math.isfinite(res.best_valid_loss)


def test_csv_log_columns_and_rows(blobs, tmp_path):
    Xt, yt, Xv, yv = blobs
    res = train_sgd(_net(), Xt, yt, Xv, yv, _cfg(max_epochs=3), run_dir=tmp_path, progress=False)
    with open(tmp_path / "train_log.csv") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert LOG_COLUMNS == ("epoch", "train_loss", "valid_loss", "valid_acc", "seconds")
    assert tuple(reader.fieldnames) == (*LOG_COLUMNS, "lr")  # the SGD runner's field follows
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    for r, h in zip(rows, res.history):
        assert float(r["valid_loss"]) == pytest.approx(h["valid_loss"], rel=1e-9)
        assert 0.0 <= float(r["valid_acc"]) <= 1.0 and float(r["seconds"]) > 0 and float(r["lr"]) == 0.05
    assert not list(Path(tmp_path).glob(".*tmp*"))  # no temporary files left behind
    assert res.runner == "sgd" and res.stop_reason == "max_epochs" and not res.stopped_early
    assert res.summary() == (f"best epoch {res.best_epoch} of 3 (max epochs), valid loss {res.best_valid_loss:.4f}, "
                             f"valid frame acc {res.best_valid_acc:.1%}")


def test_bad_input_fails_before_training(blobs):
    Xt, yt, Xv, yv = blobs
    with pytest.raises(ValueError, match="training labels"):
        train_sgd(_net(), Xt, yt + 3, Xv, yv, _cfg(), progress=False)
    with pytest.raises(ValueError, match="validation frames have 19 dims"):
        train_sgd(_net(), Xt, yt, Xv[:, :19], yv, _cfg(), progress=False)
    with pytest.raises(ConfigError):
        TrainConfig(loss="hinge")
    with pytest.raises(ConfigError, match="batchsize"):
        TrainConfig.from_dict({"batchsize": 3})


def test_frames_per_epoch_trains_on_fewer_frames_and_refuses_another_on_resume(blobs, tmp_path):
    Xt, yt, Xv, yv = blobs
    res = train_sgd(_net(), Xt, yt, Xv, yv, _cfg(max_epochs=3, frames_per_epoch=100), run_dir=tmp_path / "a", progress=False)
    assert res.epochs_run == 3
    # same seed, capped and uncapped: different weights (the capped run saw 100 frames an epoch)
    a, b = _net(), _net()
    train_sgd(a, Xt, yt, Xv, yv, _cfg(max_epochs=1, frames_per_epoch=100), progress=False)
    train_sgd(b, Xt, yt, Xv, yv, _cfg(max_epochs=1), progress=False)
    wa, wb = _weights(a), _weights(b)
    assert any(not torch.equal(wa[k], wb[k]) for k in wa)
    with pytest.raises(ConfigError, match="frames_per_epoch"):
        train_sgd(_net(), Xt, yt, Xv, yv, _cfg(max_epochs=4, frames_per_epoch=200), run_dir=tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match="frames_per_epoch"):
        TrainConfig(frames_per_epoch=0)

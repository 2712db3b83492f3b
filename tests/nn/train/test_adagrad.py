"""AdaGrad as an optimiser of the minibatch runners (MLP frames, CNN patches)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from mirlearn.config import load_config
from mirlearn.errors import ConfigError
from mirlearn.nn.data import FrameBatches
from mirlearn.nn.fastmath import fast_cpu_matmul
from mirlearn.nn.mlp import MLP
from mirlearn.nn.train import PatchTrainConfig, TrainConfig, evaluate, load_checkpoint, loss_fn, train_sgd
from mirlearn.nn.train.adagrad import make_adagrad
from mirlearn.nn.train.patches import make_optimizer


def _blobs(rng, n, centres):
    y = rng.integers(0, len(centres), n)
    return (centres[y] + rng.normal(size=(n, centres.shape[1]))).astype(np.float32), y.astype(np.int64)


@pytest.fixture
def blobs():
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(3, 20)) * 1.5
    return (*_blobs(rng, 600, centres), *_blobs(rng, 300, centres))


def _cfg(**kw) -> TrainConfig:
    args = dict(lr=0.05, batch_size=32, max_epochs=4, patience=10, seed=0, optimizer="adagrad")
    args.update(kw)
    return TrainConfig(**args)


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_each_step_is_torch_optim_adagrads_step(blobs):
    Xt, yt, Xv, yv = blobs
    cfg = _cfg(max_epochs=2, adagrad_initial_accumulator=0.1, adagrad_eps=1e-6)
    net = MLP(20, (16, 16), 3, seed=0)
    ref = copy.deepcopy(net)
    train_sgd(net, Xt, yt, Xv, yv, cfg, progress=False, epoch_lines=False)
    # The same batches through torch.optim.Adagrad, by the book (backward, step, zero_grad).
    opt = torch.optim.Adagrad(ref.parameters(), lr=0.05, initial_accumulator_value=0.1, eps=1e-6)
    batches = FrameBatches(Xt, yt, 32, seed=0)
    ref.train()
    with fast_cpu_matmul(torch.device("cpu")):  # the matmul path the training loop takes
        for epoch in (1, 2):
            for xb, yb in batches.epoch(epoch):
                opt.zero_grad()
                loss_fn(ref(xb), yb, "softmax").backward()
                opt.step()
    _same(net.state_dict(), ref.state_dict())


def test_the_first_step_is_lr_times_g_over_root_of_accumulator_plus_g_squared(blobs):
    Xt, yt, _, _ = blobs
    net = MLP(20, (8,), 3, seed=1)
    X, y = torch.from_numpy(Xt[:64]), torch.from_numpy(yt[:64])
    g = torch.autograd.grad(loss_fn(net(X), y, "softmax"), list(net.parameters()))
    before = [p.detach().clone() for p in net.parameters()]
    opt = make_adagrad(net.parameters(), 0.1, initial_accumulator=0.5, eps=1e-3)
    for p, gi in zip(net.parameters(), g):
        p.grad = gi
    opt.step()
    for p, p0, gi in zip(net.parameters(), before, g):
        expected = p0 - 0.1 * gi / (torch.sqrt(0.5 + gi * gi) + 1e-3)
        torch.testing.assert_close(p.detach(), expected, rtol=1e-6, atol=1e-7)


def test_resume_after_a_kill_is_bitwise_the_uninterrupted_run(blobs, tmp_path):
    Xt, yt, Xv, yv = blobs
    straight = MLP(20, (16, 16, 16), 3, dropout=0.25, seed=0)
    r_straight = train_sgd(straight, Xt, yt, Xv, yv, _cfg(), run_dir=tmp_path / "a", progress=False,
                           epoch_lines=False)

    def kill_after_2(epoch, row):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_sgd(MLP(20, (16, 16, 16), 3, dropout=0.25, seed=0), Xt, yt, Xv, yv, _cfg(), run_dir=tmp_path / "b",
                  progress=False, epoch_lines=False, callback=kill_after_2)
    ckpt = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert ckpt["runner"] == "adagrad" and ckpt["config"]["optimizer"] == "adagrad"
    sums = [s["sum"] for s in ckpt["runner_state"]["optimizer"]["state"].values()]
    assert sums and all(float(s.min()) >= 0 for s in sums) and any(float(s.max()) > 0 for s in sums)
    resumed = MLP(20, (16, 16, 16), 3, dropout=0.25, seed=0)
    r_resumed = train_sgd(resumed, Xt, yt, Xv, yv, _cfg(), run_dir=tmp_path / "b", progress=False,
                          epoch_lines=False)
    _same(straight.state_dict(), resumed.state_dict())
    _same(load_checkpoint(tmp_path / "a" / "checkpoint.pt")["runner_state"]["optimizer"]["state"][0],
          load_checkpoint(tmp_path / "b" / "checkpoint.pt")["runner_state"]["optimizer"]["state"][0])
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(r_straight.history) == strip(r_resumed.history)


def test_a_run_of_one_optimiser_never_resumes_as_the_other(blobs, tmp_path):
    Xt, yt, Xv, yv = blobs
    train_sgd(MLP(20, (8,), 3, seed=0), Xt, yt, Xv, yv, _cfg(max_epochs=1, optimizer="sgd"), run_dir=tmp_path,
              progress=False, epoch_lines=False)
    with pytest.raises(ConfigError, match="optimiser 'sgd' in the checkpoint, 'adagrad' now"):
        train_sgd(MLP(20, (8,), 3, seed=0), Xt, yt, Xv, yv, _cfg(max_epochs=2), run_dir=tmp_path, progress=False)


def test_adagrad_learns_a_separable_problem(blobs):
    Xt, yt, Xv, yv = blobs
    net = MLP(20, (32, 32, 32), 3, seed=0)
    res = train_sgd(net, Xt, yt, Xv, yv, _cfg(max_epochs=8, lr=0.02), progress=False, epoch_lines=False)
    assert res.runner == "adagrad" and "best epoch" in res.summary()
    assert evaluate(net, Xv, yv)[1] > 0.9


def test_plain_sgd_settings_and_checkpoints_read_as_before():
    # No new key in an SGD run's settings: checkpoints written before AdaGrad still resume.
    assert set(TrainConfig().to_dict()) == {"lr", "batch_size", "max_epochs", "patience", "seed", "device", "loss",
                                            "num_threads", "eval_batch_size", "frames_per_epoch"}
    d = TrainConfig(optimizer="adagrad", adagrad_eps=1e-8).to_dict()
    assert d["optimizer"] == "adagrad" and d["adagrad_eps"] == 1e-8 and "adagrad_initial_accumulator" not in d
    assert "adagrad_initial_accumulator" not in PatchTrainConfig().to_dict()


@pytest.mark.parametrize("kw, named", [
    ({"optimizer": "adam"}, "optimizer must be one of sgd, adagrad"),
    ({"optimizer": "sgd", "adagrad_eps": 1e-8}, "read only with optimizer 'adagrad'"),
    ({"adagrad_eps": 0.0}, "adagrad_eps must be a finite number > 0"),
    ({"adagrad_eps": float("nan")}, "adagrad_eps"),
    ({"adagrad_initial_accumulator": -0.1}, "adagrad_initial_accumulator must be a finite number >= 0"),
])
def test_bad_settings_are_one_line(kw, named):
    with pytest.raises(ConfigError, match=named):
        _cfg(**kw)


@pytest.mark.parametrize("over, named", [
    ({"training": {"optimizer": "adagrad", "adagrad_eps": -1.0}}, "training.adagrad_eps=-1.0: must be > 0"),
    ({"training": {"optimizer": "adagrad", "adagrad_initial_accumulator": -2}},
     "training.adagrad_initial_accumulator=-2.0: must be >= 0"),
    ({"training": {"adagrad_eps": 1e-8}}, "training.adagrad_eps=1e-08: is read only with training.optimizer = "
                                          "'adagrad' (it is 'sgd')"),
    ({"training": {"optimizer": "adagrad", "adagrad_eps": "small"}}, "training.adagrad_eps"),
    ({"training": {"optimizer": "adagrd"}}, "must be one of sgd, hf, adagrad"),
])
def test_config_errors_name_the_key(over, named):
    with pytest.raises(ConfigError) as e:
        load_config("demo", over)
    assert named in str(e.value) and "\n" not in str(e.value)


def test_configurations_take_adagrad_for_both_families():
    cfg = load_config("demo", {"training": {"optimizer": "adagrad", "adagrad_initial_accumulator": 0.1}})
    assert cfg.to_dict()["training"]["adagrad_initial_accumulator"] == 0.1
    assert "adagrad_eps" not in cfg.to_dict()["training"]
    assert "adagrad_eps" not in load_config("demo").to_dict()["training"]
    cnn = load_config("mirex2015", {"training": {"optimizer": "adagrad", "adagrad_eps": 1e-8, "lr": 0.01}})
    assert cnn.training.optimizer == "adagrad"


def test_the_cnn_optimiser_is_adagrad_with_its_settings():
    net = torch.nn.Linear(4, 2)
    opt = make_optimizer(net.parameters(), PatchTrainConfig(optimizer="adagrad", lr=0.02, weight_decay=1e-4,
                                                             adagrad_initial_accumulator=0.3, adagrad_eps=1e-7))
    assert isinstance(opt, torch.optim.Adagrad)
    g = opt.param_groups[0]
    assert (g["lr"], g["weight_decay"], g["initial_accumulator_value"], g["eps"], g["lr_decay"]) == \
        (0.02, 1e-4, 0.3, 1e-7, 0.0)
    with pytest.raises(ConfigError, match="read only with optimizer 'adagrad'"):
        PatchTrainConfig(optimizer="adam", adagrad_eps=1e-7)

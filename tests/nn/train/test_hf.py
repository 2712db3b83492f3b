"""train_hf end to end: exact steps on quadratics, convergence, resumption, errors (small nets).

HF runs as an epoch runner of the one training loop: the result, ``train_log.csv``,
``checkpoint.pt`` and ``result.json`` are the loop's (as for SGD)."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from mirlearn.errors import ConfigError, TrainingError
from mirlearn.nn.hf import GaussNewton, Objective, ParamSpec, get_loss, pcg, sparse_init_
from mirlearn.nn.train import HFConfig, train_hf
from mirlearn.nn.train import LOG_COLUMNS, TrainResult, load_checkpoint


def sigmoid_net(n_in: int = 10, hidden: int = 8, n_out: int = 3, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.Sigmoid(),
                               torch.nn.Linear(hidden, hidden), torch.nn.Sigmoid(),
                               torch.nn.Linear(hidden, n_out))


@pytest.fixture
def frames(rng):
    """600 float32 frames of 10 dims, 3 classes with some structure."""
    centres = rng.normal(size=(3, 10))
    y = rng.integers(0, 3, size=600)
    X = (centres[y] + rng.normal(size=(600, 10))).astype(np.float32)
    return X, y


def read_log(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_one_cg_solve_is_the_exact_step_on_a_quadratic(rng):
    """Linear outputs + squared error: f is quadratic, G its Hessian; λ = 0, rate 1 → optimum."""
    X = rng.normal(size=(200, 5))
    y = rng.integers(0, 3, size=200)
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3).double()
    spec = ParamSpec.from_module(model)
    theta = spec.from_module_values(model)
    obj = Objective(model, "mse", X, y, n_out=3, chunk_rows=64)
    f0, g, _ = obj.value_and_grad(theta)
    op = GaussNewton(model, theta, list(obj.chunks(np.arange(200))), "mse")
    res = pcg(op.matvec, g, max_iters=50, rel_tol=0.0, atol=1e-13)
    theta1 = theta + res.x
    # least squares onto one-hot targets, bias as a column of ones
    A = np.hstack([X, np.ones((200, 1))])
    sol = np.linalg.lstsq(A, np.eye(3)[y], rcond=None)[0]
    W, b = spec.unflatten(theta1)["weight"], spec.unflatten(theta1)["bias"]
    assert np.abs(W.numpy() - sol[:5].T).max() < 1e-9 and np.abs(b.numpy() - sol[5]).max() < 1e-9
    assert obj.value_and_grad(theta1)[1].norm() < 1e-12


def test_rho_uses_undamped_model_from_theta(rng):
    """On a quadratic with the whole set as chunk, the undamped model is exact: ρ = 1 for any λ,
    even with warm starts (a model measured from the warm start, or with λ, would not give 1)."""
    X = rng.normal(size=(300, 6))
    y = rng.integers(0, 4, size=300)
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 4).double()
    cfg = HFConfig(loss="mse", n_chunks=1, init_damping=5.0, max_steps=3, weight_cost=1e-3)
    result = train_hf(model, X, y, config=cfg, progress=False)
    rhos = [r["rho"] for r in result.history]
    assert all(abs(rho - 1.0) < 1e-9 for rho in rhos), rhos
    assert [r["damping"] for r in result.history] == pytest.approx([5 * (2 / 3) ** k for k in (1, 2, 3)])


@pytest.mark.parametrize("n_chunks, factor", [(1, 1e-6), (4, 1e-3)])
def test_logistic_regression_converges_in_a_few_steps(rng, n_chunks, factor):
    """Curvature on the whole set: Newton-like, |g| 0.18 → 2e-9 in 8 steps (measured). On a
    quarter of it: G_C ≠ G, linear convergence, about ×0.3 per step."""
    X = rng.normal(size=(2000, 20))
    y = (X @ rng.normal(size=(20, 3)) + rng.normal(size=(2000, 3))).argmax(axis=1)
    torch.manual_seed(0)
    model = torch.nn.Linear(20, 3).double()
    spec = ParamSpec.from_module(model)
    obj = Objective(model, "sigmoid", X, y, n_out=3)
    g0 = float(obj.value_and_grad(spec.from_module_values(model))[1].norm())
    result = train_hf(model, X, y, config=HFConfig(init_damping=1e-3, max_steps=8, n_chunks=n_chunks),
                      progress=False)
    g = float(obj.value_and_grad(spec.from_module_values(model))[1].norm())
    objectives = [r["objective"] for r in result.history]
    assert all(b <= a for a, b in zip(objectives, objectives[1:]))
    assert all(r["rate"] == 1.0 for r in result.history)
    assert g < factor * g0


def test_sigmoid_net_trains_and_logs(frames, tmp_path):
    X, y = frames
    model = sigmoid_net()
    cfg = HFConfig(max_steps=5, max_cg_iters=50)
    result = train_hf(model, X[:450], y[:450], X[450:], y[450:], cfg, run_dir=tmp_path, progress=False)
    assert isinstance(result, TrainResult) and result.runner == "hf"
    assert result.epochs_run == 5 and result.stop_reason == "max_epochs" and not result.stopped_early
    assert result.history[-1]["objective"] < result.history[0]["objective_before"]
    rows = read_log(tmp_path / "train_log.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    assert list(rows[0]) == [*LOG_COLUMNS, "objective", "objective_before", "damping", "cg_iters",
                             "chosen_iter", "rate", "rho"]
    assert float(rows[-1]["objective"]) == result.history[-1]["objective"]
    assert all(1 <= int(r["chosen_iter"]) <= int(r["cg_iters"]) <= 50 for r in rows)
    assert json.loads((tmp_path / "result.json").read_text())["runner"] == "hf"
    assert model.training  # eval during HF, the caller's mode afterwards
    ck = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ck["runner"] == "hf" and ck["progress"]["epoch"] == 5
    assert ck["runner_state"]["lam"] == result.history[-1]["damping"]
    # default monitor 'error': the best step has the highest frame accuracy (the first such)
    accs = [r["valid_acc"] for r in result.history]
    assert result.best_epoch == accs.index(max(accs)) + 1 and result.best_valid_acc == max(accs)
    summary = result.summary()
    assert summary.startswith(f"best HF step {result.best_epoch} of 5 (max steps), valid loss") and "objective" in summary


def test_resumed_run_equals_uninterrupted_run(frames, tmp_path):
    X, y = frames
    cfg = HFConfig(max_steps=4, max_cg_iters=30, weight_cost=1e-4)
    whole = sigmoid_net()
    train_hf(whole, X[:450], y[:450], X[450:], y[450:], cfg, run_dir=tmp_path / "a", progress=False)

    class Killed(Exception):
        pass

    def kill_after_two(record):
        if record["epoch"] == 2:
            raise Killed

    with pytest.raises(Killed):
        train_hf(sigmoid_net(), X[:450], y[:450], X[450:], y[450:], cfg, run_dir=tmp_path / "b",
                 progress=False, callback=kill_after_two)
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["progress"]["epoch"] == 2
    resumed = sigmoid_net(seed=99)  # other initial weights: they must come from the checkpoint
    result = train_hf(resumed, X[:450], y[:450], X[450:], y[450:], cfg, run_dir=tmp_path / "b",
                      progress=False)
    assert result.epochs_run == 4
    for a, b in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(read_log(tmp_path / "a" / "train_log.csv")) == strip(read_log(tmp_path / "b" / "train_log.csv"))
    ca = load_checkpoint(tmp_path / "a" / "checkpoint.pt")
    cb = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    for key in ca["model"]:
        assert torch.equal(ca["model"][key], cb["model"][key])
        assert torch.equal(ca["progress"]["best_state"][key], cb["progress"]["best_state"][key])
    for key in ("ch", "perm"):
        assert torch.equal(ca["runner_state"][key], cb["runner_state"][key])
    assert ca["runner_state"]["lam"] == cb["runner_state"]["lam"] and ca["runner_state"]["rng"] == cb["runner_state"]["rng"]


def test_callback_returning_true_stops(frames):
    X, y = frames
    result = train_hf(sigmoid_net(), X[:450], y[:450], X[450:], y[450:], HFConfig(max_steps=5, max_cg_iters=10),
                      progress=False, callback=lambda row: row["epoch"] == 2)
    assert result.epochs_run == 2 and result.stop_reason == "callback" and result.stopped_early


def test_resume_refuses_other_settings_or_data(frames, tmp_path):
    X, y = frames
    cfg = HFConfig(max_steps=1, max_cg_iters=10)
    train_hf(sigmoid_net(), X, y, config=cfg, run_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="init_damping: 10.0 in the checkpoint, 1.0 now"):
        train_hf(sigmoid_net(), X, y, config=HFConfig(max_steps=2, max_cg_iters=10, init_damping=1.0),
                 run_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="data differ"):
        train_hf(sigmoid_net(), X[::-1].copy(), y[::-1].copy(), config=cfg, run_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="model"):
        train_hf(sigmoid_net(hidden=9), X, y, config=cfg, run_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="optimiser 'hf' in the checkpoint, 'sgd' now"):
        from mirlearn.nn.mlp import MLP
        from mirlearn.nn.train import TrainConfig, train_sgd
        train_sgd(MLP(10, (8,), 3, seed=0), X.astype(np.float32), y.astype(np.int64), X.astype(np.float32),
                  y.astype(np.int64), TrainConfig(max_epochs=2), run_dir=tmp_path, progress=False)
    # more steps is a legitimate resumption
    assert train_hf(sigmoid_net(), X, y, config=HFConfig(max_steps=2, max_cg_iters=10),
                    run_dir=tmp_path, progress=False).epochs_run == 2


def test_nonfinite_input_stops_with_checkpoint_kept(frames, tmp_path):
    X, y = frames
    X = X.copy()
    model = sigmoid_net()

    def corrupt_after_first(record):
        X[5, 3] = np.nan  # the data go bad between steps (e.g. a memmap rewritten underneath)

    with pytest.raises(TrainingError, match=r"step 2.*X_train row 5 .*after step 1.*checkpoint \(epoch 1\)"):
        train_hf(model, X, y, config=HFConfig(max_steps=3, max_cg_iters=10), run_dir=tmp_path,
                 progress=False, callback=corrupt_after_first)
    ck = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ck["progress"]["epoch"] == 1
    for k, v in model.state_dict().items():
        assert torch.equal(v, ck["model"][k])
    assert len(read_log(tmp_path / "train_log.csv")) == 1


def test_nonfinite_input_without_run_dir(frames):
    X, y = frames
    X = X.copy()
    X[17] = np.inf
    with pytest.raises(TrainingError, match="row 17.*no checkpoint"):
        train_hf(sigmoid_net(), X, y, config=HFConfig(max_steps=1), progress=False)


@pytest.mark.parametrize("name", ["sigmoid+mse", "softmax+bce", "linear+ce", "hinge"])
def test_unsupported_loss_pairings_are_refused(name):
    with pytest.raises(ConfigError):
        HFConfig(loss=name)
    with pytest.raises(ConfigError):
        get_loss(name)


def test_probability_outputs_are_refused(frames):
    X, y = frames
    model = torch.nn.Sequential(torch.nn.Linear(10, 3), torch.nn.Sigmoid())
    with pytest.raises(ConfigError, match="ends in Sigmoid"):
        train_hf(model, X, y, config=HFConfig(max_steps=1), progress=False)
    with pytest.raises(ConfigError, match="at least 2 classes"):
        train_hf(torch.nn.Linear(10, 1), X, np.zeros(600, dtype=np.int64),
                 config=HFConfig(loss="softmax", max_steps=1), progress=False)


@pytest.mark.parametrize("bad", [dict(n_chunks=0), dict(init_damping=-1.0), dict(max_cg_iters=2.5),
                                 dict(patience=0), dict(monitor="auc"), dict(cg_decay=1.5),
                                 dict(device="gpu0")])
def test_config_validation(bad):
    with pytest.raises(ConfigError):
        HFConfig(**bad)


def test_config_from_dict_refuses_unknown_keys():
    assert HFConfig.from_dict({"max_steps": 3}).max_steps == 3
    with pytest.raises(ConfigError, match="init_lambda"):
        HFConfig.from_dict({"init_lambda": 3.0})


def test_memmap_input_gives_the_same_run(frames, tmp_path):
    X, y = frames
    np.save(tmp_path / "X.npy", X)
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    cfg = HFConfig(max_steps=2, max_cg_iters=20, chunk_rows=256)
    a, b = sigmoid_net(), sigmoid_net()
    train_hf(a, X, y, config=cfg, progress=False)
    train_hf(b, Xm, y, config=cfg, progress=False)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_early_stopping_restores_best(frames):
    X, y = frames
    rng = np.random.default_rng(1)
    y_noise = rng.integers(0, 3, size=150)  # unlearnable validation labels
    model = sigmoid_net()
    result = train_hf(model, X[:450], y[:450], X[450:], y_noise,
                      HFConfig(max_steps=30, max_cg_iters=20, patience=2, monitor="loss"), progress=False)
    assert result.stop_reason == "patience" and result.epochs_run == result.best_epoch + 2
    spec = ParamSpec.from_module(model)
    obj = Objective(model, "sigmoid", X[450:], y_noise, n_out=3)
    assert obj.loss_and_error(spec.from_module_values(model))[0] == pytest.approx(result.best_valid_loss)


def test_dropout_is_off_during_hf_and_mode_restored(frames):
    X, y = frames
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(10, 8), torch.nn.Sigmoid(), torch.nn.Dropout(0.5),
                                torch.nn.Linear(8, 3))
    model.train()
    result = train_hf(model, X, y, config=HFConfig(loss="softmax", max_steps=2, max_cg_iters=20),
                      progress=False)
    assert model.training
    # with dropout active the objective would be noisy and ρ meaningless; it decreased cleanly
    assert result.history[-1]["objective"] < result.history[0]["objective_before"]


def test_sparse_init():
    net = torch.nn.Sequential(torch.nn.Linear(40, 20), torch.nn.Sigmoid(), torch.nn.Linear(20, 10),
                              torch.nn.Sigmoid(), torch.nn.Linear(10, 3))
    sparse_init_(net, generator=torch.Generator().manual_seed(0))
    for layer, k in zip([net[0], net[2], net[4]], [15, 15, 10]):
        assert ((layer.weight != 0).sum(dim=1) == k).all()
        assert (layer.bias == 0).all()
    nz = net[0].weight.detach()[net[0].weight != 0]
    assert 0.7 < float(nz.std()) < 1.3  # N(0, 1)
    other = torch.nn.Sequential(torch.nn.Linear(40, 20))
    sparse_init_(other, generator=torch.Generator().manual_seed(0))
    assert torch.equal(other[0].weight, net[0].weight)

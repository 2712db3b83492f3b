"""Gauss-Newton products, gradient and Fisher diagonal of mirlearn.nn.hf against oracles (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.autograd.functional import hessian, jacobian
from torch.func import functional_call

from mirlearn.nn.hf import GaussNewton, Objective, ParamSpec, fisher_diagonal, gauss_newton_product, get_loss
from mirlearn.nn.hf.fisher import LinearSquaredGrads

LOSSES = ["sigmoid", "softmax", "mse"]


def tiny_net(seed: int = 0) -> torch.nn.Sequential:
    """The spec's 4-5-3-3 sigmoid net, float64."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 3),
                               torch.nn.Sigmoid(), torch.nn.Linear(3, 3)).double()


def logits_fn(model, spec, x):
    return lambda th: functional_call(model, spec.unflatten(th), (x,))


def explicit_gn(model, x, loss_name):
    """G = (1/N) Σ J_nᵀ H_n J_n with J from autograd.jacobian and H_n from autograd.hessian."""
    spec = ParamSpec.from_module(model)
    theta = spec.from_module_values(model)
    f = logits_fn(model, spec, x)
    z = f(theta).detach()
    J = jacobian(f, theta)  # (N, C, P)
    loss = get_loss(loss_name)
    G = torch.zeros(spec.size, spec.size, dtype=torch.float64)
    for n in range(len(x)):
        # any target gives the same H for matching losses; take class 0
        t = loss.targets(torch.zeros(1, dtype=torch.int64), z.shape[1], z.dtype)
        H = hessian(lambda zn: loss.sum(zn.unsqueeze(0), t), z[n])
        G += J[n].T @ H @ J[n]
    return G / len(x), theta, spec


def operator_matrix(op, n):
    eye = torch.eye(n, dtype=torch.float64)
    return torch.stack([op.matvec(eye[k]) for k in range(n)], dim=1)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("block_rows", [7, 3])
def test_gv_matches_explicit_jthj(loss, cache, block_rows):
    model = tiny_net()
    x = torch.randn(7, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    G, theta, spec = explicit_gn(model, x, loss)
    blocks = [(x[i:i + block_rows], None) for i in range(0, 7, block_rows)]
    op = GaussNewton(model, theta, blocks, loss, cache_bytes=math.inf if cache else 0.0)
    assert op.n_cached == (len(blocks) if cache else 0)
    G_op = operator_matrix(op, spec.size)
    assert (G_op - G).abs().max() < 1e-12
    # the one-shot helper agrees too
    v = torch.randn(spec.size, dtype=torch.float64)
    assert (gauss_newton_product(model, x, v, loss, cache=cache) - G @ v).abs().max() < 1e-12


@pytest.mark.parametrize("loss", LOSSES)
def test_gv_symmetric_psd_and_shift(loss):
    model = tiny_net(3)
    x = torch.randn(7, 4, dtype=torch.float64) * 3  # larger inputs: some saturated units
    spec = ParamSpec.from_module(model)
    op = GaussNewton(model, spec.from_module_values(model), [(x, None)], loss)
    gen = torch.Generator().manual_seed(2)
    for _ in range(5):
        u, v = torch.randn(2, spec.size, dtype=torch.float64, generator=gen)
        assert abs(float(u @ op.matvec(v)) - float(v @ op.matvec(u))) < 1e-12
        assert float(v @ op.matvec(v)) >= -1e-14
        assert torch.allclose(op.matvec(v, 0.7), op.matvec(v) + 0.7 * v, rtol=0, atol=1e-14)
    assert torch.linalg.eigvalsh(operator_matrix(op, spec.size)).min() > -1e-12


def manual_rop_gv(model, x, v, loss_name):
    """Martens' computeGV for Sequential(Linear, Sigmoid, ..., Linear): R-forward then backward."""
    layers = [m for m in model if isinstance(m, torch.nn.Linear)]
    spec = ParamSpec.from_module(model)
    vd = spec.unflatten(v)
    names = [n for n, m in model.named_children() if isinstance(m, torch.nn.Linear)]
    acts, Ra = [x], torch.zeros_like(x)
    for k, (name, lin) in enumerate(zip(names, layers)):
        z = acts[-1] @ lin.weight.T + lin.bias
        Rz = Ra @ lin.weight.T + acts[-1] @ vd[f"{name}.weight"].T + vd[f"{name}.bias"]
        if k < len(layers) - 1:
            a = torch.sigmoid(z)
            acts.append(a)
            Ra = Rz * a * (1 - a)
    loss = get_loss(loss_name)
    delta = loss.hvp(loss.curvature(z.detach()), Rz)
    out = {}
    for k in range(len(layers) - 1, -1, -1):
        name, lin = names[k], layers[k]
        out[f"{name}.weight"] = delta.T @ acts[k]
        out[f"{name}.bias"] = delta.sum(0)
        if k > 0:
            delta = (delta @ lin.weight) * acts[k] * (1 - acts[k])
    return spec.flatten(out) / len(x)


@pytest.mark.parametrize("loss", LOSSES)
def test_gv_matches_manual_rop(loss):
    model = tiny_net(5)
    x = torch.randn(7, 4, dtype=torch.float64)
    v = torch.randn(ParamSpec.from_module(model).size, dtype=torch.float64)
    with torch.no_grad():
        expected = manual_rop_gv(model, x, v, loss)
    assert (gauss_newton_product(model, x, v, loss) - expected).abs().max() < 1e-12


@pytest.mark.parametrize("loss", ["sigmoid", "softmax"])
def test_gn_equals_hessian_for_one_layer(loss):
    """z is linear in θ for a single layer, so G is the Hessian of the matching loss."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3).double()
    x = torch.randn(20, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (20,))
    spec = ParamSpec.from_module(model)
    theta = spec.from_module_values(model)
    lf = get_loss(loss)
    t = lf.targets(y, 3, torch.float64)
    H = hessian(lambda th: lf.sum(logits_fn(model, spec, x)(th), t) / len(x), theta)
    G = operator_matrix(GaussNewton(model, theta, [(x, t)], loss), spec.size)
    assert (G - H).abs().max() < 1e-12


def test_jvp_matches_finite_differences():
    model = tiny_net(1)
    spec = ParamSpec.from_module(model)
    theta = spec.from_module_values(model)
    x = torch.randn(7, 4, dtype=torch.float64)
    v = torch.randn(spec.size, dtype=torch.float64)
    f = logits_fn(model, spec, x)
    eps = 1e-6
    with torch.no_grad():
        fd = (f(theta + eps * v) - f(theta - eps * v)) / (2 * eps)
    for cache in (math.inf, 0.0):
        op = GaussNewton(model, theta, [(x[:4], None), (x[4:], None)], "sigmoid", cache_bytes=cache)
        assert (op.jvp(v) - fd).abs().max() < 1e-8


@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_matches_finite_differences(loss, rng):
    model = tiny_net(2)
    X = rng.normal(size=(11, 4))
    y = rng.integers(0, 3, size=11)
    spec = ParamSpec.from_module(model)
    theta = spec.from_module_values(model)
    obj = Objective(model, loss, X, y, n_out=3, weight_cost=0.01, chunk_rows=4)
    f, g, _ = obj.value_and_grad(theta)
    assert f == pytest.approx(obj.value(theta), rel=1e-14)
    eps = 1e-6
    for seed in range(3):
        v = torch.randn(spec.size, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        fd = (obj.value(theta + eps * v) - obj.value(theta - eps * v)) / (2 * eps)
        assert float(g @ v) == pytest.approx(fd, rel=1e-7, abs=1e-9)


def brute_force_fisher(model, X, y, loss_name):
    spec = ParamSpec.from_module(model)
    theta = spec.from_module_values(model)
    lf = get_loss(loss_name)
    x = torch.as_tensor(X)
    t = lf.targets(torch.as_tensor(y), 3, torch.float64)
    d = torch.zeros_like(theta)
    for n in range(len(x)):
        th = theta.clone().requires_grad_(True)
        (gn,) = torch.autograd.grad(lf.sum(logits_fn(model, spec, x[n:n + 1])(th), t[n:n + 1]), th)
        d += gn.square()
    return d / len(x)


@pytest.mark.parametrize("loss", LOSSES)
def test_fisher_linear_fast_path_matches_vmap_and_brute_force(loss, rng):
    model = tiny_net(4)
    X = rng.normal(size=(9, 4))
    y = rng.integers(0, 3, size=9)
    expected = brute_force_fisher(model, X, y, loss)
    assert LinearSquaredGrads.applicable(model, ParamSpec.from_module(model))
    for method in ("linear", "vmap"):
        d = fisher_diagonal(model, X, y, loss, chunk_rows=4, method=method)
        assert (d - expected).abs().max() < 1e-14


class Scaled(torch.nn.Module):
    """A module with a parameter outside nn.Linear: the Fisher needs the vmap path."""

    def __init__(self) -> None:
        super().__init__()
        self.body = tiny_net(6)
        self.scale = torch.nn.Parameter(torch.tensor([1.5], dtype=torch.float64))

    def forward(self, x):
        return self.body(x) * self.scale


def test_fisher_falls_back_to_vmap_for_other_modules(rng):
    model = Scaled()
    X = rng.normal(size=(8, 4))
    y = rng.integers(0, 3, size=8)
    assert not LinearSquaredGrads.applicable(model, ParamSpec.from_module(model))
    d = fisher_diagonal(model, X, y, "sigmoid", chunk_rows=3)
    assert (d - brute_force_fisher(model, X, y, "sigmoid")).abs().max() < 1e-14


def test_fisher_falls_back_when_a_layer_is_shared(rng):
    """A Linear used twice: per-case gradients are not δaᵀ of one call, so vmap takes over."""
    torch.manual_seed(0)
    shared = torch.nn.Linear(4, 4).double()
    model = torch.nn.Sequential(shared, torch.nn.Sigmoid(), shared, torch.nn.Sigmoid(),
                                torch.nn.Linear(4, 3).double())
    X = rng.normal(size=(6, 4))
    y = rng.integers(0, 3, size=6)
    d = fisher_diagonal(model, X, y, "softmax", chunk_rows=4)
    assert (d - brute_force_fisher(model, X, y, "softmax")).abs().max() < 1e-14


def test_cache_budget_caches_some_blocks_and_products_agree():
    model = tiny_net(7)
    spec = ParamSpec.from_module(model)
    theta = spec.from_module_values(model)
    x = torch.randn(90, 4, dtype=torch.float64)
    blocks = [(x[i:i + 30], None) for i in range(0, 90, 30)]
    full = GaussNewton(model, theta, blocks, "sigmoid")
    probe = GaussNewton(model, theta, blocks, "sigmoid", cache_bytes=1.0)
    assert probe.bytes_per_row > 0 and probe.n_cached == 0
    part = GaussNewton(model, theta, blocks, "sigmoid", cache_bytes=probe.bytes_per_row * 45)
    assert (full.n_cached, part.n_cached) == (3, 1)
    v = torch.randn(spec.size, dtype=torch.float64)
    assert (part.matvec(v) - full.matvec(v)).abs().max() < 1e-14


def test_mean_loss_on_chunk(rng):
    model = tiny_net(8)
    X = rng.normal(size=(10, 4))
    y = rng.integers(0, 3, size=10)
    spec = ParamSpec.from_module(model)
    theta = spec.from_module_values(model)
    obj = Objective(model, "sigmoid", X, y, n_out=3, chunk_rows=4)
    op = GaussNewton(model, theta, list(obj.chunks(np.arange(10))), "sigmoid")
    assert op.mean_loss() == pytest.approx(obj.value(theta), rel=1e-14)
    other = theta + 0.1
    assert op.mean_loss(other) == pytest.approx(obj.value(other), rel=1e-14)

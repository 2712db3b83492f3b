"""The explicit per-layer Gauss-Newton operator for MLPs against the general torch.func one."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mirlearn.nn.featurenet import FeatureNet
from mirlearn.nn.hf import GaussNewton, ParamSpec, gauss_newton_product
from mirlearn.nn.hf.mlp_curvature import MLPGaussNewton, gauss_newton_operator, mlp_layers
from mirlearn.nn.mlp import MLP


def _nets():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    yield "mlp-sigmoid", MLP(12, (9, 7, 6), 4, activation="sigmoid", seed=1)
    yield "mlp-relu", MLP(12, (9, 7), 4, activation="relu", dropout=0.25, seed=2)
    yield "featurenet", FeatureNet(MLP(12, (8, 8), 4, activation="sigmoid", seed=3),
                                   rng.normal(size=12), rng.uniform(0.5, 2.0, size=12))
    yield "sequential-tanh", torch.nn.Sequential(torch.nn.Linear(12, 9), torch.nn.Tanh(), torch.nn.Dropout(0.5),
                                                 torch.nn.Linear(9, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4))


@pytest.mark.parametrize("loss", ["sigmoid", "softmax", "mse"])
@pytest.mark.parametrize("name, net", list(_nets()), ids=[n for n, _ in _nets()])
def test_products_are_bitwise_those_of_the_general_operator(name, net, loss):
    net.eval()
    spec = ParamSpec.from_module(net)
    theta = spec.from_module_values(net)
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(70, 12, generator=gen)
    t = torch.randint(0, 4, (70,), generator=gen)
    t = t if loss == "softmax" else torch.nn.functional.one_hot(t, 4).float()
    blocks = [(x[:32], t[:32]), (x[32:], t[32:])]
    layers = mlp_layers(net)
    assert layers is not None
    ref = GaussNewton(net, theta, blocks, loss, spec=spec)
    fast = MLPGaussNewton(net, theta, blocks, loss, layers, spec=spec)
    for _ in range(3):
        v = torch.randn(spec.size, generator=gen)
        assert torch.equal(fast.matvec(v, 0.3), ref.matvec(v, 0.3))
        assert torch.equal(fast.jvp(v), ref.jvp(v))
    assert fast.mean_loss() == ref.mean_loss()
    other = theta + 0.01 * torch.randn(spec.size, generator=gen)
    assert fast.mean_loss(other) == ref.mean_loss(other)
    # and against the one-shot reference product, to float32 rounding
    v = torch.randn(spec.size, generator=gen)
    torch.testing.assert_close(fast.matvec(v), gauss_newton_product(net, x, v, loss, block_rows=32),
                               rtol=1e-5, atol=1e-6)


def test_unsupported_nets_and_modes_fall_back():
    mlp = MLP(6, (5,), 3, activation="sigmoid", seed=0)
    assert mlp_layers(mlp.train()) is None  # dropout would be live
    assert mlp_layers(torch.nn.Sequential(torch.nn.Linear(6, 3), torch.nn.Sigmoid()).eval()) is None
    assert mlp_layers(torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.GELU(), torch.nn.Linear(4, 3)).eval()) is None
    conv = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 3)).eval()
    x = torch.randn(4, 1, 6)
    spec = ParamSpec.from_module(conv)
    op = gauss_newton_operator(conv, spec.from_module_values(conv), [(x, None)], "softmax", spec=spec)
    assert type(op) is GaussNewton
    mlp.eval()
    spec = ParamSpec.from_module(mlp)
    theta = spec.from_module_values(mlp)
    blocks = [(torch.randn(10, 6), None)]
    assert type(gauss_newton_operator(mlp, theta, blocks, "sigmoid", spec=spec)) is MLPGaussNewton
    # activations that do not fit the memory budget: the general operator (recomputing blocks)
    small = gauss_newton_operator(mlp, theta, blocks, "sigmoid", spec=spec, cache_bytes=100.0)
    assert type(small) is GaussNewton
    assert math.isfinite(float(small.matvec(torch.ones(spec.size)).sum()))

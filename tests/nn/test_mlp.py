"""Tests of mirlearn.nn.mlp: shapes, initialisation, dropout, activations, config."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from mirlearn.errors import ConfigError
from mirlearn.nn.mlp import MLP, dropout


def _net(**kw) -> MLP:
    args = dict(n_in=20, hidden=(16, 12, 8), n_out=3, seed=0)
    args.update(kw)
    return MLP(**args)


def test_forward_gives_logits_of_shape_n_by_n_out():
    net = _net()
    assert net(torch.randn(5, 20)).shape == (5, 3)
    assert len(net.layers) == 4


def test_defaults_are_the_papers_net():
    net = MLP(seed=0)
    assert [(l.in_features, l.out_features) for l in net.layers] == [(513, 500), (500, 500), (500, 500), (500, 10)]
    assert net.activation == "relu" and net.dropout == 0.0 and net.input_dropout == 0.0


@pytest.mark.parametrize(
    "layers, width",
    [(1, 16), (2, 12), (3, 8), ("all", 36), ((1, 2, 3), 36), ((1, 3), 24), ([2], 12), ((3, 1), 24)],
)
def test_hidden_shapes(layers, width):
    net = _net()
    x = torch.randn(7, 20)
    h = net.hidden(x, layers)
    assert h.shape == (7, width)
    assert net.hidden_widths(layers) == width


def test_hidden_concatenates_layers_in_layer_order_post_nonlinearity():
    net = _net()
    x = torch.randn(7, 20)
    h1, h2, h3 = (net.hidden(x, i) for i in (1, 2, 3))
    # Hand-computed activations: relu(W x + b), layer after layer.
    a1 = torch.relu(net.layers[0](x))
    a2 = torch.relu(net.layers[1](a1))
    a3 = torch.relu(net.layers[2](a2))
    torch.testing.assert_close(h1, a1)
    torch.testing.assert_close(h2, a2)
    torch.testing.assert_close(h3, a3)
    torch.testing.assert_close(net.hidden(x, "all"), torch.cat([a1, a2, a3], 1))
    torch.testing.assert_close(net.hidden(x, (3, 1)), torch.cat([a1, a3], 1))
    torch.testing.assert_close(net.layers[3](a3), net.eval()(x))


def test_hidden_has_eval_semantics_in_train_mode():
    net = _net(dropout=0.5, input_dropout=0.25)
    net.train()
    x = torch.randn(50, 20)
    a = net.hidden(x, "all")
    b = net.hidden(x, "all")
    assert net.training  # the mode is left alone
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, net.eval().hidden(x, "all"))


@pytest.mark.parametrize("bad", [0, 4, -1, "first", (), (1, 1), (2, 5)])
def test_hidden_rejects_bad_layer_choices(bad):
    with pytest.raises(ValueError):
        _net().hidden(torch.randn(2, 20), bad)


def test_glorot_uniform_bounds_and_zero_biases():
    net = MLP(n_in=513, hidden=(500, 50, 500), n_out=10, seed=3)
    for layer in net.layers:
        fan_out, fan_in = layer.weight.shape
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w = layer.weight.detach()
        assert float(w.abs().max()) <= bound
        assert float(w.abs().max()) > 0.95 * bound  # fills the interval
        # Uniform on [-a, a] has standard deviation a / sqrt(3).
        assert float(w.std()) == pytest.approx(bound / math.sqrt(3), rel=0.05)
        assert float(w.mean()) == pytest.approx(0.0, abs=0.1 * bound)
        assert torch.count_nonzero(layer.bias) == 0


def test_seeded_initialisation_is_reproducible_and_seed_dependent():
    a, b, c = _net(seed=1), _net(seed=1), _net(seed=2)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.layers[0].weight, c.layers[0].weight)


@pytest.mark.parametrize("p", [0.25, 0.5, 0.1, 0.3])  # byte-mask path (0.25, 0.5) and Bernoulli path
def test_dropout_keep_rate_scaling_and_mean(p):
    g = torch.Generator().manual_seed(0)
    x = torch.ones(1000, 1000)
    y = dropout(x, p, training=True, generator=g)
    kept = y != 0
    n = x.numel()
    keep = float(kept.float().mean())
    # Bernoulli(1 - p): the kept fraction is within 5 standard errors of 1 - p.
    assert abs(keep - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    # Inverted dropout: survivors are scaled by exactly 1 / (1 - p), so the mean is preserved.
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1.0 / (1.0 - p)))
    assert float(y.mean()) == pytest.approx(1.0, abs=5 * math.sqrt(p / (1 - p) / n))


def test_byte_mask_is_unbiased_across_positions_and_independent():
    # The fast mask cuts 8 bytes out of each 64-bit random word: every byte position must keep
    # at 0.75, and neighbouring elements must be independent (joint keep rate 0.75**2).
    g = torch.Generator().manual_seed(1)
    y = dropout(torch.ones(4000, 512), 0.25, generator=g)
    kept = (y != 0).float().reshape(-1, 8)
    n = kept.shape[0]
    se = math.sqrt(0.75 * 0.25 / n)
    for j in range(8):
        assert abs(float(kept[:, j].mean()) - 0.75) < 5 * se
    pairs = kept[:, :-1] * kept[:, 1:]
    assert abs(float(pairs.mean()) - 0.5625) < 5 * math.sqrt(0.5625 * 0.4375 / pairs.numel())


def test_dropout_gradient_is_the_scaled_mask():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(64, 100, requires_grad=True)
    y = dropout(x, 0.25, generator=g)
    y.sum().backward()
    mask = (y != 0).float()
    torch.testing.assert_close(x.grad, mask / 0.75)


def test_dropout_identity_in_eval_and_at_zero_rate():
    x = torch.randn(10, 10)
    assert dropout(x, 0.25, training=False) is x
    assert dropout(x, 0.0, training=True) is x
    with pytest.raises(ValueError):
        dropout(x, 1.0)


def test_dropout_masks_follow_the_generator():
    x = torch.ones(100, 100)
    a = dropout(x, 0.25, generator=torch.Generator().manual_seed(5))
    b = dropout(x, 0.25, generator=torch.Generator().manual_seed(5))
    c = dropout(x, 0.25, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_mlp_dropout_only_in_train_mode():
    net = _net(dropout=0.25)
    x = torch.randn(32, 20)
    net.train()
    net.generator = torch.Generator().manual_seed(0)
    assert not torch.equal(net(x), net(x))
    net.eval()
    assert torch.equal(net(x), net(x))
    plain = _net(dropout=0.0)
    plain.load_state_dict(net.state_dict())
    torch.testing.assert_close(net(x), plain.train()(x))  # eval with dropout = no dropout at all


def test_input_dropout_acts_on_the_input():
    net = _net(input_dropout=0.5)
    net.generator = torch.Generator().manual_seed(0)
    x = torch.randn(16, 20)
    net.train()
    y = net(x)
    g = torch.Generator().manual_seed(0)
    x_dropped = dropout(x, 0.5, generator=g)
    torch.testing.assert_close(y, net.eval()(x_dropped))


def test_sigmoid_and_relu_activations():
    x = torch.randn(40, 20) * 3
    sig, relu = _net(activation="sigmoid"), _net(activation="relu")
    with torch.no_grad():
        hs, hr = sig.hidden(x, "all"), relu.hidden(x, "all")
    assert float(hs.min()) > 0 and float(hs.max()) < 1
    assert float(hr.min()) == 0.0 and float(hr.max()) > 1e-3
    torch.testing.assert_close(sig.hidden(x, 1), torch.sigmoid(sig.layers[0](x)))
    torch.testing.assert_close(relu.hidden(x, 1), torch.relu(relu.layers[0](x)))
    with pytest.raises(ValueError):
        _net(activation="tanh")


def test_config_round_trip_and_unknown_keys():
    net = _net(activation="sigmoid", dropout=0.25, input_dropout=0.1, seed=7)
    cfg = net.config()
    assert json.loads(json.dumps(cfg)) == cfg
    clone = MLP.from_config(cfg)
    assert clone.config() == cfg
    for pa, pb in zip(net.parameters(), clone.parameters()):  # same seed: same init
        assert torch.equal(pa, pb)
    x = torch.randn(3, 20)
    torch.testing.assert_close(net.eval()(x), clone.eval()(x))
    with pytest.raises(ConfigError, match="hiden"):
        MLP.from_config({**cfg, "hiden": [3]})


@pytest.mark.parametrize("kw", [dict(dropout=1.0), dict(dropout=-0.1), dict(input_dropout=1.5), dict(hidden=(0,)), dict(n_out=0)])
def test_invalid_arguments(kw):
    with pytest.raises(ValueError):
        _net(**kw)


def test_empty_hidden_is_logistic_regression():
    net = MLP(n_in=4, hidden=(), n_out=2, seed=0)
    assert net(torch.randn(3, 4)).shape == (3, 2)
    with pytest.raises(ValueError):
        net.hidden(torch.randn(3, 4), "all")

"""Maxout units (Goodfellow et al. 2013) in the MLP and in the CNN's dense layer: the max of the
pieces, shapes and feature widths, dropout, initialisation, parameter-count matching, learning
(SGD and Hessian-Free), the CNN's dense maxout, and one-line errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from mirlearn.errors import ConfigError
from mirlearn.nn.cnn import PatchCNN
from mirlearn.nn.mlp import MLP, maxout, maxout_width, mlp_parameters, n_parameters


def _net(**kw) -> MLP:
    args = dict(n_in=20, hidden=(16, 12, 8), n_out=3, activation="maxout", seed=0)
    args.update(kw)
    return MLP(**args)


def _explicit_maxout(layer: torch.nn.Linear, x: torch.Tensor, pieces: int) -> torch.Tensor:
    """Unit j = max over i of the i-th piece's own linear map, W[j·k + i] x + b[j·k + i]."""
    W, b = layer.weight, layer.bias
    units = W.shape[0] // pieces
    out = torch.empty(len(x), units, dtype=x.dtype)
    for j in range(units):
        vals = torch.stack([x @ W[j * pieces + i] + b[j * pieces + i] for i in range(pieces)], dim=1)
        out[:, j] = vals.max(dim=1).values
    return out


# --- the unit --------------------------------------------------------------------------------


@pytest.mark.parametrize("pieces", [2, 3, 5])
def test_maxout_is_the_max_of_each_units_consecutive_pieces(pieces):
    z = torch.randn(7, 4 * pieces, generator=torch.Generator().manual_seed(pieces))
    out = maxout(z, pieces)
    assert out.shape == (7, 4)
    for n in range(7):
        for j in range(4):
            assert out[n, j] == max(float(z[n, j * pieces + i]) for i in range(pieces))
    with pytest.raises(ValueError, match="not a whole number of units of 3 pieces"):
        maxout(torch.zeros(2, 7), 3)
    assert maxout(torch.zeros(0, 6), 2).shape == (0, 3)  # an empty batch keeps its units


def test_maxout_gradient_goes_to_the_largest_piece():
    z = torch.tensor([[1.0, 3.0, -2.0, -5.0]], requires_grad=True)
    maxout(z, 2).sum().backward()
    assert z.grad.tolist() == [[0.0, 1.0, 1.0, 0.0]]


# --- the MLP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pieces", [2, 3])
def test_mlp_maxout_output_equals_the_explicit_max_of_its_pieces(pieces):
    net = _net(maxout_pieces=pieces).eval()
    x = torch.randn(9, 20, generator=torch.Generator().manual_seed(1))
    a1 = _explicit_maxout(net.layers[0], x, pieces)
    a2 = _explicit_maxout(net.layers[1], a1, pieces)
    a3 = _explicit_maxout(net.layers[2], a2, pieces)
    torch.testing.assert_close(net.hidden(x, 1), a1)
    torch.testing.assert_close(net.hidden(x, 2), a2)
    torch.testing.assert_close(net.hidden(x, "all"), torch.cat([a1, a2, a3], 1))
    torch.testing.assert_close(net(x), net.layers[3](a3))


def test_mlp_maxout_shapes_and_feature_widths_count_units_not_pieces():
    net = _net(maxout_pieces=3)
    assert net.pieces == 3 and net.widths == (16, 12, 8)
    assert [(l.in_features, l.out_features) for l in net.layers] == [(20, 48), (16, 36), (12, 24), (8, 3)]
    x = torch.randn(5, 20)
    assert net(x).shape == (5, 3)
    for layers, width in [(1, 16), (2, 12), (3, 8), ("all", 36), ((1, 3), 24)]:
        assert net.hidden(x, layers).shape == (5, width) and net.hidden_widths(layers) == width
    assert _net().pieces == 2 and _net().config()["maxout_pieces"] == 2  # the default k
    assert MLP(20, (4,), 3, seed=0).pieces == 1


def test_mlp_maxout_dropout_drops_units_in_training_only():
    net = _net(hidden=(64, 64), dropout=0.5)
    net.generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 20)
    net.train()
    a, b = net(x), net(x)
    assert not torch.equal(a, b)  # fresh masks
    torch.testing.assert_close(net.hidden(x), net.eval().hidden(x))  # features: eval semantics
    e1, e2 = net(x), net(x)
    assert torch.equal(e1, e2)
    # the mask acts on the units (after the max): with layer 2's input scaled by 1/(1-p) where
    # kept, the train-mode logits are those of the hand-masked units
    net.train()
    net.generator = torch.Generator().manual_seed(3)
    got = net(x)
    g = torch.Generator().manual_seed(3)
    from mirlearn.nn.mlp import dropout
    h = dropout(maxout(net.layers[0](x), 2), 0.5, generator=g)
    h = dropout(maxout(net.layers[1](h), 2), 0.5, generator=g)
    torch.testing.assert_close(got, net.layers[2](h))
    kept = (dropout(torch.ones(200, 64), 0.5, generator=torch.Generator().manual_seed(3)) != 0).float().mean()
    assert 0.4 < float(kept) < 0.6


def test_mlp_maxout_pieces_are_glorot_layers_of_the_units_width():
    net = MLP(n_in=513, hidden=(300, 300), n_out=10, activation="maxout", maxout_pieces=2, seed=3)
    for i, layer in enumerate(net.layers):
        rows, fan_in = layer.weight.shape
        fan_out = rows // 2 if i < 2 else rows
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w = layer.weight.detach()
        assert bound * 0.95 < float(w.abs().max()) <= bound
        assert float(w.std()) == pytest.approx(bound / math.sqrt(3), rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0
    again = MLP(n_in=513, hidden=(300, 300), n_out=10, activation="maxout", maxout_pieces=2, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), again.parameters()))


def test_mlp_maxout_config_round_trips_and_old_configs_read_as_before():
    net = _net(maxout_pieces=3, dropout=0.25)
    cfg = json.loads(json.dumps(net.config()))
    assert cfg["activation"] == "maxout" and cfg["maxout_pieces"] == 3
    twin = MLP.from_config(cfg)
    twin.load_state_dict(net.state_dict())
    x = torch.randn(4, 20)
    torch.testing.assert_close(twin.eval()(x), net.eval()(x))
    # a ReLU net's config has no maxout key (checkpoints compare it on resume; saved learners keep it)
    relu = MLP(20, (8,), 3, seed=0).config()
    assert set(relu) == {"n_in", "hidden", "n_out", "activation", "dropout", "input_dropout", "seed"}
    assert "maxout_pieces=3" in repr(net)


@pytest.mark.parametrize("kw, match", [
    (dict(activation="relu", maxout_pieces=2), "maxout_pieces=2 is read only with activation='maxout', not 'relu'"),
    (dict(maxout_pieces=1), "maxout_pieces must be an integer >= 2, got 1"),
    (dict(maxout_pieces=2.5), "maxout_pieces must be an integer >= 2, got 2.5"),
    (dict(activation="tanh"), r"activation must be one of \['relu', 'sigmoid', 'maxout'\], got 'tanh'"),
])
def test_mlp_maxout_bad_settings_are_one_line_errors(kw, match):
    with pytest.raises(ValueError, match=match) as e:
        _net(**kw)
    assert "\n" not in str(e.value)


# --- equal parameter count ------------------------------------------------------------------


def test_parameter_count_formula_matches_built_nets():
    for hidden, act, k in [((500, 500, 500), "relu", None), ((16, 12), "maxout", 2), ((7,), "maxout", 4),
                           ((50, 50, 50), "sigmoid", None)]:
        net = MLP(513, hidden, 10, activation=act, maxout_pieces=k, seed=0)
        assert n_parameters(net) == mlp_parameters(513, hidden, 10, pieces=net.pieces)


@pytest.mark.parametrize("width, pieces, expected", [(500, 2, 326), (50, 2, 27), (500, 3, 250), (500, 4, 205)])
def test_maxout_width_is_the_nearest_parameter_count_to_the_relu_nets(width, pieces, expected):
    relu = n_parameters(MLP(513, (width,) * 3, 10, seed=0))
    m = maxout_width(513, (width,) * 3, 10, pieces=pieces)
    assert m == expected

    def count(w):
        return n_parameters(MLP(513, (w,) * 3, 10, activation="maxout", maxout_pieces=pieces, seed=0))

    # nearer than both neighbours, and within one unit's weights
    assert abs(count(m) - relu) <= abs(count(m - 1) - relu) and abs(count(m) - relu) <= abs(count(m + 1) - relu)
    assert abs(count(m) - relu) < count(m + 1) - count(m)


def test_the_documented_500_unit_match():
    assert mlp_parameters(513, (500,) * 3, 10) == 763_010
    assert mlp_parameters(513, (326,) * 3, 10, pieces=2) == 764_806


def test_maxout_width_refuses_what_it_cannot_match():
    with pytest.raises(ValueError, match="hidden widths must be equal"):
        maxout_width(513, (500, 50), 10)
    with pytest.raises(ValueError, match="pieces must be >= 2"):
        maxout_width(513, (500,), 10, pieces=1)


# --- learning --------------------------------------------------------------------------------


def _xor(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classes by the sign of x0·x1 (no linear separator), on 6 dims, margin 0.3."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (4 * n, 6)).astype(np.float32)
    X = X[np.abs(X[:, 0] * X[:, 1]) > 0.09][:n]
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def test_a_small_maxout_net_learns_a_separable_problem_by_sgd_with_dropout():
    from mirlearn.nn.train import TrainConfig, train_sgd

    Xt, yt = _xor(800, 0)
    Xv, yv = _xor(300, 1)
    net = MLP(6, (16, 16), 2, activation="maxout", dropout=0.1, seed=0)
    res = train_sgd(net, Xt, yt, Xv, yv, TrainConfig(lr=0.1, batch_size=32, max_epochs=40, patience=10),
                    progress=False, epoch_lines=False)
    assert res.best_valid_acc > 0.95
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]


def test_hessian_free_trains_a_maxout_net_with_the_general_curvature_operator():
    """HF + maxout is supported: the explicit MLP operator declines maxout nets, and the
    general torch.func one (used instead) gives G v = Jᵀ H J v."""
    from torch.autograd.functional import jacobian
    from torch.func import functional_call

    from mirlearn.nn.hf import GaussNewton, ParamSpec
    from mirlearn.nn.hf.mlp_curvature import MLPGaussNewton, gauss_newton_operator, mlp_layers
    from mirlearn.nn.train import HFConfig, train_hf

    net = MLP(5, (4, 3), 3, activation="maxout", maxout_pieces=3, seed=0).double().eval()
    assert mlp_layers(net) is None
    x = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    spec = ParamSpec.from_module(net)
    theta = spec.from_module_values(net)
    op = gauss_newton_operator(net, theta, [(x, None)], "softmax", spec=spec)
    assert isinstance(op, GaussNewton) and not isinstance(op, MLPGaussNewton)
    # oracle: (1/N) Σ J_nᵀ H_n J_n, softmax's H = diag(p) − p pᵀ
    J = jacobian(lambda th: functional_call(net, spec.unflatten(th), (x,)), theta)  # (N, C, P)
    p = torch.softmax(net(x), dim=1).detach()
    G = sum(J[n].T @ (torch.diag(p[n]) - torch.outer(p[n], p[n])) @ J[n] for n in range(len(x))) / len(x)
    v = torch.randn(spec.size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(op.matvec(v), G @ v)

    Xt, yt = _xor(600, 2)
    Xv, yv = _xor(200, 3)
    net = MLP(6, (12, 12), 2, activation="maxout", seed=0)
    res = train_hf(net, Xt, yt, Xv, yv, HFConfig(loss="softmax", max_steps=12, max_cg_iters=40, n_chunks=2),
                   progress=False, epoch_lines=False)
    assert res.best_valid_acc > 0.9
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]


# --- the CNN's dense layer -------------------------------------------------------------------


def _cnn(**kw) -> PatchCNN:
    args = dict(architecture="schindler-shallow", n_bands=80, n_frames=40, n_classes=4, seed=0,
                dense_activation="maxout")
    args.update(kw)
    return PatchCNN(**args)


@pytest.mark.parametrize("pieces", [None, 3])
def test_cnn_dense_maxout_is_the_max_of_its_pieces_and_keeps_200_units(pieces):
    net = _cnn(maxout_pieces=pieces).eval()
    k = pieces or 2
    assert net.maxout_pieces == k and net.dense.out_features == 200 * k
    assert net.feature_layers["dense"] == 200 and net.layer_shapes()["dense"] == (200,)
    x = torch.randn(3, 80, 40, generator=torch.Generator().manual_seed(0))
    captured = {}
    net.dense.register_forward_hook(lambda m, i, o: captured.update(flat=i[0]))
    feats = net.features(x, ["dense"])["dense"]
    dense = _explicit_maxout(net.dense, captured["flat"], k)
    assert feats.shape == (3, 200)
    torch.testing.assert_close(feats, dense)
    torch.testing.assert_close(net(x), net.out(dense))
    assert net.activation == "leaky_relu"  # the conv blocks keep the architecture's own


def test_cnn_dense_maxout_trains_with_dropout_and_round_trips_its_config():
    net = _cnn(architecture="mirex2015", n_bands=40, n_frames=20)  # dropout 0.5 after the dense layer
    net.generator = torch.Generator().manual_seed(0)
    x = torch.randn(4, 40, 20)
    net.train()
    assert not torch.equal(net(x), net(x))
    net.eval()
    assert torch.equal(net(x), net(x))
    cfg = json.loads(json.dumps(net.config()))
    assert cfg["dense_activation"] == "maxout" and cfg["maxout_pieces"] == 2
    twin = PatchCNN(**cfg)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), twin.parameters()))  # same initial weights
    loss = torch.nn.functional.cross_entropy(net.train()(x), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert net.dense.weight.grad is not None and torch.isfinite(net.dense.weight.grad).all()


def test_cnn_old_nets_are_unchanged_by_the_dense_activation_option():
    old = PatchCNN("schindler-shallow", 80, 40, 4, seed=0)
    assert "dense_activation" not in old.config() and "maxout_pieces" not in old.config()
    same = PatchCNN("schindler-shallow", 80, 40, 4, seed=0, dense_activation="leaky_relu")
    assert all(torch.equal(p, q) for p, q in zip(old.parameters(), same.parameters()))
    relu = PatchCNN("schindler-shallow", 80, 40, 4, seed=0, dense_activation="relu")
    x = torch.randn(2, 80, 40)
    assert relu.features(x, ["dense"])["dense"].min() >= 0  # the dense layer's own non-linearity


def test_cnn_dense_maxout_initialisation():
    he = _cnn()
    w = he.dense.weight.detach()
    assert float(w.std()) == pytest.approx(1 / math.sqrt(he.flat_width), rel=0.02)  # gain 1 per piece
    glorot = _cnn(init="glorot")
    bound = math.sqrt(6 / (glorot.flat_width + 200))
    assert bound * 0.95 < float(glorot.dense.weight.detach().abs().max()) <= bound


def test_cnn_dense_units_set_the_width_so_maxout_can_match_the_relu_layers_parameters():
    relu = PatchCNN("schindler-shallow", 80, 40, 10, seed=0)
    m = maxout_width(relu.flat_width, (relu.dense_units,), 10, pieces=2)
    assert m == 100
    mx = _cnn(n_classes=10, dense_units=m)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert abs(count(mx) - count(relu)) / count(relu) < 0.001
    assert mx.dense.out_features == 2 * m and mx.out.in_features == m
    assert mx.feature_layers["dense"] == m and mx.layer_shapes()["dense"] == (m,)
    x = torch.randn(2, 80, 40, generator=torch.Generator().manual_seed(1))
    assert mx.eval().features(x, ["dense"])["dense"].shape == (2, m) and mx(x).shape == (2, 10)
    cfg = json.loads(json.dumps(mx.config()))
    assert cfg["dense_units"] == m
    twin = PatchCNN(**cfg)
    assert all(torch.equal(p, q) for p, q in zip(mx.parameters(), twin.parameters()))
    assert "dense_units" not in relu.config()  # unset: the configs saved before it read as they did
    same = PatchCNN("schindler-shallow", 80, 40, 10, seed=0, dense_units=200)
    assert all(torch.equal(p, q) for p, q in zip(relu.parameters(), same.parameters()))


@pytest.mark.parametrize("kw, match", [
    (dict(dense_activation="softmax"), "dense_activation must be one of"),
    (dict(dense_activation="relu", maxout_pieces=2), "maxout_pieces=2 is read only with dense_activation='maxout'"),
    (dict(maxout_pieces=1), "maxout_pieces must be an integer >= 2, got 1"),
    (dict(dense_activation=None, activation="maxout"), "maxout units are for the dense layer"),
    (dict(architecture="choi2017", n_bands=96, n_frames=256), "'choi2017' has no hidden dense layer"),
    (dict(architecture="choi2017", n_bands=96, n_frames=256, dense_activation=None, dense_units=50),
     "'choi2017' has no hidden dense layer: dense_units does not apply"),
    (dict(dense_units=0), "dense_units must be a positive integer, got 0"),
])
def test_cnn_maxout_bad_settings_are_one_line_errors(kw, match):
    with pytest.raises(ConfigError, match=match) as e:
        _cnn(**kw)
    assert "\n" not in str(e.value)

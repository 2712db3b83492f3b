"""Tests of mirlearn.nn.cnn: every architecture's layer shapes at its published input size
(batch of 2, no training), feature widths, options, determinism, bad sizes."""

from __future__ import annotations

import json

import pytest
import torch

from mirlearn.errors import ConfigError
from mirlearn.nn.cnn import ACTIVATIONS, ARCHITECTURES, PatchCNN, layer_names

# Every conv block's output (channels, bands, frames) at the published input size, as documented.
PUBLISHED_SHAPES = {
    "mirex2015": {"conv1": (15, 14, 73), "flat": (15330,), "dense": (200,)},
    "schindler-shallow": {"conv1_spec": (16, 80, 4), "conv1_temp": (16, 4, 80), "flat": (10240,), "dense": (200,)},
    "schindler-deep": {"conv1_spec": (16, 40, 40), "conv2_spec": (32, 20, 20), "conv3_spec": (64, 10, 10),
                       "conv4_spec": (128, 10, 2), "conv1_temp": (16, 40, 40), "conv2_temp": (32, 20, 20),
                       "conv3_temp": (64, 10, 10), "conv4_temp": (128, 2, 10), "flat": (5120,), "dense": (200,)},
    "parallel-dcase2016": {"conv1_vert": (16, 71, 39), "conv1_horz": (25, 39, 71), "flat": (113529,), "dense": (200,)},
    "choi2017": {"conv1": (32, 48, 320), "conv2": (32, 16, 80), "conv3": (32, 8, 16), "conv4": (32, 4, 4),
                 "conv5": (32, 1, 1), "flat": (32,)},
}


def test_every_architecture_is_listed():
    assert set(ARCHITECTURES) == set(PUBLISHED_SHAPES) == {"mirex2015", "schindler-shallow", "schindler-deep",
                                                           "parallel-dcase2016", "choi2017"}


@pytest.mark.parametrize("name", sorted(PUBLISHED_SHAPES))
def test_layer_shapes_at_the_published_size(name):
    arch = ARCHITECTURES[name]
    net = PatchCNN(name, arch.n_bands, arch.n_frames, n_classes=10, seed=0).eval()
    expected = PUBLISHED_SHAPES[name]
    shapes = net.layer_shapes()
    assert {k: v for k, v in shapes.items() if k != "out"} == expected
    x = torch.randn(2, arch.n_bands, arch.n_frames)
    # the conv blocks really produce those shapes (hooks on each block of each pipeline)
    seen = {}
    names = iter(n for n in shapes if n.startswith("conv"))
    hooks = [blk.register_forward_hook(lambda m, i, o, n=next(names): seen.__setitem__(n, tuple(o.shape[1:])))
             for seq in net.pipelines.values() for blk in seq]
    logits = net(x)
    for h in hooks:
        h.remove()
    assert seen == {k: v for k, v in expected.items() if k.startswith("conv")}
    assert logits.shape == (2, 10)
    assert torch.equal(net(x.unsqueeze(1)), logits)          # (B, 1, bands, frames) too
    # feature widths = features() widths, in order
    feats = net.features(x)
    assert list(feats) == list(net.feature_layers) == list(layer_names(name))
    assert {k: v.shape for k, v in feats.items()} == {k: (2, w) for k, w in net.feature_layers.items()}
    if arch.dense:
        assert net.feature_layers["dense"] == 200
    # a conv feature is the global average of its block's output
    first = next(iter(net.feature_layers))
    block_out = next(iter(net.pipelines.values()))[0](x.unsqueeze(1))
    torch.testing.assert_close(feats[first], block_out.mean(dim=(2, 3)))


def test_choi_transfer_feature_is_160_wide():
    net = PatchCNN("choi2017", 96, 1280, n_classes=5).eval()
    assert net.feature_layers == {f"conv{k}": 32 for k in range(1, 6)}
    assert sum(net.feature_layers.values()) == 160
    assert net.batch_norm and net.activation == "elu"
    with pytest.raises(ConfigError, match="at least 96 bands × 1280 frames"):
        PatchCNN("choi2017", 96, 1255, n_classes=5)


def test_published_defaults_and_options():
    shallow = PatchCNN("schindler-shallow", 80, 80, 10)
    assert (shallow.activation, shallow.leaky_slope, shallow.dropout, shallow.batch_norm) == ("leaky_relu", 0.3, 0.1, False)
    assert PatchCNN("schindler-deep", 80, 80, 10).dropout == 0.25
    mirex = PatchCNN("mirex2015", 40, 80, 2)
    assert (mirex.activation, mirex.dropout) == ("sigmoid", 0.5)
    bn = PatchCNN("mirex2015", 40, 80, 2, batch_norm=True, activation="selu", dropout=0.0, init="glorot")
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in bn.modules())
    assert bn.config()["activation"] == "selu"
    for act in ACTIVATIONS:
        net = PatchCNN("mirex2015", 16, 20, 3, activation=act).eval()
        assert torch.isfinite(net(torch.randn(2, 16, 20))).all()
    for bad in (dict(activation="tanh"), dict(init="lecun"), dict(dropout=1.0)):
        with pytest.raises(ConfigError):
            PatchCNN("mirex2015", 40, 80, 2, **bad)
    with pytest.raises(ConfigError, match="unknown CNN architecture"):
        PatchCNN("vgg", 40, 80, 2)
    with pytest.raises(ConfigError, match="unknown CNN architecture"):
        layer_names("vgg")
    with pytest.raises(ConfigError, match="at least"):
        PatchCNN("schindler-deep", 80, 30, 2)


def test_small_inputs_work_where_the_pools_allow():
    # tiny nets for fast tests: any size at or above each architecture's minimum
    for name, (b, f) in {"mirex2015": (16, 20), "schindler-shallow": (20, 20), "schindler-deep": (40, 40),
                         "parallel-dcase2016": (16, 16)}.items():
        net = PatchCNN(name, b, f, 2).eval()
        assert net(torch.randn(3, b, f)).shape == (3, 2)


def test_seeded_and_rebuildable_from_config():
    a = PatchCNN("schindler-deep", 80, 80, 10, seed=3)
    b = PatchCNN(**json.loads(json.dumps(a.config())))
    c = PatchCNN("schindler-deep", 80, 80, 10, seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_wrong_input_shape_is_a_clear_error():
    net = PatchCNN("mirex2015", 40, 80, 2)
    with pytest.raises(ValueError, match=r"\(B, 40, 80\)"):
        net(torch.zeros(2, 80, 80))


def test_dropout_uses_the_models_generator_and_is_off_in_eval():
    net = PatchCNN("mirex2015", 16, 20, 2, activation="relu", dropout=0.5)
    x = torch.randn(4, 16, 20)
    net.train()
    net.generator = torch.Generator().manual_seed(1)
    y1 = net(x)
    net.generator = torch.Generator().manual_seed(1)
    assert torch.equal(net(x), y1)
    net.eval()
    assert torch.equal(net(x), net(x))


def _grads(net, x, y):
    net.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    return {k: p.grad.clone() for k, p in net.named_parameters()}


@pytest.mark.parametrize("name,size", [("schindler-deep", (40, 40)), ("schindler-shallow", (40, 40)),
                                       ("parallel-dcase2016", (16, 16)), ("mirex2015", (16, 20)),
                                       ("choi2017", (96, 1280))])
def test_cpu_layout_computes_the_same_function(name, size):
    # Channels-last and the transposed spectral pipeline change how, not what: same logits,
    # features and gradients (to float32 rounding), same weights' shapes in the state dict.
    torch.manual_seed(0)
    x, y = torch.randn(3, *size), torch.tensor([0, 1, 0])
    plain = PatchCNN(name, *size, n_classes=2, seed=5, dropout=0.0).eval()
    fast = PatchCNN(name, *size, n_classes=2, seed=5, dropout=0.0).to_cpu_layout().eval()
    assert {k: v.shape for k, v in plain.state_dict().items()} == {k: v.shape for k, v in fast.state_dict().items()}
    torch.testing.assert_close(fast(x), plain(x), rtol=1e-4, atol=1e-5)
    fp, ff = plain.features(x), fast.features(x)
    assert list(fp) == list(ff)
    for k in fp:
        torch.testing.assert_close(ff[k], fp[k], rtol=1e-4, atol=1e-5)
    if name == "choi2017":
        # 92 160 positions per channel into its first max-pools: float32 rounding in another
        # order (oneDNN's channels-last kernels) moves the odd near-tied maximum, and with it
        # a gradient term; in float64 the two layouts agree exactly.
        plain, fast, x = plain.double(), fast.double(), x.double()
    gp, gf = _grads(plain, x, y), _grads(fast, x, y)
    for k in gp:
        torch.testing.assert_close(gf[k], gp[k], rtol=1e-3, atol=1e-5)


def test_cpu_layout_transposes_only_pipelines_with_a_long_first_kernel():
    # the Schindler nets' spectral pipeline opens with 10 × 23 (bands × frames) on 1 channel
    assert PatchCNN("schindler-deep", 80, 80, 2).to_cpu_layout()._transposed == {"spec"}
    assert PatchCNN("schindler-shallow", 80, 80, 2).to_cpu_layout()._transposed == {"spec"}
    for name, size in (("parallel-dcase2016", (80, 80)), ("mirex2015", (40, 80)), ("choi2017", (96, 1280))):
        assert PatchCNN(name, *size, n_classes=2).to_cpu_layout()._transposed == set()
    net = PatchCNN("schindler-deep", 80, 80, 2)
    assert net._transposed == set() and not any(b.transposed for b in net.pipelines["spec"])

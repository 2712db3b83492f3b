"""Tests of mirlearn.nn.rnn (the recurrent patch nets) and mirlearn.nn.patchnets: shapes at the
design sizes, masking of padded frames, features, options and their errors, and that the nets
learn a problem only the order of frames tells apart, through the patch trainer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirlearn.errors import ConfigError
from mirlearn.nn import patchnets
from mirlearn.nn.patches import BandStandardizer, even_patches, gather
from mirlearn.nn.rnn import RECURRENT, PatchRNN, layer_names, min_input_size
from mirlearn.nn.train.patches import PatchTrainConfig, patch_features, predict_patches, train_patches

# Every layer's output at the design size: (maps, bands, steps) of the conv blocks, the steps
# the recurrent layers see (steps, step width), the final states' widths.
DESIGN_SHAPES = {
    "crnn-choi2017": {"conv1": (64, 48, 720), "conv2": (128, 16, 240), "conv3": (128, 4, 60),
                      "conv4": (128, 1, 15), "steps": (15, 128), "gru1": (32,), "gru2": (32,)},
    "crnn-short": {"conv1": (64, 48, 40), "conv2": (128, 16, 20), "conv3": (128, 4, 20), "conv4": (128, 1, 20),
                   "steps": (20, 128), "gru1": (32,), "gru2": (32,)},
    "bilstm": {"steps": (80, 80), "lstm1": (128,), "lstm2": (128,)},
}


def test_every_recurrent_architecture_is_listed_and_named_in_the_patch_family():
    assert set(RECURRENT) == set(DESIGN_SHAPES)
    assert set(patchnets.architectures()) >= set(RECURRENT) | {"schindler-shallow", "choi2017"}
    assert [patchnets.family(n) for n in ("crnn-choi2017", "crnn-short", "bilstm", "mirex2015")] == \
        ["C-RNN", "C-RNN", "RNN", "CNN"]
    assert patchnets.layer_names("crnn-short") == layer_names("crnn-short") == \
        ("conv1", "conv2", "conv3", "conv4", "gru1", "gru2")
    assert patchnets.min_input_size("crnn-choi2017") == (96, 96)
    assert min_input_size("crnn-short") == (96, 4) and min_input_size("bilstm") == (1, 1)
    with pytest.raises(ConfigError, match="unknown architecture 'gru9'.*bilstm"):
        patchnets.layer_names("gru9")


@pytest.mark.parametrize("name", sorted(DESIGN_SHAPES))
def test_shapes_and_feature_widths_at_the_design_size(name):
    arch = RECURRENT[name]
    net = PatchRNN(name, arch.n_bands, arch.n_frames, n_classes=7, seed=0).eval()
    shapes = net.layer_shapes()
    assert {k: v for k, v in shapes.items() if k != "out"} == DESIGN_SHAPES[name] and shapes["out"] == (7,)
    x = torch.randn(2, arch.n_bands, arch.n_frames)
    seen = {}
    hooks = [blk.register_forward_hook(lambda m, i, o, k=k: seen.__setitem__(f"conv{k + 1}", tuple(o[0].shape[1:])))
             for k, blk in enumerate(net.convs)]
    logits = net(x)
    for h in hooks:
        h.remove()
    assert seen == {k: v for k, v in DESIGN_SHAPES[name].items() if k.startswith("conv")}
    assert logits.shape == (2, 7)
    assert torch.equal(net(x.unsqueeze(1)), logits)              # (B, 1, bands, frames) too
    feats = net.features(x)
    assert list(feats) == list(net.feature_layers) == list(layer_names(name))
    assert {k: tuple(v.shape) for k, v in feats.items()} == {k: (2, w) for k, w in net.feature_layers.items()}
    # the output layer reads the last recurrent layer's final state
    last = list(feats)[-1]
    torch.testing.assert_close(net.out(feats[last]), logits)


def test_choi_crnn_has_the_published_size():
    """The Keras CRNN of Choi et al. (the paper's 0.4 M-parameter net): 392 330 weights for 10 outputs."""
    assert PatchRNN("crnn-choi2017", 96, 1440, 10).n_parameters() == 392_330


@pytest.mark.parametrize("name, n_bands, n_frames, length", [
    ("bilstm", 12, 30, 17),           # any length
    ("bilstm", 12, 30, 1),
    ("crnn-short", 96, 24, 12),       # a multiple of the time pools' product (4)
    ("crnn-choi2017", 96, 480, 192),  # a multiple of 96
])
def test_a_padded_patch_gives_the_output_of_its_real_frames_alone(name, n_bands, n_frames, length):
    """Masking: the zero-padded patch with its length = the unpadded shorter sequence, for
    every feature layer and the logits; a whole patch beside it in the batch is unchanged."""
    torch.manual_seed(0)
    net = PatchRNN(name, n_bands, n_frames, n_classes=3, seed=1).eval()
    x = torch.randn(2, n_bands, n_frames)
    x[0, :, length:] = 0.0                               # what gather() gives for a short track
    with torch.no_grad():
        padded = net.features(x, lengths=torch.tensor([length, n_frames]))
        alone = net.features(x[:1, :, :length])
        whole = net.features(x[1:])
        for k in padded:
            torch.testing.assert_close(padded[k][0], alone[k][0], rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(padded[k][1], whole[k][0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(net(x, lengths=[length, n_frames])[0], net(x[:1, :, :length])[0],
                                   rtol=1e-5, atol=1e-5)
        # without lengths the padding is read: the state differs (the test can fail)
        unmasked = net.features(x[:1])
        assert not torch.allclose(unmasked[list(unmasked)[-1]], alone[list(alone)[-1]], atol=1e-4)


def test_bilstm_never_reads_the_padded_frames():
    """Whatever the padded frames hold, the recurrent states are the same."""
    net = PatchRNN("bilstm", 8, 20, n_classes=2, seed=0).eval()
    x = torch.randn(3, 8, 20)
    lengths = torch.tensor([5, 20, 13])
    y = x.clone()
    y[0, :, 5:] = torch.randn(8, 15) * 100
    y[2, :, 13:] = float("nan")
    with torch.no_grad():
        a, b = net.features(x, lengths=lengths), net.features(y, lengths=lengths)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_conv_features_average_real_steps_only():
    """A C-RNN's conv feature of a padded patch is the average over its real steps (the
    same patch alone gives the same), not over the padded ones."""
    net = PatchRNN("crnn-short", 96, 16, n_classes=2, seed=0).eval()
    x = torch.randn(1, 96, 16)
    x[:, :, 8:] = 0
    with torch.no_grad():
        masked = net.features(x, ["conv1"], lengths=[8])["conv1"]
        block = net.convs[0](x.unsqueeze(1), None, lambda t: t)[0]    # (1, 64, 48, 8), no mask
        alone = net.features(x[:, :, :8], ["conv1"])["conv1"]
    torch.testing.assert_close(masked, alone)
    torch.testing.assert_close(masked, block[..., :4].mean(dim=(2, 3)), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(masked, block.mean(dim=(2, 3)), atol=1e-4)


def test_full_lengths_are_the_same_as_none_and_bad_lengths_are_refused():
    net = PatchRNN("bilstm", 6, 10, n_classes=2, seed=0).eval()
    x = torch.randn(4, 6, 10)
    assert torch.equal(net(x, lengths=torch.full((4,), 10)), net(x))
    for bad in ([0, 10, 10, 10], [11, 10, 10, 10], [10, 10]):
        with pytest.raises(ValueError, match="lengths must be"):
            net(x, lengths=bad)
    with pytest.raises(ValueError, match=r"expected patches of shape \(B, 6"):
        net(torch.randn(2, 5, 10))
    with pytest.raises(ValueError, match="frames >= 4"):
        PatchRNN("crnn-short", 96, 8, 2)(torch.randn(1, 96, 3))


def test_options_errors_are_one_line_config_errors():
    with pytest.raises(ConfigError, match="'bilstm' has no conv layers"):
        PatchRNN("bilstm", 8, 8, 2, activation="relu")
    with pytest.raises(ConfigError, match="'bilstm' has no conv layers"):
        PatchRNN("bilstm", 8, 8, 2, batch_norm=False)
    with pytest.raises(ConfigError, match="at least 96 bands × 96 frames"):
        PatchRNN("crnn-choi2017", 96, 80, 2)
    with pytest.raises(ConfigError, match="at least 96 bands"):
        PatchRNN("crnn-short", 80, 40, 2)
    with pytest.raises(ConfigError, match="dropout"):
        PatchRNN("bilstm", 8, 8, 2, dropout=1.0)
    with pytest.raises(ConfigError, match="activation must be one of"):
        PatchRNN("crnn-short", 96, 8, 2, activation="tanh")
    with pytest.raises(ConfigError, match="init"):
        PatchRNN("bilstm", 8, 8, 2, init="orthogonal")
    with pytest.raises(ConfigError, match="unknown recurrent architecture"):
        PatchRNN("lstm9", 8, 8, 2)
    with pytest.raises(ConfigError, match="no feature layer"):
        PatchRNN("bilstm", 8, 8, 2).features(torch.zeros(1, 8, 8), ["dense"])
    with pytest.raises(ConfigError, match="no hidden dense layer: dense_activation"):
        patchnets.build("crnn-short", 96, 8, 2, dense_activation="maxout")


def test_options_reach_the_layers_and_init_is_seeded():
    net = PatchRNN("crnn-short", 96, 8, 2, activation="relu", batch_norm=False, dropout=0.1, init="glorot", seed=3)
    assert net.convs[0].act.name == "relu" and isinstance(net.convs[0].bn, torch.nn.Identity)
    assert net.convs[0].conv.bias is not None and net.dropout == 0.1
    again = patchnets.from_config(net.config())
    assert isinstance(again, PatchRNN) and again.config() == net.config()
    for k, v in net.state_dict().items():
        assert torch.equal(v, again.state_dict()[k]), k
    other = PatchRNN("crnn-short", 96, 8, 2, activation="relu", batch_norm=False, dropout=0.1, init="glorot", seed=4)
    assert not torch.equal(other.rnns[0].weight_hh_l0, net.rnns[0].weight_hh_l0)
    # Keras' recurrent initialisation: orthogonal recurrent matrices per gate, LSTM forget bias 1
    lstm = PatchRNN("bilstm", 8, 8, 2, seed=0).rnns[0]
    w = lstm.weight_hh_l0[:64]
    torch.testing.assert_close(w @ w.T, torch.eye(64), atol=1e-5, rtol=0)
    assert torch.equal(lstm.bias_ih_l0[64:128], torch.ones(64)) and not lstm.bias_hh_l0.any()
    # a CNN's saved config still builds a CNN
    assert type(patchnets.from_config(patchnets.build("mirex2015", 40, 80, 2).config())).__name__ == "PatchCNN"


def test_dropout_draws_from_the_lent_generator():
    net = PatchRNN("bilstm", 8, 12, 2, seed=0).train()
    x = torch.randn(4, 8, 12)
    outs = []
    for _ in range(2):
        net.generator = torch.Generator().manual_seed(7)
        outs.append(net(x, lengths=[12, 3, 12, 7]))
    assert torch.equal(outs[0], outs[1])
    net.generator = torch.Generator().manual_seed(8)
    assert not torch.equal(net(x, lengths=[12, 3, 12, 7]), outs[0])


# -- through the patch trainer -------------------------------------------------------------------

def _sweeps(rng, n_tracks, n_bands, short_every=0, short=6):
    """Tracks of 16-24 frames whose one loud band climbs (class 0) or falls (class 1) a band per
    frame, in noise: the same frames in the other order, so only their order tells the class."""
    lengths = rng.integers(16, 25, n_tracks)
    if short_every:
        lengths[::short_every] = short               # shorter than a patch: padded
    y = np.arange(n_tracks) % 2
    X = rng.normal(size=(int(lengths.sum()), n_bands)).astype(np.float32) * 0.5
    off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    for i in range(n_tracks):
        start = rng.integers(0, n_bands)
        for t in range(lengths[i]):
            band = (start + (t if y[i] == 0 else -t)) % n_bands
            X[off[i] + t, band] += 4.0
    return X, off, y.astype(np.int64)


@pytest.mark.parametrize("name, n_bands, patch, epochs", [("bilstm", 8, 12, 3), ("crnn-short", 96, 12, 3)])
def test_a_tiny_recurrent_net_learns_the_order_of_frames(rng, name, n_bands, patch, epochs):
    """Climbing against falling sweeps (the same bag of frames: a logistic regression on each
    track's frame mean and std scores 56 % here): the net's validation patch
    accuracy is far above chance; padded training tracks (every 5th) go through the masked path."""
    Xt, ot, yt = _sweeps(rng, 40, n_bands, short_every=5)
    Xv, ov, yv = _sweeps(rng, 16, n_bands)
    std = BandStandardizer().fit(Xt, ot)
    net = patchnets.build(name, n_bands, patch, 2, seed=0, dropout=0.0)
    cfg = PatchTrainConfig(max_epochs=epochs, patience=epochs, batch_size=16, patches_per_track=4, seed=0, lr=3e-3)
    res = train_patches(net, Xt, ot, yt, Xv, ov, yv, cfg, standardizer=std, patch_frames=patch, progress=False,
                        epoch_lines=False)
    assert res.best_valid_acc >= 0.9, res.history
    grid = even_patches(ov, patch, patch // 2)
    p = predict_patches(net, Xv, grid, std, patch)
    track_p = np.stack([p[grid.track == t].mean(0) for t in range(len(yv))])
    assert (track_p.argmax(1) == yv).mean() >= 0.9


def test_predictions_and_features_of_a_short_track_are_those_of_its_frames_alone(rng):
    """gather → lengths → the net: a track shorter than a patch is scored as its own frames
    (a CNN would read its padding), in any batch."""
    X = rng.normal(size=(40, 6)).astype(np.float32)
    off = np.array([0, 7, 40])                      # a 7-frame track (padded) and a 33-frame one
    net = PatchRNN("bilstm", 6, 12, 3, seed=0).eval()
    std = BandStandardizer().fit(X, off)
    grid = even_patches(off, 12, 6)
    assert grid.length.tolist()[0] == 7
    p = predict_patches(net, X, grid, std, 12, batch_size=2)
    f = patch_features(net, X, grid, std, 12, ["lstm1", "lstm2"], batch_size=3)
    x0 = torch.from_numpy(gather(X, grid, np.array([0]), 12, std)[:, :, :7])
    with torch.no_grad():
        np.testing.assert_allclose(p[0], torch.softmax(net(x0), 1)[0].numpy(), rtol=1e-5, atol=1e-6)
        alone = net.features(x0)
    np.testing.assert_allclose(f[0], torch.cat([alone["lstm1"], alone["lstm2"]], 1)[0].numpy(), rtol=1e-5, atol=1e-6)


def test_the_cpu_layout_computes_the_same_function_and_masks_the_same():
    """to_cpu_layout (channels-last conv front-end, what training on the CPU uses) changes the
    last float bits only, padded patches included."""
    net = PatchRNN("crnn-short", 96, 24, n_classes=3, seed=2).eval()
    x = torch.randn(3, 96, 24)
    x[0, :, 8:] = 0.0
    lengths = torch.tensor([8, 24, 24])
    with torch.no_grad():
        before = net.features(x, lengths=lengths)
        net.to_cpu_layout()
        after = net.features(x, lengths=lengths)
        alone = net.features(x[:1, :, :8])
    for k in before:
        torch.testing.assert_close(after[k], before[k], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(after[k][0], alone[k][0], rtol=1e-4, atol=1e-5)
    assert net.convs[0].conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert PatchRNN("bilstm", 8, 8, 2).to_cpu_layout()._channels_last is False

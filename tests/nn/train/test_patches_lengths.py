"""The patch trainer gives a recurrent net the real lengths of padded patches (and a CNN none, as
before), in training, validation, prediction and features; per-batch augmentation of padded
patches (:func:`mirlearn.nn.batch_augment.apply_padded`) keeps their padding zero and mixes
their lengths with mixup."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirlearn.nn.batch_augment import BatchAugment, apply, apply_padded, draw
from mirlearn.nn.cnn import PatchCNN
from mirlearn.nn.patches import BandStandardizer, even_patches
from mirlearn.nn.rnn import PatchRNN
from mirlearn.nn.train.patches import PatchTrainConfig, patch_features, predict_patches, train_patches

N_BANDS, PATCH = 16, 10


class _Spy:
    """Wraps a net's forward and features; records the lengths each call received."""

    def __init__(self, net):
        self.calls: list[list[int] | None] = []
        forward, features = net.forward, net.features

        def spy_forward(x, lengths=None):
            self.calls.append(None if lengths is None else [int(v) for v in lengths])
            return forward(x, lengths) if lengths is not None else forward(x)

        def spy_features(x, layers=None, lengths=None):
            self.calls.append(None if lengths is None else [int(v) for v in lengths])
            return features(x, layers, lengths=lengths) if lengths is not None else features(x, layers)

        net.forward, net.features = spy_forward, spy_features


@pytest.fixture
def tracks(rng):
    """4 training tracks (one of 4 frames: padded) and 2 validation tracks (one of 7 frames)."""
    lt, lv = np.array([30, 4, 25, 18]), np.array([7, 22])
    Xt = rng.normal(size=(int(lt.sum()), N_BANDS)).astype(np.float32)
    Xv = rng.normal(size=(int(lv.sum()), N_BANDS)).astype(np.float32)
    ot, ov = (np.concatenate([[0], np.cumsum(v)]).astype(np.int64) for v in (lt, lv))
    return Xt, ot, np.array([0, 1, 0, 1]), Xv, ov, np.array([0, 1]), BandStandardizer().fit(Xt, ot)


def _train(tracks, net, **cfg):
    Xt, ot, yt, Xv, ov, yv, std = tracks
    config = PatchTrainConfig(max_epochs=1, batch_size=2, patches_per_track=2, seed=0, **cfg)
    return train_patches(net, Xt, ot, yt, Xv, ov, yv, config, standardizer=std, patch_frames=PATCH,
                         progress=False, epoch_lines=False)


def test_a_recurrent_net_gets_lengths_only_for_batches_with_padded_patches(tracks):
    net = PatchRNN("bilstm", N_BANDS, PATCH, 2, seed=0)
    spy = _Spy(net)
    _train(tracks, net)
    given = [c for c in spy.calls if c is not None]
    assert None in spy.calls and given                                   # some batches whole, some padded
    assert all(4 in c or 7 in c for c in given) and all(max(c) <= PATCH for c in given)
    Xv, ov, std = tracks[3], tracks[4], tracks[6]
    grid = even_patches(ov, PATCH, 5)
    spy.calls.clear()
    predict_patches(net, Xv, grid, std, PATCH, batch_size=len(grid))
    patch_features(net, Xv, grid, std, PATCH, ["lstm2"], batch_size=len(grid))
    assert spy.calls == [grid.length.tolist()] * 2


def test_a_cnn_is_called_without_lengths_as_before(tracks):
    net = PatchCNN("mirex2015", N_BANDS, PATCH, 2, activation="relu")
    net.to_cpu_layout = lambda: net                 # the spy wraps the default layout
    calls = []
    forward = net.forward
    net.forward = lambda x, *a, **k: calls.append((a, k)) or forward(x, *a, **k)
    _train(tracks, net)
    assert calls and all(c == ((), {}) for c in calls)


def test_padded_augmented_patches_keep_zero_padding_and_mixup_mixes_lengths():
    aug = BatchAugment(gain_db=6.0, time_masks=1, time_mask_frames=2, mixup_alpha=0.4)
    x = torch.randn(5, N_BANDS, PATCH)
    lengths = torch.tensor([10, 3, 10, 6, 1])
    for k, n in enumerate(lengths.tolist()):
        x[k, :, n:] = 0.0
    y = torch.tensor([0, 1, 0, 1, 1])
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    plain, t_plain = apply(aug, x.clone(), y, 2, g1, representation="logmel")
    padded, t_padded, mixed = apply_padded(aug, x.clone(), y, lengths, 2, g2, representation="logmel")
    assert torch.equal(g1.get_state(), g2.get_state())                    # the same draws
    torch.testing.assert_close(t_padded, t_plain)
    # every patch's new length is the longer of its own and its mixup partner's
    perm = draw(aug, x.shape, torch.Generator().manual_seed(5)).perm
    assert torch.equal(mixed, torch.maximum(lengths, lengths[perm])) and not torch.equal(mixed, lengths)
    for k, n in enumerate(mixed.tolist()):
        assert torch.equal(padded[k, :, :n], plain[k, :, :n])             # real frames as apply() makes them
        assert not padded[k, :, n:].any()                                  # padding zero again
    assert (plain[:, :, 1:] != 0).any() and any((plain[k, :, n:] != 0).any() for k, n in enumerate(mixed.tolist()))


def test_augmented_training_of_a_recurrent_net_on_padded_patches_runs(tracks):
    net = PatchRNN("bilstm", N_BANDS, PATCH, 2, seed=0)
    spy = _Spy(net)
    res = _train(tracks, net, augment={"gain_db": 3.0, "mixup_alpha": 0.3})
    assert np.isfinite(res.history[-1]["train_loss"]) and [c for c in spy.calls if c is not None]


def test_a_killed_recurrent_run_resumes_bitwise(tracks, tmp_path):
    """Dropout masks (the runner's generator, lent to the net) and padded patches: epochs 3-4
    after a kill at epoch 2 are those of the uninterrupted run."""
    def run(run_dir, callback=None):
        net = PatchRNN("bilstm", N_BANDS, PATCH, 2, seed=0)          # dropout 0.3 after each layer
        Xt, ot, yt, Xv, ov, yv, std = tracks
        cfg = PatchTrainConfig(max_epochs=4, batch_size=2, patches_per_track=2, seed=0)
        res = train_patches(net, Xt, ot, yt, Xv, ov, yv, cfg, standardizer=std, patch_frames=PATCH, progress=False,
                            epoch_lines=False, run_dir=run_dir, callback=callback)
        return net, res

    straight, r_straight = run(tmp_path / "a")

    def kill_after_2(epoch, row):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", kill_after_2)
    resumed, r_resumed = run(tmp_path / "b")
    assert [r["epoch"] for r in r_resumed.history] == [1, 2, 3, 4]
    for k, v in straight.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    assert [r["train_loss"] for r in r_straight.history] == [r["train_loss"] for r in r_resumed.history]

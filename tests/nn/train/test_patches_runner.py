"""Tests of mirlearn.nn.train.patches: CNN training on patches in the one loop (seeded,
resumable bitwise, early stopping, learns a 2-class problem), prediction and features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirlearn.errors import ConfigError, MirlearnError
from mirlearn.nn.cnn import PatchCNN
from mirlearn.nn.patches import BandStandardizer, even_patches
from mirlearn.nn.train import load_checkpoint
from mirlearn.nn.train.patches import PatchTrainConfig, patch_features, predict_patches, train_patches

N_BANDS, PATCH = 16, 20


@pytest.fixture
def bumps(rng):
    """12 training + 6 validation tracks of 40-70 frames × 16 bands, 2 classes: a bump in
    bands 3-5 (class 0) or 10-12 (class 1), at random times, in noise; plus one short track."""
    def make(n_tracks, short=False):
        lengths = rng.integers(40, 70, n_tracks)
        if short:
            lengths[-1] = 12                      # shorter than a patch: padded
        y = np.arange(n_tracks) % 2
        X = rng.normal(size=(int(lengths.sum()), N_BANDS)).astype(np.float32) * 2.0 + 5.0
        off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        for i in range(n_tracks):
            lo = 3 + 7 * y[i]
            X[off[i]:off[i + 1], lo:lo + 3] += 2.5
        return X, off, y.astype(np.int64)

    Xt, ot, yt = make(12, short=True)
    Xv, ov, yv = make(6)
    std = BandStandardizer().fit(Xt, ot)
    return Xt, ot, yt, Xv, ov, yv, std


def _net(seed=0, **kw):
    args = dict(activation="relu", dropout=0.5)
    args.update(kw)
    return PatchCNN("mirex2015", N_BANDS, PATCH, 2, seed=seed, **args)


def _cfg(**kw):
    args = dict(max_epochs=4, patience=10, batch_size=16, patches_per_track=4, seed=0, lr=3e-3)
    args.update(kw)
    return PatchTrainConfig(**args)


def _train(data, net, cfg, **kw):
    Xt, ot, yt, Xv, ov, yv, std = data
    return train_patches(net, Xt, ot, yt, Xv, ov, yv, cfg, standardizer=std, patch_frames=PATCH, progress=False,
                         epoch_lines=False, **kw)


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_learns_a_two_class_problem_above_chance(bumps):
    net = _net()
    res = _train(bumps, net, _cfg(max_epochs=6))
    assert res.runner == "cnn" and res.epochs_run == 6
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]
    assert res.best_valid_acc > 0.9
    Xv, ov, yv = bumps[3:6]
    grid = even_patches(ov, PATCH, PATCH // 2)
    p = predict_patches(net, Xv, grid, bumps[6], PATCH, batch_size=7)
    assert p.shape == (len(grid), 2) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    # track decision by the mean of patch probabilities
    track_p = np.stack([p[grid.track == t].mean(0) for t in range(len(yv))])
    assert (track_p.argmax(1) == yv).mean() >= 5 / 6


def test_seeded_training_is_deterministic_and_the_seed_matters(bumps):
    a, b, c = _net(), _net(), _net()
    ra = _train(bumps, a, _cfg(max_epochs=2))
    rb = _train(bumps, b, _cfg(max_epochs=2))
    _train(bumps, c, _cfg(max_epochs=2, seed=1))
    _same(a, b)
    assert [r["train_loss"] for r in ra.history] == [r["train_loss"] for r in rb.history]
    sa, sc = a.state_dict(), c.state_dict()
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resume_after_a_kill_equals_an_uninterrupted_run(bumps, tmp_path, optimizer):
    kw = dict(optimizer=optimizer, nesterov=optimizer == "sgd", lr=3e-3 if optimizer == "adam" else 0.01)
    straight = _net(batch_norm=True)
    r_straight = _train(bumps, straight, _cfg(**kw), run_dir=tmp_path / "a")

    def kill_after_2(epoch, row):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(bumps, _net(batch_norm=True), _cfg(**kw), run_dir=tmp_path / "b", callback=kill_after_2)
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["progress"]["epoch"] == 2
    resumed = _net(batch_norm=True)
    seen = []
    r_resumed = _train(bumps, resumed, _cfg(**kw), run_dir=tmp_path / "b", callback=lambda e, row: seen.append(e))
    assert seen == [3, 4]
    _same(straight, resumed)
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(r_straight.history) == strip(r_resumed.history)
    # another setting, standardisation or data is refused
    with pytest.raises(ConfigError, match="patches_per_track"):
        _train(bumps, _net(batch_norm=True), _cfg(patches_per_track=5, **kw), run_dir=tmp_path / "b")
    Xt, ot, yt, Xv, ov, yv, std = bumps
    other = BandStandardizer().fit(Xt, ot, tracks=[0, 1])
    with pytest.raises(ConfigError, match="data"):
        train_patches(_net(batch_norm=True), Xt, ot, yt, Xv, ov, yv, _cfg(**kw), standardizer=other,
                      patch_frames=PATCH, run_dir=tmp_path / "b", progress=False, epoch_lines=False)


def test_early_stopping_keeps_the_best_weights(bumps):
    net = _net()
    res = _train(bumps, net, _cfg(max_epochs=30, patience=2, lr=0.05))
    best = min(r["valid_loss"] for r in res.history)
    assert res.best_valid_loss == best
    assert res.stop_reason in ("patience", "max_epochs")
    # the model holds the best epoch's weights: its validation loss is the best one
    Xv, ov, yv = bumps[3:6]
    grid = even_patches(ov, PATCH, PATCH // 2)
    p = predict_patches(net, Xv, grid, bumps[6], PATCH)
    loss = -np.log(np.maximum(p[np.arange(len(grid)), yv[grid.track]], 1e-30)).mean()
    assert loss == pytest.approx(best, rel=1e-4, abs=1e-6)


def test_patch_features_concatenate_layers_in_order(bumps, tmp_path):
    net = _net().eval()
    Xv, ov = bumps[3], bumps[4]
    grid = even_patches(ov, PATCH, 7)
    f = patch_features(net, Xv, grid, bumps[6], PATCH, ["dense", "conv1"], batch_size=5)
    assert f.shape == (len(grid), 200 + 15) and f.dtype == np.float32
    with torch.no_grad():
        ref = net.features(torch.from_numpy(_batch(Xv, grid, bumps[6])), ["dense", "conv1"])
    np.testing.assert_allclose(f, torch.cat([ref["dense"], ref["conv1"]], 1).numpy(), rtol=1e-5, atol=1e-5)  # batch sizes differ: float32 sums in another order
    out = np.lib.format.open_memmap(tmp_path / "f.npy", mode="w+", dtype=np.float32, shape=f.shape)
    assert patch_features(net, Xv, grid, bumps[6], PATCH, ["dense", "conv1"], out=out) is out
    np.testing.assert_allclose(np.asarray(out), f, rtol=1e-5, atol=1e-5)
    with pytest.raises(ConfigError, match="conv9"):
        patch_features(net, Xv, grid, bumps[6], PATCH, ["conv9"])


def _batch(X, grid, std):
    from mirlearn.nn.patches import gather
    return gather(X, grid, np.arange(len(grid)), PATCH, std)


def test_bad_input_fails_before_any_epoch(bumps):
    Xt, ot, yt, Xv, ov, yv, std = bumps
    with pytest.raises(MirlearnError, match="patch_frames=30"):
        train_patches(_net(), Xt, ot, yt, Xv, ov, yv, _cfg(), standardizer=std, patch_frames=30)
    with pytest.raises(MirlearnError, match="bands"):
        train_patches(_net(), Xt[:, :8], ot, yt, Xv, ov, yv, _cfg(), standardizer=std, patch_frames=PATCH)
    with pytest.raises(MirlearnError, match="one integer class per track"):
        train_patches(_net(), Xt, ot, yt[:-1], Xv, ov, yv, _cfg(), standardizer=std, patch_frames=PATCH)
    with pytest.raises(MirlearnError, match="classes"):
        train_patches(_net(), Xt, ot, yt + 1, Xv, ov, yv, _cfg(), standardizer=std, patch_frames=PATCH)
    with pytest.raises(MirlearnError, match="not fitted"):
        train_patches(_net(), Xt, ot, yt, Xv, ov, yv, _cfg(), standardizer=BandStandardizer(), patch_frames=PATCH)


def test_config_checks_and_round_trip():
    cfg = PatchTrainConfig(optimizer="nadam", weight_decay=1e-4)
    assert PatchTrainConfig.from_dict(cfg.to_dict()) == cfg
    for bad in (dict(optimizer="rmsprop"), dict(lr=0), dict(nesterov=True), dict(batch_size=0),
                dict(valid_hop=0), dict(weight_decay=-1.0)):
        with pytest.raises(ConfigError):
            PatchTrainConfig(**bad)
    with pytest.raises(ConfigError, match="unknown CNN training option"):
        PatchTrainConfig.from_dict({"epochs": 3})
    assert PatchTrainConfig(optimizer="sgd", nesterov=True).nesterov
    assert PatchTrainConfig(device=None).device == "cpu"


def test_nadam_and_weight_decay_train(bumps):
    res = _train(bumps, _net(), _cfg(optimizer="nadam", weight_decay=1e-3, max_epochs=2))
    assert res.epochs_run == 2 and np.isfinite(res.history[-1]["train_loss"])


def test_cuda_without_cuda_is_one_config_error(bumps):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="CUDA"):
        _train(bumps, _net(), _cfg(device="cuda"))

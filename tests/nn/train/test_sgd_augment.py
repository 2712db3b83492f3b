"""Per-batch augmentation in the MLP's SGD runner: training frames only, seeded, bitwise
resumable; soft (mixup) targets in both losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirlearn.errors import ConfigError
from mirlearn.nn.train import load_checkpoint, loss_fn, train_sgd

from tests.nn.train.test_sgd import _assert_same_weights, _cfg, _net, _weights, blobs  # noqa: F401

AUG = {"gain_db": 3.0, "freq_masks": 1, "freq_mask_bands": 4, "mixup_alpha": 0.3}


@pytest.mark.parametrize("kind", ["softmax", "sigmoid"])
def test_soft_targets_equal_hard_ones_when_one_hot(kind):
    logits, y = torch.randn(5, 3), torch.tensor([0, 2, 1, 1, 0])
    soft = torch.nn.functional.one_hot(y, 3).float()
    torch.testing.assert_close(loss_fn(logits, soft, kind), loss_fn(logits, y, kind))


def test_augmented_sgd_is_seeded_differs_and_resumes_bitwise(blobs, tmp_path):
    Xt, yt, Xv, yv = np.abs(blobs[0]), blobs[1], np.abs(blobs[2]), blobs[3]  # magnitudes, as |FFT| frames
    plain, a = _net(), _net()
    train_sgd(plain, Xt, yt, Xv, yv, _cfg(), progress=False)
    r1 = train_sgd(a, Xt, yt, Xv, yv, _cfg(augment=AUG), run_dir=tmp_path / "a", progress=False)
    assert any(not torch.equal(p, q) for p, q in zip(_weights(plain).values(), _weights(a).values()))

    def kill_after_3(epoch, row):
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_sgd(_net(), Xt, yt, Xv, yv, _cfg(augment=AUG), run_dir=tmp_path / "b", progress=False,
                  callback=kill_after_3)
    assert "augment_generator" in load_checkpoint(tmp_path / "b" / "checkpoint.pt")["runner_state"]
    resumed = _net()
    r2 = train_sgd(resumed, Xt, yt, Xv, yv, _cfg(augment=AUG), run_dir=tmp_path / "b", progress=False)
    _assert_same_weights(_weights(a), _weights(resumed))
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(r1.history) == strip(r2.history)
    assert "augment" not in _cfg().to_dict()  # checkpoints from before augmentation keep their keys


def test_training_data_is_not_changed_and_bad_settings_fail_first(blobs):
    Xt, yt, Xv, yv = np.abs(blobs[0]), blobs[1], np.abs(blobs[2]), blobs[3]
    before = Xt.copy()
    train_sgd(_net(), Xt, yt, Xv, yv, _cfg(max_epochs=1, augment=AUG), progress=False)
    np.testing.assert_array_equal(Xt, before)
    with pytest.raises(ConfigError, match="time"):
        train_sgd(_net(), Xt, yt, Xv, yv, _cfg(augment={"time_masks": 1, "time_mask_frames": 2}), progress=False)
    with pytest.raises(ConfigError, match="gain"):
        train_sgd(_net(), Xt, yt, Xv, yv, _cfg(augment={"gain_db": 1.0}), progress=False, representation="mfcc")

"""Per-batch augmentation in the CNN patch loop: training batches only, seeded, resumable
bitwise, refused before work when it does not fit the patches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirlearn.errors import ConfigError
from mirlearn.nn.train import load_checkpoint
from mirlearn.nn.train.patches import PatchEpochs, PatchTrainConfig

from tests.nn.train.test_patches_runner import PATCH, _cfg, _net, _same, _train, bumps  # noqa: F401

AUG = {"gain_db": 6.0, "time_masks": 1, "time_mask_frames": 4, "freq_masks": 1, "freq_mask_bands": 3,
       "mixup_alpha": 0.4}


def test_augmented_training_differs_and_is_seeded(bumps):
    plain, a, b = _net(), _net(), _net()
    _train(bumps, plain, _cfg(max_epochs=2))
    _train(bumps, a, _cfg(max_epochs=2, augment=AUG))
    _train(bumps, b, _cfg(max_epochs=2, augment=AUG))
    _same(a, b)
    assert any(not torch.equal(p, q) for p, q in zip(plain.state_dict().values(), a.state_dict().values()))


def test_validation_batches_are_never_augmented(bumps):
    Xt, ot, yt, Xv, ov, yv, std = bumps
    net = _net()
    plain = PatchEpochs(net, Xt, ot, yt, ov, _cfg(), standardizer=std, patch_frames=PATCH)
    aug = PatchEpochs(net, Xt, ot, yt, ov, _cfg(augment=AUG), standardizer=std, patch_frames=PATCH)
    state = aug.augment_generator.get_state()
    assert plain.validate(net, Xv, yv) == aug.validate(net, Xv, yv)
    assert torch.equal(aug.augment_generator.get_state(), state)  # nothing drawn


def test_resume_with_augmentation_equals_an_uninterrupted_run(bumps, tmp_path):
    straight = _net()
    r1 = _train(bumps, straight, _cfg(augment=AUG), run_dir=tmp_path / "a")

    def kill_after_2(epoch, row):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(bumps, _net(), _cfg(augment=AUG), run_dir=tmp_path / "b", callback=kill_after_2)
    assert "augment_generator" in load_checkpoint(tmp_path / "b" / "checkpoint.pt")["runner_state"]
    resumed = _net()
    r2 = _train(bumps, resumed, _cfg(augment=AUG), run_dir=tmp_path / "b")
    _same(straight, resumed)
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(r1.history) == strip(r2.history)
    with pytest.raises(ConfigError, match="augment"):  # other augmentation settings: refused
        _train(bumps, _net(), _cfg(augment={**AUG, "mixup_alpha": 0.2}), run_dir=tmp_path / "b")


def test_bad_augmentation_is_refused_before_work(bumps):
    with pytest.raises(ConfigError, match="time_mask_frames"):
        _train(bumps, _net(), _cfg(augment={"time_masks": 1, "time_mask_frames": PATCH + 1}))
    with pytest.raises(ConfigError, match="gain"):
        _train(bumps, _net(), _cfg(augment={"gain_db": 3.0}), representation="mfcc")
    with pytest.raises(ConfigError, match="nonsense"):
        PatchTrainConfig(augment={"nonsense": 1})


def test_checkpoints_without_augmentation_keep_their_config_keys():
    # runs checkpointed before augmentation existed must still resume
    assert "augment" not in PatchTrainConfig().to_dict()
    assert PatchTrainConfig(augment=AUG).to_dict()["augment"] == AUG

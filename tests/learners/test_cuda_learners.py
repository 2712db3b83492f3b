"""The learners on CUDA: ``fit`` / ``transform`` / ``predict_proba`` with ``device='cuda'``.

Skipped without a CUDA device (``MIRLEARN_CUDA_TESTS=cpu`` runs their code on the CPU; see
``tests/cuda_support.py``); ``benchmarks/device_check.sh`` runs them on a GPU machine.
Tolerances as in ``tests/nn/test_cuda.py``: the same weights forward on both devices within
``rtol=1e-4, atol=1e-5`` (TF32 off), nets trained on each device from the same start within
``rtol=1e-3, atol=1e-4``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import ConfigError
from mirlearn.features.frameset import FrameSet
from mirlearn.learners import MLPLearner, load_learner
from mirlearn.learners.cnn import CNNLearner
from tests.cuda_support import DEVICE, ieee_fp32, needs_cuda
from tests.learners.blobs import blobs

FORWARD = dict(rtol=1e-4, atol=1e-5)
TRAINED = dict(rtol=1e-3, atol=1e-4)


def _bands(rng, n_tracks=8, frames=60, dim=40) -> FrameSet:
    """Spectrogram-like frames, 2 classes told apart by a shift of every band."""
    tracks = [Track(f"t{i}", Path(f"t{i}.wav"), f"c{i % 2}") for i in range(n_tracks)]
    X = (rng.standard_normal((n_tracks * frames, dim)) + np.repeat(np.arange(n_tracks) % 2, frames)[:, None]
         ).astype(np.float32)
    return FrameSet(X, np.arange(n_tracks + 1) * frames, TrackTable(tracks))


def _split(fs: FrameSet, n_train: int) -> tuple[FrameSet, FrameSet]:
    ids = fs.tracks.ids
    return fs.subset(ids[:n_train]), fs.subset(ids[n_train:])


def _mlp(device: str, **kw) -> MLPLearner:
    args = dict(hidden=(16, 12, 8), lr=0.05, batch_size=32, max_epochs=6, patience=10, progress=False, device=device)
    args.update(kw)
    return MLPLearner(**args)


def _on(module: torch.nn.Module, device: str) -> bool:
    return all(t.device.type == torch.device(device).type for t in [*module.parameters(), *module.buffers()])


@needs_cuda
def test_mlp_learner_fits_on_cuda_and_transforms_there_as_on_the_cpu(rng, tmp_path):
    fs = blobs(rng)
    learner = _mlp(DEVICE, dropout=0.25).fit(*_split(fs, 8))
    assert _on(learner.net_, "cpu")                 # fit hands the net back on the CPU
    assert (learner.predict_proba(fs).argmax(1) == fs.frame_labels()).mean() > 0.9
    with ieee_fp32():
        on_dev = learner.transform(fs, layers="all").X
        p_dev = learner.predict_proba(fs)
        learner.device = "cpu"
        on_cpu = learner.transform(fs, layers="all").X
        p_cpu = learner.predict_proba(fs)
    assert on_dev.shape == (len(fs.X), 16 + 12 + 8) and on_dev.dtype == np.float32
    np.testing.assert_allclose(on_dev, on_cpu, **FORWARD)
    np.testing.assert_allclose(p_dev, p_cpu, **FORWARD)
    # a learner used on CUDA saves and loads on the CPU
    learner.device = DEVICE
    learner.transform(fs, layers=1)                 # leaves its net on the device
    learner.save(tmp_path / "m")
    again = load_learner(tmp_path / "m")
    assert again.device == "cpu" and _on(again.net_, "cpu")
    with ieee_fp32():
        np.testing.assert_allclose(again.transform(fs, layers="all").X, on_cpu, **FORWARD)


@needs_cuda
def test_mlp_learner_trained_on_cuda_matches_one_trained_on_the_cpu(rng):
    """No dropout (the masks are the device's own): same batches, same start, close weights."""
    fs = blobs(rng)
    train, valid = _split(fs, 8)
    with ieee_fp32():
        on_dev = _mlp(DEVICE, max_epochs=3).fit(train, valid)
        on_cpu = _mlp("cpu", max_epochs=3).fit(train, valid)
        f_dev, f_cpu = (lrn.transform(fs, layers="all").X for lrn in (on_dev, on_cpu))
    for (k, a), (_, b) in zip(on_dev.net_.state_dict().items(), on_cpu.net_.state_dict().items()):
        torch.testing.assert_close(a.cpu(), b.cpu(), **TRAINED, msg=lambda m, k=k: f"{k}: {m}")
    np.testing.assert_allclose(f_dev, f_cpu, **TRAINED)


@needs_cuda
def test_mlp_learner_hessian_free_on_cuda(rng):
    fs = blobs(rng)
    learner = _mlp(DEVICE, activation="sigmoid", optimizer="hf", loss="sigmoid", max_epochs=3, max_cg_iters=20,
                   patience=0).fit(*_split(fs, 8))
    h = learner.train_result_.history
    assert len(h) == 3 and all(r["objective"] < r["objective_before"] for r in h)
    feats = learner.transform(fs, layers=2).X
    assert feats.shape == (len(fs.X), 12) and np.all((feats > 0) & (feats < 1))   # sigmoid units


@needs_cuda
def test_cnn_learner_fits_on_cuda_and_transforms_there_as_on_the_cpu(rng):
    fs = _bands(rng)
    learner = CNNLearner(architecture="schindler-shallow", patch_frames=40, patch_hop=20, max_epochs=2,
                         patches_per_track=2, progress=False, device=DEVICE).fit(*_split(fs, 6))
    assert _on(learner.net_, "cpu") and learner.train_result_.epochs_run == 2
    with ieee_fp32():
        f_dev = learner.transform(fs, layers="all")
        p_dev = learner.predict_proba(fs)
        o_dev = learner.output(fs)
        learner.device = "cpu"
        f_cpu = learner.transform(fs, layers="all")
        p_cpu = learner.predict_proba(fs)
    n_patches = 8 * 2                               # 60 frames, patches of 40 every 20
    assert f_dev.X.shape == (n_patches, sum(learner.feature_layers_.values())) and f_dev.X.dtype == np.float32
    assert np.array_equal(f_dev.offsets, f_cpu.offsets) and np.array_equal(o_dev.offsets, f_dev.offsets)
    np.testing.assert_allclose(f_dev.X, f_cpu.X, **FORWARD)
    np.testing.assert_allclose(p_dev, p_cpu, **FORWARD)
    np.testing.assert_allclose(o_dev.X, p_dev, **FORWARD)
    np.testing.assert_allclose(p_dev.sum(1), 1.0, rtol=1e-5)


def test_cuda_learners_without_cuda_fail_in_one_line(rng, monkeypatch):
    """``fit`` with ``device='cuda'`` where CUDA is absent: one ConfigError line, before training.
    CUDA is hidden, so this runs on every machine."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    mlp_data, cnn_data = _split(blobs(rng), 8), _split(_bands(rng), 6)
    fits = {
        "mlp sgd": lambda: _mlp("cuda", max_epochs=1).fit(*mlp_data),
        "mlp hf": lambda: _mlp("cuda", activation="sigmoid", optimizer="hf", loss="sigmoid", max_epochs=1).fit(*mlp_data),
        "cnn": lambda: CNNLearner(architecture="schindler-shallow", patch_frames=40, patch_hop=20, max_epochs=1,
                                  patches_per_track=1, progress=False, device="cuda").fit(*cnn_data),
    }
    for name, fit in fits.items():
        with pytest.raises(ConfigError, match="CUDA is not available") as e:
            fit()
        assert "\n" not in str(e.value), name


def test_cnn_learner_features_on_cuda_without_cuda_fail_in_one_line(rng, monkeypatch):
    fs = _bands(rng)
    learner = CNNLearner(architecture="schindler-shallow", patch_frames=40, patch_hop=20, max_epochs=1,
                         patches_per_track=1, progress=False).fit(*_split(fs, 6))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    learner.device = "cuda"
    for call in (lambda: learner.transform(fs), lambda: learner.predict_proba(fs)):
        with pytest.raises(ConfigError, match="CUDA is not available") as e:
            call()
        assert "\n" not in str(e.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_mlp_learner_features_on_cuda_without_cuda_fail_in_one_line(rng):
    fs = blobs(rng)
    learner = _mlp("cpu", max_epochs=1).fit(*_split(fs, 8))
    learner.device = "cuda"
    for call in (lambda: learner.transform(fs), lambda: learner.predict_proba(fs)):
        with pytest.raises(ConfigError, match="CUDA is not available"):
            call()

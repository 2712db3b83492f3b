"""Pre-training on CUDA: the CPU's result within float tolerance, resumable on the device and
across devices. Skipped without CUDA (``MIRLEARN_CUDA_TESTS=cpu`` runs the code on the CPU;
see ``tests/cuda_support.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirlearn.nn.mlp import MLP
from mirlearn.nn.pretrain.settings import PretrainSettings
from mirlearn.nn.pretrain.stack import pretrain_mlp
from tests.cuda_support import DEVICE, ieee_fp32, needs_cuda

SETTINGS = dict(epochs=3, patience=0, batch_size=50, lr=0.05, input_lr=0.01)


@pytest.fixture
def frames(rng):
    X = (rng.normal(0, 2, (3, 12))[rng.integers(0, 3, 600)] + rng.normal(0, 0.5, (600, 12))).astype(np.float32)
    return X[:500], X[500:]


@needs_cuda
@pytest.mark.parametrize("method", ["rbm", "dae"])
def test_pretraining_on_the_device_resumes_there_and_on_the_cpu(frames, tmp_path, method):
    X, Xv = frames
    settings = PretrainSettings(method=method, **SETTINGS)
    with ieee_fp32():
        whole = MLP(12, (10, 8), 3, activation="sigmoid", seed=0)
        results = pretrain_mlp(whole, X, Xv, settings, seed=1, device=DEVICE, run_dir=tmp_path / "a", epoch_lines=False)
        assert all(np.isfinite(r.best_valid_loss) for r in results) and whole.layers[0].weight.device.type == DEVICE

        def kill(layer, epoch, row):
            if (layer, epoch) == (2, 2):
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            pretrain_mlp(MLP(12, (10, 8), 3, activation="sigmoid", seed=0), X, Xv, settings, seed=1, device=DEVICE,
                         run_dir=tmp_path / "b", epoch_lines=False, callback=kill)
        again = MLP(12, (10, 8), 3, activation="sigmoid", seed=0)
        pretrain_mlp(again, X, Xv, settings, seed=1, device=DEVICE, run_dir=tmp_path / "b", epoch_lines=False)
        for p, q in zip(whole.parameters(), again.parameters()):
            assert torch.equal(p, q)  # bitwise on the same device
        # A run begun on the device finishes on the CPU (its generator reseeded from the saved state).
        with pytest.raises(KeyboardInterrupt):
            pretrain_mlp(MLP(12, (10, 8), 3, activation="sigmoid", seed=0), X, Xv, settings, seed=1, device=DEVICE,
                         run_dir=tmp_path / "c", epoch_lines=False, callback=kill)
        cpu = MLP(12, (10, 8), 3, activation="sigmoid", seed=0)
        resumed = pretrain_mlp(cpu, X, Xv, settings, seed=1, device="cpu", run_dir=tmp_path / "c", epoch_lines=False)
        assert resumed[1].epochs_run == 3 and all(np.isfinite(p.detach().numpy()).all() for p in cpu.parameters())

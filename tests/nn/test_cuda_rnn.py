"""The recurrent patch nets on a CUDA device (skipped without one; ``MIRLEARN_CUDA_TESTS=cpu``
runs the bodies on the CPU): padded patches masked on the device as on the CPU (the lengths
move to the device, the packed sequences' lengths stay on the CPU), and training there."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirlearn.nn.patches import BandStandardizer
from mirlearn.nn.rnn import PatchRNN
from mirlearn.nn.train.patches import PatchTrainConfig, train_patches
from tests.cuda_support import DEVICE, ieee_fp32, needs_cuda


@needs_cuda
@pytest.mark.parametrize("name, n_bands, n_frames, length", [("bilstm", 10, 16, 7), ("crnn-short", 96, 16, 8)])
def test_padded_patches_on_the_device_give_the_cpu_features(name, n_bands, n_frames, length):
    net = PatchRNN(name, n_bands, n_frames, n_classes=3, seed=0).eval()
    x = torch.randn(3, n_bands, n_frames)
    x[1, :, length:] = 0.0
    lengths = torch.tensor([n_frames, length, n_frames])
    with torch.no_grad(), ieee_fp32():
        cpu = net.features(x, lengths=lengths)
        dev_net = PatchRNN(name, n_bands, n_frames, n_classes=3, seed=0).eval().to(DEVICE)
        dev = dev_net.features(x.to(DEVICE), lengths=lengths.to(DEVICE))
        alone = dev_net.features(x[1:2, :, :length].to(DEVICE))
    for k in cpu:
        assert dev[k].device.type == torch.device(DEVICE).type
        torch.testing.assert_close(dev[k].cpu(), cpu[k], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(dev[k][1].cpu(), alone[k][0].cpu(), rtol=1e-4, atol=1e-5)


@needs_cuda
def test_bilstm_trains_on_the_device_with_padded_tracks(rng):
    lengths = np.array([20, 5, 24, 18, 6, 22, 19, 21])           # two tracks shorter than a patch
    y = np.arange(len(lengths)) % 2
    X = (rng.normal(size=(int(lengths.sum()), 6)) + np.repeat(2.0 * y - 1.0, lengths)[:, None]).astype(np.float32)
    off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    std = BandStandardizer().fit(X, off)
    net = PatchRNN("bilstm", 6, 8, 2, seed=0)
    cfg = PatchTrainConfig(max_epochs=3, patience=3, batch_size=8, patches_per_track=4, seed=0, lr=3e-3, device=DEVICE)
    res = train_patches(net, X, off, y, X, off, y, cfg, standardizer=std, patch_frames=8, progress=False,
                        epoch_lines=False)
    loss = [r["train_loss"] for r in res.history]
    assert next(net.parameters()).device.type == torch.device(DEVICE).type
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]

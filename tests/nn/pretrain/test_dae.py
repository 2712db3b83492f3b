"""Denoising autoencoders: they reconstruct the clean input from a corrupted one."""

import numpy as np
import pytest
import torch

from mirlearn.nn.pretrain.dae import DenoisingAutoencoder, corrupt
from mirlearn.nn.pretrain.runner import LayerEpochs, LayerRunSettings
from mirlearn.nn.pretrain.settings import PretrainSettings
from mirlearn.nn.train.loop import train_loop


def subspace(rng, n, dim=20, rank=3):
    """Frames near a random 3-d subspace of 20-d: redundancy a denoiser can use."""
    A = np.random.default_rng(7).standard_normal((rank, dim))
    return (rng.standard_normal((n, rank)) @ A + 0.05 * rng.standard_normal((n, dim))).astype(np.float32)


def fit(dae, X, Xv, lr):
    s = PretrainSettings(method="dae", patience=0, epochs=15, batch_size=50, corruption=dae.corruption,
                         corruption_level=dae.level)
    runner = LayerEpochs(dae, lambda x: x, X, LayerRunSettings(s, layer=1, lr=lr, seed=3))
    return train_loop(dae, runner, Xv, None, runner.run, epoch_lines=False)


@pytest.mark.parametrize("kind, level", [("mask", 0.25), ("gaussian", 0.5)])
@pytest.mark.parametrize("tied", [True, False])
def test_reconstructs_clean_input_better_than_the_corrupted_input(rng, kind, level, tied):
    X, Xv = subspace(rng, 3000), subspace(rng, 500)
    dae = DenoisingAutoencoder(20, 16, activation="relu", decoder="linear", tied=tied, corruption=kind,
                               level=level, seed=0)
    x = torch.from_numpy(Xv)
    noisy = corrupt(x, kind, level, torch.Generator().manual_seed(11))
    with torch.no_grad():
        untrained = float(((dae.reconstruct(noisy) - x) ** 2).mean())
    fit(dae, X, Xv, lr=0.005)
    with torch.no_grad():
        denoised = float(((dae.reconstruct(noisy) - x) ** 2).mean())
    corrupted = float(((noisy - x) ** 2).mean())
    # The corrupted input's own error: 25 % of the values zeroed (~0.8 here), or the noise's 0.25.
    assert denoised < 0.35 * corrupted and denoised < 0.1 * untrained


def test_sigmoid_layer_with_cross_entropy_denoises_probabilities(rng):
    # Inputs in [0, 1] as a sigmoid layer gives them: 4 binary prototypes blurred.
    protos = (np.random.default_rng(2).random((4, 24)) < 0.5).astype(np.float32)

    def sample(n):
        return np.clip(protos[rng.integers(0, 4, n)] + 0.1 * rng.standard_normal((n, 24)), 0, 1).astype(np.float32)

    X, Xv = sample(3000), sample(500)
    dae = DenoisingAutoencoder(24, 12, activation="sigmoid", decoder="sigmoid", corruption="mask", level=0.3, seed=0)
    x = torch.from_numpy(Xv)
    noisy = corrupt(x, "mask", 0.3, torch.Generator().manual_seed(1))
    with torch.no_grad():
        untrained = float(((dae.reconstruct(noisy) - x) ** 2).mean())
    result = fit(dae, X, Xv, lr=0.05)
    assert result.best_valid_loss < 0.6 * result.history[0]["valid_loss"]  # cross-entropy per value, nats
    with torch.no_grad():
        denoised = float(((dae.reconstruct(noisy) - x) ** 2).mean())
    assert denoised < 0.1 * float(((noisy - x) ** 2).mean()) and denoised < 0.1 * untrained


def test_corruption_is_what_it_says(rng):
    x = torch.ones(200, 50)
    masked = corrupt(x, "mask", 0.25, torch.Generator().manual_seed(0))
    assert set(masked.unique().tolist()) == {0.0, 1.0} and abs(float((masked == 0).float().mean()) - 0.25) < 0.02
    noisy = corrupt(x, "gaussian", 0.5, torch.Generator().manual_seed(0))
    assert abs(float((noisy - x).std()) - 0.5) < 0.02
    assert torch.equal(corrupt(x, "mask", 0.0), x)
    # Seeded: the same generator state, the same corruption.
    assert torch.equal(corrupt(x, "mask", 0.25, torch.Generator().manual_seed(0)), masked)
    with pytest.raises(ValueError, match="corruption"):
        corrupt(x, "salt", 0.1)


def test_tied_weights_are_the_encoders_transposed():
    dae = DenoisingAutoencoder(5, 3, tied=True, seed=0)
    assert not hasattr(dae, "decoder_weight") and {n for n, _ in dae.named_parameters()} == {
        "weight", "bias", "decoder_bias"}
    h = torch.rand(2, 3)
    torch.testing.assert_close(dae.decode(h), h @ dae.weight + dae.decoder_bias)
    untied = DenoisingAutoencoder(5, 3, tied=False, seed=0)
    assert untied.decoder_weight.shape == (5, 3)

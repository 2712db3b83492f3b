"""RBMs: CD-k learns a known toy distribution; Gaussian-Bernoulli on standardised data."""

import itertools
import math

import numpy as np
import pytest
import torch

from mirlearn.nn.pretrain.rbm import RBM
from mirlearn.nn.pretrain.runner import LayerEpochs, LayerRunSettings
from mirlearn.nn.pretrain.settings import PretrainSettings
from mirlearn.nn.train.loop import train_loop

#: A mixture of 4 random 16-bit prototypes, each bit flipped with probability 0.05.
N_BITS, N_PROTOS, FLIP = 16, 4, 0.05


def bernoulli_mixture(rng, n):
    protos = np.random.default_rng(1).random((N_PROTOS, N_BITS)) < 0.5
    z = rng.integers(0, N_PROTOS, n)
    return (protos[z] ^ (rng.random((n, N_BITS)) < FLIP)).astype(np.float32)


def exact_log_likelihood(rbm: RBM, X: np.ndarray) -> float:
    """Mean log p(v) of a Bernoulli-Bernoulli RBM, its partition function summed over every
    hidden state (2^n_hidden terms)."""
    H = torch.tensor(list(itertools.product([0.0, 1.0], repeat=rbm.n_hidden)))
    with torch.no_grad():
        log_z = torch.logsumexp(H @ rbm.hidden_bias
                                + torch.nn.functional.softplus(H @ rbm.weight + rbm.visible_bias).sum(1), 0)
        return float((-rbm.free_energy(torch.from_numpy(X)) - log_z).mean())


def train(rbm, X, Xv, **settings):
    s = PretrainSettings(method="rbm", patience=0, **settings)
    runner = LayerEpochs(rbm, lambda x: x, X, LayerRunSettings(s, layer=2, lr=s.lr, seed=3))
    before = runner.validate(rbm, Xv)[0]
    result = train_loop(rbm, runner, Xv, None, runner.run, epoch_lines=False)
    return before, result


@pytest.mark.parametrize("cd_k", [1, 3])
def test_cd_k_learns_a_bernoulli_mixture(rng, cd_k):
    X, Xv = bernoulli_mixture(rng, 2000), bernoulli_mixture(rng, 500)
    rbm = RBM(N_BITS, 8, "bernoulli", cd_k=cd_k, seed=0)
    ll_before = exact_log_likelihood(rbm, Xv)
    before, result = train(rbm, X, Xv, epochs=15, lr=0.05, batch_size=20)
    # The reconstruction error falls far below that of the untrained machine (about 0.25 per bit).
    assert before > 0.2 and result.best_valid_loss < 0.08
    # ... and the exact held-out likelihood rises towards the mixture's own: its entropy is
    # log 4 + 16 H(0.05) ≈ 4.56 nats, a uniform guess 16 log 2 ≈ 11.09.
    entropy = math.log(N_PROTOS) + N_BITS * -(FLIP * math.log(FLIP) + (1 - FLIP) * math.log(1 - FLIP))
    ll_after = exact_log_likelihood(rbm, Xv)
    assert ll_before < -10.5 and ll_after > -entropy - 1.6 and ll_after > ll_before + 5


def test_gaussian_bernoulli_models_standardised_bars(rng):
    # Four "bars" (blocks of 5 of 20 dimensions raised together), small noise, standardised.
    protos = np.kron(np.eye(4), np.ones(5)) * 3.0

    def sample(n):
        return protos[rng.integers(0, 4, n)] + 0.3 * rng.standard_normal((n, 20))

    X, Xv = sample(3000), sample(500)
    mean, std = X.mean(0), X.std(0)
    X, Xv = ((X - mean) / std).astype(np.float32), ((Xv - mean) / std).astype(np.float32)
    rbm = RBM(20, 16, "gaussian", seed=0)
    before, result = train(rbm, X, Xv, epochs=12, lr=0.005, batch_size=50)
    # Unit-variance data: predicting the mean costs 1 per value; the bars are learned.
    assert 0.95 < before < 1.05 and result.best_valid_loss < 0.1
    # Hidden units tell the bars apart: the mean-field hidden codes of different bars differ.
    codes = rbm.hidden_probs(torch.from_numpy(((protos - mean) / std).astype(np.float32))).detach()
    assert torch.cdist(codes, codes)[~torch.eye(4, dtype=torch.bool)].min() > 0.5


def test_conditionals_and_free_energy_match_the_energy():
    """p(h|v), E[v|h] and F(v) against the energy summed by hand on a tiny machine."""
    torch.manual_seed(0)
    for visible in ("bernoulli", "gaussian"):
        rbm = RBM(3, 2, visible, seed=1)
        with torch.no_grad():
            rbm.weight.normal_(0, 1)
            rbm.visible_bias.normal_(0, 1)
            rbm.hidden_bias.normal_(0, 1)
        v = torch.randn(5, 3) if visible == "gaussian" else torch.bernoulli(torch.full((5, 3), 0.5))
        W, b, c = rbm.weight, rbm.visible_bias, rbm.hidden_bias
        H = torch.tensor(list(itertools.product([0.0, 1.0], repeat=2)))

        def energy(v, h):
            quad = 0.5 * ((v - b) ** 2).sum(-1) if visible == "gaussian" else -(v * b).sum(-1)
            return quad - (h * c).sum(-1) - ((h @ W) * v).sum(-1)

        E = torch.stack([energy(v, h.expand(5, 2)) for h in H], 1)  # (5, 4)
        with torch.no_grad():
            torch.testing.assert_close(rbm.free_energy(v), -torch.logsumexp(-E, 1))
            p = torch.softmax(-E, 1)  # p(h | v) over the 4 states
            torch.testing.assert_close(rbm.hidden_probs(v), p @ H)
            h = torch.tensor([[1.0, 0.0]])
            expect = b + h @ W
            torch.testing.assert_close(rbm.visible_mean(h), expect if visible == "gaussian" else torch.sigmoid(expect))


def test_the_cd_gradient_is_data_minus_model_statistics():
    rbm = RBM(4, 3, "bernoulli", cd_k=1, seed=0)
    v0 = torch.bernoulli(torch.full((6, 4), 0.5), generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(5)
    rbm.accumulate_gradients(v0, g)
    g2 = torch.Generator().manual_seed(5)
    with torch.no_grad():
        ph0 = rbm.hidden_probs(v0)
        v1 = rbm.visible_mean(torch.bernoulli(ph0, generator=g2))
        ph1 = rbm.hidden_probs(v1)
    torch.testing.assert_close(rbm.weight.grad, -(ph0.T @ v0 - ph1.T @ v1) / 6)
    torch.testing.assert_close(rbm.visible_bias.grad, -(v0 - v1).mean(0))
    torch.testing.assert_close(rbm.hidden_bias.grad, -(ph0 - ph1).mean(0))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="visible"):
        RBM(3, 2, "poisson")
    with pytest.raises(ValueError, match="positive"):
        RBM(3, 2, cd_k=0)

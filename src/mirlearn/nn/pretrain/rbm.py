"""Restricted Boltzmann machines trained by contrastive divergence (CD-k).

Two kinds of visible units, as a deep belief net on standardised frames needs them
(Hinton, "A practical guide to training restricted Boltzmann machines", 2010; Hamel & Eck 2010):

- ``gaussian``: real-valued visible units of unit variance, for standardised input (zero mean,
  unit variance per dimension), energy ``E(v, h) = ||v - b||² / 2 - c·h - h·W v``, so that
  ``p(v | h) = N(b + Wᵀh, I)``;
- ``bernoulli``: binary visible units (the probabilities of the layer below, in a stack),
  ``E(v, h) = -b·v - c·h - h·W v``, ``p(v_i = 1 | h) = σ(b + Wᵀh)_i``.

Hidden units are binary in both: ``p(h_j = 1 | v) = σ(c + W v)_j``, the sigmoid units of the
MLP layer the RBM initialises (``weight`` and ``hidden_bias`` are that
:class:`torch.nn.Linear`'s ``weight`` and ``bias``: same shape, same meaning).

CD-k, as the guide advises: the data-driven hidden states are sampled to drive the chain, the
visible reconstructions are the units' means (sampling them adds noise and nothing else for a
Gaussian unit of fixed variance), and the statistics use the hidden probabilities.

>>> import torch
>>> rbm = RBM(6, 3, visible="bernoulli", seed=0)
>>> rbm.reconstruct(torch.zeros(2, 6)).shape
torch.Size([2, 6])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["RBM", "VISIBLE_UNITS"]

#: The kinds of visible units.
VISIBLE_UNITS = ("gaussian", "bernoulli")
#: Standard deviation of the initial weights (the guide: 0.01).
INIT_STD = 0.01


class RBM(nn.Module):
    """A restricted Boltzmann machine with binary hidden units.

    Parameters
    ----------
    n_visible, n_hidden : int
        Numbers of visible and hidden units.
    visible : {'gaussian', 'bernoulli'}
        Kind of the visible units (see the module docstring).
    cd_k : int
        Gibbs steps per update of :meth:`accumulate_gradients` (CD-k).
    seed : int or None, keyword-only
        Seeds the initial weights, N(0, 0.01²) (the guide); biases start at zero (for a
        Gaussian layer on standardised input, the data's mean).

    Attributes
    ----------
    weight : torch.nn.Parameter [shape=(n_hidden, n_visible)]
    hidden_bias : torch.nn.Parameter [shape=(n_hidden,)]
    visible_bias : torch.nn.Parameter [shape=(n_visible,)]
    """

    def __init__(self, n_visible: int, n_hidden: int, visible: str = "bernoulli", cd_k: int = 1, *,
                 seed: int | None = None) -> None:
        super().__init__()
        if visible not in VISIBLE_UNITS:
            raise ValueError(f"visible must be one of {VISIBLE_UNITS}, got {visible!r}")
        if n_visible < 1 or n_hidden < 1 or cd_k < 1:
            raise ValueError(f"n_visible, n_hidden and cd_k must be positive: {n_visible}, {n_hidden}, {cd_k}")
        self.n_visible, self.n_hidden, self.visible, self.cd_k = int(n_visible), int(n_hidden), visible, int(cd_k)
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        self.weight = nn.Parameter(torch.randn(self.n_hidden, self.n_visible, generator=gen) * INIT_STD)
        self.hidden_bias = nn.Parameter(torch.zeros(self.n_hidden))
        self.visible_bias = nn.Parameter(torch.zeros(self.n_visible))

    # -- conditionals ----------------------------------------------------------------------
    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        """``p(h = 1 | v)``, shape ``(n, n_hidden)``, for visible states ``v`` ``(n, n_visible)``."""
        return torch.sigmoid(F.linear(v, self.weight, self.hidden_bias))

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """``E[v | h]``, shape ``(n, n_visible)``: ``b + Wᵀh`` (Gaussian) or ``σ(b + Wᵀh)``."""
        a = torch.addmm(self.visible_bias, h, self.weight)
        return a if self.visible == "gaussian" else torch.sigmoid(a)

    def reconstruct(self, v: torch.Tensor) -> torch.Tensor:
        """The mean-field reconstruction ``E[v | h = p(h | v)]`` (deterministic)."""
        return self.visible_mean(self.hidden_probs(v))

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """``F(v) = -log Σ_h exp(-E(v, h))`` per row, shape ``(n,)`` (``p(v) ∝ exp(-F(v))``)."""
        hidden = F.softplus(F.linear(v, self.weight, self.hidden_bias)).sum(1)
        if self.visible == "gaussian":
            return 0.5 * ((v - self.visible_bias) ** 2).sum(1) - hidden
        return -(v @ self.visible_bias) - hidden

    # -- learning --------------------------------------------------------------------------
    @torch.no_grad()
    def accumulate_gradients(self, v0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Set every parameter's ``.grad`` to minus the CD-k estimate of the log-likelihood
        gradient on the batch ``v0`` ``(n, n_visible)`` (so that an optimiser's descent step is
        the CD update); return the batch's summed squared reconstruction error (the first
        reconstruction of the chain, a 0-d tensor).

        The hidden states that drive the chain are drawn from ``generator``.
        """
        ph0 = self.hidden_probs(v0)
        h = torch.bernoulli(ph0, generator=generator)
        v1 = vk = self.visible_mean(h)
        phk = self.hidden_probs(vk)
        for _ in range(self.cd_k - 1):
            vk = self.visible_mean(torch.bernoulli(phk, generator=generator))
            phk = self.hidden_probs(vk)
        n = v0.shape[0]
        # <h vᵀ>_data - <h vᵀ>_model, averaged over the batch; the gradient is its negative.
        self.weight.grad = (phk.T @ vk - ph0.T @ v0) / n
        self.hidden_bias.grad = (phk - ph0).mean(0)
        self.visible_bias.grad = (vk - v0).mean(0)
        return ((v1 - v0) ** 2).sum()

    @torch.no_grad()
    def reconstruction_error(self, v: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The summed squared error of the mean-field reconstruction of ``v`` (0-d tensor);
        deterministic (``generator`` is not used)."""
        return ((self.reconstruct(v) - v) ** 2).sum()

    def config(self) -> dict[str, Any]:
        return {"kind": "rbm", "n_visible": self.n_visible, "n_hidden": self.n_hidden, "visible": self.visible,
                "cd_k": self.cd_k}

    def extra_repr(self) -> str:
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}, visible={self.visible!r}, cd_k={self.cd_k}"

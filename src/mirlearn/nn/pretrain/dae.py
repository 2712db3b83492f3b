"""A denoising autoencoder layer (Vincent et al. 2008, 2010): learn to undo corruption.

The encoder ``h = act(W x̃ + b)`` is the MLP hidden layer it initialises (``weight`` and
``bias`` have that :class:`torch.nn.Linear`'s shapes and meaning); the decoder
``x̂ = W' h + c`` (``W' = Wᵀ`` when tied) reconstructs the *clean* input ``x`` from the
corrupted ``x̃``:

- real-valued input (standardised frames, ReLU activations): a linear decoder and squared error;
- input in [0, 1] (the activations of a sigmoid layer): a sigmoid decoder and cross-entropy.

Corruption: ``mask`` zeroes each value with probability ``level`` (for standardised input, a
value set to its mean); ``gaussian`` adds N(0, level²) noise.

>>> import torch
>>> dae = DenoisingAutoencoder(6, 3, activation="relu", seed=0)
>>> dae.reconstruct(torch.zeros(2, 6)).shape
torch.Size([2, 6])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mirlearn.nn.pretrain.settings import CORRUPTIONS

__all__ = ["DECODERS", "DenoisingAutoencoder", "corrupt"]

#: ``linear``: squared error (real-valued input); ``sigmoid``: cross-entropy (input in [0, 1]).
DECODERS = ("linear", "sigmoid")
_ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid}


def corrupt(x: torch.Tensor, kind: str, level: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """A corrupted copy of ``x``: ``mask`` zeroes each value with probability ``level``;
    ``gaussian`` adds N(0, level²) noise. Draws from ``generator`` (on ``x.device``)."""
    if kind == "mask":
        if level == 0:
            return x.clone()
        keep = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) >= level
        return x * keep
    if kind == "gaussian":
        return x + level * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    raise ValueError(f"corruption must be one of {CORRUPTIONS}, got {kind!r}")


class DenoisingAutoencoder(nn.Module):
    """One denoising autoencoder layer.

    Parameters
    ----------
    n_in, n_hidden : int
        Input and hidden widths.
    activation : {'sigmoid', 'relu'}
        The encoder's non-linearity (the MLP's hidden units).
    decoder : {'linear', 'sigmoid'}
        See the module docstring.
    tied : bool
        The decoder's weights are the encoder's transposed (else a matrix of their own).
    corruption : {'mask', 'gaussian'}
    level : float
        Masking probability or noise standard deviation.
    seed : int or None, keyword-only
        Seeds the Glorot-uniform initial weights (the MLP's own initialisation); biases start
        at zero.

    Attributes
    ----------
    weight : torch.nn.Parameter [shape=(n_hidden, n_in)]
    bias : torch.nn.Parameter [shape=(n_hidden,)]
    decoder_weight : torch.nn.Parameter [shape=(n_in, n_hidden)], only when untied
    decoder_bias : torch.nn.Parameter [shape=(n_in,)]
    """

    def __init__(self, n_in: int, n_hidden: int, *, activation: str = "sigmoid", decoder: str = "linear",
                 tied: bool = True, corruption: str = "mask", level: float = 0.25, seed: int | None = None) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        if corruption not in CORRUPTIONS:
            raise ValueError(f"corruption must be one of {CORRUPTIONS}, got {corruption!r}")
        if n_in < 1 or n_hidden < 1:
            raise ValueError(f"n_in and n_hidden must be positive: {n_in}, {n_hidden}")
        self.n_in, self.n_hidden = int(n_in), int(n_hidden)
        self.activation, self.decoder, self.tied = activation, decoder, bool(tied)
        self.corruption, self.level = corruption, float(level)
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        self.weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(self.n_hidden, self.n_in), generator=gen))
        self.bias = nn.Parameter(torch.zeros(self.n_hidden))
        if not self.tied:
            self.decoder_weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(self.n_in, self.n_hidden),
                                                                       generator=gen))
        self.decoder_bias = nn.Parameter(torch.zeros(self.n_in))
        self._act = _ACTIVATIONS[activation]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden activations ``(n, n_hidden)`` of input ``x`` ``(n, n_in)``."""
        return self._act(F.linear(x, self.weight, self.bias))

    def _decoder_logits(self, h: torch.Tensor) -> torch.Tensor:
        w = self.weight.T if self.tied else self.decoder_weight
        return F.linear(h, w, self.decoder_bias)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """The reconstruction ``(n, n_in)`` of hidden activations ``h``."""
        a = self._decoder_logits(h)
        return torch.sigmoid(a) if self.decoder == "sigmoid" else a

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """``decode(encode(x))``, without corruption."""
        return self.decode(self.encode(x))

    def loss(self, x_in: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Summed reconstruction error of ``target`` from ``x_in`` (0-d): squared error
        (linear decoder) or cross-entropy in nats (sigmoid decoder), over rows and values."""
        a = self._decoder_logits(self.encode(x_in))
        if self.decoder == "sigmoid":
            return F.binary_cross_entropy_with_logits(a, target, reduction="sum")
        return ((a - target) ** 2).sum()

    def accumulate_gradients(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Set every parameter's ``.grad`` to the gradient of the batch's denoising loss (mean
        over the rows of each row's summed error), corrupting ``x`` with draws from
        ``generator``; return the summed loss (0-d, detached)."""
        loss = self.loss(corrupt(x, self.corruption, self.level, generator), x)
        params = list(self.parameters())
        for p, g in zip(params, torch.autograd.grad(loss / x.shape[0], params)):
            p.grad = g
        return loss.detach()

    @torch.no_grad()
    def reconstruction_error(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The summed denoising loss of ``x`` (0-d), corrupted with draws from ``generator``."""
        return self.loss(corrupt(x, self.corruption, self.level, generator), x)

    def config(self) -> dict[str, Any]:
        return {"kind": "dae", "n_in": self.n_in, "n_hidden": self.n_hidden, "activation": self.activation,
                "decoder": self.decoder, "tied": self.tied, "corruption": self.corruption, "level": self.level}

    def extra_repr(self) -> str:
        return (f"n_in={self.n_in}, n_hidden={self.n_hidden}, activation={self.activation!r}, "
                f"decoder={self.decoder!r}, tied={self.tied}, corruption={self.corruption!r}, level={self.level}")

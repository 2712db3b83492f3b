"""Fully connected networks on spectral frames (Sigtia & Dixon, ICASSP 2014).

The paper's nets are 513 → h → h → h → n_classes multilayer perceptrons with ReLU (trained
by SGD, optionally with dropout 0.25 on every hidden layer) or sigmoid hidden units (trained by
Hessian-Free), Glorot-uniform initialisation and no output non-linearity inside the model: the
loss (:func:`mirlearn.nn.train.loss_fn`) takes logits. The learned features are the
activations of the hidden layers (:meth:`MLP.hidden`).

Examples
--------
>>> import torch
>>> net = MLP(n_in=513, hidden=(500, 500, 500), n_out=10, dropout=0.25, seed=0)
>>> net(torch.zeros(4, 513)).shape
torch.Size([4, 10])
>>> net.hidden(torch.zeros(4, 513), layers="all").shape
torch.Size([4, 1500])
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import torch
from torch import nn

from mirlearn.errors import ConfigError

__all__ = ["MLP", "dropout"]

_ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid}

# The uint8 mask below draws one random byte per element and keeps it when the byte is
# >= round(p * 256); that is Bernoulli(1 - p) exactly only when p * 256 is an integer.
_BYTE_LEVELS = 256


def _byte_threshold(p: float) -> int | None:
    """``p * 256`` when it is an integer (the cheap byte mask is then exact), else ``None``."""
    t = p * _BYTE_LEVELS
    r = round(t)
    return int(r) if abs(t - r) < 1e-9 else None


def _random_bytes(shape: torch.Size, device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    """Uniform random bytes of ``shape`` (uint8).

    ``random_`` over the full int64 range fills 8 uniform bytes per call of the generator; it is
    ~10x faster than ``torch.randint(..., dtype=torch.uint8)`` (one draw per byte) and ~30x
    faster than ``bernoulli_`` on this project's CPUs (PERF_NOTES: mask RNG was up to half of a
    training step). Full range is requested with ``from=-2**63, to=None``.
    """
    n = math.prod(shape)
    words = torch.empty((n + 7) // 8, dtype=torch.int64, device=device)
    words.random_(-(2**63), None, generator=generator)
    return words.view(torch.uint8)[:n].view(shape)


def dropout(x: torch.Tensor, p: float, *, training: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale survivors by 1/(1-p).

    Same distribution as :func:`torch.nn.functional.dropout`, but with a cheaper mask when
    ``p * 256`` is an integer (0.25, 0.5, ...): one random byte per element, kept when the byte
    is ``>= p * 256``, which is Bernoulli(1 - p) exactly. Other rates draw the mask with
    ``bernoulli_``. Both draw from ``generator`` (the default CPU/CUDA generator when ``None``),
    so a trainer can own, save and restore the dropout random state.

    Parameters
    ----------
    x : torch.Tensor [shape=(...)]
        Activations.
    p : float in [0, 1)
        Drop probability.
    training : bool
        When false, or when ``p == 0``, ``x`` is returned unchanged (eval-mode identity).
    generator : torch.Generator or None
        Source of the mask's random numbers; must live on ``x.device``.

    Returns
    -------
    torch.Tensor [shape=x.shape]
        ``x * mask / (1 - p)``; differentiable in ``x``.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    scale = 1.0 / (1.0 - p)
    threshold = _byte_threshold(p)
    if threshold is not None:
        keep = _random_bytes(x.shape, x.device, generator) >= threshold
    else:
        keep = torch.empty_like(x).bernoulli_(1.0 - p, generator=generator)
    # mul's backward needs only the mask, not its output, so scaling that output in place is
    # safe for autograd and saves one temporary of the activation's size.
    return x.mul(keep).mul_(scale)


class MLP(nn.Module):
    """Multilayer perceptron mapping frames to class logits.

    Parameters
    ----------
    n_in : int
        Input dimension (513 |FFT| bins in the paper).
    hidden : sequence of int
        Widths of the hidden layers, first to last (paper: three layers of 50 or 500).
    n_out : int
        Number of classes (10 for GTZAN).
    activation : {'relu', 'sigmoid'}
        Hidden-unit non-linearity. The output layer is linear (logits).
    dropout : float in [0, 1)
        Drop rate applied to every hidden layer's output (after the non-linearity) in training
        mode; inverted scaling, so eval mode is the identity. Paper: 0.25 for ReLU+SGD+Dropout.
    input_dropout : float in [0, 1)
        Drop rate on the input frames (off in the paper).
    seed : int or None, keyword-only
        Seed of the Glorot initialisation; ``None`` draws from torch's global generator.

    Attributes
    ----------
    layers : torch.nn.ModuleList
        ``len(hidden) + 1`` :class:`torch.nn.Linear` layers, the last one the output layer.
    generator : torch.Generator or None
        Source of the dropout masks; ``None`` uses torch's global generator. The trainer sets
        it so that dropout noise is seeded, saved in checkpoints and restored on resume.
    """

    def __init__(
        self,
        n_in: int = 513,
        hidden: Sequence[int] = (500, 500, 500),
        n_out: int = 10,
        activation: str = "relu",
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        if n_in < 1 or n_out < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"layer widths must be positive: n_in={n_in}, hidden={hidden}, n_out={n_out}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        for name, p in (("dropout", dropout), ("input_dropout", input_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p}")
        self.n_in = int(n_in)
        self.widths = hidden
        self.n_out = int(n_out)
        self.activation = activation
        self.dropout = float(dropout)
        self.input_dropout = float(input_dropout)
        self.seed = seed
        self.generator: torch.Generator | None = None
        sizes = (self.n_in, *hidden, self.n_out)
        # skip_init: nn.Linear's own (Kaiming) initialisation would be overwritten below, and
        # it would draw from torch's global generator even when ``seed`` is given.
        self.layers = nn.ModuleList(nn.utils.skip_init(nn.Linear, a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self._act = _ACTIVATIONS[activation]
        self.reset_parameters(None if seed is None else torch.Generator().manual_seed(seed))

    @property
    def n_hidden(self) -> int:
        """Number of hidden layers."""
        return len(self.widths)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Glorot-uniform weights (bound sqrt(6 / (fan_in + fan_out))), zero biases."""
        with torch.no_grad():
            for layer in self.layers:
                nn.init.xavier_uniform_(layer.weight, generator=generator)
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits.

        Parameters
        ----------
        x : torch.Tensor [shape=(n, n_in)], float32

        Returns
        -------
        torch.Tensor [shape=(n, n_out)]
            Logits, no output non-linearity (the loss applies softmax or sigmoid).
        """
        x = dropout(x, self.input_dropout, training=self.training, generator=self.generator)
        for layer in self.layers[:-1]:
            x = self._act(layer(x))
            x = dropout(x, self.dropout, training=self.training, generator=self.generator)
        return self.layers[-1](x)

    def _layer_indices(self, layers: int | str | Iterable[int]) -> list[int]:
        """1-based hidden-layer numbers, sorted, validated."""
        if isinstance(layers, str):
            if layers != "all":
                raise ValueError(f"layers must be an int, a sequence of ints or 'all', got {layers!r}")
            if self.n_hidden == 0:
                raise ValueError("the net has no hidden layers")
            return list(range(1, self.n_hidden + 1))
        chosen = [int(layers)] if isinstance(layers, int) else [int(i) for i in layers]
        if not chosen:
            raise ValueError("layers is empty")
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"layers has repeats: {chosen}")
        bad = [i for i in chosen if not 1 <= i <= self.n_hidden]
        if bad:
            raise ValueError(f"hidden layers are numbered 1..{self.n_hidden}, got {bad}")
        return sorted(chosen)

    def hidden(self, x: torch.Tensor, layers: int | str | Iterable[int] = "all") -> torch.Tensor:
        """Hidden-layer activations, the learned features.

        Always eval semantics (no dropout, whatever ``self.training``), post-non-linearity.
        Gradients flow as usual; wrap in :func:`torch.inference_mode` for feature extraction.

        Parameters
        ----------
        x : torch.Tensor [shape=(n, n_in)], float32
        layers : int, sequence of int, or 'all'
            1-based hidden-layer numbers; a sequence is taken in layer order (sorted).

        Returns
        -------
        torch.Tensor [shape=(n, sum of the chosen widths)]
            The chosen layers' activations concatenated in layer order.
        """
        chosen = self._layer_indices(layers)
        wanted = set(chosen)
        out = []
        # Stop at the deepest requested layer: the later layers are not needed.
        for i, layer in enumerate(self.layers[: chosen[-1]], start=1):
            x = self._act(layer(x))
            if i in wanted:
                out.append(x)
        return out[0] if len(out) == 1 else torch.cat(out, dim=1)

    def hidden_widths(self, layers: int | str | Iterable[int] = "all") -> int:
        """Width of :meth:`hidden`'s output for ``layers`` (its number of columns)."""
        return sum(self.widths[i - 1] for i in self._layer_indices(layers))

    def config(self) -> dict[str, Any]:
        """Constructor arguments as a JSON-serialisable dict; ``MLP.from_config`` rebuilds the net."""
        return {
            "n_in": self.n_in,
            "hidden": list(self.widths),
            "n_out": self.n_out,
            "activation": self.activation,
            "dropout": self.dropout,
            "input_dropout": self.input_dropout,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "MLP":
        """Build an MLP from :meth:`config`'s dict (freshly initialised; load a state_dict after).

        Raises
        ------
        ConfigError
            On an unknown key, so that a misspelt option fails loudly instead of defaulting.
        """
        known = {"n_in", "hidden", "n_out", "activation", "dropout", "input_dropout", "seed"}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ConfigError(f"unknown MLP config key(s) {unknown}; known: {sorted(known)}")
        cfg = dict(cfg)
        seed = cfg.pop("seed", None)
        return cls(**cfg, seed=seed)

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}, dropout={self.dropout}, input_dropout={self.input_dropout}"

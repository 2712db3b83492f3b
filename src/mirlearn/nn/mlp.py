"""Fully connected networks on spectral frames (Sigtia & Dixon, ICASSP 2014).

The paper's nets are 513 → h → h → h → n_classes multilayer perceptrons with ReLU (trained
by SGD, optionally with dropout 0.25 on every hidden layer) or sigmoid hidden units (trained by
Hessian-Free), Glorot-uniform initialisation and no output non-linearity inside the model: the
loss (:func:`mirlearn.nn.train.loss_fn`) takes logits. The learned features are the
activations of the hidden layers (:meth:`MLP.hidden`).

Maxout units (Goodfellow, Warde-Farley, Mirza, Courville & Bengio, ICML 2013) are the third
choice of hidden unit: a maxout layer of ``h`` units and ``k`` pieces is one linear map to
``h · k`` values, and unit ``j`` outputs the largest of its ``k`` pieces, the values
``j·k … j·k + k − 1`` (consecutive groups, as in pylearn2; :func:`maxout`). The layer outputs
``h`` values, so its features have ``h`` columns as a ReLU layer of width ``h`` does, but it
holds ``k`` times the weights. :func:`maxout_width` gives the width whose net has as many
parameters as a ReLU net's (for 513-500×3-10 and ``k = 2``: 326 units,
764 806 parameters against 763 010, +0.24 %).

Examples
--------
>>> import torch
>>> net = MLP(n_in=513, hidden=(500, 500, 500), n_out=10, dropout=0.25, seed=0)
>>> net(torch.zeros(4, 513)).shape
torch.Size([4, 10])
>>> net.hidden(torch.zeros(4, 513), layers="all").shape
torch.Size([4, 1500])
>>> maxout_width(513, (500, 500, 500), 10, pieces=2)
326
>>> net = MLP(n_in=513, hidden=(326, 326, 326), n_out=10, activation="maxout", maxout_pieces=2, seed=0)
>>> net.hidden(torch.zeros(4, 513), layers=1).shape, n_parameters(net)
(torch.Size([4, 326]), 764806)
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import torch
from torch import nn

from mirlearn.errors import ConfigError

__all__ = ["ACTIVATIONS", "DEFAULT_MAXOUT_PIECES", "MLP", "dropout", "maxout", "maxout_width", "mlp_parameters",
           "n_parameters"]

_ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid}
#: Hidden-unit choices of :class:`MLP`.
ACTIVATIONS = ("relu", "sigmoid", "maxout")
#: Pieces per maxout unit when none is given (Goodfellow et al.'s smallest, and most used, k).
DEFAULT_MAXOUT_PIECES = 2

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


def maxout(z: torch.Tensor, pieces: int) -> torch.Tensor:
    """Maxout units: the largest of each unit's ``pieces`` consecutive values of ``z``.

    Parameters
    ----------
    z : torch.Tensor [shape=(n, units · pieces)]
        A linear layer's output; unit ``j``'s pieces are columns ``j·pieces … j·pieces + pieces − 1``.
    pieces : int >= 1
        ``k``, the number of linear pieces per unit.

    Returns
    -------
    torch.Tensor [shape=(n, units)]
        ``out[:, j] = max_i z[:, j·pieces + i]``. The gradient goes to the largest piece (one of
        them on a tie, as :func:`torch.max` chooses; its forward-mode derivative does the same,
        so the Gauss-Newton products of Hessian-Free work on maxout nets).
    """
    if z.shape[-1] % pieces:
        raise ValueError(f"maxout: {z.shape[-1]} values are not a whole number of units of {pieces} pieces")
    # max(dim).values: 1.1x faster than amax for a training step of 513-326x3-10 (its backward
    # scatters to the arg-max instead of comparing every piece with the maximum).
    return z.unflatten(-1, (z.shape[-1] // pieces, pieces)).max(dim=-1).values


def mlp_parameters(n_in: int, hidden: Sequence[int], n_out: int, *, pieces: int = 1) -> int:
    """Weights and biases of an MLP ``n_in → hidden… → n_out`` whose hidden units have ``pieces``
    linear pieces each (1: ReLU or sigmoid units; ``k``: maxout units), computed, not built."""
    sizes = (int(n_in), *(int(h) for h in hidden), int(n_out))
    return sum((a + 1) * b * (pieces if i < len(sizes) - 2 else 1)
               for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])))


def n_parameters(net: nn.Module) -> int:
    """Number of parameters (weights and biases) of a built net."""
    return sum(p.numel() for p in net.parameters())


def maxout_width(n_in: int, hidden: Sequence[int], n_out: int, *, pieces: int = DEFAULT_MAXOUT_PIECES) -> int:
    """The width of a ``pieces``-piece maxout MLP with as many parameters as a ReLU (or sigmoid) one.

    The rule for comparing maxout with ReLU at equal parameter count: the maxout net has the
    ReLU net's depth, input and output, every hidden layer the same width ``m``, and ``m`` is
    the width whose count of weights and biases (:func:`mlp_parameters`) is nearest the ReLU
    net's (the smaller ``m`` on a tie). A count equal to the last parameter is rarely
    possible; the difference is a fraction of one unit's weights.

    Parameters
    ----------
    n_in, hidden, n_out : the ReLU net ``n_in → hidden… → n_out`` (hidden widths all equal)
    pieces : k, the maxout net's pieces per unit (>= 2)

    Returns
    -------
    int
        ``m``; for 513-500×3-10 and ``k = 2``: 326 (764 806 parameters against 763 010); for
        513-50×3-10: 27 (31 060 against 31 310).

    Raises
    ------
    ValueError
        When the hidden widths differ (the matching width of each layer is then not one number)
        or ``pieces < 2``.
    """
    hidden = tuple(int(h) for h in hidden)
    if not hidden or len(set(hidden)) != 1:
        raise ValueError(f"maxout_width: the ReLU net's hidden widths must be equal (one width to match), got {hidden}")
    if int(pieces) < 2:
        raise ValueError(f"maxout_width: pieces must be >= 2, got {pieces}")
    target = mlp_parameters(n_in, hidden, n_out)
    depth = len(hidden)

    def count(m: int) -> int:
        return mlp_parameters(n_in, (m,) * depth, n_out, pieces=int(pieces))

    # count(m) grows with m: bisect for the first width at or above the target, then take the nearer.
    lo, hi = 1, max(hidden[0], 1)
    while count(hi) < target:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if count(mid) < target else (lo, mid)
    return lo - 1 if lo > 1 and target - count(lo - 1) <= count(lo) - target else lo


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
    activation : {'relu', 'sigmoid', 'maxout'}
        Hidden-unit non-linearity. The output layer is linear (logits). ``'maxout'``: every
        hidden unit is the max of ``maxout_pieces`` linear pieces (:func:`maxout`); ``hidden``
        still counts units, so a layer's features keep its width.
    dropout : float in [0, 1)
        Drop rate applied to every hidden layer's output (after the non-linearity) in training
        mode; inverted scaling, so eval mode is the identity. Paper: 0.25 for ReLU+SGD+Dropout.
        On a maxout net it drops units (after the max), as Goodfellow et al. drop the inputs
        of every layer.
    input_dropout : float in [0, 1)
        Drop rate on the input frames (off in the paper).
    seed : int or None, keyword-only
        Seed of the Glorot initialisation; ``None`` draws from torch's global generator.
    maxout_pieces : int >= 2 or None, keyword-only
        ``k`` of a maxout net (``None``: :data:`DEFAULT_MAXOUT_PIECES`); only with
        ``activation='maxout'``.

    Attributes
    ----------
    layers : torch.nn.ModuleList
        ``len(hidden) + 1`` :class:`torch.nn.Linear` layers, the last one the output layer; a
        maxout net's hidden layers have ``width · maxout_pieces`` outputs.
    pieces : int
        Linear pieces per hidden unit: ``maxout_pieces`` for a maxout net, else 1.
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
        maxout_pieces: int | None = None,
    ) -> None:
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        if n_in < 1 or n_out < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"layer widths must be positive: n_in={n_in}, hidden={hidden}, n_out={n_out}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
        if maxout_pieces is not None and activation != "maxout":
            raise ValueError(f"maxout_pieces={maxout_pieces} is read only with activation='maxout', not {activation!r}")
        if activation == "maxout":
            maxout_pieces = DEFAULT_MAXOUT_PIECES if maxout_pieces is None else maxout_pieces
            if isinstance(maxout_pieces, bool) or int(maxout_pieces) != maxout_pieces or maxout_pieces < 2:
                raise ValueError(f"maxout_pieces must be an integer >= 2, got {maxout_pieces!r}")
            maxout_pieces = int(maxout_pieces)
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
        self.maxout_pieces = maxout_pieces
        self.pieces = maxout_pieces or 1
        self.generator: torch.Generator | None = None
        sizes = (self.n_in, *hidden, self.n_out)
        outs = [b * self.pieces for b in hidden] + [self.n_out]
        # skip_init: nn.Linear's own (Kaiming) initialisation would be overwritten below, and
        # it would draw from torch's global generator even when ``seed`` is given.
        self.layers = nn.ModuleList(nn.utils.skip_init(nn.Linear, a, b) for a, b in zip(sizes[:-1], outs))
        self._act = self._maxout if activation == "maxout" else _ACTIVATIONS[activation]
        self.reset_parameters(None if seed is None else torch.Generator().manual_seed(seed))

    def _maxout(self, z: torch.Tensor) -> torch.Tensor:
        return maxout(z, self.pieces)

    @property
    def n_hidden(self) -> int:
        """Number of hidden layers."""
        return len(self.widths)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Glorot-uniform weights (bound sqrt(6 / (fan_in + fan_out))), zero biases.

        A maxout layer's ``fan_out`` is its number of units, not of pieces: every piece is
        drawn as a Glorot-uniform layer ``fan_in → units`` would be (the bound a ReLU layer of
        that width gets), so that adding pieces does not shrink the weights.
        """
        with torch.no_grad():
            for layer in self.layers:
                if self.pieces > 1 and layer is not self.layers[-1]:
                    fan_out, fan_in = layer.weight.shape[0] // self.pieces, layer.weight.shape[1]
                    bound = math.sqrt(6.0 / (fan_in + fan_out))
                    nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
                else:
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
        """Constructor arguments as a JSON-serialisable dict; ``MLP.from_config`` rebuilds the net.

        ``maxout_pieces`` is there for maxout nets only, so that the other nets' configs (saved
        with learners and checkpoints, compared on resume) read as they always have.
        """
        cfg = {
            "n_in": self.n_in,
            "hidden": list(self.widths),
            "n_out": self.n_out,
            "activation": self.activation,
            "dropout": self.dropout,
            "input_dropout": self.input_dropout,
            "seed": self.seed,
        }
        if self.maxout_pieces is not None:
            cfg["maxout_pieces"] = self.maxout_pieces
        return cfg

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "MLP":
        """Build an MLP from :meth:`config`'s dict (freshly initialised; load a state_dict after).

        Raises
        ------
        ConfigError
            On an unknown key, so that a misspelt option fails loudly instead of defaulting.
        """
        known = {"n_in", "hidden", "n_out", "activation", "dropout", "input_dropout", "seed", "maxout_pieces"}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ConfigError(f"unknown MLP config key(s) {unknown}; known: {sorted(known)}")
        cfg = dict(cfg)
        seed = cfg.pop("seed", None)
        pieces = cfg.pop("maxout_pieces", None)
        return cls(**cfg, seed=seed, maxout_pieces=pieces)

    def extra_repr(self) -> str:
        pieces = f", maxout_pieces={self.pieces}" if self.maxout_pieces is not None else ""
        return f"activation={self.activation!r}{pieces}, dropout={self.dropout}, input_dropout={self.input_dropout}"

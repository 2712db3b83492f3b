"""Gauss-Newton products G·v for multilayer perceptrons by explicit per-layer matmuls.

The general operator (:class:`~mirlearn.nn.hf.curvature.GaussNewton`) builds, once per HF step,
a ``torch.func.linearize`` trace and a ``torch.func.vjp`` graph per block of the curvature
chunk. Tracing costs several forwards and, on a 513-50×3-10 net, the build was about half of
an HF step. For a stack of ``Linear`` layers with element-wise activations the products need
only what a forward computes, so this operator keeps, per block, the input of every layer and
the activation's derivative, and runs the two passes by hand:

* forward mode (R-operator), ``J v``: ``dz₁ = a₀ dW₁ᵀ + db₁``;
  ``dz_l = a_{l−1} dW_lᵀ + db_l + (φ'(z_{l−1}) ⊙ dz_{l−1}) W_lᵀ``;
* reverse mode, ``Jᵀ u``: ``δ_L = u``; ``∂W_l = δ_lᵀ a_{l−1}``, ``∂b_l = Σ_n δ_l``;
  ``δ_{l−1} = (δ_l W_l) ⊙ φ'(z_{l−1})``.

Building it costs one forward of the chunk; a product costs what a jvp + vjp cost, without
autograd's bookkeeping. The operations are those of the linearize trace and of autograd's
backward, in the same order and with the same kernels (``sigmoid_backward`` etc.), so the
products are meant to be bitwise those of the general operator (tested); see
:func:`mlp_layers` for the nets it accepts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from mirlearn.nn.hf.curvature import GaussNewton
from mirlearn.nn.hf.losses import OutputLoss, get_loss
from mirlearn.nn.hf.params import ParamSpec

__all__ = ["MLPGaussNewton", "MLPLayers", "gauss_newton_operator", "mlp_layers"]

_ACTIVATIONS = ("sigmoid", "relu", "tanh", "identity")


@dataclass
class MLPLayers:
    """A net seen as ``input_fn`` then ``Linear`` layers, each but the last followed by ``activations[l]``.

    Attributes
    ----------
    input_fn : fixed (parameter-free) transform of the input, e.g. a FeatureNet's standardisation
    weights, biases : parameter names in the ParamSpec (bias None when a layer has none)
    activations : names of the hidden activations, one per hidden layer
    """

    input_fn: Callable[[torch.Tensor], torch.Tensor]
    weights: list[str]
    biases: list[str | None]
    activations: list[str]


def _from_sequential(seq: torch.nn.Sequential, prefix: str) -> tuple[list[str], list[str | None], list[str]] | None:
    weights: list[str] = []
    biases: list[str | None] = []
    acts: list[str] = []
    pending: str | None = None  # activation seen after the last Linear
    for name, m in seq.named_children():
        if isinstance(m, torch.nn.Linear):
            if weights and pending is None:
                pending = "identity"
            if weights:
                acts.append(pending)
            pending = None
            weights.append(f"{prefix}{name}.weight")
            biases.append(f"{prefix}{name}.bias" if m.bias is not None else None)
        elif isinstance(m, (torch.nn.Sigmoid, torch.nn.ReLU, torch.nn.Tanh)) and weights and pending is None:
            pending = {torch.nn.Sigmoid: "sigmoid", torch.nn.ReLU: "relu", torch.nn.Tanh: "tanh"}[type(m)]
        elif isinstance(m, (torch.nn.Dropout, torch.nn.Identity)):
            continue  # identities in eval mode
        else:
            return None
    if not weights or pending is not None:
        return None  # no layer, or a non-linearity after the output layer
    return weights, biases, acts


def mlp_layers(model: torch.nn.Module) -> MLPLayers | None:
    """The layer structure of ``model`` if this operator supports it, else None.

    Supported: :class:`mirlearn.nn.mlp.MLP` (sigmoid or ReLU hidden units; a maxout net gets
    None, so :func:`gauss_newton_operator` gives it the general ``torch.func`` operator), a
    :class:`mirlearn.nn.featurenet.FeatureNet` around one, and ``torch.nn.Sequential`` stacks of
    ``Linear`` layers with ``Sigmoid``/``ReLU``/``Tanh`` (``Dropout``/``Identity`` allowed) ending
    in a ``Linear``. The model must be in eval mode (dropout off).
    """
    from mirlearn.nn.featurenet import FeatureNet
    from mirlearn.nn.mlp import MLP

    if model.training:
        return None
    input_fn: Callable[[torch.Tensor], torch.Tensor] = lambda x: x  # noqa: E731
    prefix, net = "", model
    if isinstance(model, FeatureNet):
        input_fn, prefix, net = model.standardize, "mlp.", model.mlp
    if isinstance(net, MLP):
        if net.activation not in ("sigmoid", "relu"):
            return None
        n = len(net.layers)
        weights = [f"{prefix}layers.{i}.weight" for i in range(n)]
        biases = [f"{prefix}layers.{i}.bias" for i in range(n)]
        return MLPLayers(input_fn, weights, biases, [net.activation] * (n - 1))
    if isinstance(net, torch.nn.Sequential):
        parts = _from_sequential(net, prefix)
        return None if parts is None else MLPLayers(input_fn, *parts)
    return None


def _act(name: str, z: torch.Tensor) -> torch.Tensor:
    """φ(z) (the module's own function, so the primal values are the module's)."""
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return torch.relu(z)
    return z


def _act_backward(name: str, g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """φ'(z) ⊙ g from the activation's output a = φ(z), with the kernel autograd uses for it
    in both modes (forward-mode and reverse-mode formulas of these functions coincide)."""
    if name == "sigmoid":
        return torch.ops.aten.sigmoid_backward(g, a)
    if name == "tanh":
        return torch.ops.aten.tanh_backward(g, a)
    if name == "relu":
        return torch.ops.aten.threshold_backward(g, a, 0)
    return g


@dataclass
class _MLPBlock:
    x: torch.Tensor                        # raw inputs (for mean_loss at another θ)
    t: torch.Tensor | None
    curvature: torch.Tensor
    loss_sum: float
    inputs: list[torch.Tensor]            # a_{l−1}: the input of each Linear layer (a_l = φ(z_l))
    jvp_fn: None = None                    # (GaussNewton's interface: nothing traced)
    vjp_fn: None = None


class MLPGaussNewton(GaussNewton):
    """The Gauss-Newton operator of an MLP at θ on blocks of rows, by explicit matmuls.

    Same interface as :class:`~mirlearn.nn.hf.curvature.GaussNewton` (``matvec``, ``jvp``,
    ``mean_loss``, ``n_rows``); ``layers`` from :func:`mlp_layers`. Every block keeps its
    layers' inputs: Σ hidden widths floats per row besides the (standardised) input, about
    2.6 KB per row for 513-50×3-10 and 8 KB for 513-500×3-10.
    """

    def __init__(self, model: torch.nn.Module, theta: torch.Tensor,
                 blocks: Sequence[tuple[torch.Tensor, torch.Tensor | None]], loss: OutputLoss | str,
                 layers: MLPLayers, *, spec: ParamSpec | None = None, n_total: int | None = None) -> None:
        self.model = model
        self.spec = spec or ParamSpec.from_module(model)
        self.loss = get_loss(loss)
        self.layers = layers
        self.theta = theta.detach()
        self.params = self.spec.unflatten(self.theta)
        self.n_rows = sum(len(x) for x, _ in blocks)
        if self.n_rows == 0:
            raise ValueError("GaussNewton needs at least one row")
        self.divisor = self.n_rows if n_total is None else int(n_total)
        self.bytes_per_row = 0.0
        self.W = [self.params[w] for w in layers.weights]
        self.b = [None if b is None else self.params[b] for b in layers.biases]
        self.blocks = [self._build_block(x, t) for x, t in blocks]
        self.n_cached = len(self.blocks)

    @torch.no_grad()
    def _build_block(self, x: torch.Tensor, t: torch.Tensor | None) -> _MLPBlock:
        a = self.layers.input_fn(x)
        inputs = []
        n = len(self.W)
        for i in range(n):
            inputs.append(a)
            z = F.linear(a, self.W[i], self.b[i])
            if i < n - 1:
                a = _act(self.layers.activations[i], z)
        z = z.detach()
        loss_sum = math.nan if t is None else float(self.loss.sum(z.double(), t))
        return _MLPBlock(x=x, t=t, curvature=self.loss.curvature(z), loss_sum=loss_sum, inputs=inputs)

    def _split(self, v: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
        vd = self.spec.unflatten(v.detach())
        return ([vd[w] for w in self.layers.weights],
                [None if b is None else vd[b] for b in self.layers.biases])

    def _jv_block(self, block: _MLPBlock, dW: list[torch.Tensor], db: list[torch.Tensor | None]) -> torch.Tensor:
        # The terms in the order forward-mode AD of F.linear (addmm) adds them, so that the
        # products are bitwise those of the linearize trace: (db + da Wᵀ) + a dWᵀ; the first
        # layer's input has no tangent.
        a = block.inputs
        dz = a[0].mm(dW[0].t())
        if db[0] is not None:
            dz = db[0] + dz
        for i in range(1, len(self.W)):
            da = _act_backward(self.layers.activations[i - 1], dz, a[i])
            mm = da.mm(self.W[i].t())
            dz = (mm if db[i] is None else db[i] + mm) + a[i].mm(dW[i].t())
        return dz

    def jvp(self, v: torch.Tensor) -> torch.Tensor:
        """J v: the change of the logits of all rows [shape=(n_rows, n_out)] along ``v``."""
        dW, db = self._split(v)
        with torch.no_grad():
            return torch.cat([self._jv_block(b, dW, db) for b in self.blocks])

    @torch.no_grad()
    def matvec(self, v: torch.Tensor, shift: float = 0.0) -> torch.Tensor:
        """G v + shift·v for ``v`` [shape=(n_params,)] (shift = λ + κ gives Martens' B v)."""
        dW, db = self._split(v)
        n = len(self.W)
        gW: list[torch.Tensor] = [None] * n  # type: ignore[list-item]
        gb: list[torch.Tensor | None] = [None] * n
        for block in self.blocks:
            delta = self.loss.hvp(block.curvature, self._jv_block(block, dW, db))
            for i in range(n - 1, -1, -1):
                w_grad = delta.t().mm(block.inputs[i])
                b_grad = delta.sum(0) if self.b[i] is not None else None
                gW[i] = w_grad if gW[i] is None else gW[i].add_(w_grad)
                if b_grad is not None:
                    gb[i] = b_grad if gb[i] is None else gb[i].add_(b_grad)
                if i:
                    # autograd's formulas: ∂(input) = δ W, then the activation's backward kernel
                    delta = _act_backward(self.layers.activations[i - 1], delta.mm(self.W[i]), block.inputs[i])
        grads = {w: g for w, g in zip(self.layers.weights, gW)}
        grads.update({b: g for b, g in zip(self.layers.biases, gb) if b is not None})
        out = self.spec.flatten(grads) / self.divisor
        if shift:
            out = out + shift * v
        return out


def gauss_newton_operator(model: torch.nn.Module, theta: torch.Tensor,
                          blocks: Sequence[tuple[torch.Tensor, torch.Tensor | None]], loss: OutputLoss | str, *,
                          spec: ParamSpec | None = None, cache_bytes: float = math.inf,
                          n_total: int | None = None) -> GaussNewton:
    """The fastest operator for ``model``: :class:`MLPGaussNewton` when :func:`mlp_layers` accepts
    the model and its kept activations fit in ``cache_bytes``, else the general
    :class:`~mirlearn.nn.hf.curvature.GaussNewton` (which recomputes blocks beyond the budget).
    ``n_total``: the divisor when the blocks are one rank's share of the chunk (see the class)."""
    layers = mlp_layers(model)
    if layers is not None:
        spec = spec or ParamSpec.from_module(model)
        if set(spec.names) == {*layers.weights, *(b for b in layers.biases if b is not None)}:
            widths = sum(spec.unflatten(theta)[w].shape[1] for w in layers.weights)
            rows = sum(len(x) for x, _ in blocks)
            if widths * rows * theta.element_size() <= cache_bytes:
                return MLPGaussNewton(model, theta, blocks, loss, layers, spec=spec, n_total=n_total)
    return GaussNewton(model, theta, blocks, loss, spec=spec, cache_bytes=cache_bytes, n_total=n_total)

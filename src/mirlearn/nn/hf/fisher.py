"""Sums of squared per-case gradients, Σ_n (∇ℓ_n)², for the empirical-Fisher diagonal.

Two ways, chosen automatically:

* **Linear fast path.** When every trainable parameter is the weight or bias of an
  ``nn.Linear`` that runs once per forward on 2-D input (all of mirlearn's MLPs), the per-case
  gradient of the weight is ``δ_n a_nᵀ``, so ``Σ_n (δ_n a_nᵀ)² = (δ²)ᵀ (a²)``: one extra matmul
  per layer on tensors that the ordinary gradient pass computes anyway (Martens' ``grad2``).
* **vmap fallback.** For any other module, per-case gradients from
  ``torch.func.vmap(torch.func.grad(...))``, squared and summed, in batches small enough that
  the (batch × n_params) gradients stay within a memory budget. Correct for every module whose
  cases are independent, but about as costly as one gradient per batch and memory-bound.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch.func import functional_call, grad, vmap

from mirlearn.nn.hf.losses import OutputLoss
from mirlearn.nn.hf.params import ParamSpec

__all__ = ["LinearSquaredGrads", "vmap_squared_grads"]

# Memory allowed for one batch of per-case gradients in the vmap fallback.
_VMAP_BYTES = 256 * 2**20


class LinearSquaredGrads:
    """Capture layer inputs and output gradients of ``nn.Linear`` layers during a gradient pass.

    Use :meth:`applicable` first; then wrap forward and backward in :meth:`capture` and call
    :meth:`accumulate` to add Σ_n (∇ℓ_n)² of this pass into a flat vector.
    """

    def __init__(self, model: torch.nn.Module, spec: ParamSpec) -> None:
        self._spec = spec
        offsets = spec.offsets()
        self._layers: list[tuple[torch.nn.Linear, slice | None, slice | None]] = []
        covered: set[str] = set()
        for mname, module in model.named_modules():
            if isinstance(module, torch.nn.Linear):
                prefix = f"{mname}." if mname else ""
                w, b = offsets.get(prefix + "weight"), offsets.get(prefix + "bias")
                if w is not None or b is not None:
                    self._layers.append((module, w, b))
                    covered.update(k for k in (prefix + "weight", prefix + "bias") if k in offsets)
        self.is_applicable = covered == set(spec.names)
        self._records: dict[torch.nn.Module, list[list[torch.Tensor | None]]] = {}

    @classmethod
    def applicable(cls, model: torch.nn.Module, spec: ParamSpec) -> bool:
        """Whether every trainable parameter belongs to an ``nn.Linear``."""
        return cls(model, spec).is_applicable

    @contextmanager
    def capture(self) -> Iterator[None]:
        """Record each layer's input and (during backward) the gradient of its output."""
        self._records = {module: [] for module, _, _ in self._layers}
        handles = [module.register_forward_hook(self._hook) for module, _, _ in self._layers]
        try:
            yield
        finally:
            for h in handles:
                h.remove()

    def _hook(self, module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        entry: list[torch.Tensor | None] = [inputs[0].detach(), None]
        self._records[module].append(entry)
        if output.requires_grad:
            def keep(g: torch.Tensor, entry: list = entry) -> None:
                entry[1] = g.detach()
            output.register_hook(keep)

    def accumulate(self, d: torch.Tensor) -> bool:
        """Add this pass's Σ_n (∇ℓ_n)² into ``d`` [shape=(n_params,)].

        Returns False, leaving ``d`` untouched, when a layer ran other than once or not on 2-D
        input (weight sharing, sequences): then the per-case gradients are not ``δ_n a_nᵀ``.
        """
        for module, _, _ in self._layers:
            rec = self._records.get(module, [])
            if len(rec) != 1 or rec[0][1] is None or rec[0][0].dim() != 2:
                return False
        for module, w, b in self._layers:
            a, delta = self._records[module][0]
            d2 = delta.square()
            if w is not None:
                d[w] += (d2.T @ a.square()).reshape(-1)
            if b is not None:
                d[b] += d2.sum(dim=0)
        self._records = {}
        return True


def vmap_squared_grads(model: torch.nn.Module, spec: ParamSpec, loss: OutputLoss,
                       theta: torch.Tensor, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Σ_n (∇_θ ℓ_n)² over the rows of ``x`` [shape=(n, ...)], for any module.

    Per-case gradients come from ``vmap(grad)`` in batches of at most ``_VMAP_BYTES`` of
    gradients; returns a vector [shape=(n_params,)] in θ's dtype.
    """
    params = spec.unflatten(theta.detach())

    def case_loss(p: dict[str, torch.Tensor], xi: torch.Tensor, ti: torch.Tensor) -> torch.Tensor:
        return loss.sum(functional_call(model, p, (xi.unsqueeze(0),)), ti.unsqueeze(0))

    per_case = vmap(grad(case_loss), in_dims=(None, 0, 0))
    rows = max(1, _VMAP_BYTES // (spec.size * theta.element_size()))
    total = torch.zeros_like(theta)
    for start in range(0, len(x), rows):
        g = per_case(params, x[start:start + rows], t[start:start + rows])
        total += spec.flatten({k: v.square().sum(dim=0) for k, v in g.items()})
    return total

"""Gauss-Newton curvature products G·v on the curvature chunk, through ``torch.func``.

G = (1/|C|) Σ_{n∈C} J_nᵀ H_n J_n, where J_n is the Jacobian of the logits of case n with
respect to θ and H_n the Hessian of the matching loss with respect to those logits
(:mod:`mirlearn.nn.hf.losses`). A product is one Jacobian-vector product (forward mode), one
multiplication by H, and one vector-Jacobian product (reverse mode).

The chunk is cut into blocks of rows. For each block, once per HF step (θ is fixed during CG):

* **cached** — ``torch.func.linearize`` (traces the tangent graph and keeps the primal values it
  needs) and ``torch.func.vjp`` (keeps the autograd graph). A product then costs a tangent
  forward and a backward, with no forward recomputation. Memory: the linearized graph keeps
  ≈ 3 times, and the vjp ≈ 1 time, the bytes an ordinary backward saves
  (measured: 513-500-500-500-10 sigmoid, 23.5 + 8.1 KB per row, float32).
* **recomputed** — blocks beyond the cache budget keep only their inputs, and each product runs
  ``torch.func.jvp`` and ``torch.func.vjp`` afresh (two forwards more). Rebuilding ``linearize``
  per product instead would be far slower: tracing costs several forwards.

How many blocks are cached is decided from a probe of the bytes an ordinary backward saves per
row (two small forwards under ``saved_tensors_hooks``), times the factor above.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch.func import functional_call, jvp, linearize, vjp

from mirlearn.nn.hf.losses import OutputLoss, get_loss
from mirlearn.nn.hf.params import ParamSpec

__all__ = ["GaussNewton", "gauss_newton_product", "saved_bytes_per_row", "CACHE_FACTOR"]

# Bytes a cached block keeps per row, as a multiple of what an ordinary backward saves per row
# (linearize's folded constants ≈ 2.9×, the vjp graph ≈ 1×; see module docstring).
CACHE_FACTOR = 4.0


@dataclass
class _Block:
    x: torch.Tensor            # inputs [shape=(n, ...)]
    t: torch.Tensor | None     # targets (None: the loss on these rows is not needed)
    curvature: torch.Tensor    # loss.curvature(z) at θ
    loss_sum: float            # Σ ℓ at θ (float64)
    jvp_fn: Callable[..., Any] | None = None
    vjp_fn: Callable[..., Any] | None = None


def saved_bytes_per_row(model: torch.nn.Module, spec: ParamSpec, theta: torch.Tensor,
                        x: torch.Tensor) -> float:
    """Bytes that an ordinary forward saves for backward, per row of ``x`` (probed).

    Two forwards on 16 and 32 rows under ``torch.autograd.graph.saved_tensors_hooks``; the
    difference removes what does not grow with rows (the weights).
    """
    def probe(rows: int) -> int:
        seen: dict[int, int] = {}

        def pack(t: torch.Tensor) -> torch.Tensor:
            s = t.untyped_storage()
            seen[s.data_ptr()] = s.nbytes()
            return t

        leaf = theta.detach().clone().requires_grad_(True)
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            functional_call(model, spec.unflatten(leaf), (x[:rows].clone(),))
        return sum(seen.values())

    small, big = min(16, len(x)), min(32, len(x))
    if big == small:
        return probe(small) / max(small, 1)
    return max(probe(big) - probe(small), 0) / (big - small)


class GaussNewton:
    """The Gauss-Newton operator of ``model`` at θ on a set of rows, built once for many products.

    Parameters
    ----------
    model : torch.nn.Module returning logits; in eval mode (the model must be deterministic
        while CG runs: dropout would change the quadratic model between products).
    theta : torch.Tensor [shape=(n_params,)], the parameters (layout ``spec``).
    blocks : sequence of ``(x, t)`` — inputs [shape=(n_b, ...)] and targets of each block of
        rows (targets may be None when :meth:`mean_loss` is not needed: G does not use them);
        G is normalised by the total number of rows.
    loss : matching output loss.
    spec : layout of θ (default: the module's trainable parameters).
    cache_bytes : memory allowed for cached linearisations (bytes); ``math.inf`` caches all
        blocks, 0 recomputes every product.
    n_total : the divisor of G and of :meth:`mean_loss`: the rows of the whole chunk when these
        blocks are one rank's share of it (their sums are then added over the ranks, see
        :mod:`mirlearn.nn.hf.shared`); default ``n_rows``.
    """

    def __init__(self, model: torch.nn.Module, theta: torch.Tensor,
                 blocks: Sequence[tuple[torch.Tensor, torch.Tensor | None]], loss: OutputLoss | str, *,
                 spec: ParamSpec | None = None, cache_bytes: float = math.inf, n_total: int | None = None) -> None:
        self.model = model
        self.spec = spec or ParamSpec.from_module(model)
        self.loss = get_loss(loss)
        self.theta = theta.detach()
        self.params = self.spec.unflatten(self.theta)
        self.n_rows = sum(len(x) for x, _ in blocks)
        if self.n_rows == 0:
            raise ValueError("GaussNewton needs at least one row")
        self.divisor = self.n_rows if n_total is None else int(n_total)
        self.bytes_per_row = 0.0
        if blocks and 0 < cache_bytes < math.inf:
            self.bytes_per_row = CACHE_FACTOR * saved_bytes_per_row(model, self.spec, self.theta, blocks[0][0])
        self.blocks: list[_Block] = []
        budget = cache_bytes
        for x, t in blocks:
            need = self.bytes_per_row * len(x)
            cache = cache_bytes > 0 and need <= budget
            if cache and budget < math.inf:
                budget -= need
            self.blocks.append(self._build(x, t, cache))
        self.n_cached = sum(b.jvp_fn is not None for b in self.blocks)

    def _f(self, x: torch.Tensor) -> Callable[[dict[str, torch.Tensor]], torch.Tensor]:
        return lambda p: functional_call(self.model, p, (x,))

    def _build(self, x: torch.Tensor, t: torch.Tensor, cache: bool) -> _Block:
        f = self._f(x)
        with torch.enable_grad():
            if cache:
                with warnings.catch_warnings():
                    # const_fold warns about its own get_attr nodes; harmless, and noisy.
                    warnings.filterwarnings("ignore", message="Attempted to insert a get_attr Node")
                    # make_fx's tracing calls torch.jit.script internally, which now warns.
                    warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*torch.jit.script")
                    z, jvp_fn = linearize(f, self.params)
                _, vjp_fn = vjp(f, self.params)
            else:
                with torch.no_grad():
                    z = f(self.params)
                jvp_fn = vjp_fn = None
        z = z.detach()
        loss_sum = math.nan if t is None else float(self.loss.sum(z.double(), t))
        return _Block(x=x, t=t, curvature=self.loss.curvature(z), loss_sum=loss_sum,
                      jvp_fn=jvp_fn, vjp_fn=vjp_fn)

    def _jv(self, block: _Block, v: dict[str, torch.Tensor]) -> torch.Tensor:
        if block.jvp_fn is not None:
            return block.jvp_fn(v)
        return jvp(self._f(block.x), (self.params,), (v,))[1]

    def jvp(self, v: torch.Tensor) -> torch.Tensor:
        """J v: the change of the logits of all rows [shape=(n_rows, n_out)] along ``v``."""
        vd = self.spec.unflatten(v.detach())
        return torch.cat([self._jv(b, vd) for b in self.blocks])

    def matvec(self, v: torch.Tensor, shift: float = 0.0) -> torch.Tensor:
        """G v + shift·v for ``v`` [shape=(n_params,)] (shift = λ + κ gives Martens' B v)."""
        vd = self.spec.unflatten(v.detach())
        acc: dict[str, torch.Tensor] | None = None
        for b in self.blocks:
            u = self.loss.hvp(b.curvature, self._jv(b, vd))
            if b.vjp_fn is not None:
                (gd,) = b.vjp_fn(u)
            else:
                with torch.enable_grad():
                    _, vjp_fn = vjp(self._f(b.x), self.params)
                (gd,) = vjp_fn(u)
            acc = gd if acc is None else {k: acc[k] + gd[k] for k in acc}
        out = self.spec.flatten(acc) / self.divisor
        if shift:
            out = out + shift * v
        return out

    @torch.no_grad()
    def mean_loss(self, theta: torch.Tensor | None = None) -> float:
        """(1/divisor) Σ ℓ on these rows, at the operator's θ (free) or at another θ (a forward)."""
        if any(b.t is None for b in self.blocks):
            raise ValueError("mean_loss needs the targets of every block; this operator was built without")
        if theta is None:
            return sum(b.loss_sum for b in self.blocks) / self.divisor
        params = self.spec.unflatten(theta.detach())
        total = 0.0
        for b in self.blocks:
            total += float(self.loss.sum(functional_call(self.model, params, (b.x,)).double(), b.t))
        return total / self.divisor


def gauss_newton_product(model: torch.nn.Module, x: torch.Tensor, v: torch.Tensor,
                         loss: OutputLoss | str = "sigmoid", *, theta: torch.Tensor | None = None,
                         block_rows: int | None = None, cache: bool = True) -> torch.Tensor:
    """One Gauss-Newton product G v = (1/N) Σ_n J_nᵀ H_n J_n v at the module's parameters.

    Parameters
    ----------
    model : torch.nn.Module returning logits [shape=(N, n_out)].
    x : torch.Tensor [shape=(N, ...)], inputs (targets are not needed: for matching losses H
        depends on the logits only).
    v : torch.Tensor [shape=(n_params,)], in the order of ``ParamSpec.from_module(model)``.
    loss : 'sigmoid', 'softmax' or 'mse'.
    theta : parameters to use instead of the module's own.
    block_rows : rows per block (default: all rows in one block).
    cache : linearize + vjp per block (True) or jvp + vjp recomputed (False).

    Returns
    -------
    torch.Tensor [shape=(n_params,)]
    """
    spec = ParamSpec.from_module(model)
    theta = spec.from_module_values(model) if theta is None else theta
    rows = block_rows or len(x)
    blocks = [(x[i:i + rows], None) for i in range(0, len(x), rows)]
    op = GaussNewton(model, theta, blocks, loss, spec=spec, cache_bytes=math.inf if cache else 0.0)
    return op.matvec(v)

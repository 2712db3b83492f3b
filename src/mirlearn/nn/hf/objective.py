"""The training objective over a whole frame matrix, its gradient and Fisher diagonal.

f(θ) = (1/N) Σ_n ℓ(z(θ, x_n), t_n) + (κ/2)‖θ‖², evaluated chunk of rows by chunk of rows
(:mod:`mirlearn.nn.hf.rows`), so that memory stays bounded for memory-mapped data of any size.
Per-chunk loss sums are reduced in float64 (the logits are cast, which costs little: they are
n × n_out) because CG-backtracking and the line search compare values of f that differ in the
sixth or seventh digit.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch.func import functional_call

from mirlearn.distributed import World
from mirlearn.nn.hf.fisher import LinearSquaredGrads, vmap_squared_grads
from mirlearn.nn.hf.losses import OutputLoss, get_loss
from mirlearn.nn.hf.params import ParamSpec
from mirlearn.nn.hf.rows import row_slices, split_rows, take_rows

__all__ = ["Objective", "fisher_diagonal"]


class Objective:
    """Mean loss plus L2 weight cost of ``model`` on ``(X, y)``, computed in chunks of rows.

    Parameters
    ----------
    model : torch.nn.Module returning logits [shape=(n, n_out)]; put it in eval mode first.
    loss : the matching output loss.
    X : np.ndarray or torch.Tensor [shape=(N, ...)], any float dtype, possibly a read-only
        ``np.memmap``; rows are converted to the parameters' dtype one chunk at a time.
    y : array of int [shape=(N,)], class indices in ``[0, n_out)``.
    spec : layout of θ (default: the module's trainable parameters).
    weight_cost : κ, the L2 coefficient (applies to all trainable parameters, biases too).
    chunk_rows : rows per forward/backward; bounds the memory of every pass.
    ranks : the job's :class:`~mirlearn.distributed.World` when ``(X, y)`` is this rank's
        share of the rows: every sum (loss, gradient, Fisher diagonal, errors) is then added
        over the ranks and divided by ``n_total``, so every rank gets the whole set's values.
    n_total : rows over all ranks (default ``len(X)``).
    """

    def __init__(self, model: torch.nn.Module, loss: OutputLoss | str, X: np.ndarray | torch.Tensor,
                 y: np.ndarray | torch.Tensor, *, n_out: int, spec: ParamSpec | None = None,
                 weight_cost: float = 0.0, chunk_rows: int = 8192, ranks: World | None = None,
                 n_total: int | None = None) -> None:
        self.model = model
        self.loss = get_loss(loss)
        self.spec = spec or ParamSpec.from_module(model)
        self.X = X
        self.y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y,
                                 dtype=torch.int64).cpu()
        self.n_here = len(X)  # the rows this process reads
        self.n = self.n_here if n_total is None else int(n_total)  # the divisor of every mean
        self.ranks = ranks if ranks is not None else World()
        self.n_out = int(n_out)
        self.weight_cost = float(weight_cost)
        self.chunk_rows = int(chunk_rows)
        self._linear = LinearSquaredGrads(model, self.spec)

    # -- rows -------------------------------------------------------------------------------
    def rows(self, rows: slice | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and targets of the given rows, as tensors on the parameters' device."""
        x = take_rows(self.X, rows, dtype=self.spec.dtype, device=self.spec.device)
        y = self.y[rows] if isinstance(rows, slice) else self.y[torch.as_tensor(rows)]
        return x, self.loss.targets(y.to(self.spec.device), self.n_out, self.spec.dtype)

    def chunks(self, index: np.ndarray | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``(x, t)`` chunks of at most ``chunk_rows`` rows: all rows, or the sorted ``index``."""
        parts = row_slices(self.n_here, self.chunk_rows) if index is None else split_rows(index, self.chunk_rows)
        for part in parts:
            yield self.rows(part)

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits of ``x`` with parameters θ (the module's own parameters are not used)."""
        return functional_call(self.model, self.spec.unflatten(theta), (x,))

    def penalty(self, theta: torch.Tensor) -> float:
        """(κ/2)‖θ‖², in float64."""
        if self.weight_cost == 0.0:
            return 0.0
        return 0.5 * self.weight_cost * float(theta.double().square().sum())

    # -- values -----------------------------------------------------------------------------
    @torch.no_grad()
    def value(self, theta: torch.Tensor) -> float:
        """f(θ) over all N rows (float64; NaN or inf when the network's outputs are)."""
        total = 0.0
        for x, t in self.chunks():
            total += float(self.loss.sum(self.forward(theta, x).double(), t))
        (total,) = self.ranks.sum_floats(total)
        return total / self.n + self.penalty(theta)

    @torch.no_grad()
    def loss_and_error(self, theta: torch.Tensor) -> tuple[float, float]:
        """Mean loss (without weight cost) and classification error (fraction, argmax)."""
        total, wrong = 0.0, 0
        for sl in row_slices(self.n_here, self.chunk_rows):
            x, t = self.rows(sl)
            z = self.forward(theta, x)
            total += float(self.loss.sum(z.double(), t))
            wrong += int((z.argmax(dim=1).cpu() != self.y[sl]).sum())
        total, wrong = self.ranks.sum_floats(total, wrong)
        return total / self.n, round(wrong) / self.n

    def value_and_grad(self, theta: torch.Tensor, *, fisher: bool = False
                       ) -> tuple[float, torch.Tensor, torch.Tensor | None]:
        """f(θ), ∇f(θ) and, if asked, the empirical-Fisher diagonal, in one pass.

        Returns
        -------
        f : float
        g : torch.Tensor [shape=(n_params,)], (1/N) Σ ∇ℓ_n + κθ
        d : torch.Tensor [shape=(n_params,)] or None, (1/N) Σ (∇ℓ_n)² (no weight cost: the
            κ of the curvature is added where the preconditioner is formed)
        """
        theta = theta.detach()
        leaf = theta.clone().requires_grad_(True)
        d = torch.zeros_like(theta) if fisher else None
        total = 0.0
        use_linear = fisher and self._linear.is_applicable
        for x, t in self.chunks():
            with torch.enable_grad():
                if use_linear:
                    with self._linear.capture():
                        s = self.loss.sum(self.forward(leaf, x).double(), t)
                        s.backward()
                else:
                    s = self.loss.sum(self.forward(leaf, x).double(), t)
                    s.backward()
            total += float(s.detach())
            if fisher:
                if not (use_linear and self._linear.accumulate(d)):
                    use_linear = False  # a layer ran twice or on 3-D input: vmap from here on
                    d += vmap_squared_grads(self.model, self.spec, self.loss, theta, x, t)
        g = leaf.grad if leaf.grad is not None else torch.zeros_like(theta)
        if self.ranks.active:  # the sums over this rank's rows, added over the ranks
            self.ranks.all_reduce(g)
            if d is not None:
                self.ranks.all_reduce(d)
            (total,) = self.ranks.sum_floats(total)
        g = g / self.n
        if self.weight_cost:
            g = g + self.weight_cost * theta
        if d is not None:
            d /= self.n
        return total / self.n + self.penalty(theta), g, d


def fisher_diagonal(model: torch.nn.Module, X: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor,
                    loss: OutputLoss | str = "sigmoid", *, n_out: int | None = None,
                    chunk_rows: int = 8192, method: str = "auto") -> torch.Tensor:
    """Empirical-Fisher diagonal d = (1/N) Σ_n (∇_θ ℓ_n)² at the module's current parameters.

    Parameters
    ----------
    model : torch.nn.Module returning logits [shape=(n, n_out)].
    X, y : inputs [shape=(N, ...)] and class indices [shape=(N,)].
    loss : matching output loss ('sigmoid', 'softmax' or 'mse').
    n_out : number of outputs (default: inferred from one forward).
    chunk_rows : rows per pass.
    method : 'auto' (Linear fast path where it applies), 'linear' or 'vmap'.

    Returns
    -------
    torch.Tensor [shape=(n_params,)] in the order of ``ParamSpec.from_module(model)``.
    """
    spec = ParamSpec.from_module(model)
    theta = spec.from_module_values(model)
    if n_out is None:
        with torch.no_grad():
            n_out = int(model(take_rows(X, slice(0, 1), dtype=spec.dtype, device=spec.device)).shape[1])
    obj = Objective(model, loss, X, y, n_out=n_out, spec=spec, chunk_rows=chunk_rows)
    if method == "vmap":
        d = torch.zeros_like(theta)
        for x, t in obj.chunks():
            d += vmap_squared_grads(model, spec, obj.loss, theta, x, t)
        return d / obj.n
    if method == "linear" and not obj._linear.is_applicable:
        raise ValueError("method='linear' needs every trainable parameter to belong to an nn.Linear")
    if method not in ("auto", "linear"):
        raise ValueError(f"unknown method {method!r}; use 'auto', 'linear' or 'vmap'")
    return obj.value_and_grad(theta, fisher=True)[2]

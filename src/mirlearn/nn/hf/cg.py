"""Preconditioned conjugate gradient on the quadratic model, with Martens' stopping rule.

Minimises q(x) = ½ xᵀBx + gᵀx (i.e. solves Bx = −g) as in Martens' ``conjgrad_1.m``:
vectors stay in the caller's dtype (float32 for training), every scalar (dot products, α, β,
φ) is taken in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

__all__ = ["CGResult", "pcg", "dot64", "store_schedule"]

Matvec = Callable[[torch.Tensor], torch.Tensor]


def dot64(a: torch.Tensor, b: torch.Tensor) -> float:
    """aᵀb accumulated in float64, whatever the dtype of the vectors."""
    return float(torch.dot(a.reshape(-1).double(), b.reshape(-1).double()))


def store_schedule(max_iters: int, *, start: float = 5.0, ratio: float = 1.3) -> list[int]:
    """Iterations whose iterates CG keeps: ceil(5·1.3^j) = 5, 7, 9, 11, 15, 19, 25, …

    Computed by repeated multiplication, as Martens' code does, so the rounding is the same.
    """
    out, nxt = [], start
    while math.ceil(nxt) <= max_iters:
        out.append(math.ceil(nxt))
        nxt *= ratio
    return out


@dataclass
class CGResult:
    """What :func:`pcg` returns.

    Attributes
    ----------
    x : the last iterate [shape=(n,)] (the warm start of the next HF step).
    iterates : ``(i, x_i)`` pairs for the stored iterations, ascending, the last one included.
    phi : np.ndarray [shape=(iters + 1,)], float64, q(x_i) for i = 0 … iters.
    iters : number of CG iterations done (products with B, not counting the initial residual).
    stop : 'martens' (relative progress rule), 'max_iters', 'residual' (‖r‖ ≤ atol) or
        'curvature' (pᵀBp ≤ 0).
    """

    x: torch.Tensor
    iterates: list[tuple[int, torch.Tensor]]
    phi: np.ndarray
    iters: int
    stop: str
    residual_norms: list[float] = field(default_factory=list)


def pcg(matvec: Matvec, g: torch.Tensor, x0: torch.Tensor | None = None, *,
        precond: torch.Tensor | Matvec | None = None, max_iters: int = 250,
        rel_tol: float = 5e-4, atol: float = 0.0, min_gap: int = 10, gap_ratio: float = 0.1,
        store_start: float = 5.0, store_ratio: float = 1.3) -> CGResult:
    """Minimise q(x) = ½xᵀBx + gᵀx by preconditioned CG from ``x0``.

    Parameters
    ----------
    matvec : v ↦ B v for a symmetric B (positive definite for a well-posed problem).
    g : torch.Tensor [shape=(n,)], the linear term (the gradient, in HF).
    x0 : starting point (HF: 0.95 × the previous solution); default 0.
    precond : None; a tensor M [shape=(n,)] applied as y = r / M (HF: M = (d + λ + κ)^¾);
        or a callable r ↦ M⁻¹r.
    max_iters : at most this many iterations (products with B).
    rel_tol : Martens' rule: with k = max(min_gap, ceil(gap_ratio·i)), stop at iteration i when
        i > k, φ_{i−k} < 0 and (φ_i − φ_{i−k}) / φ_i < k·rel_tol; 0 turns the rule off.
    atol : also stop once ‖r‖₂ ≤ atol (off by default, as in Martens' code).
    store_start, store_ratio : keep x_i at i = ceil(store_start·store_ratio^j), plus the last.

    Returns
    -------
    CGResult

    Notes
    -----
    Iteration: r = Bx + g, y = M⁻¹r, p = −y; α = rᵀy / pᵀBp; x += αp; r += αBp;
    β = r'ᵀy' / rᵀy; p = −y' + βp. φ_i = ½(r_i + g)ᵀx_i = q(x_i), tracked in float64.
    """
    x = torch.zeros_like(g) if x0 is None else x0.detach().clone()
    if precond is None:
        apply_m: Matvec = lambda r: r  # noqa: E731 - identity: y is r itself, bitwise
    elif isinstance(precond, torch.Tensor):
        apply_m = lambda r: r / precond  # noqa: E731
    else:
        apply_m = precond

    # From x0 = 0 the residual is g itself: skip the product (HF's first step, tests).
    r = matvec(x) + g if x0 is not None and bool(torch.any(x0 != 0)) else g.clone()
    y = apply_m(r)
    p = -y
    ry = dot64(r, y)
    phi = [0.5 * dot64(r + g, x)]
    residuals = [math.sqrt(dot64(r, r))]
    iterates: list[tuple[int, torch.Tensor]] = []
    next_store = store_start
    stop, i = "max_iters", 0
    if atol > 0 and residuals[0] <= atol:
        stop = "residual"
    else:
        for i in range(1, max_iters + 1):
            bp = matvec(p)
            pbp = dot64(p, bp)
            if not pbp > 0:  # also catches NaN; G is PSD, so this means B is not positive definite
                stop, i = "curvature", i - 1
                break
            alpha = ry / pbp
            x = x + alpha * p
            r = r + alpha * bp
            y = apply_m(r)
            ry_new = dot64(r, y)
            beta = ry_new / ry if ry != 0 else 0.0
            p = -y + beta * p
            ry = ry_new
            phi.append(0.5 * dot64(r + g, x))
            residuals.append(math.sqrt(max(dot64(r, r), 0.0)))
            if i == math.ceil(next_store):
                iterates.append((i, x))
                next_store *= store_ratio
            k = max(min_gap, math.ceil(gap_ratio * i))
            if rel_tol > 0 and i > k and phi[i - k] < 0 and (phi[i] - phi[i - k]) / phi[i] < k * rel_tol:
                stop = "martens"
                break
            if atol > 0 and residuals[-1] <= atol:
                stop = "residual"
                break
    if not iterates or iterates[-1][0] != i:
        iterates.append((i, x))
    return CGResult(x=x, iterates=iterates, phi=np.asarray(phi, dtype=np.float64), iters=i,
                    stop=stop, residual_norms=residuals)

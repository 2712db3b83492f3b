"""The curvature chunk's Gauss-Newton operator when its rows are spread over the ranks.

Data-parallel Hessian-Free (:class:`mirlearn.nn.train.hf.HFSteps` under several ranks): each
rank holds a contiguous share of the training rows, so each holds the part of every curvature
chunk that falls in its share. A product G·v is then each rank's Σ_{n in its part} J_nᵀH_nJ_n v
divided by the chunk's *total* rows, summed over the ranks by one all-reduce; the same for the
chunk's mean loss (for ρ). Every rank gets the same bits back, so CG's float64 scalars, its
iterates, the backtracking and the line search are identical on every rank and all ranks take
the same step without exchanging θ.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from mirlearn.distributed import World
from mirlearn.nn.hf.curvature import GaussNewton
from mirlearn.nn.hf.losses import OutputLoss
from mirlearn.nn.hf.mlp_curvature import gauss_newton_operator
from mirlearn.nn.hf.params import ParamSpec

__all__ = ["SharedGaussNewton"]


class SharedGaussNewton:
    """G·v and the mean loss of a curvature chunk whose rows lie on several ranks.

    Parameters
    ----------
    model, theta, loss, spec, cache_bytes : as for :func:`~mirlearn.nn.hf.mlp_curvature.gauss_newton_operator`.
    blocks : this rank's ``(x, t)`` blocks of the chunk (possibly none).
    n_total : rows of the whole chunk, over all ranks.
    ranks : the job's :class:`~mirlearn.distributed.World`.
    """

    def __init__(self, model: torch.nn.Module, theta: torch.Tensor,
                 blocks: Sequence[tuple[torch.Tensor, torch.Tensor]], loss: OutputLoss | str, *,
                 spec: ParamSpec, n_total: int, ranks: World, cache_bytes: float = math.inf) -> None:
        if n_total < 1:
            raise ValueError("the curvature chunk has no rows")
        self.ranks, self.n_rows, self.theta = ranks, int(n_total), theta.detach()
        # A rank whose share misses the chunk still takes part in every all-reduce, with zeros.
        self.local: GaussNewton | None = (gauss_newton_operator(model, theta, list(blocks), loss, spec=spec,
                                                                cache_bytes=cache_bytes, n_total=n_total)
                                          if sum(len(x) for x, _ in blocks) else None)

    def matvec(self, v: torch.Tensor, shift: float = 0.0) -> torch.Tensor:
        """G v + shift·v over the whole chunk [shape=(n_params,)], the same on every rank."""
        out = self.local.matvec(v) if self.local is not None else torch.zeros_like(v)
        self.ranks.all_reduce(out)
        if shift:
            out = out + shift * v
        return out

    def mean_loss(self, theta: torch.Tensor | None = None) -> float:
        """The chunk's mean loss at the operator's θ or at ``theta``, the same on every rank."""
        part = 0.0 if self.local is None else self.local.mean_loss(theta)
        (total,) = self.ranks.sum_floats(part)
        return total

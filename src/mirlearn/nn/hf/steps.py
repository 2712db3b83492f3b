"""What HF does with CG's iterates: backtracking, the reduction ratio ρ, Armijo, λ update.

Each piece takes the objective as a callable, so it can be tested on scripted values. A
non-finite objective value (a step so large that the network overflows) counts as +inf: it is
never chosen and never passes the line search.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

__all__ = ["backtrack", "reduction_ratio", "armijo", "update_damping"]


def _val(f: float) -> float:
    return f if math.isfinite(f) else math.inf


def backtrack(objective: Callable[[torch.Tensor], float],
              iterates: Sequence[torch.Tensor]) -> tuple[int, float]:
    """Martens' CG-backtracking: walk back from the last stored iterate while it helps.

    Starting at the last iterate x_J, step back to x_{j−1} while f(x_{j−1}) < f(x_j).

    Parameters
    ----------
    objective : x ↦ f(θ + x), the full training objective at the trial step.
    iterates : the stored CG iterates, in CG order (at least one).

    Returns
    -------
    (index into ``iterates`` of the chosen step, its objective value)
    """
    if not iterates:
        raise ValueError("backtrack needs at least one iterate")
    j = len(iterates) - 1
    f_j = objective(iterates[j])
    while j > 0:
        f_prev = objective(iterates[j - 1])
        if not _val(f_prev) < _val(f_j):  # Martens' code also steps back on ties; the spec: strict
            break
        j, f_j = j - 1, f_prev
    return j, f_j


def reduction_ratio(actual: float, predicted: float) -> float:
    """ρ = actual / predicted reduction, with Martens' conventions.

    Parameters
    ----------
    actual : f_C(θ + p) − f_C(θ) on the curvature chunk.
    predicted : q(p) − q(0) = ½pᵀ(G_C + κI)p + gᵀp — the *undamped* model (λ left out),
        measured from θ, not from CG's warm start.

    Returns
    -------
    float: −inf when f_C increased; NaN when the model predicts no decrease or a value is
    not finite; else actual / predicted.
    """
    if not (math.isfinite(actual) and math.isfinite(predicted)):
        return math.nan
    if actual > 0:
        return -math.inf
    if predicted == 0:
        return math.nan
    return actual / predicted


def armijo(objective: Callable[[float], float], f0: float, slope: float, *,
           f1: float | None = None, c: float = 1e-2, shrink: float = 0.8,
           max_tries: int = 60) -> tuple[float, float]:
    """Backtracking line search along p: the largest rate 0.8^j with sufficient decrease.

    Accepts the first rate in 1, 0.8, 0.8², … (at most ``max_tries`` rates) with
    f(θ + rate·p) ≤ f0 + c·rate·gᵀp; rate 0 (step rejected) when none does.

    Parameters
    ----------
    objective : rate ↦ f(θ + rate·p) on the full training set.
    f0 : f(θ).
    slope : gᵀp, the directional derivative.
    f1 : f(θ + p) if already known (CG-backtracking computed it), saving one pass.

    Returns
    -------
    (rate, f at that rate); (0.0, f0) when rejected.

    Notes
    -----
    Departure from Martens' code: when gᵀp ≥ 0 (an ascent direction, possible only through the
    warm start) the step is rejected at once. Martens would try up to 60 rates, each a full
    pass over the training set, and could accept a step that *increases* f by up to c·gᵀp.
    """
    if not (math.isfinite(slope) and slope < 0):
        return 0.0, f0
    rate = 1.0
    f_rate = objective(rate) if f1 is None else f1
    for attempt in range(max_tries):
        if math.isfinite(f_rate) and f_rate <= f0 + c * rate * slope:
            return rate, f_rate
        if attempt + 1 < max_tries:
            rate *= shrink
            f_rate = objective(rate)
    return 0.0, f0


def update_damping(lam: float, rho: float, *, boost: float = 1.5, drop: float = 2.0 / 3.0,
                   low: float = 0.25, high: float = 0.75) -> float:
    """Levenberg-Marquardt rule: λ·1.5 if ρ < ¼ or ρ is NaN, λ·⅔ if ρ > ¾, else λ."""
    if math.isnan(rho) or rho < low:
        return lam * boost
    if rho > high:
        return lam * drop
    return lam

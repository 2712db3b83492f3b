"""CG-backtracking, Armijo line search, reduction ratio and damping rule on scripted values."""

from __future__ import annotations

import math

import pytest

from mirlearn.nn.hf import armijo, backtrack, reduction_ratio, update_damping


class Scripted:
    """f(iterate k) = values[k]; records which iterates were evaluated."""

    def __init__(self, values):
        self.values, self.calls = values, []

    def __call__(self, k):
        self.calls.append(k)
        return self.values[k]


@pytest.mark.parametrize("values, chosen, calls", [
    ([5.0, 3.0, 2.0, 4.0], 2, [3, 2, 1]),      # last is worse than its predecessor: step back once
    ([5.0, 4.0, 3.0], 2, [2, 1]),              # monotone: keep the last
    ([1.0, 2.0, 3.0], 0, [2, 1, 0]),           # every step back helps: the first
    ([3.0, 2.0, math.nan], 1, [2, 1, 0]),      # NaN counts as +inf
    ([2.0, 2.0], 1, [1, 0]),                   # a tie does not step back (strict <)
    ([7.0], 0, [0]),
])
def test_backtrack_chooses_the_right_iterate(values, chosen, calls):
    f = Scripted(values)
    j, fj = backtrack(f, list(range(len(values))))
    assert j == chosen and f.calls == calls
    assert fj == values[chosen] or (math.isnan(fj) and math.isnan(values[chosen]))


def test_armijo_takes_largest_rate_with_sufficient_decrease():
    f0, slope, c = 1.0, -2.0, 1e-2
    f = lambda r: f0 + slope * r + 30.0 * r * r  # noqa: E731 - minimum at r = 1/30
    rate, fr = armijo(f, f0, slope)
    assert 0 < rate < 1 and fr == f(rate)
    assert fr <= f0 + c * rate * slope                 # the Armijo inequality holds
    assert f(rate / 0.8) > f0 + c * rate / 0.8 * slope  # and fails at the previous rate
    assert rate == pytest.approx(0.8 ** round(math.log(rate) / math.log(0.8)))


def test_armijo_uses_known_value_at_rate_one():
    calls = []
    rate, fr = armijo(lambda r: calls.append(r) or 0.0, 1.0, -1.0, f1=0.5)
    assert (rate, fr, calls) == (1.0, 0.5, [])


def test_armijo_rejects_ascent_direction_and_hopeless_steps():
    calls = []
    assert armijo(lambda r: calls.append(r) or 0.0, 1.0, 0.5) == (0.0, 1.0)
    assert calls == []  # gᵀp ≥ 0: rejected without a pass over the data
    calls = []
    rate, fr = armijo(lambda r: calls.append(r) or 2.0, 1.0, -1.0)  # never decreases
    assert (rate, fr) == (0.0, 1.0) and len(calls) == 60
    assert calls[-1] == pytest.approx(0.8 ** 59)
    rate, _ = armijo(lambda r: math.nan if r > 0.5 else 0.0, 1.0, -1.0)  # NaN never passes
    assert rate == pytest.approx(0.8 ** 4)


@pytest.mark.parametrize("rho, factor", [
    (0.1, 1.5), (-math.inf, 1.5), (math.nan, 1.5), (0.2499, 1.5),
    (0.25, 1.0), (0.5, 1.0), (0.75, 1.0),
    (0.7501, 2 / 3), (1.0, 2 / 3), (12.0, 2 / 3),
])
def test_damping_rule(rho, factor):
    assert update_damping(10.0, rho) == pytest.approx(10.0 * factor, rel=1e-15)


def test_reduction_ratio_conventions():
    assert reduction_ratio(-1.0, -2.0) == 0.5
    assert reduction_ratio(0.1, -2.0) == -math.inf  # f on the chunk went up
    assert math.isnan(reduction_ratio(0.0, 0.0))
    assert math.isnan(reduction_ratio(math.nan, -1.0))
    assert math.isnan(reduction_ratio(-1.0, math.inf))

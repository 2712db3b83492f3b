"""Preconditioned CG with Martens' stopping rule, on random SPD systems (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mirlearn.nn.hf import pcg, store_schedule


def spd(n: int, cond: float, seed: int, spacing: str = "linear") -> torch.Tensor:
    """Random SPD matrix with eigenvalues from 1 to cond, spaced linearly or geometrically.

    Geometric spacing is the slow case: rounding makes CG need about 2n iterations for 1e-10.
    """
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=gen))
    ev = (torch.linspace(1, cond, n, dtype=torch.float64) if spacing == "linear"
          else torch.logspace(0, math.log10(cond), n, dtype=torch.float64))
    return q @ torch.diag(ev) @ q.T


def q_value(A, g, x):
    return float(0.5 * x @ A @ x + g @ x)


@pytest.fixture
def system():
    A = spd(50, 1e3, 0)
    b = torch.randn(50, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    return A, b


def test_solves_spd_system_like_linalg_solve(system):
    A, b = system
    res = pcg(lambda v: A @ v, -b, max_iters=100, rel_tol=0.0, atol=1e-10)
    assert res.stop == "residual" and res.iters <= 50
    assert torch.linalg.norm(A @ res.x - b) < 1e-10
    assert torch.allclose(res.x, torch.linalg.solve(A, b), rtol=0, atol=1e-9)


def test_identity_preconditioner_is_bitwise_no_preconditioner(system):
    A, b = system
    plain = pcg(lambda v: A @ v, -b, max_iters=40)
    ident = pcg(lambda v: A @ v, -b, max_iters=40, precond=torch.ones(50, dtype=torch.float64))
    assert torch.equal(plain.x, ident.x)
    assert np.array_equal(plain.phi, ident.phi)
    assert [i for i, _ in plain.iterates] == [i for i, _ in ident.iterates]


def test_exact_preconditioner_converges_in_one_iteration(system):
    A, b = system
    A_inv = torch.linalg.inv(A)
    res = pcg(lambda v: A @ v, -b, precond=lambda r: A_inv @ r, atol=1e-10)
    assert res.iters == 1 and res.stop == "residual"
    # a diagonal system with its diagonal as M, the form HF uses
    D = torch.linspace(1, 1e3, 50, dtype=torch.float64)
    res = pcg(lambda v: D * v, -b, precond=D, atol=1e-10)
    assert res.iters == 1 and torch.allclose(res.x, b / D, rtol=1e-14, atol=0)


def test_phi_tracks_the_quadratic_and_decreases(system):
    A, b = system
    g = -b
    x0 = 0.3 * torch.randn(50, dtype=torch.float64)
    res = pcg(lambda v: A @ v, g, x0, max_iters=60, rel_tol=0.0,
              precond=torch.diagonal(A).sqrt())
    assert res.phi[0] == pytest.approx(q_value(A, g, x0), rel=1e-12)  # φ = ½xᵀAx − bᵀx
    for i, x in res.iterates:
        assert res.phi[i] == pytest.approx(q_value(A, g, x), rel=1e-10, abs=1e-12)
    assert np.all(np.diff(res.phi) <= 1e-12 * np.abs(res.phi[1:]))


def test_stored_iterates_follow_martens_schedule(system):
    A, b = system
    res = pcg(lambda v: A @ v, -b, max_iters=30, rel_tol=0.0)
    assert res.iters == 30 and res.stop == "max_iters"
    assert [i for i, _ in res.iterates] == [5, 7, 9, 11, 15, 19, 25, 30]
    assert store_schedule(250)[:8] == [5, 7, 9, 11, 15, 19, 25, 32]
    assert torch.equal(res.iterates[-1][1], res.x)


def test_martens_stop_fires_on_slow_system():
    n = 400
    A = spd(n, 1e4, 3, spacing="geometric")
    g = torch.randn(n, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    res = pcg(lambda v: A @ v, g, max_iters=250)
    assert res.stop == "martens" and res.iters < 250

    def fires(i: int) -> bool:
        k = max(10, math.ceil(0.1 * i))
        return i > k and res.phi[i - k] < 0 and (res.phi[i] - res.phi[i - k]) / res.phi[i] < k * 5e-4

    assert fires(res.iters) and not any(fires(i) for i in range(1, res.iters))
    # still far from solved: the rule trades accuracy for iterations
    assert torch.linalg.norm(A @ res.x + g) > 1e-6


def test_stops_on_non_positive_curvature():
    A = torch.diag(torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64))
    res = pcg(lambda v: A @ v, torch.ones(3, dtype=torch.float64), max_iters=10)
    assert res.stop == "curvature"
    assert res.iterates[-1][0] == res.iters


def test_float32_vectors_keep_float64_scalars(system):
    A, b = system
    res = pcg(lambda v: (A.float() @ v), -b.float(), max_iters=100, rel_tol=0.0, atol=1e-4)
    assert res.x.dtype == torch.float32 and res.phi.dtype == np.float64
    assert torch.linalg.norm(A @ res.x.double() - b) < 1e-3

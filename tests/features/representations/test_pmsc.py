"""Tests of mirlearn.features.representations.pmsc: PCA whitening fitted by streaming."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.features.representations.mel import logmel_frames
from mirlearn.features.representations.pmsc import PMSC

SR = 22050


@pytest.fixture
def X(rng: np.random.Generator) -> np.ndarray:
    """Correlated frames with large means and spreads 1 .. 20 (like dB log-mel)."""
    n, d = 4000, 12
    A = rng.standard_normal((d, d)) + np.diag(np.linspace(1, 20, d))
    return (rng.standard_normal((n, d)) @ A - 40.0 + np.arange(d)).astype(np.float32)


def _cov(Z: np.ndarray) -> np.ndarray:
    Z = Z.astype(np.float64)
    Zc = Z - Z.mean(axis=0)
    return Zc.T @ Zc / len(Z)


def test_pmsc_whitens_training_frames(X: np.ndarray) -> None:
    p = PMSC().fit(X)
    assert p.n_components_ == 12 and p.n_samples_seen_ == len(X)
    assert np.all(np.diff(p.explained_variance_) <= 0)
    np.testing.assert_allclose(p.components_ @ p.components_.T, np.eye(12), atol=1e-12)
    Z64 = p.transform(X, dtype=np.float64)
    assert np.abs(Z64.mean(axis=0)).max() < 1e-9
    assert np.abs(Z64.T @ Z64 / len(Z64) - np.eye(12)).max() < 1e-6
    Z = p.transform(X)
    assert Z.dtype == np.float32 and Z.shape == X.shape
    assert np.abs(_cov(Z) - np.eye(12)).max() < 1e-4
    np.testing.assert_allclose(p.mean_, X.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(p.covariance_, _cov(X), rtol=1e-9, atol=1e-9)


def test_pmsc_fit_on_rows_and_new_data(X: np.ndarray, rng: np.random.Generator) -> None:
    train_rows = np.arange(0, len(X), 2)
    p = PMSC(n_components=5).fit(X, rows=train_rows)
    ref = PMSC(n_components=5).fit(X[train_rows])
    np.testing.assert_allclose(p.components_, ref.components_, atol=1e-10)
    new = rng.standard_normal((7, 12)).astype(np.float32)
    assert p.transform(new).shape == (7, 5)
    Z = p.transform(X[train_rows], dtype=np.float64)
    assert np.abs(Z.T @ Z / len(Z) - np.eye(5)).max() < 1e-6
    out = np.zeros((len(X), 5), dtype=np.float32)
    assert p.transform(X, out=out) is out and np.abs(out).sum() > 0


@pytest.mark.parametrize("chunk_rows", [1, 333, 4000, 100000])
def test_pmsc_chunked_fit_equals_one_shot(X: np.ndarray, chunk_rows: int) -> None:
    ref = PMSC(chunk_rows=100000).fit(X)
    p = PMSC(chunk_rows=chunk_rows).fit(X)
    np.testing.assert_allclose(p.mean_, ref.mean_, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(p.covariance_, ref.covariance_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(p.components_, ref.components_, atol=1e-8)  # same signs
    np.testing.assert_allclose(p.transform(X), ref.transform(X), atol=1e-5)


def test_pmsc_partial_fit_and_memmap(X: np.ndarray, tmp_path) -> None:
    mm = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=X.shape)
    mm[:] = X
    mm.flush()
    ro = np.load(tmp_path / "X.npy", mmap_mode="r")
    ref = PMSC().fit(X)
    p = PMSC(chunk_rows=512)
    for a, b in [(0, 3), (3, 1000), (1000, 4000)]:  # e.g. one call per track
        p.partial_fit(ro[a:b])
    np.testing.assert_allclose(p.components_, ref.components_, atol=1e-8)
    np.testing.assert_allclose(p.transform(ro), ref.transform(X), atol=1e-5)


def test_pmsc_state_dict_round_trip(X: np.ndarray) -> None:
    p = PMSC(n_components=8, eps=1e-6, chunk_rows=1000).fit(X[:3000])
    state = p.state_dict()
    q = PMSC.from_state_dict(state)
    assert (q.n_components, q.eps, q.chunk_rows, q.n_components_) == (8, 1e-6, 1000, 8)
    np.testing.assert_array_equal(q.transform(X), p.transform(X))
    state["components"][:] = 0  # a copy: the fitted object is unchanged
    assert np.abs(p.components_).sum() > 0
    # continuing a restored fit equals fitting everything
    q.partial_fit(X[3000:])
    full = PMSC(n_components=8, eps=1e-6).fit(X)
    np.testing.assert_allclose(q.components_, full.components_, atol=1e-8)


def test_pmsc_on_logmel_frames(rng: np.random.Generator) -> None:
    # 10 s of noise under a slowly varying loudness: 429 frames, more than the 128 bands
    n = 10 * SR
    y = (rng.standard_normal(n) * (1.2 + np.sin(np.arange(n) / SR))).astype(np.float32)
    F = logmel_frames(y)
    p = PMSC().fit(F)
    assert p.explained_variance_.min() > 1e-3
    Z = p.transform(F, dtype=np.float64)
    assert Z.shape == F.shape and np.all(np.isfinite(Z))
    assert np.abs(Z.mean(axis=0)).max() < 1e-9
    assert np.abs(Z.T @ Z / len(Z) - np.eye(128)).max() < 1e-6
    # fewer frames than bands: the null directions map to 0, nothing blows up
    few = PMSC().fit(F[:50])
    Zf = few.transform(F[:50], dtype=np.float64)
    assert np.all(np.isfinite(Zf)) and np.abs(Zf[:, 60:]).max() < 1e-3


def test_pmsc_errors(X: np.ndarray) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        PMSC().transform(X)
    with pytest.raises(ValueError, match="at least 2 rows"):
        PMSC().fit(X[:1])
    with pytest.raises(ValueError, match="n_components"):
        PMSC(n_components=13).fit(X)
    p = PMSC().fit(X)
    with pytest.raises(ValueError, match="expected"):
        p.transform(X[:, :5])
    with pytest.raises(ValueError, match="dimensions"):
        p.partial_fit(X[:, :5])

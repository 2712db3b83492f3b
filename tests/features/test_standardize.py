"""Tests of mirlearn.features.standardize: streaming statistics equal numpy's."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.features.standardize import Standardizer


@pytest.fixture
def X(rng: np.random.Generator) -> np.ndarray:
    # Large means and unequal spreads: the case where naive sum-of-squares loses digits.
    return (rng.standard_normal((5000, 7)) * [1, 10, 0.01, 3, 1, 2, 5] + [0, 1e3, 50, -4, 1e4, 0, 7]).astype(np.float32)


def test_statistics_equal_numpy(X: np.ndarray) -> None:
    s = Standardizer().fit(X)
    ref = X.astype(np.float64)
    np.testing.assert_allclose(s.mean_, ref.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.scale_, ref.std(axis=0), rtol=1e-10)
    assert s.n_samples_seen_ == 5000
    Z = s.transform(X)
    assert Z.dtype == np.float32 and Z.shape == X.shape
    np.testing.assert_allclose(Z.mean(axis=0, dtype=np.float64), 0, atol=1e-4)
    np.testing.assert_allclose(Z.std(axis=0, dtype=np.float64), 1, rtol=1e-4)


@pytest.mark.parametrize("chunk_rows", [1, 7, 999, 4096, 100000])
def test_chunking_invariance(X: np.ndarray, chunk_rows: int) -> None:
    ref = Standardizer().fit(X)
    s = Standardizer(chunk_rows=chunk_rows).fit(X)
    np.testing.assert_allclose(s.mean_, ref.mean_, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(s.scale_, ref.scale_, rtol=1e-9)
    np.testing.assert_allclose(s.transform(X), ref.transform(X), rtol=1e-6, atol=1e-5)


def test_partial_fit_equals_fit(X: np.ndarray) -> None:
    s = Standardizer()
    for a, b in [(0, 1), (1, 1000), (1000, 1000), (1000, 3333), (3333, 5000)]:
        s.partial_fit(X[a:b])
    ref = Standardizer().fit(X)
    np.testing.assert_allclose(s.mean_, ref.mean_, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(s.scale_, ref.scale_, rtol=1e-9)
    assert s.n_samples_seen_ == 5000


def test_fit_resets(X: np.ndarray) -> None:
    s = Standardizer().fit(X[:100])
    s.fit(X)
    np.testing.assert_allclose(s.mean_, Standardizer().fit(X).mean_)
    assert s.n_samples_seen_ == 5000


def test_rows_select_training_frames(X: np.ndarray, rng: np.random.Generator) -> None:
    rows = rng.permutation(5000)[:1234]
    s = Standardizer(chunk_rows=100).fit(X, rows=rows)
    ref = X[np.sort(rows)].astype(np.float64)
    np.testing.assert_allclose(s.mean_, ref.mean(axis=0), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(s.scale_, ref.std(axis=0), rtol=1e-9)


def test_memmap_input_untouched(X: np.ndarray, tmp_path) -> None:
    path = tmp_path / "X.f32"
    X.tofile(path)
    mm = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    s = Standardizer(chunk_rows=512).fit(mm, rows=np.arange(0, 5000, 2))
    np.testing.assert_allclose(s.mean_, X[::2].astype(np.float64).mean(axis=0), rtol=1e-12, atol=1e-9)
    X64 = X.astype(np.float64)
    before = X64.copy()
    Standardizer(chunk_rows=100).fit(X64)  # float64 input: chunks are views, must not be modified
    np.testing.assert_array_equal(X64, before)


def test_constant_dimensions() -> None:
    X = np.zeros((100, 3), np.float32)
    X[:, 0] = 12345.678
    X[:, 1] = np.arange(100)
    s = Standardizer(chunk_rows=7).fit(X)
    assert s.scale_[0] == 1.0 and s.scale_[2] == 1.0
    Z = s.transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_array_equal(Z[:, 0], 0)
    np.testing.assert_array_equal(Z[:, 2], 0)


def test_transform_out_and_inverse(X: np.ndarray) -> None:
    s = Standardizer(chunk_rows=333).fit(X)
    out = np.empty_like(X)
    Z = s.transform(X, out=out)
    assert Z is out
    np.testing.assert_allclose(Z, (X - s.mean_) / s.scale_, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(s.inverse_transform(Z), X, rtol=1e-5, atol=1e-2)
    Y = X.copy()
    s.transform(Y, out=Y)  # in place
    np.testing.assert_array_equal(Y, Z)


def test_state_dict_round_trip(X: np.ndarray) -> None:
    s = Standardizer(chunk_rows=100).fit(X[:3000])
    r = Standardizer.from_state_dict(s.state_dict())
    np.testing.assert_array_equal(r.transform(X), s.transform(X))
    # partial_fit continues from a restored state as from the original one.
    r.partial_fit(X[3000:])
    np.testing.assert_allclose(r.scale_, Standardizer().fit(X).scale_, rtol=1e-9)


def test_errors(X: np.ndarray) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        Standardizer().transform(X)
    with pytest.raises(ValueError, match="no rows"):
        Standardizer().fit(X[:0])
    s = Standardizer().fit(X)
    with pytest.raises(ValueError):
        s.transform(X[:, :3])
    with pytest.raises(ValueError, match="dimensions"):
        s.partial_fit(X[:, :3])

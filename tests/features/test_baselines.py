"""Tests of mirlearn.features.baselines: MFCC / log-mel equal librosa's, PMSC whitens."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.features.baselines import (
    BASELINE_KINDS,
    PMSC,
    baseline_dim,
    baseline_frames,
    logmel_frames,
    mel_filterbank,
    mfcc_frames,
)
from mirlearn.features.spectral import magnitude_frames

librosa = pytest.importorskip("librosa")

SR = 22050


@pytest.fixture
def y(rng: np.random.Generator) -> np.ndarray:
    """2 s of an amplitude-modulated tone plus noise (length not a multiple of the hop)."""
    n = 2 * SR + 301
    t = np.arange(n) / SR
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 0.7 * t))
    return (tone + 0.05 * rng.standard_normal(n)).astype(np.float32)


# -- DSP against librosa ------------------------------------------------------------------------
@pytest.mark.parametrize("n_mels,fmax", [(40, None), (128, None), (64, 8000.0)])
def test_mel_filterbank_equals_librosa(n_mels: int, fmax: float | None) -> None:
    ours = mel_filterbank(SR, 1024, n_mels, 0.0, fmax)
    ref = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=n_mels, fmax=fmax)
    assert ours.shape == (n_mels, 513) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-8)
    assert not ours.flags.writeable


@pytest.mark.parametrize("center", [False, True])
def test_mfcc_static_equals_librosa(y: np.ndarray, center: bool) -> None:
    got = mfcc_frames(y, sr=SR, center=center)
    ref = librosa.feature.mfcc(y=y, sr=SR, n_fft=1024, hop_length=512, center=center,
                               n_mels=40, n_mfcc=20).T
    n_frames = magnitude_frames(y, center=center).shape[0]
    assert got.dtype == np.float32 and got.shape == (n_frames, 40) == (ref.shape[0], 40)
    np.testing.assert_allclose(got[:, :20], ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())
    deltas = librosa.feature.delta(ref.T, width=9, mode="nearest").T
    np.testing.assert_allclose(got[:, 20:], deltas, rtol=1e-3, atol=1e-3 * np.abs(deltas).max())


def test_mfcc_options(y: np.ndarray) -> None:
    static = mfcc_frames(y, deltas=False)
    assert static.shape == (magnitude_frames(y).shape[0], 20) and static.dtype == np.float32
    np.testing.assert_array_equal(static, mfcc_frames(y)[:, :20])
    assert mfcc_frames(y, n_mfcc=13, n_mels=26).shape[1] == 26
    one = mfcc_frames(y[:1024])  # a single frame: deltas are 0, no error
    assert one.shape == (1, 40)
    np.testing.assert_allclose(one[:, 20:], 0, atol=1e-4)
    with pytest.raises(ValueError, match="n_mfcc"):
        mfcc_frames(y, n_mfcc=41, n_mels=40)
    with pytest.raises(ValueError, match="delta_width"):
        mfcc_frames(y, delta_width=4)
    with pytest.raises(ValueError, match="shorter than one frame"):
        mfcc_frames(y[:1000])


@pytest.mark.parametrize("top_db", [80.0, None])
def test_logmel_equals_librosa(y: np.ndarray, top_db: float | None) -> None:
    y = y.copy()
    y[:SR // 2] = 0  # digital silence: the top_db floor matters
    got = logmel_frames(y, sr=SR, top_db=top_db)
    S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=512, center=False,
                                       n_mels=128)
    ref = librosa.power_to_db(S, top_db=top_db).T
    assert got.shape == (magnitude_frames(y).shape[0], 128) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=1e-3)
    assert got.min() == pytest.approx(got.max() - 80 if top_db else -100.0, abs=1e-3)


def test_frame_counts_match_fft_frames(y: np.ndarray) -> None:
    for n in (1024, 1025, 1536, 4096 + 511, len(y)):
        n_frames = magnitude_frames(y[:n]).shape[0]
        for kind in BASELINE_KINDS:
            assert baseline_frames(kind, y[:n]).shape == (n_frames, baseline_dim(kind))


def test_dispatcher(y: np.ndarray) -> None:
    np.testing.assert_array_equal(baseline_frames("mfcc", y, sr=SR, n_fft=1024, hop_length=512,
                                                  center=False), mfcc_frames(y))
    got = baseline_frames("logmel", y, sr=SR, hop_length=256, n_mels=64)
    assert got.shape == (magnitude_frames(y, hop_length=256).shape[0], 64)
    assert baseline_dim("logmel", n_mels=64) == 64
    assert baseline_dim("mfcc", n_mfcc=13, deltas=False) == 13
    with pytest.raises(ValueError, match="unknown baseline kind"):
        baseline_frames("pmsc", y)
    with pytest.raises(ValueError, match="unknown baseline kind"):
        baseline_dim("cqt")


# -- PMSC --------------------------------------------------------------------------------------
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

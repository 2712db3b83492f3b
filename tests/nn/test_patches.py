"""Tests of mirlearn.nn.patches: grids at track boundaries and for short tracks, zero-copy views
(also of a read-only memmap), band standardisation from training tracks only, gather."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.errors import ConfigError, MirlearnError
from mirlearn.nn.patches import (BandStandardizer, PatchGrid, even_patches, gather, padded_tracks, patch_view,
                                 random_patches)

# tracks of 10, 3 (short), 7, 4 (exactly one patch) frames
OFFSETS = np.array([0, 10, 13, 20, 24])


def _frames(rng, n_rows=24, n_bands=5) -> np.ndarray:
    return rng.normal(size=(n_rows, n_bands)).astype(np.float32) * 3 + 7


def test_even_patches_at_boundaries_and_short_tracks():
    g = even_patches(OFFSETS, patch_frames=4, hop_frames=3)
    assert isinstance(g, PatchGrid) and len(g) == 3 + 1 + 2 + 1
    assert g.starts.tolist() == [0, 3, 6, 10, 13, 16, 20]
    assert g.track.tolist() == [0, 0, 0, 1, 2, 2, 3]
    assert g.length.tolist() == [4, 4, 4, 3, 4, 4, 4]
    assert all(a.dtype == np.int64 for a in (g.starts, g.track, g.length))
    # no patch crosses its track's end
    ends = g.starts + g.length
    assert (ends <= OFFSETS[1:][g.track]).all() and (g.starts >= OFFSETS[:-1][g.track]).all()
    assert padded_tracks(OFFSETS, 4).tolist() == [1]
    assert padded_tracks(OFFSETS, 11).tolist() == [0, 1, 2, 3]


def test_even_patches_hop_one_covers_every_start():
    g = even_patches(np.array([0, 6]), patch_frames=4, hop_frames=1)
    assert g.starts.tolist() == [0, 1, 2]


def test_random_patches_stay_inside_tracks_and_repeat_short_ones():
    rng = np.random.default_rng(0)
    g = random_patches(OFFSETS, patch_frames=4, per_track=50, rng=rng)
    assert len(g) == 4 * 50
    assert g.track.tolist() == sum([[t] * 50 for t in range(4)], [])
    lo, hi = OFFSETS[:-1][g.track], OFFSETS[1:][g.track]
    assert (g.starts >= lo).all() and (g.starts + g.length <= hi).all()
    short = g.track == 1
    assert (g.starts[short] == 10).all() and (g.length[short] == 3).all()
    assert (g.length[~short] == 4).all()
    assert (g.starts[g.track == 3] == 20).all()  # a track of exactly one patch: one start
    # every start of track 0 is drawn (uniform over 0..6), and the draw is a function of the rng
    assert set(g.starts[g.track == 0].tolist()) == set(range(0, 7))
    g2 = random_patches(OFFSETS, 4, 50, np.random.default_rng(0))
    assert np.array_equal(g.starts, g2.starts)


def test_bad_offsets_and_sizes_are_one_clear_error():
    with pytest.raises(MirlearnError, match="track 1 has no frames"):
        even_patches(np.array([0, 5, 5, 9]), 4, 2)
    with pytest.raises(MirlearnError, match="decrease"):
        even_patches(np.array([0, 5, 3]), 4, 2)
    with pytest.raises(ConfigError, match="hop_frames"):
        even_patches(OFFSETS, 4, 0)
    with pytest.raises(MirlearnError, match="rows"):
        BandStandardizer().fit(np.zeros((20, 3), np.float32), OFFSETS)


def test_patch_view_is_a_view_also_of_a_read_only_memmap(rng, tmp_path):
    X = _frames(rng)
    v = patch_view(X, 10, 3)
    assert np.shares_memory(v, X) and v.base is not None and v.shape == (3, 5)
    path = tmp_path / "frames.f32"
    X.tofile(path)
    M = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    mv = patch_view(M, 13, 4)
    assert np.shares_memory(mv, M) and not mv.flags.writeable
    assert np.array_equal(mv, X[13:17])
    with pytest.raises(IndexError):
        patch_view(M, 22, 4)


def test_standardizer_uses_the_given_tracks_only(rng):
    X = _frames(rng)
    train = [0, 2]
    s = BandStandardizer().fit(X, OFFSETS, tracks=train, chunk_rows=3)   # chunks smaller than tracks
    rows = np.concatenate([X[0:10], X[13:20]]).astype(np.float64)
    np.testing.assert_allclose(s.mean_, rows.mean(0), rtol=1e-12)
    np.testing.assert_allclose(s.std_, rows.std(0), rtol=1e-10)
    assert s.mean_.dtype == np.float64 and s.n_rows_ == 17
    X2 = X.copy()
    X2[10:13] += 1000.0       # a non-training track
    X2[20:24] = -50.0         # another one
    s2 = BandStandardizer().fit(X2, OFFSETS, tracks=train, chunk_rows=3)
    assert np.array_equal(s.mean_, s2.mean_) and np.array_equal(s.std_, s2.std_)
    X3 = X.copy()
    X3[0] += 1.0              # a training row does change them
    assert not np.array_equal(BandStandardizer().fit(X3, OFFSETS, tracks=train, chunk_rows=3).mean_, s.mean_)


def test_standardizer_is_accurate_far_from_zero_and_floors_constant_bands():
    X = np.full((24, 3), -80.0, np.float32)      # a dB floor: constant band 0
    X[:, 1] = 1e4 + np.arange(24) % 2             # large offset, tiny spread (E[x²]-E[x]² would cancel)
    X[:, 2] = np.arange(24)
    s = BandStandardizer().fit(X, OFFSETS)
    assert s.std_[0] == 1.0 and s.mean_[0] == -80.0
    np.testing.assert_allclose(s.std_[1], 0.5, rtol=1e-9)
    t = s.transform(np.ascontiguousarray(X.T)[None])
    assert t.dtype == np.float32 and t.shape == (1, 3, 24)
    np.testing.assert_allclose(t[0, 0], 0.0)
    np.testing.assert_allclose(t[0, 2].mean(), 0.0, atol=1e-6)


def test_standardizer_state_round_trip(rng):
    s = BandStandardizer().fit(_frames(rng), OFFSETS, tracks=[0])
    import json
    d = json.loads(json.dumps(s.state_dict()))
    s2 = BandStandardizer.from_state_dict(d)
    assert np.array_equal(s.mean_, s2.mean_) and np.array_equal(s.std_, s2.std_) and s2.n_rows_ == 10
    with pytest.raises(MirlearnError, match="not fitted"):
        BandStandardizer().transform(np.zeros((1, 5, 4), np.float32))


def test_gather_transposes_standardises_then_zero_pads(rng, tmp_path):
    X = _frames(rng)
    path = tmp_path / "frames.f32"
    X.tofile(path)
    M = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    g = even_patches(OFFSETS, patch_frames=4, hop_frames=3)
    s = BandStandardizer().fit(M, OFFSETS, tracks=[0, 2])
    idx = np.array([3, 0, 5])                   # the short track's padded patch first
    b = gather(M, g, idx, 4, standardizer=s)
    assert b.shape == (3, 5, 4) and b.dtype == np.float32 and b.flags.c_contiguous
    mean, std = s.mean_[:, None], s.std_[:, None]
    np.testing.assert_allclose(b[0, :, :3], (X[10:13].T - mean) / std, rtol=1e-5, atol=1e-5)
    assert (b[0, :, 3] == 0).all()              # padding is 0 after standardising (the band mean)
    np.testing.assert_allclose(b[1], (X[0:4].T - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(b[2], (X[16:20].T - mean) / std, rtol=1e-5, atol=1e-5)
    raw = gather(M, g, idx, 4)
    assert np.array_equal(raw[1], X[0:4].T) and (raw[0, :, 3] == 0).all()
    # a reused buffer: overwritten in place, stale padding cleared
    buf = np.full((8, 5, 4), 99.0, np.float32)
    out = gather(M, g, idx, 4, standardizer=s, out=buf)
    assert np.shares_memory(out, buf) and np.array_equal(out, b)
    # stale NaN in the padding (np.empty may hold anything) never reaches the arithmetic
    buf = np.full((8, 5, 4), 0x7F800001, np.uint32).view(np.float32)   # signalling NaN
    with np.errstate(invalid="raise"):
        out = gather(M, g, idx, 4, standardizer=s, out=buf)
    assert np.array_equal(out, b)
    # the same as standardize-then-pad by hand, via transform
    manual = s.transform(np.ascontiguousarray(X[10:13].T)[None])[0]
    np.testing.assert_allclose(b[0, :, :3], manual, rtol=1e-6)

"""Tests of mirlearn.features.pooling: statistics over windows of several lengths (Hamel 2011)."""

from __future__ import annotations

import numpy as np
import pytest

import mirlearn.features.aggregate as aggregate_module
import mirlearn.features.pooling as pooling
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.features.aggregate import aggregate, aggregate_frameset, n_windows
from mirlearn.features.frameset import FrameSet
from mirlearn.features.pooling import (check_pool, check_timescales, pool_frameset, pool_windows,
                                       pooled_columns)
from mirlearn.features.timebase import TimeBase

STATS = {"mean": np.mean, "var": np.var, "max": np.max, "min": np.min}


def _naive(X, offsets, windows, hop, pool):
    """The module docstring's rule, written out row by row in float64."""
    rows = []
    longest = max(windows)
    for i in range(len(offsets) - 1):
        x = X[offsets[i]:offsets[i + 1]].astype(np.float64)
        n = len(x)
        if n == 0:
            continue
        span = min(n, longest)
        for k in range(1 if n < longest else 1 + (n - longest) // hop):
            row = []
            for w in windows:
                m = min(w, span)
                s = k * hop + (span - m) // 2
                row += [STATS[p](x[s:s + m], axis=0) for p in pool]
            rows.append(np.concatenate(row))
    return np.array(rows).reshape(len(rows), -1)


def _tracks(lengths, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.normal(2.0, 1.5, (int(sum(lengths)), dim))).astype(np.float32)
    return X, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def test_one_scale_of_mean_and_variance_is_aggregate_bit_for_bit():
    X, off = _tracks([0, 3, 40, 7, 0, 129], dim=5)
    for window, hop in ((7, 3), (10, 10), (1, 1), (50, 4)):
        a, oa = aggregate(X, off, window=window, hop=hop)
        p, op = pool_windows(X, off, windows=[window], hop=hop, pool=["mean", "var"])
        np.testing.assert_array_equal(op, oa)
        assert p.tobytes() == a.tobytes()


def test_rows_per_track_follow_the_longest_window_whatever_the_scale():
    # Edges: empty, 1 frame, shorter than the shortest window, between two scales, exactly the
    # longest, one frame more, long.
    lengths = [0, 1, 3, 6, 12, 13, 100]
    X, off = _tracks(lengths)
    windows, hop = [4, 8, 12], 5
    P, op = pool_windows(X, off, windows=windows, hop=hop, pool=["mean"])
    expected = [0, 1, 1, 1, 1, 1, 1 + (100 - 12) // 5]
    np.testing.assert_array_equal(np.diff(op), expected)
    np.testing.assert_array_equal(np.diff(op), n_windows(np.array(lengths), 12, hop))
    assert P.shape == (sum(expected), 3 * 1 * 3)
    # the order of the scales does not change the rows, only the column blocks
    Q, oq = pool_windows(X, off, windows=[12, 4, 8], hop=hop, pool=["mean"])
    np.testing.assert_array_equal(oq, op)
    np.testing.assert_array_equal(Q[:, :3], P[:, 6:9])


@pytest.mark.parametrize("pool", [("mean", "var", "max", "min"), ("min",), ("max", "mean")])
def test_values_equal_the_centred_windows_written_out(pool):
    X, off = _tracks([1, 2, 5, 9, 31, 64, 0, 17], dim=4, seed=3)
    windows, hop = [3, 9, 6], 4
    P, _ = pool_windows(X, off, windows=windows, hop=hop, pool=pool)
    np.testing.assert_allclose(P, _naive(X, off, windows, hop, pool), rtol=1e-5, atol=1e-5)


def test_each_scale_block_is_single_scale_pooling_of_its_centred_frames():
    X, off = _tracks([200], dim=6, seed=1)
    windows, hop = [10, 25, 60], 15
    P, op = pool_windows(X, off, windows=windows, hop=hop, pool=["mean", "var"])
    k = int(op[1])
    for s, w in enumerate(windows):
        shift = (60 - w) // 2  # where a window of w frames starts in the row's 60 frames
        single, _ = aggregate(X[shift:], np.array([0, len(X) - shift]), window=w, hop=hop)
        np.testing.assert_allclose(P[:, s * 12:(s + 1) * 12], single[:k], rtol=1e-5, atol=1e-6)


def test_a_short_track_pools_all_its_frames_at_every_longer_scale():
    X = np.arange(5, dtype=np.float32)[:, None]  # one track of 5 frames: 0 1 2 3 4
    P, op = pool_windows(X, np.array([0, 5]), windows=[2, 4, 8], hop=3, pool=["mean", "min", "max"])
    np.testing.assert_array_equal(op, [0, 1])
    # 2 frames centred in 5: [1, 2]; 4 frames: [0..3]; 8 > 5: all of them
    np.testing.assert_allclose(P, [[1.5, 1, 2, 1.5, 0, 3, 2, 0, 4]])


def test_blocks_of_a_long_memmapped_track_give_the_same_rows(tmp_path, monkeypatch):
    X, off = _tracks([500, 77], dim=4, seed=2)
    whole, _ = pool_windows(X, off, windows=[5, 30], hop=7, pool=list(pooling.POOLS))
    path = tmp_path / "x.npy"
    np.save(path, X)
    monkeypatch.setattr(aggregate_module, "_BLOCK_VALUES", 4 * 40)  # a few rows per block
    blocked, _ = pool_windows(np.load(path, mmap_mode="r"), off, windows=[5, 30], hop=7, pool=list(pooling.POOLS))
    np.testing.assert_allclose(blocked, whole, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(blocked[:, 8:16], whole[:, 8:16])  # max and min: exact


def test_column_names():
    assert pooled_columns(["a", "b"]) == ["a_mean", "b_mean", "a_var", "b_var"]
    assert pooled_columns(["a"], pool=["max", "min"], timescales=[2.0]) == ["a_max", "a_min"]
    assert pooled_columns(["a", "b"], pool=["mean"], timescales=[1.0, 2.5]) == \
        ["a_mean_1s", "b_mean_1s", "a_mean_2.5s", "b_mean_2.5s"]


def _frameset(lengths, tb=TimeBase(22050, 512, "features")):
    X, off = _tracks(lengths, dim=2)
    tracks = TrackTable([Track(f"t{i}", f"t{i}.wav", "a" if i % 2 else "b") for i in range(len(lengths))])
    return FrameSet(X, off, tracks, tb)


def test_pool_frameset_rows_time_base_and_unset_options():
    fs = _frameset([300, 50, 10])
    out = pool_frameset(fs, window_seconds=9.0, hop_seconds=1.0, timescales=[0.5, 2.0, 1.0],
                        pool=["mean", "max"])
    tb = out.time_base
    assert tb.kind == "windows" and tb.window_seconds == 2.0 and tb.window_hop_seconds == 1.0
    assert tb.window_frames == 86 and tb.window_hop_frames == 43
    np.testing.assert_array_equal(out.lengths, [1 + (300 - 86) // 43, 1, 1])
    assert out.dim == 3 * 2 * 2
    np.testing.assert_allclose(out.track_times(0)[:3], [0.0, 43 * 512 / 22050, 86 * 512 / 22050])
    # unset: aggregate_frameset itself
    same = pool_frameset(fs, window_seconds=2.0, hop_seconds=1.0)
    ref = aggregate_frameset(fs, window_seconds=2.0, hop_seconds=1.0)
    assert same.X.tobytes() == ref.X.tobytes() and same.time_base == ref.time_base
    # a pool alone: one window of window_seconds
    only = pool_frameset(fs, window_seconds=2.0, hop_seconds=1.0, pool=["mean", "var", "min"])
    np.testing.assert_array_equal(only.X[:, :4], ref.X)
    assert only.time_base == ref.time_base


def test_bad_settings_fail_in_one_line():
    with pytest.raises(ValueError, match="unknown pooling statistic 'median'"):
        check_pool(["mean", "median"])
    with pytest.raises(ValueError, match="twice"):
        check_pool(["max", "max"])
    with pytest.raises(ValueError, match="at least one"):
        check_pool([])
    with pytest.raises(ValueError, match="positive number of seconds"):
        check_timescales([1.0, -2.0])
    with pytest.raises(ValueError, match="twice"):
        check_timescales([1.0, 1])
    with pytest.raises(ValueError, match="both 43 frames"):
        check_timescales([1.0, 1.001], 22050, 512)
    with pytest.raises(ValueError, match="less than one frame"):
        check_timescales([0.001], 22050, 512)
    fs = _frameset([100])
    windows = pool_frameset(fs, hop_seconds=0.5, timescales=[0.5, 1.0])
    with pytest.raises(ValueError, match="windows already"):
        pool_frameset(windows, timescales=[0.5])
    with pytest.raises(ValueError, match="must differ"):
        pool_windows(fs.X, fs.offsets, windows=[3, 3], hop=1)

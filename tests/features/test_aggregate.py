"""Tests of mirlearn.features.aggregate: window means and variances within tracks."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.features.aggregate import aggregate, aggregate_frameset, n_windows, track_statistics, window_frames
from mirlearn.features.frameset import FrameSet
from mirlearn.features.timebase import TimeBase


def _naive(X: np.ndarray, offsets: np.ndarray, window: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    rows, counts = [], []
    for i in range(len(offsets) - 1):
        x = X[offsets[i]:offsets[i + 1]].astype(np.float64)
        n = len(x)
        if n == 0:
            counts.append(0)
            continue
        starts = [0] if n < window else list(range(0, n - window + 1, hop))
        for s in starts:
            w = x[s:s + window]
            rows.append(np.concatenate([w.mean(axis=0), w.var(axis=0)]))
        counts.append(len(starts))
    return np.array(rows).reshape(-1, 2 * X.shape[1]), np.concatenate([[0], np.cumsum(counts)])


def test_window_frames_paper_values() -> None:
    assert window_frames(5.0, 22050, 512) == 215
    assert window_frames(2.5, 22050, 512) == 108
    assert window_frames(1.0, 1000, 10) == 100
    assert window_frames(0.015, 1000, 10) == 2  # 1.5 frames: halves round up
    with pytest.raises(ValueError):
        window_frames(0.001, 22050, 512)


def test_hand_computed() -> None:
    # One feature, track A = [0, 2, 4, 6, 8] (5 frames), track B = [1, 3] (2 frames).
    X = np.array([[0], [2], [4], [6], [8], [1], [3]], dtype=np.float32)
    Xa, oa = aggregate(X, np.array([0, 5, 7]), window=3, hop=2)
    # A: windows [0,2,4] and [4,6,8]; B is shorter than a window: one window [1,3].
    np.testing.assert_allclose(Xa, [[2, 8 / 3], [6, 8 / 3], [2, 1]], rtol=1e-6)
    np.testing.assert_array_equal(oa, [0, 2, 3])
    assert Xa.dtype == np.float32 and oa.dtype == np.int64


def test_two_dims_layout() -> None:
    X = np.array([[1, 10], [3, 10], [5, 40]], dtype=np.float32)
    Xa, _ = aggregate(X, np.array([0, 3]), window=2, hop=1)
    # columns: [mean_0, mean_1, var_0, var_1]
    np.testing.assert_allclose(Xa, [[2, 10, 1, 0], [4, 25, 1, 225]])


def test_boundaries_and_empty_tracks() -> None:
    X = np.arange(20, dtype=np.float32)[:, None]
    offsets = np.array([0, 0, 10, 10, 11, 20])  # empty, 10, empty, 1, 9 frames
    Xa, oa = aggregate(X, offsets, window=4, hop=3)
    # 10 frames: starts 0, 3, 6 (6 + 4 = 10 fits; 9 does not). 1 frame: one window. 9: 0, 3.
    np.testing.assert_array_equal(np.diff(oa), [0, 3, 0, 1, 2])
    np.testing.assert_allclose(Xa[:, 0], [1.5, 4.5, 7.5, 10, 12.5, 15.5])
    np.testing.assert_allclose(Xa[3], [10, 0])
    assert n_windows(10, 4, 3) == 3 and n_windows(4, 4, 3) == 1 and n_windows(3, 4, 3) == 1
    assert n_windows(0, 4, 3) == 0
    np.testing.assert_array_equal(n_windows(np.array([0, 3, 4, 7, 10]), 4, 3), [0, 1, 1, 2, 3])


def test_windows_never_cross_tracks() -> None:
    X = np.concatenate([np.zeros((6, 1)), np.full((6, 1), 100.0)]).astype(np.float32)
    Xa, _ = aggregate(X, np.array([0, 6, 12]), window=4, hop=2)
    np.testing.assert_array_equal(Xa[:, 1], 0)  # no window mixes the two tracks
    np.testing.assert_array_equal(Xa[:, 0], [0, 0, 100, 100])


@pytest.mark.parametrize(("window", "hop"), [(215, 108), (7, 3), (5, 5), (3, 8), (1, 1), (40, 1)])
def test_equals_naive_loop(rng: np.random.Generator, window: int, hop: int) -> None:
    lengths = [0, 1, 2, window - 1, window, window + 1, 3 * window + 5, 700]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    X = (rng.standard_normal((offsets[-1], 6)) * 3 + [0, 1, 100, -5, 1e3, 0.5]).astype(np.float32)
    got, oa = aggregate(X, offsets, window=window, hop=hop)
    ref, ora = _naive(X, offsets, window, hop)
    np.testing.assert_array_equal(oa, ora)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)


def test_blocks_of_long_tracks(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small blocks force a long track through several blocks: same results as one block.
    import mirlearn.features.aggregate as agg

    X = rng.standard_normal((3000, 4)).astype(np.float32) + 50
    offsets = np.array([0, 2900, 3000])
    one, _ = aggregate(X, offsets, window=20, hop=7)
    monkeypatch.setattr(agg, "_BLOCK_VALUES", 4 * 50)
    many, _ = aggregate(X, offsets, window=20, hop=7)
    np.testing.assert_allclose(many, one, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(many, _naive(X, offsets, 20, 7)[0], rtol=1e-5, atol=1e-5)


def test_small_variance_on_large_mean() -> None:
    # Mean 1e4, std 1e-2: E[x^2] - E[x]^2 without shifting would lose every digit.
    x = (1e4 + 1e-2 * np.tile([1.0, -1.0], 50)).astype(np.float32)[:, None]
    Xa, _ = aggregate(x, np.array([0, 100]), window=100, hop=100)
    exact = x.astype(np.float64).var()
    np.testing.assert_allclose(Xa[0, 1], exact, rtol=1e-4)


def test_constant_features_have_zero_variance() -> None:
    X = np.full((50, 3), 7.3, np.float32)
    Xa, _ = aggregate(X, np.array([0, 50]), window=10, hop=5)
    assert np.all(Xa[:, 3:] == 0)
    np.testing.assert_allclose(Xa[:, :3], 7.3, rtol=1e-6)


def test_memmap_input(rng: np.random.Generator, tmp_path) -> None:
    X = rng.standard_normal((500, 5)).astype(np.float32)
    X.tofile(tmp_path / "X.f32")
    mm = np.memmap(tmp_path / "X.f32", dtype=np.float32, mode="r", shape=X.shape)
    a, _ = aggregate(mm, np.array([0, 200, 500]), window=30, hop=15)
    b, _ = aggregate(X, np.array([0, 200, 500]), window=30, hop=15)
    np.testing.assert_array_equal(a, b)


def test_errors() -> None:
    X = np.zeros((10, 2), np.float32)
    with pytest.raises(ValueError):
        aggregate(X, np.array([0, 9]), window=2, hop=1)
    with pytest.raises(ValueError):
        aggregate(X, np.array([0, 10]), window=0, hop=1)


def test_aggregate_frameset(rng: np.random.Generator) -> None:
    tracks = TrackTable([Track("a", "/a.wav", "x"), Track("b", "/b.wav", "y"), Track("c", "/c.wav", "x")])
    lengths = [1292, 100, 500]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    fs = FrameSet(rng.standard_normal((offsets[-1], 3)).astype(np.float32), offsets, tracks)
    fa = aggregate_frameset(fs)
    # 1292 frames, window 215, hop 108: starts 0..1077 -> 10 windows; 100 < 215 -> 1; 500 -> 3.
    np.testing.assert_array_equal(fa.lengths, [10, 1, 3])
    assert fa.dim == 6 and fa.tracks is fs.tracks
    np.testing.assert_allclose(fa.X, _naive(fs.X, offsets, 215, 108)[0], rtol=1e-5, atol=1e-5)


def _three_tracks(rng: np.random.Generator, time_base: TimeBase | None) -> FrameSet:
    tracks = TrackTable([Track("a", "/a.wav", "x"), Track("b", "/b.wav", "y"), Track("c", "/c.wav", "x")])
    offsets = np.concatenate([[0], np.cumsum([1292, 100, 500])])
    return FrameSet(rng.standard_normal((offsets[-1], 3)).astype(np.float32), offsets, tracks, time_base)


def test_aggregation_uses_the_frames_own_time_base(rng: np.random.Generator) -> None:
    # 16 kHz, hop 160 (10 ms): 5 s is 500 frames, 2.5 s is 250; the paper's 22050 / 512 would
    # give 215 / 108. Without sr / hop_length the frames' own rate is used.
    tb = TimeBase(16000, 160, "logmel", n_fft=400)
    fs = _three_tracks(rng, tb)
    fa = aggregate_frameset(fs)
    np.testing.assert_array_equal(fa.lengths, [4, 1, 1])
    Xa, _ = aggregate(fs.X, fs.offsets, window=500, hop=250)
    np.testing.assert_array_equal(fa.X, Xa)
    # Naming the same rate explicitly changes nothing; a contradicting one is an error.
    np.testing.assert_array_equal(aggregate_frameset(fs, sr=16000, hop_length=160).X, fa.X)
    with pytest.raises(ValueError, match="sr=22050 contradicts"):
        aggregate_frameset(fs, sr=22050)


def test_aggregated_time_base_gives_window_times(rng: np.random.Generator) -> None:
    fs = _three_tracks(rng, TimeBase(22050, 512, "features", n_fft=1024))
    fa = aggregate_frameset(fs, window_seconds=5.0, hop_seconds=2.5)
    tb = fa.time_base
    assert tb.kind == "windows" and tb.is_windows
    assert (tb.window_seconds, tb.window_hop_seconds) == (5.0, 2.5)
    assert (tb.window_frames, tb.window_hop_frames) == (215, 108)
    assert (tb.sr, tb.hop_length, tb.n_fft) == (22050, 512, 1024)
    starts = fa.track_times(0)
    assert starts.shape == (10,)
    np.testing.assert_allclose(starts, np.arange(10) * 108 * 512 / 22050)
    np.testing.assert_allclose(fa.track_times(0, "end") - starts, (214 * 512 + 1024) / 22050)
    with pytest.raises(ValueError, match="windows already"):
        aggregate_frameset(fa)
    # Subsets and views keep the time base.
    assert fa.subset(["c", "a"]).time_base == tb
    assert fa.subset(["a", "b"], copy=False).time_base == tb


def test_frames_without_time_base_keep_the_old_defaults(rng: np.random.Generator) -> None:
    fs = _three_tracks(rng, None)
    fa = aggregate_frameset(fs)
    assert fa.time_base == TimeBase(22050, 512, "windows", 5.0, 2.5)
    np.testing.assert_array_equal(fa.lengths, [10, 1, 3])
    fb = aggregate_frameset(fs, window_seconds=1.0, hop_seconds=0.5, sr=16000, hop_length=160)
    assert (fb.time_base.window_frames, fb.time_base.window_hop_frames) == (100, 50)


def test_track_statistics_are_mean_and_variance_of_every_frame(rng) -> None:
    X = (rng.standard_normal((23, 3)) * 2 + 1000).astype(np.float32)   # a large mean: no cancellation
    offsets = np.array([0, 5, 5, 23])                                     # the middle track is empty
    V = track_statistics(X, offsets)
    assert V.shape == (3, 6) and V.dtype == np.float32
    for i, (a, b) in enumerate([(0, 5), (5, 23)]):
        row = V[[0, 2][i]]
        x = X[a:b].astype(np.float64)
        np.testing.assert_allclose(row[:3], x.mean(0), rtol=1e-6)
        np.testing.assert_allclose(row[3:], x.var(0), rtol=1e-4)
    assert np.isnan(V[1]).all()
    assert track_statistics(X[:0], np.array([0])).shape == (0, 6)

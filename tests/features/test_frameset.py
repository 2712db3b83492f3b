"""Tests of mirlearn.features.frameset: FrameSet carries its time base through every copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.features.frameset import FrameSet
from mirlearn.features.timebase import TimeBase

TB = TimeBase(22050, 512, "fft", n_fft=1024)


@pytest.fixture
def fs() -> FrameSet:
    tracks = TrackTable(Track(t, Path(f"/{t}.wav"), "x") for t in "abc")
    X = np.arange(12 * 2, dtype=np.float32).reshape(12, 2)
    return FrameSet(X, [0, 3, 8, 12], tracks, TB)


def test_subsets_and_views_keep_the_time_base(fs: FrameSet, tmp_path: Path) -> None:
    for sub in (fs.subset(["c", "a"]), fs.subset(["b", "c"], copy=False),
                fs.subset(["a"], out=tmp_path / "a.npy")):
        assert sub.time_base == TB
    np.testing.assert_array_equal(fs.subset(["c", "a"]).X, np.concatenate([fs.X[8:], fs.X[:3]]))


def test_with_rows_changes_rows_and_kind_only(fs: FrameSet) -> None:
    feats = fs.with_rows(np.zeros((12, 5), np.float32), kind="features")
    assert feats.dim == 5 and feats.tracks is fs.tracks
    np.testing.assert_array_equal(feats.offsets, fs.offsets)
    assert feats.time_base == TB.replace(kind="features")
    assert fs.with_rows(fs.X[:, :1]).time_base == TB
    with pytest.raises(ValueError, match="11 rows"):
        fs.with_rows(np.zeros((11, 5), np.float32))


def test_track_times(fs: FrameSet) -> None:
    np.testing.assert_allclose(fs.track_times(1), np.arange(5) * 512 / 22050)
    bare = FrameSet(fs.X, fs.offsets, fs.tracks)
    assert bare.time_base is None
    with pytest.raises(ValueError, match="no time base"):
        bare.track_times(0)
    with pytest.raises(TypeError, match="TimeBase"):
        FrameSet(fs.X, fs.offsets, fs.tracks, {"sr": 22050})  # type: ignore[arg-type]


def test_concat_takes_the_selected_tracks_of_each_part_in_order(tmp_path):
    from mirlearn.datasets.tracks import Track, TrackTable
    from mirlearn.features.frameset import FrameSet, concat

    def fs(prefix, lengths, label):
        tracks = TrackTable([Track(f"{prefix}{i}", tmp_path / f"{prefix}{i}.wav", label) for i in range(len(lengths))],
                            classes=["a", "b"])
        off = np.concatenate([[0], np.cumsum(lengths)])
        X = np.arange(off[-1] * 2, dtype=np.float32).reshape(-1, 2) + (100 if prefix == "c" else 0)
        return FrameSet(X, off, tracks)

    a, c = fs("a", [2, 3, 1], "a"), fs("c", [1, 2, 2], "b")
    for out in (None, tmp_path / "cat.npy"):
        got = concat([a, c], select=[["a2", "a0"], None], out=out)
        assert [t.track_id for t in got.tracks] == ["a2", "a0", "c0", "c1", "c2"]
        assert got.tracks.classes == ["a", "b"] and got.lengths.tolist() == [1, 2, 1, 2, 2]
        np.testing.assert_array_equal(got.X, np.concatenate([a.track_frames(2), a.track_frames(0), c.X]))
        assert isinstance(got.X, np.memmap) == (out is not None)
    with pytest.raises(ValueError, match="widths"):
        concat([a, FrameSet(np.zeros((1, 3), np.float32), [0, 1], a.tracks[:1])])

"""Tests of mirlearn.datasets.tracks: the table remembers the tracks it left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import DatasetError


def _table() -> TrackTable:
    return TrackTable(Track(f"t{i}", Path(f"/t{i}.wav"), "ab"[i % 2]) for i in range(6))


def test_without_records_the_ids_it_left_out() -> None:
    t = _table()
    assert t.left_out == frozenset()
    u = t.without(["t1", "t4", "nope"])  # an id the table does not have is not "left out"
    assert u.ids == ["t0", "t2", "t3", "t5"] and u.left_out == {"t1", "t4"}
    v = u.without(["t0"])
    assert v.left_out == {"t0", "t1", "t4"} and v.classes == t.classes
    assert v.with_durations([1.0, 2.0, 3.0]).left_out == v.left_out
    # A selection is not a dataset less some tracks: subsets and slices forget.
    assert v.subset(["t2"]).left_out == frozenset() and v[:1].left_out == frozenset()


def test_left_out_ids_are_never_in_the_table() -> None:
    t = TrackTable([Track("a", Path("/a.wav"), "x")], left_out=["a", "b"])
    assert t.left_out == {"b"} and "b" not in t


def test_duplicate_ids_are_an_error() -> None:
    with pytest.raises(DatasetError, match="duplicate track ids: a"):
        TrackTable([Track("a", Path("/a.wav"), "x"), Track("a", Path("/b.wav"), "x")])


def test_tags_and_targets_round_trip_through_csv(tmp_path) -> None:
    t = TrackTable([Track("a", tmp_path / "a.wav", "x", tags=("fast", "guitar"), target=0.25),
                    Track("b", tmp_path / "b.wav", "y", tags=(), target=-1.5)])
    assert t.tag_names == ["fast", "guitar"] and t.tag_matrix().tolist() == [[1, 1], [0, 0]]
    assert t.tag_matrix(["guitar", "vocal"]).tolist() == [[1, 0], [0, 0]]
    t.to_csv(tmp_path / "t.csv")
    back = TrackTable.from_csv(tmp_path / "t.csv")
    assert [(x.tags, x.target) for x in back] == [(("fast", "guitar"), 0.25), ((), -1.5)]
    assert back.has_targets and not TrackTable([Track("c", tmp_path / "c.wav", "x")]).has_targets

"""Splits: the paper's random stratified protocol, checks, files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from mirlearn.datasets.splits import (Split, UnknownTracksError, load_split_dir, load_splits, make_splits,
                                      part_sizes, save_splits)
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import DatasetError, SplitError


def table(counts: dict[str, int], artists: int | None = None) -> TrackTable:
    """``counts[label]`` tracks per label, ids ``<label>.<i>``; optionally ``artists`` per label."""
    return TrackTable(
        Track(f"{c}.{i:05d}", Path(f"/x/{c}/{i}.wav"), c,
              None if artists is None else f"{c}-artist{i % artists}")
        for c, n in counts.items() for i in range(n))


GTZAN_LIKE = {g: 100 for g in "blues classical country disco hiphop jazz metal pop reggae rock".split()}


@pytest.mark.parametrize("n, sizes", [(100, (50, 25, 25)), (3, (1, 1, 1)), (4, (2, 1, 1)),
                                      (5, (3, 1, 1)), (7, (3, 2, 2)), (10, (5, 3, 2))])
def test_part_sizes(n: int, sizes: tuple[int, int, int]) -> None:
    assert part_sizes(n) == sizes


def test_part_sizes_properties() -> None:
    for fr in [(0.5, 0.25, 0.25), (0.6, 0.2, 0.2), (0.8, 0.1, 0.1), (1 / 3, 1 / 3, 1 / 3)]:
        for n in range(3, 120):
            s = part_sizes(n, fr)
            assert sum(s) == n and min(s) >= 1
            if min(n * f for f in fr) >= 1:
                assert all(abs(k - n * f) < 1 for k, f in zip(s, fr)), (n, fr, s)


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.5, 0.5, 0.0), (0.6, 0.3, 0.3), (1, -0.5, 0.5)])
def test_bad_fractions(fractions: tuple[float, ...]) -> None:
    with pytest.raises(SplitError, match="fractions"):
        make_splits(table({"a": 10, "b": 10}), fractions=fractions)


def test_paper_protocol_counts_are_exact() -> None:
    tracks = table(GTZAN_LIKE)
    splits = make_splits(tracks, n_splits=4, seed=0)
    assert len(splits) == 4
    label = dict(zip(tracks.ids, tracks.labels))
    for s in splits:
        s.check(tracks)
        for part, n in zip((s.train, s.valid, s.test), (50, 25, 25)):
            assert Counter(label[i] for i in part) == {g: n for g in GTZAN_LIKE}
        assert set(s.train).isdisjoint(s.valid) and set(s.train).isdisjoint(s.test)
        assert set(s.valid).isdisjoint(s.test)
        assert sorted(s.ids) == sorted(tracks.ids)
        for part in (s.train, s.valid, s.test):  # each part in table order
            assert part == sorted(part, key=tracks.position)
    assert len({tuple(s.test) for s in splits}) == 4  # independent splits differ
    assert [s.name for s in splits] == [f"random-seed0-{k}" for k in range(4)]


def test_uneven_classes() -> None:
    counts = {"a": 7, "b": 13, "c": 3, "d": 100}
    tracks = table(counts)
    label = dict(zip(tracks.ids, tracks.labels))
    for s in make_splits(tracks, n_splits=3, seed=5):
        for c, n in counts.items():
            got = tuple(sum(label[i] == c for i in part) for part in (s.train, s.valid, s.test))
            assert got == part_sizes(n)


def test_seeds() -> None:
    tracks = table({"a": 20, "b": 20, "c": 20})
    assert make_splits(tracks, seed=1) == make_splits(tracks, seed=1)
    assert make_splits(tracks, seed=1)[0].train != make_splits(tracks, seed=2)[0].train
    # split k does not depend on how many splits are drawn
    assert make_splits(tracks, n_splits=10, seed=1)[:4] == make_splits(tracks, n_splits=4, seed=1)


def test_too_few_tracks_in_a_class() -> None:
    with pytest.raises(SplitError, match=r"class 'rare' has 2 tracks"):
        make_splits(table({"common": 50, "rare": 2}))
    with pytest.raises(SplitError, match="n_splits"):
        make_splits(table({"a": 5, "b": 5}), n_splits=0)


def test_check_errors() -> None:
    tracks = table({"a": 4, "b": 4})
    ok = Split("s", ["a.00000", "a.00001", "b.00000", "b.00001"], ["a.00002", "b.00002"],
               ["a.00003", "b.00003"])
    assert ok.check(tracks) is ok
    with pytest.raises(SplitError, match="in both train and test: a.00000"):
        Split("s", ok.train, ok.valid, ok.test + ["a.00000"]).check(tracks)
    with pytest.raises(SplitError, match="more than once in valid"):
        Split("s", ok.train, ok.valid + ["a.00002"], ok.test).check(tracks)
    with pytest.raises(SplitError, match=r"1 test ids are not in the track table: zz.1"):
        Split("s", ok.train, ok.valid, ok.test + ["zz.1"]).check(tracks)
    with pytest.raises(SplitError, match="the valid part is empty"):
        Split("s", ok.train, [], ok.test).check(tracks)
    with pytest.raises(SplitError, match=r"fewer than 1 training tracks: 'b' \(0\)"):
        Split("s", ["a.00000"], ["b.00000"], ["b.00001"]).check(tracks)
    with pytest.raises(SplitError, match=r"fewer than 3 training tracks: 'a' \(2\), 'b' \(2\)"):
        ok.check(tracks, min_per_class=3)


def test_artist_disjointness() -> None:
    tracks = table({"a": 6, "b": 6}, artists=3)  # artist = i % 3
    ids = lambda c, idx: [f"{c}.{i:05d}" for i in idx]  # noqa: E731
    good = Split("g", ids("a", [0, 3]) + ids("b", [0, 3]), ids("a", [1, 4]) + ids("b", [1, 4]),
                 ids("a", [2, 5]) + ids("b", [2, 5]))
    good.check(tracks, artist_disjoint=True)
    bad = Split("b", ids("a", [0, 1]) + ids("b", [0, 3]), ids("a", [4]) + ids("b", [1, 4]),
                ids("a", [2, 3, 5]) + ids("b", [2, 5]))
    bad.check(tracks)  # fine without the artist check
    with pytest.raises(SplitError, match="artist 'a-artist1' has tracks in both train and valid"):
        bad.check(tracks, artist_disjoint=True)
    no_artists = table({"a": 6, "b": 6})
    with pytest.raises(SplitError, match="no artist is known"):
        good.check(no_artists, artist_disjoint=True)


def test_restrict_and_tables() -> None:
    tracks = table({"a": 8, "b": 8})
    s = make_splits(tracks, n_splits=1)[0]
    fewer = tracks.without(["a.00000", "a.00001", "b.00007"])
    dropped = set(s.missing(fewer))
    assert dropped == {"a.00000", "a.00001", "b.00007"}
    with pytest.warns(UserWarning, match="dropped 3 of 16 ids"):
        r = s.restrict(fewer)
    assert r.name == s.name and len(r) == 13
    assert r.train == [i for i in s.train if i not in dropped]
    r.check(fewer)
    train, valid, test = r.tables(fewer)
    assert train.ids == r.train and test.classes == ["a", "b"]
    with pytest.raises(SplitError, match="not in the track table"):
        s.tables(fewer)


def test_save_load_roundtrip(tmp_path: Path) -> None:
    tracks = table(GTZAN_LIKE)
    splits = make_splits(tracks, n_splits=4, seed=3)
    path = tmp_path / "runs" / "splits.json"
    assert save_splits(splits, path) == path
    assert [p.name for p in path.parent.iterdir()] == ["splits.json"]  # no temporary left
    assert load_splits(path) == splits
    assert load_splits(path, tracks) == splits
    with pytest.raises(SplitError, match="not in the track table"):
        load_splits(path, table({"blues": 100, "rock": 100}))


def test_save_rejects_bad_splits(tmp_path: Path) -> None:
    s = Split("x", ["a"], ["b"], ["c"])
    with pytest.raises(SplitError, match="distinct"):
        save_splits([s, s], tmp_path / "s.json")
    with pytest.raises(SplitError, match="test part is empty"):
        save_splits([Split("y", ["a"], ["b"], [])], tmp_path / "s.json")
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("content, match", [
    ("{not json", "not a readable JSON"),
    ('{"splits": []}', "not a mirlearn splits file"),
    ('{"format": "mirlearn.splits", "version": 9, "splits": []}', "version 9"),
    ('{"format": "mirlearn.splits", "version": 1, "splits": []}', "non-empty list"),
    ('{"format": "mirlearn.splits", "version": 1, "splits": [{"name": "a", "train": ["x"]}]}',
     "split #0"),
    ('{"format": "mirlearn.splits", "version": 1, "splits": [{"name": "a", "train": ["x"], '
     '"valid": ["x"], "test": ["y"]}]}', "in both train and valid"),
])
def test_load_malformed(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SplitError, match=match) as e:
        load_splits(path)
    assert "bad.json" in str(e.value)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SplitError, match="splits file not found"):
        load_splits(tmp_path / "none.json")


def write_dir(d: Path, train: str, valid: str, test: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in (("train", train), ("valid", valid), ("test", test)):
        (d / f"{name}.txt").write_text(text)
    return d


def test_split_dir(tmp_path: Path) -> None:
    d = write_dir(tmp_path / "mine", "a.1\n\n# comment\na.2\n", "a.3\r\n", "  a.4  \n")
    s = load_split_dir(d)
    assert s == Split("mine", ["a.1", "a.2"], ["a.3"], ["a.4"])


@pytest.mark.parametrize("train, valid, test, match", [
    ("a.1\na.2 a.3\n", "b.1\n", "c.1\n", r"train.txt, line 2: expected one track id"),
    ("a.1\na.2\na.1\n", "b.1\n", "c.1\n", r"train.txt, line 3: 'a.1' already listed on line 1"),
    ("a.1\n", "\n\n", "c.1\n", r"valid.txt: no track ids"),
    ("a.1\n", "b.1\n", "a.1\n", r"in both train and test"),
])
def test_split_dir_malformed(tmp_path: Path, train: str, valid: str, test: str, match: str) -> None:
    with pytest.raises(SplitError, match=match):
        load_split_dir(write_dir(tmp_path / "d", train, valid, test))


def test_split_dir_missing_file(tmp_path: Path) -> None:
    d = write_dir(tmp_path / "d", "a\n", "b\n", "c\n")
    (d / "valid.txt").unlink()
    with pytest.raises(SplitError, match=r"valid.txt: split file not found"):
        load_split_dir(d)
    with pytest.raises(SplitError, match="split folder not found"):
        load_split_dir(tmp_path / "absent")


def test_fault_filtered(shared_data: Path, tmp_path: Path) -> None:
    s = load_split_dir(shared_data / "gtzan_splits" / "fault_filtered")
    assert s.name == "fault_filtered"
    assert (len(s.train), len(s.valid), len(s.test)) == (443, 197, 290)
    assert s.train[0] == "blues.00029"
    gtzan = table(GTZAN_LIKE)  # ids "blues.00000" ... "rock.00099", as GTZAN's
    s.check(gtzan)  # all ids are GTZAN ids, parts disjoint, every genre in train
    save_splits([s], tmp_path / "ff.json")
    assert load_splits(tmp_path / "ff.json") == [s]
    assert json.loads((tmp_path / "ff.json").read_text())["splits"][0]["name"] == "fault_filtered"


# -- unknown ids are errors; tracks left out of the table are dropped -------------------------
def test_split_file_naming_an_unknown_id_is_an_error_naming_it_and_the_file(tmp_path: Path) -> None:
    tracks = table({"a": 8, "b": 8})
    s = make_splits(tracks, n_splits=1)[0]
    other = Split(s.name, s.train + ["zz.00001"], s.valid, s.test + ["zz.00002"])
    path = save_splits([other], tmp_path / "splits.json")
    loaded = load_splits(path)[0]
    assert loaded.source == str(path) and loaded == other  # the source is not part of equality
    with pytest.raises(UnknownTracksError) as e:
        loaded.restrict(tracks)
    msg = str(e.value)
    assert isinstance(e.value, DatasetError) and isinstance(e.value, SplitError)
    assert "splits.json" in msg and "zz.00001" in msg and "zz.00002" in msg
    assert "2 of its 18 track ids are not in the dataset" in msg and "\n" not in msg
    # The same file checked at load against the tracks.
    with pytest.raises(UnknownTracksError, match=r"splits\.json.*1 train ids are not in the track table: zz\.00001"):
        load_splits(path, tracks)
    # On purpose, for a partition applied to an incomplete copy: dropped, and named.
    with pytest.warns(UserWarning, match="dropped 2 of 18 ids.*zz.00001, zz.00002"):
        assert loaded.restrict(tracks, unknown="drop") == s


def test_many_unknown_ids_are_counted(tmp_path: Path) -> None:
    tracks = table({"a": 8, "b": 8})
    d = write_dir(tmp_path / "ff", "".join(f"x.{i}\n" for i in range(40)), "a.00000\n", "b.00000\n")
    with pytest.raises(UnknownTracksError, match=r"from .*ff\).*40 of its 42 track ids are not in the "
                                                 r"dataset: x\.0, x\.1, x\.2, x\.3, x\.4, \.\.\. \(40 in all\)"):
        load_split_dir(d).restrict(tracks)


def test_tracks_left_out_by_skip_bad_are_dropped_with_a_warning_naming_them() -> None:
    tracks = table({"a": 8, "b": 8})
    s = make_splits(tracks, n_splits=1)[0]
    decoded = tracks.without(["a.00003", "b.00005"])  # as extract_frames(skip_bad=True) returns
    with pytest.warns(UserWarning, match=r"dropped 2 of 16 ids not in the track table") as rec:
        r = s.restrict(decoded)
    assert "a.00003" in str(rec[0].message) and "b.00005" in str(rec[0].message)
    assert set(s.ids) - set(r.ids) == {"a.00003", "b.00005"}
    r.check(decoded)
    # ... but an id the dataset never had is still an error.
    with pytest.raises(UnknownTracksError, match="zz.1"):
        Split(s.name, s.train, s.valid, s.test + ["zz.1"]).restrict(decoded)
    with pytest.raises(ValueError, match="unknown must be"):
        s.restrict(decoded, unknown="ignore")  # type: ignore[arg-type]

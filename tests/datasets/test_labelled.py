"""The labelled share of a split: whole tracks, every class, seeded, order-free."""

from pathlib import Path

import pytest

from mirlearn.datasets.labelled import labelled_ids, labelled_split, per_class_count
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable


def table(sizes: dict[str, int]) -> TrackTable:
    return TrackTable([Track(f"{c}.{i:03d}", Path(f"{c}{i}.wav"), c) for c, n in sizes.items() for i in range(n)])


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_a_stratified_share_of_every_class(fraction):
    sizes = {"a": 40, "b": 20, "c": 7, "d": 1}
    t = table(sizes)
    keep = labelled_ids(t.ids, t.labels, fraction, seed=0)
    for c, n in sizes.items():
        kept = [i for i in keep if i.startswith(c + ".")]
        assert len(kept) == per_class_count(n, fraction) >= 1  # every class keeps at least one track
    assert keep == [i for i in t.ids if i in set(keep)]  # in the order given
    assert per_class_count(40, 0.1) == 4 and per_class_count(7, 0.25) == 2 and per_class_count(20, 0.025) == 1
    assert per_class_count(16, 0.1) == 2 and per_class_count(5, 0.1) == 1 and per_class_count(3, 0.5) == 2


def test_seeded_and_independent_of_the_order():
    t = table({"a": 30, "b": 30})
    keep = labelled_ids(t.ids, t.labels, 0.25, seed=4)
    assert keep == labelled_ids(t.ids, t.labels, 0.25, seed=4)
    reversed_pick = labelled_ids(t.ids[::-1], t.labels[::-1], 0.25, seed=4)
    assert sorted(reversed_pick) == sorted(keep)
    assert labelled_ids(t.ids, t.labels, 0.25, seed=5) != keep
    assert set(keep) <= set(t.ids) and labelled_ids(t.ids, t.labels, 1.0) == t.ids


def test_the_split_keeps_whole_labelled_tracks_and_the_whole_test_part():
    t = table({"a": 20, "b": 20})
    split = Split("s0", [i for i in t.ids if int(i[-3:]) < 10], [i for i in t.ids if 10 <= int(i[-3:]) < 15],
                  [i for i in t.ids if int(i[-3:]) >= 15])
    few = labelled_split(split, t, 0.2, seed=0)
    assert few.name == "s0" and few.test == split.test
    assert len(few.train) == 4 and set(few.train) <= set(split.train)  # 2 of 10 per class
    assert len(few.valid) == 2 and set(few.valid) <= set(split.valid)  # 1 of 5 per class
    few.check_structure()
    assert labelled_split(split, t, None) is split and labelled_split(split, t, 1.0) is split


def test_bad_fraction_is_refused():
    with pytest.raises(ValueError, match="fraction"):
        labelled_ids(["x"], ["a"], 0.0)
    with pytest.raises(ValueError, match="labels"):
        labelled_ids(["x", "y"], ["a"], 0.5)

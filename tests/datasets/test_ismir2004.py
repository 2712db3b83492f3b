"""Tests of mirlearn.datasets.ismir2004 on generated fake copies of the MTG layout.

Files are tiny placeholders with an ``.mp3`` name: listing never decodes. One test writes
real WAV files to exercise the optional decode check.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mirlearn.datasets.ismir2004 import (
    CLASSES,
    EXPECTED_COUNTS,
    TRACKS_PER_PART,
    class_of,
    find_ismir2004_dirs,
    ismir2004_split,
    load_ismir2004,
    validate_ismir2004,
)
from mirlearn.datasets.tracks import TrackTable
from mirlearn.errors import DatasetError

COUNTS = EXPECTED_COUNTS["training"]
PLACEHOLDER = b"\xff\xfb\x90\x00" + bytes(60)


def _write_csv(path: Path, rows: list[list[str]], **fmt) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n", **fmt).writerows(rows)


def make_training(root: Path, *, tracklist: bool = True,
                  counts: dict[str, int] = COUNTS) -> list[list[str]]:
    """audio/training/<class>/<artist>/<album>/<n>-<title>.mp3 (+ metadata tracklist)."""
    rows = []
    for c, n in counts.items():
        for i in range(n):
            artist, album = f"{c.title()} Artist {i % 7}", f"Album {i % 3}"
            rel = f"{c}/{artist.replace(' ', '_')}/{album.replace(' ', '_')}/{i:02d}-song_{i}.mp3"
            f = root / "audio" / "training" / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(PLACEHOLDER)
            rows.append([c, artist, album, f"Song {i}", str(i), rel])
    if tracklist:  # as distributed: no header row
        _write_csv(root / "metadata" / "training" / "tracklist.csv", rows)
    return rows


def make_development(root: Path, counts: dict[str, int] = COUNTS) -> list[tuple[str, str]]:
    """Flat, anonymised audio/development/artist_<i>_album_<j>_track_<k>.mp3; no metadata."""
    d = root / "audio" / "development"
    d.mkdir(parents=True, exist_ok=True)
    files = []
    k = 0
    for c, n in counts.items():
        for i in range(n):
            name = f"artist_{k % 50}_album_{k % 11}_track_{k}.mp3"
            (d / name).write_bytes(PLACEHOLDER)
            files.append((name, c))
            k += 1
    return files


@pytest.fixture(scope="module")
def full_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete copy, shared by the tests that only read it: training (tracklist without
    header) and development (ground_truth.csv with header, quoted)."""
    root = tmp_path_factory.mktemp("ismir04_genre")
    make_training(root)
    files = make_development(root)
    _write_csv(root / "metadata" / "development" / "ground_truth.csv",
               [["path", "class"]] + [[f"audio/development/{n}", c] for n, c in files],
               quoting=csv.QUOTE_ALL)
    return root


@pytest.fixture(scope="module")
def dev_files(full_root: Path) -> list[tuple[str, str]]:
    """(file name, class) of the development part of ``full_root``."""
    gt = (full_root / "metadata" / "development" / "ground_truth.csv").read_text().splitlines()
    return [(a.strip('"').rsplit("/", 1)[-1], b.strip('"'))
            for a, b in (line.split(",") for line in gt[1:])]


# -- names ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,cls", [
    ("jazz_blues", "jazz_blues"), ("Jazz & Blues", "jazz_blues"), ("jazz-blues", "jazz_blues"),
    ("blues", "jazz_blues"), ("Punk", "metal_punk"), ("metal/punk", "metal_punk"),
    ("rock_pop", "rock_pop"), ("POP", "rock_pop"), ("World", "world"), ("classical", "classical"),
    ("electronic", "electronic"), ("hiphop", None), ("", None), ("track number", None),
])
def test_class_of(name: str, cls: str | None) -> None:
    assert class_of(name) == cls


# -- training -----------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [False, True])
def test_training_from_tracklist(full_root: Path, tmp_path: Path, header: bool) -> None:
    listed = full_root / "metadata" / "training" / "tracklist.csv"
    with open(listed, newline="") as f:
        rows = list(csv.reader(f))
    if header:  # the same list with the README's header row, given as labels=
        listed = tmp_path / "tracklist.csv"
        _write_csv(listed, [["class", "artist", "album", "track", "track number", "file path"]]
                   + rows)
    report = validate_ismir2004(full_root, part="training", labels=listed if header else None)
    assert report.source == ("labels file" if header else "tracklist") and report.ok, str(report)
    assert report.found == COUNTS and sum(report.found.values()) == TRACKS_PER_PART
    tracks = load_ismir2004(full_root, labels=listed if header else None)
    assert isinstance(tracks, TrackTable) and len(tracks) == 729
    assert tracks.classes == list(CLASSES)
    t = tracks[0]
    assert t.track_id == "training/" + rows[0][5][:-4]  # relative to audio/, no extension
    assert t.label == rows[0][0] and t.artist == rows[0][1]
    assert t.path == full_root / "audio" / "training" / rows[0][5] and t.path.is_file()
    assert [x.track_id for x in tracks] == ["training/" + r[5][:-4] for r in rows]  # file order


def test_training_from_folders_equals_tracklist(full_root: Path, tmp_path: Path) -> None:
    # full_root's training audio without its metadata (a link: no copy of 729 files)
    (tmp_path / "audio").mkdir()
    try:
        (tmp_path / "audio" / "training").symlink_to(full_root / "audio" / "training")
    except OSError:  # pragma: no cover (no symlinks on this file system)
        make_training(tmp_path, tracklist=False)
    report = validate_ismir2004(tmp_path, part="training")
    assert report.source == "class folders" and report.metadata is None and report.ok
    tracks = load_ismir2004(tmp_path, strict=True)
    assert Counter(tracks.labels) == Counter(COUNTS)
    # the folder below the class folder is the artist
    assert tracks[0].artist is not None and tracks[0].track_id.split("/")[2] == tracks[0].artist
    _write_csv(tmp_path / "metadata" / "training" / "tracklist.csv",
               [[t.label, t.artist or "", "", "", "", t.track_id[len("training/"):] + ".mp3"]
                for t in tracks])
    listed = load_ismir2004(tmp_path, strict=True)
    assert sorted(listed.ids) == sorted(tracks.ids)


def test_folder_walk_maps_original_genres(tmp_path: Path) -> None:
    for genre, n in (("jazz", 2), ("blues", 1), ("punk", 1), ("pop", 1)):
        for i in range(n):
            f = tmp_path / "audio" / "evaluation" / genre / f"Artist{i}" / "Album" / f"{i}-x.mp3"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(PLACEHOLDER)
    (tmp_path / "audio" / "evaluation" / "stray.mp3").write_bytes(PLACEHOLDER)
    report = validate_ismir2004(tmp_path, part="evaluation")
    assert report.found == {"classical": 0, "electronic": 0, "jazz_blues": 3, "metal_punk": 1,
                            "rock_pop": 1, "world": 0}
    assert [p.name for p in report.extra] == ["stray.mp3"]
    assert report.count_errors == {"total": (5, 729)} and not report.ok


def test_root_may_be_the_audio_folder(full_root: Path) -> None:
    audio, meta = find_ismir2004_dirs(full_root / "audio")
    assert audio == (full_root / "audio").absolute() and meta == (full_root / "metadata").absolute()
    tracks = load_ismir2004(full_root / "audio", part="development", strict=True)
    assert len(tracks) == 729


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no ISMIR 2004 layout"):
        validate_ismir2004(tmp_path)
    with pytest.raises(DatasetError, match="not found"):
        validate_ismir2004(tmp_path / "nope")
    make_training(tmp_path)
    with pytest.raises(DatasetError, match="development part's audio folder is missing"):
        load_ismir2004(tmp_path, part="development")
    with pytest.raises(ValueError, match="part must be one of"):
        load_ismir2004(tmp_path, part="test")


# -- development ground truth -------------------------------------------------------------------
# name: (row from (file name, class), header rows, csv.writer options)
GT_VARIANTS = {
    "quoted-header": (lambda n, c: [f"development/{n}", c], [["path", "class"]],
                      {"quoting": csv.QUOTE_ALL}),
    "bare-no-header": (lambda n, c: [n, c], [], {}),
    "no-extension": (lambda n, c: [n[:-4], c.replace("_", " & ").title()], [], {}),
    "class-first-semicolon": (lambda n, c: [c, f"/data/ismir/{n}"], [["Genre", "File"]],
                              {"delimiter": ";"}),
    "unknown-header-tab": (lambda n, c: [n, c.replace("_", "-")], [["id", "genre label"]],
                           {"delimiter": "\t"}),
}


def test_development_ground_truth_found(full_root: Path, dev_files: list) -> None:
    report = validate_ismir2004(full_root, part="development")
    assert report.source == "ground truth" and report.ok, str(report)
    gt = full_root / "metadata" / "development" / "ground_truth.csv"
    assert report.metadata == gt.absolute()


@pytest.mark.parametrize("variant", sorted(GT_VARIANTS))
def test_development_ground_truth_variants(full_root: Path, dev_files: list, tmp_path: Path,
                                           variant: str) -> None:
    fmt_row, head, fmt = GT_VARIANTS[variant]
    gt = tmp_path / "ground_truth.csv"
    _write_csv(gt, head + [fmt_row(n, c) for n, c in dev_files], **fmt)
    report = validate_ismir2004(full_root, part="development", labels=gt)
    assert report.source == "labels file" and report.ok, str(report)
    tracks = load_ismir2004(full_root, part="development", labels=gt, strict=True)
    truth = {f"development/{n[:-4]}": c for n, c in dev_files}
    assert {t.track_id: t.label for t in tracks} == truth
    assert all(t.artist is None for t in tracks)  # anonymised


def test_development_tracklist_anonymised_artists(full_root: Path, dev_files: list,
                                                  tmp_path: Path) -> None:
    tl = tmp_path / "tracklist.csv"
    _write_csv(tl, [[c, n.split("_album")[0], "album", "track", "1", n] for n, c in dev_files])
    report = validate_ismir2004(full_root, part="development", labels=tl)
    assert report.ok and len(report.tracks) == 729
    assert all(t.artist is None for t in report.tracks)


def test_development_without_labels_is_an_error(tmp_path: Path) -> None:
    make_development(tmp_path, counts={c: 1 for c in CLASSES})
    with pytest.raises(DatasetError, match="no labels.*ground_truth.csv"):
        load_ismir2004(tmp_path, part="development")
    with pytest.raises(DatasetError, match="labels file not found"):
        load_ismir2004(tmp_path, part="development", labels=tmp_path / "none.csv")


def test_unreadable_ground_truth(full_root: Path, tmp_path: Path) -> None:
    gt = tmp_path / "ground_truth.csv"
    _write_csv(gt, [["a", "b"], ["c", "d"]])
    report = validate_ismir2004(full_root, part="development", labels=gt)
    assert not report.ok and "no column of file names" in report.problems[0]
    assert len(report.extra) == 729
    with pytest.raises(DatasetError, match="no usable ISMIR 2004 track"), \
            pytest.warns(UserWarning, match="729 unlabelled files"):
        load_ismir2004(full_root, part="development", labels=gt)


# -- validation -------------------------------------------------------------------------------
def test_missing_extra_and_bad_rows(tmp_path: Path) -> None:
    rows = make_training(tmp_path, counts={**COUNTS, "classical": 5})
    for r in rows[:3]:  # three classical files gone
        (tmp_path / "audio" / "training" / r[5]).unlink()
    (tmp_path / "audio" / "training" / "world" / "unlisted.mp3").write_bytes(PLACEHOLDER)
    with open(tmp_path / "metadata" / "training" / "tracklist.csv", "a") as f:
        f.write("polka,A,B,C,1,world/x.mp3\n")  # unknown class
        f.write(",".join(rows[5]) + "\n")       # the same file twice
    report = validate_ismir2004(tmp_path, part="training")
    assert not report.ok
    assert len(report.missing) == 3 and rows[0][5] in report.missing[0]
    assert report.missing[0].startswith("line 1:")
    assert [p.name for p in report.extra] == ["unlisted.mp3"]
    assert len(report.problems) == 2
    assert "unknown class 'polka'" in report.problems[0] and "again" in report.problems[1]
    assert report.count_errors == {"classical": (2, 320)}
    text = str(report)
    assert "listed but missing (3)" in text and "unlisted.mp3" in text and "<--" in text

    with pytest.warns(UserWarning, match="3 listed but missing"):
        tracks = load_ismir2004(tmp_path)
    assert len(tracks) == 411 and tracks.classes == list(CLASSES)
    with pytest.raises(DatasetError, match=r"(?s)incomplete or damaged.*3 listed but missing"):
        load_ismir2004(tmp_path, strict=True)


def test_count_validation_small_copy(tmp_path: Path) -> None:
    small = {c: 2 for c in CLASSES}
    make_training(tmp_path, counts=small)
    report = validate_ismir2004(tmp_path)
    assert not report.missing and not report.extra and not report.problems
    assert report.count_errors == {c: (2, COUNTS[c]) for c in CLASSES}
    with pytest.warns(UserWarning, match="6 class count"):
        assert len(load_ismir2004(tmp_path)) == 12


def test_renamed_files_are_found(tmp_path: Path) -> None:
    rows = make_training(tmp_path, tracklist=False, counts={c: 2 for c in CLASSES})
    base = tmp_path / "audio" / "training"
    # as in the distributed copy: ' on the list is _ on disk; accents/punctuation differ
    (base / rows[0][5]).rename(base / rows[0][5].replace("song_0", "it_s"))
    (base / rows[1][5]).rename(base / rows[1][5].replace("song_1", "Cafe-song 1"))
    listed = [r[:5] + [r[5]] for r in rows]
    listed[0][5] = rows[0][5].replace("song_0", "it's")
    listed[1][5] = rows[1][5].replace("song_1", "Café_song_1")
    _write_csv(tmp_path / "metadata" / "training" / "tracklist.csv", listed)
    report = validate_ismir2004(tmp_path)
    assert not (report.missing or report.extra or report.problems), str(report)
    assert len(report.tracks) == 12 and set(report.renamed) == {listed[0][5], listed[1][5]}
    assert report.renamed[listed[0][5]].name == "00-it_s.mp3"


def test_quick_check_leaves_out_undecodable(tmp_path: Path) -> None:
    sf = pytest.importorskip("soundfile")
    rows = []
    for i, c in enumerate(CLASSES):
        f = tmp_path / "audio" / "training" / c / "A" / "B" / f"{i}.wav"
        f.parent.mkdir(parents=True, exist_ok=True)
        if c == "world":
            f.write_bytes(b"RIFF0000WAVEjunk")
        else:
            sf.write(f, np.zeros(2205, dtype=np.float32), 22050)
        rows.append([c, "A", "B", "t", "1", f"{c}/A/B/{i}.wav"])
    _write_csv(tmp_path / "metadata" / "training" / "tracklist.csv", rows)
    report = validate_ismir2004(tmp_path, check="quick")
    assert [p.name for p in report.bad] == ["5.wav"]
    with pytest.warns(UserWarning):
        tracks = load_ismir2004(tmp_path, check="quick")
    assert len(tracks) == 5 and "world" not in tracks.labels
    assert "undecodable (1)" in str(report)


# -- several parts and the split ------------------------------------------------------------
def test_load_two_parts(full_root: Path) -> None:
    tracks = load_ismir2004(full_root, part=("training", "development"), strict=True)
    assert len(tracks) == 2 * 729 and len(set(tracks.ids)) == 2 * 729
    assert tracks[0].track_id.startswith("training/")
    assert tracks[-1].track_id.startswith("development/")
    with pytest.raises(ValueError, match="twice"):
        load_ismir2004(full_root, part=("training", "training"))


def test_split(full_root: Path) -> None:
    tracks = load_ismir2004(full_root, part=("training", "development"))
    split = ismir2004_split(tracks, seed=3)
    assert split.name == "ismir2004-dev-valid25-seed3"
    assert len(split.train) + len(split.valid) == 729 and len(split.test) == 729
    assert all(i.startswith("development/") for i in split.test)
    split.check(tracks)
    label = dict(zip(tracks.ids, tracks.labels))
    valid_counts = Counter(label[i] for i in split.valid)
    for c, n in COUNTS.items():
        assert valid_counts[c] == round(0.25 * n)  # stratified
    assert split.train == [i for i in tracks.ids if i in set(split.train)]  # table order
    assert ismir2004_split(tracks, seed=3).valid == split.valid
    assert ismir2004_split(tracks, seed=4).valid != split.valid
    # from the folder directly: same partition
    assert ismir2004_split(full_root, seed=3).to_dict() == split.to_dict()


def test_split_without_valid(full_root: Path) -> None:
    tracks = load_ismir2004(full_root, part=("training", "development"))
    split = ismir2004_split(tracks, valid_fraction=0)
    assert split.name == "ismir2004-dev" and split.valid == [] and len(split.train) == 729
    train, valid, test = split.tables(tracks)
    assert len(valid) == 0 and len(test) == 729
    with pytest.raises(ValueError):
        ismir2004_split(tracks, valid_fraction=1.0)
    with pytest.raises(DatasetError, match="training and development"):
        ismir2004_split(tracks.subset(split.train))

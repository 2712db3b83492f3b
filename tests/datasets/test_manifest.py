"""CSV manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirlearn.datasets.manifest import load_manifest
from mirlearn.datasets.splits import Split
from mirlearn.errors import DatasetError


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    """Eight placeholder files (the manifest loader does not decode them)."""
    for c in ("rock", "jazz"):
        for i in range(4):
            p = tmp_path / "audio" / c / f"{c}{i}.wav"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"RIFF")
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows(audio: Path, with_split: bool = True) -> str:
    parts = ["train", "train", "valid", "test"]
    lines = []
    for c in ("rock", "jazz"):
        for i in range(4):
            lines.append(f"audio/{c}/{c}{i}.wav,{c}" + (f",{parts[i]}" if with_split else ""))
    return "\n".join(lines) + "\n"


def test_plain_manifest(audio: Path) -> None:
    m = write(audio / "m.csv", "path,label\n" + rows(audio, with_split=False))
    tracks, split = load_manifest(m)
    assert split is None
    assert len(tracks) == 8 and tracks.classes == ["jazz", "rock"]
    assert tracks.ids[0] == "audio/rock/rock0"
    assert tracks[0].path == (audio / "audio" / "rock" / "rock0.wav").absolute()
    assert tracks[0].artist is None


def test_split_artist_and_absolute_paths(audio: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    text = "path,label,split,artist\n" + rows(audio).replace(",train\n", ",train,Someone\n", 1)
    abs_path = audio / "audio" / "jazz" / "jazz3.wav"
    text = text.replace("audio/", "../audio/").replace("../audio/jazz/jazz3.wav", str(abs_path))
    m = write(other / "my_set.csv", text)
    tracks, split = load_manifest(m)
    assert isinstance(split, Split) and split.name == "my_set"
    assert (len(split.train), len(split.valid), len(split.test)) == (4, 2, 2)
    assert tracks[0].artist == "Someone" and tracks[1].artist is None
    assert tracks[7].path == abs_path and tracks[0].path == audio / "audio" / "rock" / "rock0.wav"
    assert split.train[0] == "../audio/rock/rock0"


def test_track_id_column_bom_and_blank_lines(audio: Path) -> None:
    text = "\ufefftrack_id, path ,label\n\nr0,audio/rock/rock0.wav,rock\n\nj0,audio/jazz/jazz0.wav,jazz\n"
    tracks, _ = load_manifest(write(audio / "m.csv", text))
    assert tracks.ids == ["r0", "j0"]


@pytest.mark.parametrize("header, match", [
    ("path,split\n", r"m.csv, line 1: missing column\(s\) label"),
    ("path,label,genre\n", r"line 1: unknown column\(s\) 'genre'"),
    ("path,label,label\n", r"line 1: repeated column\(s\) label"),
])
def test_bad_header(audio: Path, header: str, match: str) -> None:
    with pytest.raises(DatasetError, match=match):
        load_manifest(write(audio / "m.csv", header + "audio/rock/rock0.wav,rock,x\n"))


@pytest.mark.parametrize("bad_row, match", [
    ("audio/rock/rock1.wav,,train", r"line 6: empty label"),
    ("audio/rock/rock1.wav,rock,training", r"line 6: unknown split 'training'"),
    ("audio/rock/rock0.wav,rock,train", r"line 6: duplicate path 'audio/rock/rock0.wav' \(first on line 2\)"),
    ("audio/rock/nope.wav,rock,test", r"line 6: audio file not found: audio/rock/nope.wav"),
    ("audio/rock/rock1.wav,rock", r"line 6: empty split \(expected train, valid or test\)"),
    ("audio/rock/rock1.wav,rock,train,x", r"line 6: 4 fields, the header has 3"),
    (",rock,train", r"line 6: empty path"),
])
def test_bad_rows(audio: Path, bad_row: str, match: str) -> None:
    good = ("audio/rock/rock0.wav,rock,train\naudio/rock/rock2.wav,rock,valid\n"
            "audio/rock/rock3.wav,rock,test\naudio/jazz/jazz0.wav,jazz,train\n")
    m = write(audio / "m.csv", "path,label,split\n" + good + bad_row + "\n")
    with pytest.raises(DatasetError, match=match) as e:
        load_manifest(m)
    assert str(e.value).startswith(str(m))


def test_all_problems_in_one_error(audio: Path) -> None:
    m = write(audio / "m.csv", "path,label\naudio/x.wav,rock\naudio/rock/rock0.wav,\n")
    with pytest.raises(DatasetError, match="2 problems") as e:
        load_manifest(m)
    assert "line 2: audio file not found" in str(e.value) and "line 3: empty label" in str(e.value)


def test_duplicate_track_id(audio: Path) -> None:
    (audio / "audio" / "rock" / "rock0.flac").write_bytes(b"fLaC")
    m = write(audio / "m.csv", "path,label\naudio/rock/rock0.wav,rock\naudio/rock/rock0.flac,jazz\n")
    with pytest.raises(DatasetError, match=r"line 3: duplicate track id 'audio/rock/rock0'"):
        load_manifest(m)


def test_one_class_empty_and_missing(audio: Path) -> None:
    with pytest.raises(DatasetError, match="at least 2 classes, found 1: 'rock'"):
        load_manifest(write(audio / "a.csv", "path,label\naudio/rock/rock0.wav,rock\n"))
    with pytest.raises(DatasetError, match="empty manifest"):
        load_manifest(write(audio / "b.csv", "\n\n"))
    with pytest.raises(DatasetError, match="lists no files"):
        load_manifest(write(audio / "c.csv", "path,label\n"))
    with pytest.raises(DatasetError, match="manifest not found"):
        load_manifest(audio / "absent.csv")


def test_unusable_split(audio: Path) -> None:
    text = "path,label,split\n" + rows(audio).replace(",test", ",valid")
    msg = r"m.csv: the split column gives an unusable split: .*test part is empty"
    with pytest.raises(DatasetError, match=msg):
        load_manifest(write(audio / "m.csv", text))


# -- tasks beyond one label: tags and numeric targets ------------------------------------------


def test_tags_and_target_columns_without_labels(audio: Path) -> None:
    lines = ["path,tags,target"]
    for k, c in enumerate(("rock", "jazz")):
        for i in range(4):
            tags = f"{c}; loud ;{c}" if i % 2 else ""          # repeated and padded tags, an empty cell
            lines.append(f"audio/{c}/{c}{i}.wav,{tags},{k + i / 10}")
    tracks, split = load_manifest(write(audio / "m.csv", "\n".join(lines) + "\n"))
    assert split is None and tracks.classes == [""]
    assert tracks[1].tags == ("loud", "rock") and tracks[0].tags == ()
    assert tracks.tag_names == ["jazz", "loud", "rock"]
    assert tracks.tag_matrix().tolist()[:2] == [[0, 0, 0], [0, 1, 1]]
    assert tracks.has_targets and tracks.targets.tolist() == pytest.approx([0, .1, .2, .3, 1, 1.1, 1.2, 1.3])


def test_labels_tags_and_target_together(audio: Path) -> None:
    text = "path,label,tags,target\n" + "".join(
        f"audio/{c}/{c}{i}.wav,{c},{'a;b' if i else 'a'},{i}\n" for c in ("rock", "jazz") for i in range(4))
    tracks, _ = load_manifest(write(audio / "m.csv", text))
    assert tracks.classes == ["jazz", "rock"] and tracks.tag_names == ["a", "b"] and tracks[3].target == 3.0


@pytest.mark.parametrize("header,cell,message", [
    ("path,target", "fast", r"line 2: target 'fast' is not a finite number"),
    ("path,target", "nan", r"line 2: target 'nan' is not a finite number"),
    ("path,target", "", r"line 2: target an empty cell is not a finite number"),
    ("path,tags", ";", r"the tags column names no tag"),
    ("path,split", "train", r"line 1: missing column\(s\) label \(or tags, or target\)"),
])
def test_bad_tags_and_targets(audio: Path, header: str, cell: str, message: str) -> None:
    text = header + "\n" + "".join(f"audio/{c}/{c}{i}.wav,{cell}\n" for c in ("rock", "jazz") for i in range(4))
    with pytest.raises(DatasetError, match=message):
        load_manifest(write(audio / "m.csv", text))

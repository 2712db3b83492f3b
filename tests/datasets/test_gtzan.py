"""GTZAN loader and validator, on fake trees of tiny clips and on the shared sample."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mirlearn.datasets.gtzan import (CLIPS_PER_GENRE, GENRES, GtzanReport, find_gtzan_dir,
                                     gtzan_ids, load_gtzan, validate_gtzan)
from mirlearn.errors import DatasetError

_TONE = (0.1 * np.sin(2 * np.pi * 440 * np.arange(800) / 8000)).astype(np.float32)  # 0.1 s


def make_tree(data_dir: Path, ext: str = ".wav", ids: list[str] | None = None) -> Path:
    """Genre folders with a tiny clip for each id (default: all 1000)."""
    fmt = {".wav": "WAV", ".au": "AU", ".flac": "FLAC"}[ext]
    buf = io.BytesIO()
    sf.write(buf, _TONE, 8000, format=fmt, subtype="PCM_16")
    data = buf.getvalue()
    for tid in gtzan_ids() if ids is None else ids:
        genre = tid.split(".")[0]
        p = data_dir / genre / f"{tid}{ext}"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return data_dir


@pytest.fixture(scope="module")
def full_kaggle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kaggle")
    make_tree(root / "genres_original", ".wav")
    return root


def some_ids(per_genre: int = 3) -> list[str]:
    return [f"{g}.{i:05d}" for g in GENRES for i in range(per_genre)]


def test_ids() -> None:
    ids = gtzan_ids()
    assert len(ids) == 1000 == len(GENRES) * CLIPS_PER_GENRE
    assert ids[0] == "blues.00000" and ids[99] == "blues.00099" and ids[-1] == "rock.00099"


def test_complete_copy_is_ok(full_kaggle: Path) -> None:
    report = validate_gtzan(full_kaggle)
    assert report.ok, str(report)
    assert report.layout.startswith("Kaggle")
    assert report.found == {g: 100 for g in GENRES}
    tracks = load_gtzan(full_kaggle, strict=True)
    assert len(tracks) == 1000 and tracks.classes == list(GENRES)
    assert tracks[29].track_id == "blues.00029" and tracks[29].label == "blues"
    assert tracks[29].artist is None
    assert np.bincount(tracks.y).tolist() == [100] * 10


def test_corrupt_clip_is_reported_and_left_out(full_kaggle: Path, tmp_path: Path) -> None:
    root = tmp_path / "k"
    shutil.copytree(full_kaggle / "genres_original", root / "genres_original")
    bad = root / "genres_original" / "jazz" / "jazz.00054.wav"
    bad.write_bytes(b"\x00\x01garbage, not a wav file" * 20)
    report = validate_gtzan(root)
    assert not report.ok
    assert list(report.bad) == [bad]
    assert report.missing == [] and report.extra == []
    text = str(report)
    assert "undecodable files (1)" in text and "jazz/jazz.00054.wav" in text
    with pytest.warns(UserWarning, match="jazz.00054"):
        tracks = load_gtzan(root)
    assert len(tracks) == 999 and "jazz.00054" not in tracks
    with pytest.raises(DatasetError, match="jazz/jazz.00054.wav"):
        load_gtzan(root, strict=True)
    # names only: the corrupt file is not noticed
    assert validate_gtzan(root, check="none").ok


def test_truncated_clip_found(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "genres", ".au", some_ids(2))
    p = root / "rock" / "rock.00001.au"
    p.write_bytes(p.read_bytes()[:-600])
    report = validate_gtzan(tmp_path, check="full")
    assert list(report.bad) == [p]
    assert "truncated" in report.bad[p]


@pytest.mark.parametrize("sub, ext, layout", [
    ("genres", ".au", "original"),
    ("genres_original", ".wav", "Kaggle"),
    ("Data/genres_original", ".wav", "Kaggle"),
    (".", ".flac", "genre folders at the root"),
])
def test_layouts(tmp_path: Path, sub: str, ext: str, layout: str) -> None:
    data_dir = tmp_path if sub == "." else tmp_path / sub
    make_tree(data_dir, ext, some_ids(2))
    d, found_layout = find_gtzan_dir(tmp_path)
    assert d == data_dir.absolute() and found_layout.startswith(layout)
    with pytest.warns(UserWarning, match="980 missing"):
        tracks = load_gtzan(tmp_path)
    assert tracks.ids == some_ids(2)
    assert all(t.path.suffix == ext and t.path.is_file() for t in tracks)


def test_root_may_be_the_genres_folder(tmp_path: Path) -> None:
    make_tree(tmp_path / "genres", ".au", some_ids(1))
    a = validate_gtzan(tmp_path)
    b = validate_gtzan(tmp_path / "genres")
    assert a.paths == b.paths and len(a.paths) == 10


def test_missing_and_extra(tmp_path: Path) -> None:
    d = make_tree(tmp_path / "genres", ".au", some_ids(3))
    (d / "blues" / "blues.00001.au").unlink()
    extra = [d / "blues" / "blues.00100.au",          # beyond .00099
             d / "blues" / "rock.00005.au",           # wrong genre folder
             d / "blues" / "blues.00002.wav"]         # second copy of a clip
    for p in extra:
        sf.write(p, _TONE, 8000, format="WAV" if p.suffix == ".wav" else "AU")
    (d / "pop" / "notes.txt").write_text("hello")
    (d / "pop" / ".DS_Store").write_text("ignored")
    report = validate_gtzan(tmp_path)
    assert report.found["blues"] == 2 and report.found["pop"] == 3
    assert "blues.00001" in report.missing and len(report.missing) == 1000 - 29
    assert sorted(report.extra) == sorted(extra + [d / "pop" / "notes.txt"])
    assert report.paths["blues.00002"].suffix == ".au"
    text = str(report)
    assert "extra files (4)" in text and "blues/rock.00005.au" in text
    with pytest.raises(DatasetError, match="extra files"):
        load_gtzan(tmp_path, strict=True)


def test_missing_genre_keeps_ten_classes(tmp_path: Path) -> None:
    make_tree(tmp_path / "genres", ".au", [t for t in some_ids(2) if not t.startswith("metal")])
    with pytest.warns(UserWarning):
        tracks = load_gtzan(tmp_path)
    assert tracks.classes == list(GENRES) and len(tracks) == 18
    assert validate_gtzan(tmp_path).found["metal"] == 0


def test_not_gtzan(tmp_path: Path) -> None:
    (tmp_path / "music").mkdir()
    with pytest.raises(DatasetError, match="no GTZAN genre folders"):
        validate_gtzan(tmp_path)
    with pytest.raises(DatasetError, match="not found"):
        load_gtzan(tmp_path / "absent")


def test_no_usable_clip(tmp_path: Path) -> None:
    (tmp_path / "genres" / "blues").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no usable GTZAN clip"):
        load_gtzan(tmp_path)


def test_bad_check_argument(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        validate_gtzan(tmp_path, check="deep")  # type: ignore[arg-type]


def test_shared_sample(shared_data: Path) -> None:
    root = shared_data / "gtzan_sample"
    report = validate_gtzan(root)
    assert isinstance(report, GtzanReport)
    assert report.found == {g: 1 for g in GENRES}
    assert len(report.missing) == 990 and not report.extra and not report.bad
    missing_per_genre = {g: sum(t.startswith(g + ".") for t in report.missing) for g in GENRES}
    assert missing_per_genre == {g: 99 for g in GENRES}
    assert "blues          1      99" in str(report)
    with pytest.warns(UserWarning, match="990 missing"):
        tracks = load_gtzan(root)
    assert tracks.ids == [f"{g}.00000" for g in GENRES]
    assert all(t.path.suffix == ".au" for t in tracks)
    # the same ids as the published split files
    ff = (shared_data / "gtzan_splits" / "fault_filtered" / "train.txt").read_text().split()
    assert set(ff) <= set(gtzan_ids())

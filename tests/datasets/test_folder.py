"""Folder-per-label loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mirlearn.datasets.folder import AUDIO_EXTENSIONS, iter_audio_files, load_folder
from mirlearn.errors import DatasetError


def write_tone(path: Path, seconds: float = 0.05, sr: int = 8000, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr, format=fmt)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "set"
    write_tone(root / "rock" / "b.wav")
    write_tone(root / "rock" / "a.flac")
    write_tone(root / "rock" / "live" / "c.WAV", fmt="WAV")
    write_tone(root / "jazz" / "x" / "y" / "z.wav")
    write_tone(root / "jazz" / "m.wav")
    (root / "jazz" / "notes.txt").write_text("not audio")
    write_tone(root / "jazz" / ".hidden.wav")
    write_tone(root / "jazz" / ".cache" / "d.wav")
    (root / "empty").mkdir()
    return root


def test_labels_ids_and_order(tree: Path) -> None:
    tracks = load_folder(tree)
    assert tracks.classes == ["jazz", "rock"]
    assert tracks.ids == ["jazz/m", "jazz/x/y/z", "rock/a", "rock/b", "rock/live/c"]
    assert tracks.labels == ["jazz", "jazz", "rock", "rock", "rock"]
    for t in tracks:
        assert t.path.is_absolute() and t.path.is_file()
        assert t.artist is None and t.duration is None
    assert tracks[4].path.name == "c.WAV"  # extensions compared case-insensitively


def test_deterministic_and_relative_root(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = load_folder(tree)
    monkeypatch.chdir(tree.parent)
    b = load_folder("set")
    assert a.ids == b.ids and [t.path for t in a] == [t.path for t in b]


def test_extensions_filter(tree: Path) -> None:
    tracks = load_folder(tree, extensions=["WAV"])
    assert "rock/a" not in tracks and len(tracks) == 4
    assert ".flac" in AUDIO_EXTENSIONS and ".au" in AUDIO_EXTENSIONS


def test_iter_audio_files_skips_hidden(tree: Path) -> None:
    names = [p.name for p in iter_audio_files(tree / "jazz")]
    assert names == ["m.wav", "z.wav"]


def test_loose_files_warn(tree: Path) -> None:
    write_tone(tree / "stray.wav")
    with pytest.warns(UserWarning, match="no label folder"):
        tracks = load_folder(tree)
    assert len(tracks) == 5


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_folder(tmp_path / "nope")


def test_root_is_a_file(tmp_path: Path) -> None:
    f = write_tone(tmp_path / "a.wav")
    with pytest.raises(DatasetError, match="not a folder"):
        load_folder(f)


def test_no_audio(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "readme.txt").write_text("x")
    with pytest.raises(DatasetError, match="no audio files"):
        load_folder(tmp_path)


def test_one_class(tmp_path: Path) -> None:
    write_tone(tmp_path / "only" / "a.wav")
    write_tone(tmp_path / "only" / "b.wav")
    msg = r"a dataset needs at least 2 classes, found 1: 'only' \(2 files\)"
    with pytest.raises(DatasetError, match=msg):
        load_folder(tmp_path)


def test_same_id_twice(tmp_path: Path) -> None:
    write_tone(tmp_path / "a" / "x.wav")
    write_tone(tmp_path / "a" / "x.flac")
    write_tone(tmp_path / "b" / "y.wav")
    with pytest.raises(DatasetError, match="same track id 'a/x'"):
        load_folder(tmp_path)


def test_music_speech(shared_data: Path) -> None:
    tracks = load_folder(shared_data / "music_speech")
    assert tracks.classes == ["music", "speech"]
    assert len(tracks) == 128
    assert np.bincount(tracks.y).tolist() == [64, 64]
    assert tracks.ids[0] == "music/bagpipe"
    assert all(t.path.suffix == ".flac" for t in tracks)
    assert tracks.ids == sorted(tracks.ids)

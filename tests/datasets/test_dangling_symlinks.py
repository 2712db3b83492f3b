"""A dangling symbolic link in a dataset is a bad file named with its target, never dropped silently
(issue #11, finding 5)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mirlearn.datasets.folder import dangling_symlink, iter_audio_files, load_folder
from mirlearn.datasets.gtzan import GENRES, load_gtzan, validate_gtzan
from mirlearn.datasets.manifest import load_manifest
from mirlearn.errors import DatasetError
from mirlearn.features.cache import extract_frames
from mirlearn.features.settings import FrameSettings



def write_tone(path: Path, seconds: float = 0.05, sr: int = 8000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr)
    return path


def make_tree(data_dir: Path, per_genre: int) -> Path:
    """GTZAN genre folders with ``per_genre`` tiny clips each."""
    for g in GENRES:
        for i in range(per_genre):
            write_tone(data_dir / g / f"{g}.{i:05d}.wav")
    return data_dir


def _link_to_nothing(link: Path, tmp_path: Path) -> Path:
    target = tmp_path / "moved-away" / link.name
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)
    return target


def test_dangling_symlink_cause(tmp_path: Path) -> None:
    target = _link_to_nothing(tmp_path / "x.wav", tmp_path)
    assert dangling_symlink(tmp_path / "x.wav") == f"dangling symlink to {target}"
    write_tone(tmp_path / "y.wav")
    os.symlink(tmp_path / "y.wav", tmp_path / "z.wav")
    assert dangling_symlink(tmp_path / "y.wav") is None and dangling_symlink(tmp_path / "z.wav") is None


def test_folder_keeps_the_link_and_extraction_names_it(tmp_path: Path) -> None:
    root = tmp_path / "set"
    for name in ("a/1.wav", "a/2.wav", "b/1.wav", "b/2.wav"):
        write_tone(root / name, seconds=0.3, sr=22050)
    target = _link_to_nothing(root / "b" / "3.wav", tmp_path)
    assert root / "b" / "3.wav" in iter_audio_files(root / "b")
    tracks = load_folder(root)
    assert "b/3" in tracks.ids
    with pytest.raises(DatasetError) as err:
        extract_frames(tracks, FrameSettings(), cache_dir=tmp_path / "c", n_jobs=1, progress=False)
    assert f"3.wav: dangling symlink to {target}" in str(err.value) and "--skip-bad" in str(err.value)
    with pytest.warns(UserWarning, match="3.wav: dangling symlink to"):
        fs = extract_frames(tracks, FrameSettings(), cache_dir=tmp_path / "c", n_jobs=1, progress=False,
                            skip_bad=True)
    assert "b/3" not in fs.tracks.ids and fs.n_tracks == 4


@pytest.mark.parametrize("check", ["none", "quick"])
def test_gtzan_reports_the_link_like_an_undecodable_clip(tmp_path: Path, check: str) -> None:
    data = make_tree(tmp_path / "g", 2)
    target = _link_to_nothing(data / "rock" / "rock.00002.wav", tmp_path)
    report = validate_gtzan(tmp_path / "g", check=check)
    assert report.bad == {data / "rock" / "rock.00002.wav": f"dangling symlink to {target}"}
    assert "rock.00002" not in report.missing and report.extra == []
    assert "rock/rock.00002.wav: dangling symlink to" in str(report)
    with pytest.warns(UserWarning, match=r"rock/rock.00002.wav \(dangling symlink to"):
        tracks = load_gtzan(tmp_path / "g", check=check)
    assert "rock.00002" not in tracks.ids
    with pytest.raises(DatasetError, match="dangling symlink to"):
        load_gtzan(tmp_path / "g", strict=True, check=check)


def test_manifest_names_the_link(tmp_path: Path) -> None:
    write_tone(tmp_path / "a.wav")
    _link_to_nothing(tmp_path / "b.wav", tmp_path)
    (tmp_path / "m.csv").write_text("path,label\na.wav,x\nb.wav,y\n")
    with pytest.raises(DatasetError, match="line 3: dangling symlink to .*moved-away/b.wav: b.wav"):
        load_manifest(tmp_path / "m.csv")

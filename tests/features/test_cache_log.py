"""What extract_frames tells a person: progress lines in a pipe, and why a file is bad (issue #11)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import DatasetError
from mirlearn.features.cache import extract_frames
from mirlearn.features.settings import FrameSettings

SR = 22050


@pytest.fixture
def clips(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    d = tmp_path / "audio"
    d.mkdir()
    paths = []
    for i in range(3):
        paths.append(d / f"t{i}.wav")
        sf.write(paths[-1], (0.1 * rng.standard_normal(SR // 2)).astype(np.float32), SR, subtype="FLOAT")
    return paths


def test_progress_in_a_pipe_is_lines_without_carriage_returns(clips, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MIRLEARN_PROGRESS", raising=False)
    tracks = TrackTable(Track(p.stem, p, "ab"[i % 2]) for i, p in enumerate(clips))
    extract_frames(tracks, FrameSettings(), cache_dir=tmp_path / "c", n_jobs=1, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    assert err.splitlines()[-1].startswith("fft frames: 3/3 tracks (100%)")


def test_dangling_symlink_is_named_with_its_target(clips, tmp_path):
    link = clips[0].parent / "gone.wav"
    os.symlink(tmp_path / "elsewhere" / "gone.wav", link)
    tracks = TrackTable([*(Track(p.stem, p, "ab"[i % 2]) for i, p in enumerate(clips)), Track("gone", link, "a")])
    with pytest.raises(DatasetError) as err:
        extract_frames(tracks, FrameSettings(), cache_dir=tmp_path / "c", n_jobs=1, progress=False)
    assert f"gone.wav: dangling symlink to {tmp_path / 'elsewhere' / 'gone.wav'}" in str(err.value)
    with pytest.warns(UserWarning, match="dangling symlink to"):
        fs = extract_frames(tracks, FrameSettings(), cache_dir=tmp_path / "c", n_jobs=1, progress=False,
                            skip_bad=True)
    assert fs.tracks.ids == ["t0", "t1", "t2"]

"""Synthetic music collection: layout, determinism, reuse, and classes that differ but overlap."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import stats

from mirlearn.datasets.folder import load_folder
from mirlearn.datasets.synthetic import (META_NAME, class_names, class_styles, make_synthetic,
                                         synthesize_clip)
from mirlearn.errors import DatasetError

SMALL = dict(n_classes=3, clips_per_class=2, seconds=0.5, sr=8000)


def digest(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.wav"))}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synthetic(tmp_path_factory.mktemp("syn") / "set", **SMALL, seed=7)


def test_layout_and_format(made: Path) -> None:
    tracks = load_folder(made)
    assert tracks.classes == ["synth0", "synth1", "synth2"]
    assert tracks.ids == [f"synth{k}/synth{k}.{i:05d}" for k in range(3) for i in range(2)]
    for t in tracks:
        info = sf.info(str(t.path))
        assert (info.samplerate, info.channels, info.frames) == (8000, 1, 4000)
        assert info.subtype == "PCM_16" and info.format == "WAV"
        y, _ = sf.read(t.path)
        assert 0.25 < np.abs(y).max() < 0.95  # peak normalised, no clipping
    meta = json.loads((made / META_NAME).read_text())
    assert meta["complete"] and meta["params"]["seed"] == 7
    assert [c["file"] for c in meta["clips"]] == [f"{i}.wav" for i in tracks.ids]
    assert {"tempo", "register", "rolloff", "key", "scale"} <= set(meta["clips"][0])
    assert not [p for p in made.rglob(".*")]  # no temporary files left


def test_same_seed_same_bytes_other_seed_differs(made: Path, tmp_path: Path) -> None:
    again = make_synthetic(tmp_path / "again", **SMALL, seed=7)
    assert digest(again) == digest(made)
    assert (again / META_NAME).read_bytes() == (made / META_NAME).read_bytes()
    other = make_synthetic(tmp_path / "other", **SMALL, seed=8)
    a, b = digest(made), digest(other)
    assert a.keys() == b.keys() and all(a[k] != b[k] for k in a)


def test_more_clips_keep_the_first_ones(made: Path, tmp_path: Path) -> None:
    more = make_synthetic(tmp_path / "more", **{**SMALL, "clips_per_class": 3}, seed=7)
    a, b = digest(made), digest(more)
    assert len(b) == 9 and all(b[k] == a[k] for k in a)


def test_reuse_resume_regenerate(tmp_path: Path) -> None:
    root = make_synthetic(tmp_path / "s", **SMALL)
    first = digest(root)
    wav = root / "synth1" / "synth1.00001.wav"
    stamp = {p: p.stat().st_mtime_ns for p in root.rglob("*.wav")}
    os.utime(wav, ns=(1, 1))
    make_synthetic(root, **SMALL)                       # same request: nothing written
    assert wav.stat().st_mtime_ns == 1
    wav.unlink()                                        # a lost file is made again, identical
    make_synthetic(root, **SMALL)
    assert digest(root) == first
    assert all(p.stat().st_mtime_ns == t for p, t in stamp.items() if p != wav)
    make_synthetic(root, **SMALL, overwrite=True)       # forced: every file rewritten
    assert wav.stat().st_mtime_ns != 1 and digest(root) == first
    make_synthetic(root, **{**SMALL, "n_classes": 2, "clips_per_class": 1})  # new parameters
    assert sorted(digest(root)) == ["synth0/synth0.00000.wav", "synth1/synth1.00000.wav"]
    assert not (root / "synth2").exists()
    assert json.loads((root / META_NAME).read_text())["params"]["n_classes"] == 2


def test_interrupted_run_resumes(tmp_path: Path) -> None:
    root = make_synthetic(tmp_path / "s", **SMALL)
    meta = json.loads((root / META_NAME).read_text())
    meta["complete"] = False
    (root / META_NAME).write_text(json.dumps(meta))
    (root / "synth0" / "synth0.00000.wav").write_bytes(b"RIFF half-written")
    make_synthetic(root, **SMALL)
    assert digest(root) == digest(make_synthetic(tmp_path / "ref", **SMALL))
    assert json.loads((root / META_NAME).read_text())["complete"]


def test_refuses_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("user data")
    with pytest.raises(DatasetError, match="not empty"):
        make_synthetic(tmp_path, **SMALL)
    make_synthetic(tmp_path, **SMALL, overwrite=True)
    assert (tmp_path / "mine.txt").read_text() == "user data"
    with pytest.raises(DatasetError, match="not a folder"):
        make_synthetic(tmp_path / "mine.txt", **SMALL)


def test_parallel_equals_serial(made: Path, tmp_path: Path) -> None:
    par = make_synthetic(tmp_path / "par", **SMALL, seed=7, n_jobs=3)
    assert digest(par) == digest(made)


def test_bad_arguments(tmp_path: Path) -> None:
    for kw in ({"n_classes": 1}, {"clips_per_class": 0}, {"seconds": 0.0}):
        with pytest.raises(ValueError):
            make_synthetic(tmp_path / "x", **{**SMALL, **kw})


def test_class_definitions() -> None:
    assert class_names(10)[:2] == ["synth0", "synth1"] and class_names(12)[0] == "synth00"
    styles = class_styles(4)
    assert class_styles(4) == styles
    for attr in ("tempo", "register", "rolloff"):
        w = sorted(s.windows[attr] for s in styles)
        assert all(a[1] > b[0] for a, b in zip(w, w[1:]))   # neighbours overlap
        assert len({s.windows[attr] for s in styles}) == 4  # but every class has its own


def spectral_centroid(y: np.ndarray, sr: int) -> float:
    frames = np.lib.stride_tricks.sliding_window_view(y, 1024)[::512] * np.hanning(1024)
    mag = np.abs(np.fft.rfft(frames, axis=1))
    return float((mag.sum(0) @ np.fft.rfftfreq(1024, 1 / sr)) / mag.sum())


def test_classes_differ_but_overlap() -> None:
    styles = class_styles(4)
    root = np.random.SeedSequence(0)
    cent = np.array([[spectral_centroid(synthesize_clip(s, c, seconds=1.5, sr=22050)[0], 22050)
                      for c in ss.spawn(8)]
                     for s, ss in zip(styles, root.spawn(4))])          # (class, clip), Hz
    assert stats.f_oneway(*cent).pvalue < 1e-3                           # classes differ ...
    lo, hi = cent.min(1), cent.max(1)
    overlapping = [(a, b) for a in range(4) for b in range(a + 1, 4) if lo[a] < hi[b] and lo[b] < hi[a]]
    assert overlapping                                                   # ... but overlap
    tempos = np.array([[synthesize_clip(s, c, seconds=0.2, sr=8000)[1]["tempo"] for c in ss.spawn(8)]
                       for s, ss in zip(styles, root.spawn(4))])
    for s, t in zip(styles, tempos):
        assert np.all((t >= s.windows["tempo"][0]) & (t <= s.windows["tempo"][1]))


def test_synthesize_clip_is_pure() -> None:
    style = class_styles(2)[1]
    seed = np.random.SeedSequence(3)
    y1, p1 = synthesize_clip(style, seed, seconds=0.3, sr=8000)
    y2, p2 = synthesize_clip(style, seed, seconds=0.3, sr=8000)    # same object again
    assert np.array_equal(y1, y2) and p1 == p2
    assert y1.dtype == np.float32 and y1.shape == (2400,) and np.all(np.isfinite(y1))

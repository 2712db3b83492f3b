"""Tests of mirlearn.features.cache: extraction, cache hits and misses, atomicity, bad files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import mirlearn.features.cache as cache
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import AudioError, DatasetError
from mirlearn.features.cache import cache_key, clear_cache, extract_frames
from mirlearn.features.representations.fft import magnitude_frames
from mirlearn.features.settings import FrameSettings, frame_count

SR = 22050
SETTINGS = FrameSettings()


def _wav(path: Path, seconds: float, rng: np.random.Generator) -> Path:
    sf.write(path, (0.1 * rng.standard_normal(round(seconds * SR))).astype(np.float32), SR, subtype="FLOAT")
    return path


@pytest.fixture
def good(tmp_path: Path, rng: np.random.Generator) -> TrackTable:
    """Four short clips of different lengths (0.5 to 1.3 s), two labels."""
    d = tmp_path / "audio"
    d.mkdir()
    secs = [0.5, 1.3, 0.8, 1.0]
    return TrackTable(Track(f"t{i}", _wav(d / f"t{i}.wav", s, rng), "ab"[i % 2]) for i, s in enumerate(secs))


@pytest.fixture
def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths decoded in this process (use n_jobs=1 to see them all)."""
    calls: list[str] = []
    real = cache._decode

    def counting(path: str, sr: int, max_seconds):
        calls.append(path)
        return real(path, sr, max_seconds)

    monkeypatch.setattr(cache, "_decode", counting)
    return calls


def _extract(tracks: TrackTable, cache_dir: Path, **kw) -> "cache.FrameSet":
    kw.setdefault("n_jobs", 1)
    kw.setdefault("progress", False)
    return extract_frames(tracks, kw.pop("settings", SETTINGS), cache_dir=cache_dir, **kw)


def _folders(cache_dir: Path) -> list[str]:
    return sorted(p.name for p in cache_dir.iterdir()) if cache_dir.exists() else []


def test_frames_equal_direct_computation(good: TrackTable, tmp_path: Path) -> None:
    fs = _extract(good, tmp_path / "c")
    assert isinstance(fs.X, np.memmap) and not fs.X.flags.writeable
    assert fs.X.dtype == np.float32 and fs.X.shape[1] == 513
    assert fs.tracks.ids == good.ids
    for i, t in enumerate(good):
        y = sf.read(t.path, dtype="float32")[0]
        assert fs.lengths[i] == frame_count(len(y), SETTINGS)
        np.testing.assert_array_equal(fs.track_frames(i), magnitude_frames(y))
    meta = json.loads((tmp_path / "c" / f"frames-{cache_key(good, SETTINGS)[:16]}" / "meta.json").read_text())
    framing = {k: v for k, v in SETTINGS.to_dict().items() if k != "max_seconds"}
    assert meta["shape"] == list(fs.X.shape) and meta["n_bad"] == 0 and meta["settings"] == framing
    assert fs.time_base == SETTINGS.time_base and fs.time_base.kind == "fft"


def test_hit_does_not_decode(good: TrackTable, tmp_path: Path, count_decodes: list[str]) -> None:
    first = _extract(good, tmp_path / "c")
    assert len(count_decodes) == 4
    second = _extract(good, tmp_path / "c")
    assert len(count_decodes) == 4  # nothing decoded again
    np.testing.assert_array_equal(first.X, second.X)
    np.testing.assert_array_equal(first.offsets, second.offsets)


def test_relabelling_reuses_frames(good: TrackTable, tmp_path: Path, count_decodes: list[str]) -> None:
    _extract(good, tmp_path / "c")
    relabelled = TrackTable(Track(t.track_id, t.path, "zz") for t in good)
    fs = _extract(relabelled, tmp_path / "c")
    assert len(count_decodes) == 4 and fs.tracks.labels == ["zz"] * 4


def test_touched_file_or_new_settings_miss(good: TrackTable, tmp_path: Path, count_decodes: list[str]) -> None:
    c = tmp_path / "c"
    _extract(good, c)
    st = os.stat(good[1].path)
    os.utime(good[1].path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    _extract(good, c)
    assert len(count_decodes) == 8
    fs = _extract(good, c, settings=FrameSettings(hop_length=256))
    assert len(count_decodes) == 12
    assert fs.lengths[0] == frame_count(SR // 2, FrameSettings(hop_length=256))
    _extract(good, c, max_seconds=0.6)
    assert len(count_decodes) == 16
    _extract(good[:3], c)  # another track list
    assert len(count_decodes) == 19
    assert len([n for n in _folders(c) if n.startswith("frames-")]) == 5


def test_max_seconds_truncates(good: TrackTable, tmp_path: Path) -> None:
    fs = _extract(good, tmp_path / "c", max_seconds=0.6)
    n = frame_count(round(0.6 * SR), SETTINGS)
    np.testing.assert_array_equal(fs.lengths, [frame_count(SR // 2, SETTINGS), n, n, n])


def test_max_seconds_setting_is_the_argument(good: TrackTable, tmp_path: Path,
                                              count_decodes: list[str]) -> None:
    c = tmp_path / "c"
    by_arg = _extract(good, c, max_seconds=0.6)
    short = SETTINGS.replace(max_seconds=0.6)
    assert cache_key(good, short) == cache_key(good, SETTINGS, 0.6) != cache_key(good, SETTINGS)
    by_setting = _extract(good, c, settings=short)
    assert len(count_decodes) == 4  # the same cache: read, not decoded again
    np.testing.assert_array_equal(by_setting.X, by_arg.X)
    # The argument overrides the setting, None included.
    whole = _extract(good, c, settings=short, max_seconds=None)
    assert len(count_decodes) == 8
    np.testing.assert_array_equal(whole.offsets, _extract(good, c).offsets)


def test_parallel_equals_serial(good: TrackTable, tmp_path: Path) -> None:
    one = _extract(good, tmp_path / "c1", n_jobs=1)
    two = _extract(good, tmp_path / "c2", n_jobs=2)
    np.testing.assert_array_equal(one.X, two.X)
    np.testing.assert_array_equal(one.offsets, two.offsets)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_leftover_temp_folder_is_never_read(good: TrackTable, tmp_path: Path, count_decodes: list[str]) -> None:
    c = tmp_path / "c"
    c.mkdir()
    key = cache_key(good, SETTINGS)
    # What a run killed after writing some frames (and even a meta.json) leaves behind.
    left = c / f".frames-{key}.tmp-{_dead_pid()}"
    left.mkdir()
    (left / "X.f32").write_bytes(b"\0" * 4 * 513)
    (left / "meta.json").write_text(json.dumps({"key": key, "format": cache.FORMAT_VERSION,
                                                "shape": [1, 513], "bad": []}))
    fs = _extract(good, c)
    assert len(count_decodes) == 4
    assert not left.exists()  # cleaned: its process is gone
    assert fs.X.shape[0] == fs.offsets[-1] > 1
    assert _folders(c) == [f"frames-{key[:16]}"]


def test_incomplete_final_folder_is_not_a_hit(good: TrackTable, tmp_path: Path, count_decodes: list[str]) -> None:
    c = tmp_path / "c"
    final = c / f"frames-{cache_key(good, SETTINGS)[:16]}"
    final.mkdir(parents=True)
    (final / "X.f32").write_bytes(b"")  # no meta.json
    fs = _extract(good, c)
    assert len(count_decodes) == 4 and (final / "meta.json").is_file()
    assert fs.X.shape[0] == fs.offsets[-1]


def test_error_midway_leaves_no_trace(good: TrackTable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = tmp_path / "c"
    _extract(good[:2], c)
    before = _folders(c)
    stamp = os.stat(c / before[0] / "X.f32").st_mtime_ns
    real = cache._decode

    def failing(path: str, sr: int, max_seconds):
        if path.endswith("t2.wav"):
            raise RuntimeError("a bug")
        return real(path, sr, max_seconds)

    monkeypatch.setattr(cache, "_decode", failing)
    with pytest.raises(RuntimeError, match="a bug"):
        _extract(good, c)
    assert _folders(c) == before  # no temporary folder, no new cache
    assert os.stat(c / before[0] / "X.f32").st_mtime_ns == stamp


@pytest.fixture
def with_bad(good: TrackTable, tmp_path: Path, rng: np.random.Generator) -> TrackTable:
    d = tmp_path / "audio"
    (d / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + rng.bytes(300))
    (d / "empty.wav").write_bytes(b"")
    sf.write(d / "short.wav", np.zeros(700, np.float32), SR)
    bad = [Track("corrupt", d / "corrupt.wav", "a"), Track("empty", d / "empty.wav", "b"),
           Track("short", d / "short.wav", "a")]
    return TrackTable([good[0], bad[0], good[1], bad[1], bad[2], good[2]])


def test_bad_files_are_all_listed(with_bad: TrackTable, tmp_path: Path) -> None:
    c = tmp_path / "c"
    with pytest.raises(DatasetError) as err:
        _extract(with_bad, c, n_jobs=2)
    msg = str(err.value)
    lines = msg.splitlines()
    assert lines[0] == "3 of 6 audio files cannot be used:"
    assert any("corrupt.wav: " in line for line in lines)
    assert any("empty.wav: empty file" in line for line in lines)
    assert any("short.wav: shorter than one frame (700 samples < 1024)" in line for line in lines)
    assert "--skip-bad" in lines[-1]
    # Asked again, it answers the same from the cache.
    with pytest.raises(DatasetError, match="3 of 6"):
        _extract(with_bad, c)


def test_skip_bad_warns_and_keeps_the_rest(with_bad: TrackTable, tmp_path: Path, count_decodes: list[str]) -> None:
    c = tmp_path / "c"
    with pytest.warns(UserWarning, match="3 of 6 audio files cannot be used and are left out") as rec:
        fs = _extract(with_bad, c, skip_bad=True)
    text = str(rec[0].message)
    assert "corrupt.wav" in text and "empty.wav" in text and "short.wav: shorter than one frame" in text
    assert fs.tracks.ids == ["t0", "t1", "t2"]
    # The table remembers what it left out, so a split naming those tracks drops them.
    assert fs.tracks.left_out == {"corrupt", "empty", "short"}
    assert fs.tracks.classes == with_bad.classes
    meta = json.loads((c / f"frames-{cache_key(with_bad, SETTINGS)[:16]}" / "meta.json").read_text())
    assert meta["n_bad"] == 3 and [b["track_id"] for b in meta["bad"]] == ["corrupt", "empty", "short"]
    n = len(count_decodes)
    with pytest.warns(UserWarning, match="left out"):
        again = _extract(with_bad, c, skip_bad=True)
    assert len(count_decodes) == n + 3  # only the bad files are checked again
    np.testing.assert_array_equal(again.X, fs.X)


def test_recovered_bad_file_rebuilds(good: TrackTable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A file that failed for a reason that changes neither its size nor its mtime
    # (permissions, an unmounted share) is used once it reads again.
    c = tmp_path / "c"
    real = cache._decode
    monkeypatch.setattr(cache, "_decode", lambda p, sr, m: (_ for _ in ()).throw(AudioError(p, "permission denied"))
                        if p.endswith("t1.wav") else real(p, sr, m))
    with pytest.warns(UserWarning, match="t1.wav: permission denied"):
        assert _extract(good, c, skip_bad=True).n_tracks == 3
    monkeypatch.setattr(cache, "_decode", real)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fs = _extract(good, c)
    assert fs.tracks.ids == good.ids
    assert len(_folders(c)) == 1


def test_all_bad_is_an_error(with_bad: TrackTable, tmp_path: Path) -> None:
    only_bad = with_bad.subset(["corrupt", "empty", "short"])
    with pytest.raises(DatasetError, match="none of the 3 audio files"):
        _extract(only_bad, tmp_path / "c", skip_bad=True)
    assert _folders(tmp_path / "c") == []


def test_missing_file_is_bad(good: TrackTable, tmp_path: Path) -> None:
    tracks = TrackTable([*good, Track("gone", tmp_path / "nope.wav", "a")])
    with pytest.raises(DatasetError, match=r"nope\.wav: file not found"):
        _extract(tracks, tmp_path / "c")


def test_clear_cache(good: TrackTable, tmp_path: Path) -> None:
    c = tmp_path / "c"
    _extract(good, c)
    _extract(good[:2], c)
    (c / "other.txt").write_text("not ours")
    (c / f".frames-{'0' * 64}.tmp-1").mkdir()
    assert clear_cache(c) == 3
    assert _folders(c) == ["other.txt"]
    assert clear_cache(tmp_path / "absent") == 0


def test_arguments(good: TrackTable, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no tracks"):
        _extract(good[:0], tmp_path / "c")
    with pytest.raises(ValueError, match="max_seconds"):
        _extract(good, tmp_path / "c", max_seconds=0)
    with pytest.raises(ValueError, match="n_jobs"):
        _extract(good, tmp_path / "c", n_jobs=0)


KILLED_EXTRACTION = """
import sys, time
from pathlib import Path
import mirlearn.features.cache as cache
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.features.settings import FrameSettings

real = cache._decode
def slow(path, sr, max_seconds):  # slow enough to be killed in the middle
    time.sleep(0.5)
    return real(path, sr, max_seconds)
cache._decode = slow
audio, cache_dir = Path(sys.argv[1]), Path(sys.argv[2])
tracks = TrackTable(Track(p.stem, p, "a") for p in sorted(audio.glob("*.wav")))
cache.extract_frames(tracks, FrameSettings(), cache_dir=cache_dir, n_jobs=1, progress=False)
"""


def test_kill_during_extraction_leaves_nothing_a_later_run_does_not_clean(tmp_path: Path, rng) -> None:
    import signal
    import time

    audio = tmp_path / "audio"
    audio.mkdir()
    tracks = TrackTable(Track(f"t{i}", _wav(audio / f"t{i}.wav", 1.0, rng), "a") for i in range(12))
    script = tmp_path / "extract.py"
    script.write_text(KILLED_EXTRACTION)
    c = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, str(script), str(audio), str(c)])
    try:
        for _ in range(600):
            if c.is_dir() and any(p.name.startswith(".frames-") for p in c.iterdir()):
                break
            time.sleep(0.05)
        else:
            pytest.fail("extraction never started")
        time.sleep(1.0)  # a few clips in
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert [p for p in c.iterdir() if p.name.startswith(".frames-")]  # the kill left its temporary ...
    fs = _extract(tracks, c)  # ... the next run removes it and builds the cache whole
    assert _folders(c) == [f"frames-{cache_key(tracks, SETTINGS)[:16]}"]
    assert not [p for p in c.iterdir() if p.name.startswith(".")]
    straight = _extract(tracks, tmp_path / "straight")
    np.testing.assert_array_equal(np.asarray(fs.X), np.asarray(straight.X))

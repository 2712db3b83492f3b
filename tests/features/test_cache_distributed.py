"""Sharded frame extraction under torch.distributed (issue #15): two gloo ranks, each framing its
share of the files, publish the cache one process writes, byte for byte."""

from __future__ import annotations

import json
import os
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import DatasetError
from mirlearn.features import cache, shards
from mirlearn.features.cache import cache_key, extract_frames
from mirlearn.features.settings import FrameSettings

SR = 22050
SETTINGS = FrameSettings()

# One rank: frames of the .wav files of argv[1] into the cache argv[2]; prints one JSON line with
# what it got (ids and shape, or the error), the warnings it gave and the files it decoded.
# MIRLEARN_TEST_FAIL_RANK makes that rank's framing fail (a bug, not a bad file);
# MIRLEARN_TEST_TRANSFORM (JSON keywords of AudioTransform) frames an augmented copy.
RANK_SCRIPT = textwrap.dedent('''
    import json, os, sys, warnings
    from pathlib import Path

    from mirlearn import distributed
    from mirlearn.datasets.tracks import Track, TrackTable
    from mirlearn.errors import DatasetError
    from mirlearn.features import cache
    from mirlearn.features.cache import extract_frames
    from mirlearn.features.settings import FrameSettings

    audio, cache_dir, skip_bad = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
    w = distributed.init()
    decoded = []
    real = cache._decode
    def counting(path, sr, max_seconds):
        decoded.append(Path(path).name)
        if os.environ.get("MIRLEARN_TEST_FAIL_RANK") == str(w.rank):
            raise ValueError("injected failure")
        return real(path, sr, max_seconds)
    cache._decode = counting
    tracks = TrackTable(Track(p.stem, p, "ab"[i % 2]) for i, p in enumerate(sorted(audio.glob("*.wav"))))
    transform = None
    if os.environ.get("MIRLEARN_TEST_TRANSFORM"):
        from mirlearn.features.augment import AudioTransform
        transform = AudioTransform(**json.loads(os.environ["MIRLEARN_TEST_TRANSFORM"]))
    out = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fs = extract_frames(tracks, FrameSettings(), cache_dir=cache_dir, n_jobs=1, progress=False,
                                skip_bad=skip_bad, transform=transform)
            out = {"ids": fs.tracks.ids, "shape": list(fs.X.shape)}
        except Exception as e:
            out = {"error": type(e).__name__ + ": " + str(e)}
    out["warnings"] = [str(c.message) for c in caught]
    out["decoded"] = sorted(decoded)
    print(json.dumps(out))
    distributed.finish()
''')


def _wav(path: Path, seconds: float, rng: np.random.Generator) -> Path:
    sf.write(path, (0.1 * rng.standard_normal(round(seconds * SR))).astype(np.float32), SR, subtype="FLOAT")
    return path


@pytest.fixture
def audio(tmp_path: Path, rng: np.random.Generator) -> Path:
    """Five clips of different lengths (0.3 to 1.1 s): shares of 3 and 2 tracks."""
    d = tmp_path / "audio"
    d.mkdir()
    for i, s in enumerate([0.5, 1.1, 0.3, 0.9, 0.7]):
        _wav(d / f"t{i}.wav", s, rng)
    return d


@pytest.fixture
def script(tmp_path: Path) -> Path:
    p = tmp_path / "rank.py"
    p.write_text(RANK_SCRIPT)
    return p


def _table(audio: Path) -> TrackTable:
    return TrackTable(Track(p.stem, p, "ab"[i % 2]) for i, p in enumerate(sorted(audio.glob("*.wav"))))


def _run_ranks(ranks, script: Path, audio: Path, cache_dir: Path, *, skip_bad: bool = False,
               env: dict[str, str] | None = None) -> list[dict]:
    """Start two ranks on ``script``; their JSON lines, rank order (a rank that crashed fails the test)."""
    results = ranks([str(script), str(audio), str(cache_dir), "1" if skip_bad else "0"], 2,
                    env={"MIRLEARN_PROGRESS": "lines", **(env or {})}).wait(timeout=120)
    out = []
    for rank, (rc, so, se) in enumerate(results):
        assert rc == 0, f"rank {rank} exited {rc}:\n{se[-3000:]}"
        out.append(json.loads(so.strip().splitlines()[-1]))
    return out


def _single(audio: Path, cache_dir: Path, *, skip_bad: bool = False, transform=None):
    """The cache one process writes (n_jobs=2: threads do not change the bytes)."""
    return extract_frames(_table(audio), SETTINGS, cache_dir=cache_dir, n_jobs=2, progress=False, skip_bad=skip_bad,
                          transform=transform)


def _files(cache_dir: Path) -> dict[str, bytes]:
    """Every file under ``cache_dir`` (hidden ones included), by relative path."""
    return {str(p.relative_to(cache_dir)): p.read_bytes() for p in sorted(cache_dir.rglob("*")) if p.is_file()}


def _assert_same_cache(got: Path, want: Path) -> None:
    a, b = _files(got), _files(want)
    assert sorted(a) == sorted(b)  # no shard or temporary folder left beside the cache
    for name in b:
        assert a[name] == b[name], f"{name} differs from the single-process cache"


def test_two_ranks_publish_the_single_process_cache_bit_for_bit(ranks, script, audio, tmp_path):
    got = _run_ranks(ranks, script, audio, tmp_path / "dist")
    _single(audio, tmp_path / "one")
    _assert_same_cache(tmp_path / "dist", tmp_path / "one")
    ids = [f"t{i}" for i in range(5)]
    assert [g["ids"] for g in got] == [ids, ids] and got[0]["shape"] == got[1]["shape"]
    # Round-robin shares: rank 0 decodes t0, t2, t4 and rank 1 t1, t3; nothing twice.
    assert got[0]["decoded"] == ["t0.wav", "t2.wav", "t4.wav"] and got[1]["decoded"] == ["t1.wav", "t3.wav"]
    # A second launch finds the published cache: nothing is decoded.
    again = _run_ranks(ranks, script, audio, tmp_path / "dist")
    assert [g["decoded"] for g in again] == [[], []] and again[0]["shape"] == got[0]["shape"]
    _assert_same_cache(tmp_path / "dist", tmp_path / "one")


def test_a_bad_file_is_reported_as_in_one_process(ranks, script, audio, tmp_path):
    (audio / "t2.wav").write_bytes(b"not audio at all")
    got = _run_ranks(ranks, script, audio, tmp_path / "dist")
    with pytest.raises(DatasetError) as one:
        _single(audio, tmp_path / "one")
    # Every rank raises the error one process raises; the caches (bad list included) are equal.
    assert [g["error"] for g in got] == [f"DatasetError: {one.value}"] * 2
    assert "t2.wav" in str(one.value)
    _assert_same_cache(tmp_path / "dist", tmp_path / "one")
    # With skip_bad: rank 0 warns as one process does, rank 1 keeps quiet; both leave t2 out.
    got = _run_ranks(ranks, script, audio, tmp_path / "dist", skip_bad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fs = _single(audio, tmp_path / "one", skip_bad=True)
    assert got[0]["warnings"] == [str(c.message) for c in caught] and got[1]["warnings"] == []
    assert got[0]["ids"] == got[1]["ids"] == fs.tracks.ids == ["t0", "t1", "t3", "t4"]
    # Only the bad file was decoded again, by rank 0 (to see whether it became readable).
    assert got[0]["decoded"] == ["t2.wav"] and got[1]["decoded"] == []


def test_an_augmented_copy_is_sharded_the_same_way(ranks, script, audio, tmp_path):
    from mirlearn.features.augment import AudioTransform

    # Noise and a random 0.6 s segment: draws per track; t0 and t2 are too short (notes).
    kw = {"kind": "noise", "value": 20.0, "crop_seconds": 0.6, "seed": 3}
    got = _run_ranks(ranks, script, audio, tmp_path / "dist", env={"MIRLEARN_TEST_TRANSFORM": json.dumps(kw)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _single(audio, tmp_path / "one", transform=AudioTransform(**kw))
    _assert_same_cache(tmp_path / "dist", tmp_path / "one")
    assert got[0]["warnings"] == [str(c.message) for c in caught] and got[1]["warnings"] == []
    assert "t0.wav" in got[0]["warnings"][0] and "t2.wav" in got[0]["warnings"][0]


def test_a_finished_shard_is_reused_and_dead_leftovers_are_cleaned(ranks, script, audio, tmp_path):
    from mirlearn.distributed import World

    tracks, cache_dir = _table(audio), tmp_path / "dist"
    cache_dir.mkdir()
    key = cache_key(tracks, SETTINGS)
    # Rank 1 of an earlier launch finished its shard before the job was killed ...
    shards._ensure_shard(World(rank=1, size=2), cache_dir, tracks, SETTINGS, key, n_jobs=1, progress=False,
                         max_seconds=None, transform=None)
    # ... and rank 0 died while writing its own; another machine's part may still be in use.
    host = cache._owner(True).rpartition("-")[0]
    dead = cache_dir / f".frames-{key}.shard-0of2.part-{host}-999999999"
    elsewhere = cache_dir / f".frames-{key}.shard-0of2.part-other-host-{os.getpid()}"
    for d in (dead, elsewhere):
        d.mkdir()
        (d / "X.f32").write_bytes(b"partial")
    got = _run_ranks(ranks, script, audio, cache_dir)
    assert got[0]["decoded"] == ["t0.wav", "t2.wav", "t4.wav"] and got[1]["decoded"] == []
    assert not dead.exists() and elsewhere.is_dir()
    elsewhere.rename(tmp_path / "elsewhere")  # the other machine's business; not part of the cache
    _single(audio, tmp_path / "one")
    _assert_same_cache(cache_dir, tmp_path / "one")


def test_a_failing_rank_fails_every_rank_without_hanging(ranks, script, audio, tmp_path):
    got = _run_ranks(ranks, script, audio, tmp_path / "dist", env={"MIRLEARN_TEST_FAIL_RANK": "1"})
    assert got[1]["error"] == "ValueError: injected failure"
    assert got[0]["error"] == "RuntimeError: frame extraction failed on rank 1: ValueError: injected failure"
    # Nothing published; rank 0's finished shard waits for the next launch.
    names = os.listdir(tmp_path / "dist")
    assert not [n for n in names if n.startswith("frames-")]
    assert names == [f".frames-{cache_key(_table(audio), SETTINGS)}.shard-0of2"]


def test_owner_tags_name_the_machine_for_ranks() -> None:
    mine = cache._owner(True)
    assert mine.endswith(f"-{os.getpid()}") and cache._owner(False) == str(os.getpid())
    host = mine.rpartition("-")[0]
    assert cache._owner_gone(f"{host}-999999999") and not cache._owner_gone(mine)
    assert not cache._owner_gone("some-other-machine-999999999")  # cannot tell: left alone
    assert cache._owner_gone("999999999") and not cache._owner_gone("garbage")

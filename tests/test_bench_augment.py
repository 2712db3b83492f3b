"""Smoke tests of the augmentation benchmark's parts (benchmarks/bench_augment.py) on tiny sizes; no timing asserted."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytest

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # the benchmarks package lives beside src/, not in it
    sys.path.insert(0, str(_ROOT))

from benchmarks import bench_augment  # noqa: E402

pytest.importorskip("librosa")


def test_log_spectral_distance_is_zero_for_identical_and_grows_with_noise(rng: np.random.Generator) -> None:
    y = bench_augment.synthetic_music(1.0)
    assert bench_augment.log_spectral_distance(y, y) == 0.0
    quiet = y + 0.001 * rng.standard_normal(len(y)).astype(np.float32)
    loud = y + 0.05 * rng.standard_normal(len(y)).astype(np.float32)
    assert 0 < bench_augment.log_spectral_distance(y, quiet) < bench_augment.log_spectral_distance(y, loud)


def test_synthetic_music_and_missing_file_fallback(tmp_path: Path) -> None:
    y = bench_augment.synthetic_music(0.5)
    assert y.dtype == np.float32 and len(y) == bench_augment.SR // 2 and np.abs(y).max() <= 0.8 + 1e-6
    got, source = bench_augment.load_signal(0.5, tmp_path / "absent.flac")
    assert source.startswith("synthetic") and len(got) == len(y)


def test_dominant_frequency_of_the_tone() -> None:
    assert bench_augment.dominant_frequency(bench_augment.tone()) == pytest.approx(440.0, rel=1e-5)


def test_quality_of_librosa_on_a_short_signal() -> None:
    music = bench_augment.synthetic_music(0.5)
    q = bench_augment.quality("librosa", music, rates=(0.5, 1.5), shifts=(2,))
    assert q["duration_pct"] < 1.0 and q["shift_cents"] < 5.0 and q["stretch_cents"] < 5.0
    assert {"lsd_stretch_0.5", "lsd_stretch_1.2", "lsd_shift_5"} <= set(q) and q["lsd_shift_5"] > 0


def test_every_case_runs_and_ours_equals_the_library_call() -> None:
    y = bench_augment.synthetic_music(0.3)
    cases = bench_augment.cases(bench_augment.available_backends())
    assert any("gain" in c[0] for c in cases) and any("add_noise" in c[0] for c in cases)
    for what, ours, ref, _ in cases:
        a, b = ours(y), np.asarray(ref(y)).reshape(-1)
        # Rubber Band rounds len / rate half up, we (as librosa) to even: at most one sample apart
        assert a.dtype == np.float32 and abs(len(a) - len(b)) <= 1, what
        if "add_noise" not in what:  # the same library call underneath (noise: a different draw)
            n = min(len(a), len(b))
            np.testing.assert_allclose(a[:n], b[:n], atol=1e-6, err_msg=what)
    t_ours, t_ref = bench_augment.interleaved(lambda: cases[-2][1](y), lambda: cases[-2][2](y), repeats=1)
    assert t_ours > 0 and t_ref > 0


def test_run_writes_a_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The whole section on 0.3 s of synthetic audio and the tone: a smoke run of run(), with
    # librosa only (Rubber Band's high-quality mode costs ~0.1 s a call even on 0.3 s; its calls
    # are run by the test above).
    monkeypatch.setattr(bench_augment, "available_backends", lambda: ["librosa"])
    monkeypatch.setattr(bench_augment, "RATES", (0.5, 1.5))
    monkeypatch.setattr(bench_augment, "SHIFTS", (-2, 2))
    args = argparse.Namespace(quick=True, repeats=1, seconds=0.3, file=str(tmp_path / "absent.flac"), label="smoke")
    sec = bench_augment.run(args)
    md = sec.to_markdown()
    assert sec.name == "augment" and "× real time" in md and "round-trip log-spectral distance" in md
    assert "synthetic" in md and "smoke" in md and "Not measured (package absent): rubberband" in md
    assert sec.save(tmp_path).is_file()

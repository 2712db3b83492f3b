"""Log-mel and CQT frame extraction, mirlearn against librosa; run by hand.

    python -m benchmarks.bench_spectra [--n-clips 20] [--seconds 30] [--rounds 3]

What is measured (one process, in-memory signals, so decoding is not counted): the time to turn
``n_clips`` synthetic clips of ``seconds`` s at 22050 Hz (tones, chirps and noise, seeded)
into frames, expressed per minute of audio, for

- ``logmel``: ``frames(y, FrameSettings(kind="logmel", n_mels=N))`` (|FFT| 1024/512, Slaney
  mel, dB floored 80 dB below the track's maximum) against
  ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=22050, n_fft=1024,
  hop_length=512, center=False, n_mels=N), top_db=80)``, for N = 128 and 80;
- ``cqt``: ``frames(y, FrameSettings(kind="cqt", ...))`` (80 bins from C1, 12 or 24 per
  octave, hop 512, dB floored as above) against ``librosa.amplitude_to_db(np.abs(
  librosa.cqt(y, sr=22050, hop_length=512, n_bins=80, bins_per_octave=B)), top_db=80)``
  (librosa's defaults otherwise, among them ``sparsity=0.01``, its fast approximation).

Both sides run once on every clip first (librosa's first call costs seconds of imports and
JIT, which would otherwise be charged to it), and the largest dB difference over the frames
both have is recorded (for the CQT, librosa's ``sparsity=0.01`` shows in quiet bins; against
``sparsity=0`` ours is within 0.01 dB, see tests/features/representations/test_cqt.py). Ours and librosa are then timed in alternating rounds, the median round
kept, so that bursts of other work on a shared machine hit both alike. Target (issue #12):
at least as fast as librosa, ratio = librosa's time / ours (> 1: ours is faster).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, Sequence

import numpy as np

from benchmarks.common import Section, run_and_save, timed_section

SR = 22050
HOP = 512


def synthetic_clips(n: int, seconds: float, seed: int = 0) -> list[np.ndarray]:
    """``n`` float32 mono clips: two steady tones, a chirp and noise, different per clip."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    clips = []
    for _ in range(n):
        f1, f2 = rng.uniform(50, 400), rng.uniform(400, 3000)
        f0, f_end = rng.uniform(100, 1000), rng.uniform(1000, 8000)
        chirp = np.sin(2 * np.pi * (f0 * t + (f_end - f0) * t ** 2 / (2 * seconds)))
        y = 0.3 * np.sin(2 * np.pi * f1 * t) + 0.2 * np.sin(2 * np.pi * f2 * t) + 0.1 * chirp
        y += 0.02 * rng.standard_normal(len(t))
        clips.append(y.astype(np.float32))
    return clips


def _cases() -> list[tuple[str, Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray], str]]:
    """(what, ours, librosa's, reference name); both map a clip to frames × bands in dB."""
    import librosa

    from mirlearn.features.representations import frames
    from mirlearn.features.settings import FrameSettings

    cases = []
    for n_mels in (128, 80):
        s = FrameSettings(kind="logmel", n_mels=n_mels)
        cases.append((
            f"log-mel, {n_mels} bands (|FFT| 1024/512, dB, 80 dB floor)",
            lambda y, s=s: frames(y, s),
            lambda y, n=n_mels: librosa.power_to_db(librosa.feature.melspectrogram(
                y=y, sr=SR, n_fft=1024, hop_length=HOP, center=False, n_mels=n), top_db=80.0).T,
            "librosa.power_to_db(melspectrogram)",
        ))
    for bpo in (12, 24):
        s = FrameSettings(kind="cqt", n_bins=80, bins_per_octave=bpo, center=True)
        cases.append((
            f"CQT, 80 bins from C1, {bpo} per octave (hop 512, dB, 80 dB floor)",
            lambda y, s=s: frames(y, s),
            lambda y, b=bpo: librosa.amplitude_to_db(np.abs(librosa.cqt(
                y, sr=SR, hop_length=HOP, n_bins=80, bins_per_octave=b)), top_db=80.0).T,
            "librosa.amplitude_to_db(|librosa.cqt|)",
        ))
    return cases


def run(args: argparse.Namespace) -> Section:
    n_clips = int(getattr(args, "n_clips", 20))
    seconds = float(getattr(args, "seconds", 30.0))
    rounds = int(getattr(args, "rounds", 3))
    minutes = n_clips * seconds / 60.0
    section = Section(
        "spectra", "Log-mel and CQT extraction (issue #12)",
        f"python -m benchmarks.bench_spectra --n-clips {n_clips} --seconds {seconds:g} --rounds {rounds}")

    def body(sec: Section) -> None:
        clips = synthetic_clips(n_clips, seconds)
        met = []
        for what, ours, ref, ref_name in _cases():
            worst = loud = 0.0
            for y in clips:  # warm-up of both, and the check that they agree
                a, b = ours(y), ref(y)
                n = min(len(a), len(b))
                d = np.abs(a[:n] - b[:n])
                worst = max(worst, float(d.max()))
                loud = max(loud, float(d[b[:n] > b.max() - 20].max()))
            t_ours, t_ref = [], []
            for _ in range(rounds):
                for fn, times in ((ours, t_ours), (ref, t_ref)):
                    t0 = time.perf_counter()
                    for y in clips:
                        fn(y)
                    times.append(time.perf_counter() - t0)
            ours_s = statistics.median(t_ours) / minutes
            ref_s = statistics.median(t_ref) / minutes
            sec.add(what, ours_s, "s per minute of audio", ref_s, ref_name, better="lower",
                    note=f"max |dB difference| {worst:.3g} ({loud:.3g} within 20 dB of the maximum)")
            met.append((what, ref_s / ours_s))
        sec.notes.append(f"{n_clips} synthetic clips × {seconds:g} s, in memory, one process; median of "
                         f"{rounds} alternating rounds. Ratio column: ours / librosa's time (< 1: ours faster).")
        for what, speedup in met:
            status = "met" if speedup >= 1.0 else "missed"
            sec.notes.append(f"{what.split(',')[0]}: {speedup:.2f}× librosa's speed — target (≥ 1×) {status}.")

    return timed_section(section, body)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-clips", type=int, default=20)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--rounds", type=int, default=3)
    run_and_save(run, p.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

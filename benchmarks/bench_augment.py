"""Audio augmentation: throughput of each transform against the library call, and the backends' quality.

    python -m benchmarks.bench_augment [--quick] [--repeats 5] [--seconds 30] [--file AUDIO] [--out DIR]
    python -m benchmarks --only augment [OPTIONS]

What is measured, in one process on one signal held in memory (decoding not counted):

1. **Throughput** in × real time (seconds of input audio per second of wall time) of every
   transform of :mod:`mirlearn.features.augment.audio` on ``--seconds`` s of real music (the
   first 30 s of ``../shared/data/music_speech/music/beatles.flac`` when present, mono at
   22050 Hz; else a synthetic mix of tones, a chirp, noise and decaying noise bursts), each
   beside the call a user would write in the same run:

   - ``time_stretch`` at rates 0.5 and 1.2 and ``pitch_shift`` by −5 and +5 semitones, with
     ``backend="librosa"`` against ``librosa.effects.time_stretch(y, rate=r)`` /
     ``librosa.effects.pitch_shift(y, sr=sr, n_steps=s)`` (librosa's default resampler is
     soxr_hq, ours too), and with ``backend="rubberband"`` against
     ``pedalboard.time_stretch(y, sr, stretch_factor=r)`` /
     ``pedalboard.time_stretch(y, sr, pitch_shift_in_semitones=s, preserve_formants=False)``;
   - all 8 transforms of the tutorial (rates 0.2, 0.5, 1.2, 1.5; shifts −5, −2, +2, +5) one
     after the other, Rubber Band against librosa: the offline cost of augmenting a data set;
   - ``gain`` (+6 dB) against ``y * 10 ** (6 / 20)`` and ``add_noise`` (10 dB SNR) against
     ``y + sigma * rng.standard_normal(len(y))`` with sigma from the signal's power.

   Every call runs once first (librosa's first call costs seconds of imports); then ours and
   the reference alternate, their order swapped each repeat, so that bursts of other work on a
   shared machine hit both alike; medians are kept. Ratio = ours / reference (≈ 1: the wrapper
   costs nothing above the library; its checks are a pass or two over the samples).

2. **Quality** per backend, on 1 s of a 440 Hz sine at 22050 Hz (as the tests) and on the music:

   - duration error: the largest ``|len(out) − len(y)/rate| / (len(y)/rate)`` over rates 0.2,
     0.5, 1.2, 1.5, in %;
   - pitch error: the largest ``|1200 · log2(f / f_expected)|`` in cents over shifts −5, −2,
     +2, +5 (f: the FFT peak of the middle half, refined by a parabola), and the same for
     stretching, where f_expected = 440 Hz;
   - level error: the largest ``|20 · log10(RMS_out / RMS_in)|`` in dB of the middle of the
     stretched tone over the four rates (a stretch should keep a steady tone's level), and of
     the whole music over the four rates and four shifts (a stretch or shift keeps the level
     of music too; the phase vocoder's overlap-add of frames whose phases disagree loses some);
   - artefacts: the **round-trip log-spectral distance** in dB — stretch the music by r, stretch
     the result back by 1/r (or shift by +s, then −s), and compare with the original: RMS over
     bins of the difference of the dB magnitude spectra (STFT 2048 / hop 512, Hann, both
     floored 80 dB below the original's maximum), averaged over frames. An ideal stretch is
     invertible up to phase, and the magnitude spectrum ignores phase, so what remains is what
     the method smears or colours (phasiness, transient smearing, pre-echo), paid twice by
     both backends alike; lower is better. For scale, the same distance for white noise added
     at 20 dB SNR is given in the notes.

``--quick`` (a smoke run): 10 s of music, 2 repeats. Results go to ``benchmarks/results/``
(``--out`` elsewhere, e.g. for a smoke run on a shared machine).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from benchmarks.common import RESULTS, SHARED_DATA, Section, run_and_save, timed_section

SR = 22050
MUSIC = SHARED_DATA / "music_speech" / "music"
PREFERRED = "beatles.flac"  # drums, bass, guitars and voices: transients and tones both
RATES = (0.2, 0.5, 1.2, 1.5)
SHIFTS = (-5, -2, 2, 5)
TIMED_RATES = (0.5, 1.2)
TIMED_SHIFTS = (-5, 5)


# --------------------------------------------------------------------------- signals


def music_file(path: str | Path | None = None) -> Path | None:
    """The music file to measure on: ``path``, else ``beatles.flac`` (or the first file) of
    ``../shared/data/music_speech/music``; ``None`` when there is none."""
    if path is not None:
        return Path(path)
    if not MUSIC.is_dir():
        return None
    if (MUSIC / PREFERRED).is_file():
        return MUSIC / PREFERRED
    files = sorted(p for p in MUSIC.iterdir() if p.suffix.lower() in (".flac", ".wav", ".au", ".mp3", ".ogg"))
    return files[0] if files else None


def synthetic_music(seconds: float, seed: int = 0) -> np.ndarray:
    """A stand-in for music when no file is present: two tones, a chirp and noise, plus a
    decaying noise burst every 0.5 s (transients, which stretching smears). float32 mono."""
    from benchmarks.bench_spectra import synthetic_clips

    y = synthetic_clips(1, seconds, seed)[0].astype(np.float64)
    rng = np.random.default_rng(seed + 1)
    burst = rng.standard_normal(SR // 10) * np.exp(-np.arange(SR // 10) / (0.01 * SR))
    for start in range(0, len(y) - len(burst), SR // 2):
        y[start:start + len(burst)] += 0.3 * burst
    return (y / np.abs(y).max() * 0.8).astype(np.float32)


def load_signal(seconds: float, path: str | Path | None = None) -> tuple[np.ndarray, str]:
    """``seconds`` s of music at 22050 Hz mono, and where it came from (a file or "synthetic")."""
    from mirlearn.audio import load

    found = music_file(path)
    if found is not None and found.is_file():
        return load(found, sr=SR, duration=seconds), found.name
    return synthetic_music(seconds), "synthetic (no music file found)"


def tone(seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(round(seconds * SR))) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# --------------------------------------------------------------------------- measures


def dominant_frequency(x: np.ndarray, sr: int = SR) -> float:
    """Frequency in Hz of the highest peak of the middle half of ``x`` (Hann window, FFT
    zero-padded 8×, the peak refined by a parabola through its 3 log magnitudes)."""
    mid = x[len(x) // 4: len(x) - len(x) // 4].astype(np.float64)
    n_fft = 8 * len(mid)
    spec = np.abs(np.fft.rfft(mid * np.hanning(len(mid)), n_fft))
    k = int(np.argmax(spec))
    a, b, c = np.log(spec[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / n_fft


def _db_spectrogram(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """frames × bins magnitudes in dB (Hann, no centring)."""
    x = np.asarray(x, dtype=np.float64)
    n = 1 + max(0, (len(x) - n_fft) // hop)
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:n]
    mag = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1))
    return 20 * np.log10(np.maximum(mag, 1e-12))


def log_spectral_distance(ref: np.ndarray, test: np.ndarray, *, n_fft: int = 2048, hop: int = 512,
                          floor_db: float = 80.0) -> float:
    """Mean over frames of the RMS over bins of the dB difference of two magnitude spectra.

    Both are floored ``floor_db`` below ``ref``'s maximum (so silence and inaudible bins do not
    dominate) and compared over the frames both have. 0 for identical signals; in dB.
    """
    a, b = _db_spectrogram(ref, n_fft, hop), _db_spectrogram(test, n_fft, hop)
    n = min(len(a), len(b))
    floor = a.max() - floor_db
    a, b = np.maximum(a[:n], floor), np.maximum(b[:n], floor)
    return float(np.mean(np.sqrt(np.mean((a - b) ** 2, axis=1))))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def quality(backend: str, music: np.ndarray, *, rates: Sequence[float] | None = None,
            shifts: Sequence[int] | None = None) -> dict[str, float]:
    """The quality measures of one backend (see the module docstring), by name; ``rates`` and
    ``shifts`` default to :data:`RATES` and :data:`SHIFTS`."""
    from mirlearn.features.augment.audio import pitch_shift, time_stretch

    rates = RATES if rates is None else rates
    shifts = SHIFTS if shifts is None else shifts
    y = tone()
    q: dict[str, float] = {"duration_pct": 0.0, "stretch_cents": 0.0, "shift_cents": 0.0, "level_db": 0.0}
    for r in rates:
        out = time_stretch(y, SR, r, backend=backend)
        want = len(y) / r
        q["duration_pct"] = max(q["duration_pct"], 100 * abs(len(out) - want) / want)
        q["stretch_cents"] = max(q["stretch_cents"], abs(1200 * np.log2(dominant_frequency(out) / 440.0)))
        mid = out[len(out) // 4: len(out) - len(out) // 4]
        q["level_db"] = max(q["level_db"], abs(20 * np.log10(_rms(mid) / _rms(y))))
    for s in shifts:
        out = pitch_shift(y, SR, s, backend=backend)
        q["shift_cents"] = max(q["shift_cents"],
                               abs(1200 * np.log2(dominant_frequency(out) / (440.0 * 2 ** (s / 12)))))
    level = 0.0
    for out in [time_stretch(music, SR, r, backend=backend) for r in rates] + \
               [pitch_shift(music, SR, s, backend=backend) for s in shifts]:
        level = max(level, abs(20 * np.log10(_rms(out) / _rms(music))))
    q["music_level_db"] = level
    for r in TIMED_RATES:
        back = time_stretch(time_stretch(music, SR, r, backend=backend), SR, 1 / r, backend=backend)
        q[f"lsd_stretch_{r:g}"] = log_spectral_distance(music, back)
    s = max(abs(v) for v in TIMED_SHIFTS)
    back = pitch_shift(pitch_shift(music, SR, s, backend=backend), SR, -s, backend=backend)
    q[f"lsd_shift_{s}"] = log_spectral_distance(music, back)
    return q


# --------------------------------------------------------------------------- throughput

Case = tuple[str, Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray], str]


def cases(backends: Sequence[str]) -> list[Case]:
    """(what, ours, the user's library call, its name) for every timed transform."""
    from mirlearn.features.augment import audio as aug

    out: list[Case] = []
    for backend in backends:
        if backend == "librosa":
            import librosa

            for r in TIMED_RATES:
                out.append((f"time_stretch rate {r:g}, librosa", lambda y, r=r: aug.time_stretch(y, SR, r),
                            lambda y, r=r: librosa.effects.time_stretch(y, rate=r),
                            "librosa.effects.time_stretch"))
            for s in TIMED_SHIFTS:
                out.append((f"pitch_shift {s:+d} st, librosa", lambda y, s=s: aug.pitch_shift(y, SR, s),
                            lambda y, s=s: librosa.effects.pitch_shift(y, sr=SR, n_steps=s),
                            "librosa.effects.pitch_shift"))
        else:
            import pedalboard

            for r in TIMED_RATES:
                out.append((f"time_stretch rate {r:g}, rubberband",
                            lambda y, r=r: aug.time_stretch(y, SR, r, backend="rubberband"),
                            lambda y, r=r: pedalboard.time_stretch(y, SR, stretch_factor=r),
                            "pedalboard.time_stretch"))
            for s in TIMED_SHIFTS:
                out.append((f"pitch_shift {s:+d} st, rubberband",
                            lambda y, s=s: aug.pitch_shift(y, SR, s, backend="rubberband"),
                            lambda y, s=s: pedalboard.time_stretch(y, SR, pitch_shift_in_semitones=s,
                                                                   preserve_formants=False),
                            "pedalboard.time_stretch(pitch_shift_in_semitones)"))
    out.append(("gain +6 dB", lambda y: aug.gain(y, 6.0), lambda y: y * np.float32(10 ** (6 / 20)), "numpy y * g"))

    def numpy_noise(y: np.ndarray) -> np.ndarray:
        sigma = np.sqrt(np.mean(np.square(y, dtype=np.float64)) / 10.0)
        return (y + sigma * np.random.default_rng(0).standard_normal(len(y))).astype(np.float32)

    out.append(("add_noise 10 dB SNR", lambda y: aug.add_noise(y, 10.0, np.random.default_rng(0)), numpy_noise,
                "numpy y + sigma · standard_normal"))
    return out


def interleaved(ours: Callable[[], object], ref: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall seconds of ``ours()`` and ``ref()``, alternating (order swapped each repeat)
    after one warm-up call of each."""
    ours(), ref()
    times: dict[str, list[float]] = {"ours": [], "ref": []}
    for i in range(repeats):
        pair = (("ours", ours), ("ref", ref))
        for key, fn in (pair if i % 2 == 0 else pair[::-1]):
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)
    return statistics.median(times["ours"]), statistics.median(times["ref"])


def tutorial_speed(backend: str, y: np.ndarray, repeats: int) -> float:
    """× real time of all of Schindler & Lidy's transforms (:data:`RATES`, :data:`SHIFTS`) of
    ``y`` with one backend: seconds of input (× 8) per wall second, median of ``repeats``."""
    from mirlearn.features.augment.audio import pitch_shift, time_stretch

    def all_eight() -> None:
        for r in RATES:
            time_stretch(y, SR, r, backend=backend)
        for s in SHIFTS:
            pitch_shift(y, SR, s, backend=backend)

    times = []
    for _ in range(max(1, repeats // 2)):  # one call is 8 transforms: fewer repeats suffice
        t0 = time.perf_counter()
        all_eight()
        times.append(time.perf_counter() - t0)
    return (len(RATES) + len(SHIFTS)) * len(y) / SR / statistics.median(times)


def available_backends() -> list[str]:
    from mirlearn.errors import ConfigError
    from mirlearn.features.augment.audio import BACKENDS, check_backend

    found = []
    for name in BACKENDS:
        try:
            check_backend(name)
            found.append(name)
        except ConfigError:
            continue
    return found


# --------------------------------------------------------------------------- section


def run(args: argparse.Namespace) -> Section:
    quick = bool(getattr(args, "quick", False))
    repeats = int(getattr(args, "repeats", None) or (2 if quick else 5))
    seconds = float(getattr(args, "seconds", None) or (10.0 if quick else 30.0))
    path = getattr(args, "file", None)
    cmd = ("python -m benchmarks.bench_augment" + (" --quick" if quick else "")
           + f" --repeats {repeats} --seconds {seconds:g}" + (f" --file {path}" if path else ""))
    section = Section("augment", "Audio augmentation: throughput and quality of the backends (issue #13)", cmd)

    def body(sec: Section) -> None:
        y, source = load_signal(seconds, path)
        audio_s = len(y) / SR
        backends = available_backends()
        for what, ours, ref, ref_name in cases(backends):
            t_ours, t_ref = interleaved(lambda: ours(y), lambda: ref(y), repeats)
            sec.add(f"{what}: × real time", audio_s / t_ours, "× real time", audio_s / t_ref, ref_name)
        speeds = {b: tutorial_speed(b, y, repeats) for b in backends}
        if speeds:
            first = backends[-1]  # rubberband beside librosa when both are there
            other = next((b for b in backends if b != first), None)
            sec.add(f"all 8 transforms of the tutorial (stretch {'/'.join(f'{r:g}' for r in RATES)}, shift "
                    f"{'/'.join(f'{s:+d}' for s in SHIFTS)} st) of the signal, {first} backend: × real time",
                    speeds[first], "× real time", speeds.get(other) if other else None,
                    f"{other} backend" if other else "",
                    note="input seconds × 8 / wall seconds; the offline cost of augmenting a data set")
        qualities = {b: quality(b, y) for b in backends}
        for b, q in qualities.items():
            sec.add(f"quality ({b}): duration error after stretching, worst of rates {RATES}", q["duration_pct"],
                    "%", better="lower")
            sec.add(f"quality ({b}): pitch error after shifting a 440 Hz tone, worst of {SHIFTS} st",
                    q["shift_cents"], "cents", better="lower")
            sec.add(f"quality ({b}): pitch drift after stretching the tone, worst of rates {RATES}",
                    q["stretch_cents"], "cents", better="lower")
            sec.add(f"quality ({b}): level change of the stretched tone, worst of rates {RATES}", q["level_db"],
                    "dB", better="lower")
            sec.add(f"quality ({b}): level change of the music, worst of the 8 transforms", q["music_level_db"],
                    "dB", better="lower", note="a phase vocoder's incoherent overlap-add loses level")
            for key, value in q.items():
                if key.startswith("lsd_stretch_"):
                    r = float(key.rsplit("_", 1)[1])
                    sec.add(f"quality ({b}): round-trip log-spectral distance, stretch {r:g} then {1 / r:.3g}",
                            value, "dB", better="lower")
                elif key.startswith("lsd_shift_"):
                    s = int(key.rsplit("_", 1)[1])
                    sec.add(f"quality ({b}): round-trip log-spectral distance, shift +{s} then −{s} st",
                            value, "dB", better="lower")
        sigma = np.sqrt(np.mean(np.square(y, dtype=np.float64)) / 100)  # 20 dB below the signal's power
        noisy = y + sigma * np.random.default_rng(0).standard_normal(len(y))
        sec.notes.append(f"Signal: {source}, {audio_s:.1f} s at {SR} Hz mono, in memory; medians of {repeats} "
                         "alternating repeats after a warm-up. Ratio column: ours / the library call "
                         "(≈ 1: the wrapper costs nothing above the library).")
        sec.notes.append(f"Scale of the log-spectral distance: white noise added at 20 dB SNR gives "
                         f"{log_spectral_distance(y, noisy):.2f} dB on this signal.")
        missing = [b for b in ("librosa", "rubberband") if b not in backends]
        if missing:
            sec.notes.append(f"Not measured (package absent): {', '.join(missing)}.")
        label = getattr(args, "label", None)
        if label:
            sec.notes.append(label)

    return timed_section(section, body)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="10 s of music and 2 repeats (a smoke run)")
    p.add_argument("--repeats", type=int, default=None,
                   help="alternating timed calls of each side (default 5, quick 2)")
    p.add_argument("--seconds", type=float, default=None, help="seconds of music to transform (default 30, quick 10)")
    p.add_argument("--file", default=None, help="audio file to measure on (default: beatles.flac of music_speech)")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder of the results (default benchmarks/results)")
    p.add_argument("--label", default=None, help="a note saved with the section (e.g. how loaded the machine was)")
    args = p.parse_args(argv)
    run_and_save(run, args, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

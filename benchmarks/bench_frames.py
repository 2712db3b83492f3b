"""Decode + |FFT| frames throughput, mirlearn against librosa; run by hand.

    python -m benchmarks.bench_frames [--repeats 5] [--n-synthetic 40] [--n-real 64] [--out DIR]

What is measured (all in one run, figures in seconds of audio processed per wall-clock second):

1. Single process, file by file: mirlearn's ``audio.load(path, sr=22050)`` +
   ``magnitude_frames(y, n_fft=1024, hop_length=512, center=False)`` against the reference
   ``librosa.load(path, sr=22050, mono=True)`` +
   ``np.abs(librosa.stft(y, n_fft=1024, hop_length=512, center=False))``, on
   (a) real music in ``../shared/data``: the GTZAN music/speech collection's music clips
   (FLAC, 30 s, 22.05 kHz mono), the original GTZAN AU clips, and every file of ``formats/``
   (WAV 16/24/32-bit, FLAC, MP3, Ogg Vorbis, AAC; 22.05/44.1 kHz; mono/stereo), one row each;
   (b) synthetic 30 s WAV clips from :func:`mirlearn.datasets.synthetic.make_synthetic`.
   Before any timing, both pipelines run once on every file: that checks that they give
   the same frames (same shape, relative Frobenius error <= 1e-4) and is the warm-up — the
   first librosa call in a process costs seconds of imports, which would otherwise be
   charged to the reference. The files are then in the OS page cache for both.
2. ``extract_frames`` (the package's parallel decode + frames into a memory-mapped cache,
   fresh cache folder every call so nothing is a hit) with ``n_jobs=1`` and ``n_jobs=2`` on
   the synthetic clips, against librosa in the same process (1) and in 2 forked worker
   processes (2); and the projection to 1 000 GTZAN-length (30 s) clips, from the wall clock
   and from CPU time / 2 (what 2 idle cores would give). Target: under 15 s on 2 cores and
   at least as fast as librosa.

Ours and the reference are timed in alternating rounds (median over rounds) so that bursts of
other work on a shared machine hit both alike; CPU-time ratios (worker processes included),
which such work barely affects, are given in the rows' notes.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import statistics
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np

from benchmarks.common import RESULTS, SHARED_DATA, Section, load_average, median_time, timed_section

SR = 22050
N_FFT = 1024
HOP = 512
CLIP_SECONDS = 30.0
GTZAN_CLIPS = 1000
TARGET_SECONDS = 15.0  # frames of 1 000 GTZAN clips on 2 cores
RTOL = 1e-4
REF_NAME = "librosa.load + |librosa.stft|"

MUSIC = SHARED_DATA / "music_speech" / "music"
GTZAN_AU = SHARED_DATA / "gtzan_sample" / "genres"
FORMATS = SHARED_DATA / "formats"


# -- the two pipelines ------------------------------------------------------------------------

def ours(path: str | os.PathLike[str]) -> np.ndarray:
    """mirlearn's frames of one file, (n_frames, 513) float32."""
    from mirlearn import audio
    from mirlearn.features.representations.fft import magnitude_frames

    y = audio.load(path, sr=SR, mono=True)
    return magnitude_frames(y, n_fft=N_FFT, hop_length=HOP, center=False)


def reference(path: str | os.PathLike[str]) -> np.ndarray:
    """librosa's frames of one file, (513, n_frames) float32 — transposed only when compared,
    because the transpose is a free view and librosa's users get this layout."""
    import librosa

    # librosa warns about deprecated stdlib audio modules on its audioread fallback; noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, _ = librosa.load(path, sr=SR, mono=True)
    return np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, center=False))


def _reference_pool(paths: Sequence[str], n_jobs: int) -> list[np.ndarray]:
    """librosa's frames of ``paths`` in ``n_jobs`` worker processes forked from this (warm)
    process, results sent back — the same scheme as ``extract_frames`` minus its disk writes,
    and the pool is started inside the timing as ``extract_frames`` starts its own."""
    import multiprocessing

    with ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(reference, paths))


# -- timing -----------------------------------------------------------------------------------

def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its reaped children (worker pools are
    joined, hence reaped, before the functions timed here return)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _alternating(fns: dict[str, Callable[[], object]], repeats: int,
                 after_round: Callable[[], None] | None = None) -> dict[str, tuple[float, float]]:
    """Median (wall s, CPU s incl. worker processes) of each function, in alternating rounds.

    The order within a round is reversed every other round, so neither side always runs
    right after the other's allocations. No warm-up here: callers have warmed everything.
    """
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    names = list(fns)
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            c0 = _cpu_seconds()
            wall[name].append(median_time(fns[name], repeats=1, warmup=0))
            cpu[name].append(_cpu_seconds() - c0)
        if after_round is not None:
            after_round()
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in fns}


class Checked(NamedTuple):
    """What the agreement pass learnt about a set of files."""

    seconds: float  #: audio decoded by ours, at SR
    n_frames: int  #: frames ours gave
    worst: float  #: worst relative error against librosa (0 when librosa read none)
    readable: list[str]  #: the files librosa can read
    unreadable: list[str]  #: "name (exception)" for the others


def _check_agreement(paths: Sequence[str]) -> Checked:
    """Run both pipelines on every file: checks that they agree, and is the warm-up.

    Raises AssertionError when the frames differ in shape or by more than ``RTOL``.
    """
    from mirlearn import audio
    from mirlearn.features.representations.fft import magnitude_frames

    seconds, n_frames, worst = 0.0, 0, 0.0
    readable: list[str] = []
    unreadable: list[str] = []
    for p in paths:
        y = audio.load(p, sr=SR, mono=True)  # as ours(), keeping the length
        a = magnitude_frames(y, n_fft=N_FFT, hop_length=HOP, center=False)
        seconds += len(y) / SR
        n_frames += a.shape[0]
        try:
            b = reference(p)
        except Exception as exc:  # noqa: BLE001 - e.g. librosa's NoBackendError on AAC
            unreadable.append(f"{Path(p).name} ({type(exc).__name__})")
            continue
        readable.append(p)
        assert a.shape == b.T.shape, f"{p}: shapes differ, ours {a.shape} vs librosa {b.T.shape}"
        err = float(np.linalg.norm(a - b.T) / max(float(np.linalg.norm(b)), 1e-30))
        assert err <= RTOL, f"{p}: frames differ, relative error {err:.2e} > {RTOL:g}"
        worst = max(worst, err)
    return Checked(seconds, n_frames, worst, readable, unreadable)


# -- the measurements -------------------------------------------------------------------------

def _compare_set(section: Section, label: str, paths: Sequence[str], repeats: int,
                 facts: dict[str, float]) -> tuple[Checked, float, float | None]:
    """One row: ours against librosa on ``paths``, single process.

    Returns the agreement pass's findings and both throughputs (None: librosa read nothing).
    """
    chk = _check_agreement(paths)
    facts["worst_err"] = max(facts.get("worst_err", 0.0), chk.worst)
    readable = chk.readable
    fns: dict[str, Callable[[], object]] = {"ours": lambda: [ours(p) for p in paths]}
    if readable:
        fns["ref"] = lambda: [reference(p) for p in readable]
    t = _alternating(fns, repeats)
    ours_tp = chk.seconds / t["ours"][0]
    if not readable:
        section.add(label, ours_tp, "audio s/s", note=f"librosa cannot read it: {', '.join(chk.unreadable)}")
        return chk, ours_tp, None
    # Files librosa cannot read are out of its timing, hence out of its seconds too.
    ref_seconds = chk.seconds if not chk.unreadable else _check_agreement(readable).seconds
    ref_tp = ref_seconds / t["ref"][0]
    cpu_ratio = (t["ref"][1] / ref_seconds) / (t["ours"][1] / chk.seconds)
    note = f"CPU-time ratio {cpu_ratio:.2f}×"
    if chk.unreadable:
        note += f"; librosa cannot read {', '.join(chk.unreadable)}"
    section.add(label, ours_tp, "audio s/s", ref_tp, REF_NAME, note=note)
    return chk, ours_tp, ref_tp


def _format_label(path: Path) -> str:
    """e.g. "dubstep.mp3 (MP3, 44.1 kHz stereo, 6.9 s)"; ``soundfile.info`` when it can."""
    import soundfile as sf

    try:
        info = sf.info(path)
        return (f"{path.name} ({info.subtype}, {info.samplerate / 1000:g} kHz "
                f"{'mono' if info.channels == 1 else 'stereo' if info.channels == 2 else f'{info.channels} ch'}, "
                f"{info.duration:.1f} s)")
    except Exception:  # noqa: BLE001 - formats libsndfile cannot open (AAC)
        return f"{path.name} (decoded by FFmpeg)"


def _synthetic_tracks(root: Path, n: int):
    """``n`` synthetic 30 s WAV clips written under ``root``, as a TrackTable."""
    from mirlearn.datasets import load_dataset
    from mirlearn.datasets.synthetic import make_synthetic

    n_classes = 4
    # One thread: the machine is shared, and generation is not what is measured.
    make_synthetic(root, n_classes=n_classes, clips_per_class=math.ceil(n / n_classes),
                   seconds=CLIP_SECONDS, sr=SR, seed=0, n_jobs=1)
    tracks, _ = load_dataset(root, kind="synthetic")
    return tracks[:n]


def _body(section: Section, *, repeats: int, n_synthetic: int, n_real: int) -> None:
    # The very first call of each pipeline, imports included, for the record: librosa's is
    # why every timed run below comes after a warm-up pass.
    first = sorted(MUSIC.glob("*.flac"))[:1]
    if first:
        t0 = time.perf_counter()
        reference(str(first[0]))
        t_ref_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        ours(str(first[0]))
        t_ours_first = time.perf_counter() - t0
        section.notes.append(
            f"Warm-up: both pipelines ran once on every file (checking that their frames agree) "
            f"before any timing. First call in this process, imports included, on one 30 s FLAC "
            f"clip: librosa {t_ref_first:.2f} s, then ours {t_ours_first:.2f} s (after librosa "
            f"had imported numpy, scipy and soundfile).")

    facts: dict[str, float] = {}
    # (a) real music
    real_sets: list[tuple[str, list[str]]] = []
    music = sorted(MUSIC.glob("*.flac"))[:n_real]
    if music:
        real_sets.append((f"music_speech/music: {len(music)} FLAC clips, 30 s, 22.05 kHz mono",
                          [str(p) for p in music]))
    au = sorted(GTZAN_AU.glob("*/*.au"))
    if au:
        real_sets.append((f"gtzan_sample: {len(au)} original GTZAN AU clips, 30 s, 22.05 kHz mono",
                          [str(p) for p in au]))
    for label, paths in real_sets:
        _compare_set(section, label, paths, repeats, facts)
    if FORMATS.is_dir():
        for p in sorted(FORMATS.iterdir()):
            if p.suffix.lower() == ".txt":
                continue
            _compare_set(section, f"formats/{_format_label(p)}", [str(p)], repeats, facts)
    if not real_sets:
        section.notes.append(f"No real music found under {SHARED_DATA}: real-music rows skipped.")

    # (b) synthetic clips, and extract_frames on them
    from mirlearn.features.cache import extract_frames
    from mirlearn.features.settings import FrameSettings

    with tempfile.TemporaryDirectory(prefix="bench_frames_") as tmp:
        tmp_path = Path(tmp)
        tracks = _synthetic_tracks(tmp_path / "synthetic", n_synthetic)
        paths = [str(t.path) for t in tracks]
        chk, _, _ = _compare_set(
            section, f"synthetic: {len(paths)} WAV clips, 30 s, 22.05 kHz mono", paths, repeats, facts)

        settings = FrameSettings(sr=SR, n_fft=N_FFT, hop_length=HOP, center=False)
        caches = tmp_path / "caches"
        caches.mkdir()

        def fresh() -> str:
            return tempfile.mkdtemp(dir=caches)  # a new, empty cache folder: always a miss

        def clear() -> None:  # between rounds, untimed: keeps the disk use to one round
            for d in caches.iterdir():
                shutil.rmtree(d, ignore_errors=True)

        def extract(n_jobs: int) -> Callable[[], object]:
            return lambda: extract_frames(tracks, settings, cache_dir=fresh(), n_jobs=n_jobs,
                                          progress=False)

        # One untimed call of each: checks that extract_frames returns every frame, and the
        # first fork of librosa's pool pays page faults that later ones do not.
        fs = extract(2)()
        assert fs.X.shape == (chk.n_frames, settings.dim), f"extract_frames gave {fs.X.shape}"
        del fs
        _reference_pool(paths[:2], 2)
        clear()

        # The bare loops again, in the same rounds, so every ratio below compares figures
        # taken under the same load.
        t = _alternating({"x1": extract(1), "x2": extract(2), "bare": lambda: [ours(p) for p in paths],
                          "ref1": lambda: [reference(p) for p in paths],
                          "ref2": lambda: _reference_pool(paths, 2)}, repeats, after_round=clear)
    tp = {k: chk.seconds / wall for k, (wall, _) in t.items()}  # audio s per wall s
    cpu = {k: c / chk.seconds for k, (_, c) in t.items()}  # CPU s per audio s, workers included
    clip_audio = GTZAN_CLIPS * CLIP_SECONDS
    section.add("extract_frames n_jobs=1, synthetic clips (fresh cache)", tp["x1"], "audio s/s",
                tp["ref1"], "librosa, 1 process",
                note=f"CPU-time ratio {cpu['ref1'] / cpu['x1']:.2f}×; bare loop of ours "
                     f"{tp['bare']:.0f} audio s/s, using {cpu['bare'] / cpu['x1']:.2f}× the CPU of "
                     f"extract_frames, which adds the cache's hashing, writes and fsync")
    section.add("extract_frames n_jobs=2, synthetic clips (fresh cache)", tp["x2"], "audio s/s",
                tp["ref2"], "librosa, 2 forked processes",
                note=f"CPU-time ratio {cpu['ref2'] / cpu['x2']:.2f}×; wall speed-up over n_jobs=1 "
                     f"{tp['x2'] / tp['x1']:.2f}×; CPU per audio s {cpu['x2'] / cpu['x1']:.2f}× "
                     f"n_jobs=1's (worker threads in this process; before they were forked processes "
                     f"sending frames back: 0.80× the wall speed of n_jobs=1 at 1.97× its CPU per "
                     f"audio s, in the run of 2026-11-21 13:00)")
    proj1, proj2, ref_proj1, ref_proj2 = (clip_audio / tp[k] for k in ("x1", "x2", "ref1", "ref2"))
    # What the wall clock would give on 2 otherwise idle cores if the work split perfectly:
    # CPU seconds / 2. Other work on a shared machine inflates wall times, barely CPU times.
    cpu2, cpu_ref2 = (clip_audio * cpu[k] / 2 for k in ("x2", "ref2"))
    section.add("projection: frames of 1 000 × 30 s clips, extract_frames n_jobs=1", proj1, "s",
                ref_proj1, "librosa, 1 process", better="lower")
    section.add("projection: frames of 1 000 × 30 s clips, extract_frames n_jobs=2", proj2, "s",
                ref_proj2, "librosa, 2 forked processes", better="lower")
    section.add("projection from CPU time / 2 (2 idle cores, perfect split), n_jobs=2", cpu2, "s",
                cpu_ref2, "librosa, 2 forked processes", better="lower",
                note="CPU of the parent and its workers; disk waits not included")

    best_ref = max(tp["ref1"], tp["ref2"])
    reached = proj2 < TARGET_SECONDS and tp["x2"] >= best_ref
    section.notes.append(
        f"Target (1 000 GTZAN-length clips under {TARGET_SECONDS:g} s on 2 cores, at least as fast "
        f"as librosa): {'reached' if reached else 'NOT reached'} on the wall clock — {proj2:.1f} s "
        f"projected with n_jobs=2 ({tp['x2'] / tp['ref2']:.2f}× librosa in 2 processes, "
        f"{tp['x2'] / tp['ref1']:.2f}× librosa in 1); {cpu2:.1f} s from CPU time on 2 idle cores "
        f"({'under' if cpu2 < TARGET_SECONDS else 'over'} the target; librosa {cpu_ref2:.1f} s). "
        f"The synthetic clips are 16-bit WAV; GTZAN's AU decodes at a similar cost.")
    load = load_average()[0]
    cores = os.cpu_count() or 1
    if load > cores:
        # Then n_jobs=2 gets whatever share of the cores the scheduler leaves it (less still
        # under nice), and its wall clock says more about the machine than about the package.
        section.notes.append(
            f"The machine was overloaded (load {load:.1f} on {cores} cores): the wall-clock "
            f"figures, n_jobs=2's above all, measure the share of CPU this run got; the CPU-time "
            f"ratios and the CPU-time projection are the figures to judge the package by.")
    section.notes.append(
        f"Frames agree everywhere: same shapes, worst relative Frobenius error "
        f"{facts.get('worst_err', float('nan')):.1e} (limit {RTOL:g}).")
    section.notes.append(
        "Files are read from the OS page cache (warm) by both sides; timings are medians of "
        f"{repeats} alternating rounds.")


# -- entry points -----------------------------------------------------------------------------

def run(args: argparse.Namespace) -> Section:
    """Measure and return the section (wall time and load average recorded around it).

    ``args`` may come from another parser (``python -m benchmarks``): missing options take
    their defaults.
    """
    repeats = int(getattr(args, "repeats", 5))
    n_synthetic = int(getattr(args, "n_synthetic", 40))
    n_real = int(getattr(args, "n_real", 64))
    section = Section(
        name="frames",
        title="Decode + |FFT| frames (1024/512, 22.05 kHz, no centring): throughput",
        command=(f"python -m benchmarks.bench_frames --repeats {repeats} "
                 f"--n-synthetic {n_synthetic} --n-real {n_real}"),
    )
    return timed_section(section, lambda s: _body(s, repeats=repeats, n_synthetic=n_synthetic,
                                                  n_real=n_real))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--repeats", type=int, default=5, help="alternating timing rounds (median)")
    p.add_argument("--n-synthetic", type=int, default=40, help="synthetic 30 s clips to generate")
    p.add_argument("--n-real", type=int, default=64, help="music_speech music clips to use (max 64)")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for frames.json / frames.md")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    section = run(args)
    print(section.to_markdown())
    path = section.save(args.out)
    print(f"saved {path}")


if __name__ == "__main__":
    main()

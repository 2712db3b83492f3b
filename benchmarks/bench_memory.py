"""Peak memory (RSS) while caching frames and training, as the number of tracks grows. By hand.

    nice -n 19 python -m benchmarks.bench_memory [--tracks 100 1000 10000] [--seconds 3]
                                                  [--data-dir DIR] [--out DIR]

The claim under test: peak RSS stays nearly flat from 1 000 to 10 000 tracks, because the
frames stay on disk in the memory-mapped cache of :func:`mirlearn.features.cache.extract_frames`.

Synthetic tracks (:func:`mirlearn.datasets.synthetic.make_synthetic`, 10 classes) are generated
once for the largest N, in a temporary folder deleted afterwards (or in ``--data-dir``, kept and
reused). Clips are short (``--seconds``, default 3 s, ~128 frames of 513 floats = 263 KB of
frames per track) so that 10 000 of them fit on disk and in time; 30 s clips would multiply
every data-bound figure by 10 and change nothing else. The table of N tracks lists the classes
round-robin, so any contiguous block of tracks (hence of cached frames) holds every class.

For each N, every stage runs in a fresh child process (``--child`` mode of this script, with
the parent's niceness), which reports its own peak:

1. ``extract``: ``extract_frames(n_jobs=2)`` into an empty cache folder (decode + |FFT| in 2
   worker threads, frames appended to ``X.f32`` as they arrive).
2. ``train-memmap``: one SGD epoch of ``MLPLearner`` (513-50-50-50-10 ReLU, batch 256,
   1 torch thread) on FrameSets that are *views* of the memory-mapped cache: training frames
   = the first half of the tracks, validation = the next quarter (no copy anywhere).
3. ``train-pipeline``: the same, fed as ``mirlearn.pipeline.train_learner`` and
   ``mirlearn train`` feed it: ``pipeline.part_frames`` of the training and validation tracks
   of a stratified 50/25/25 split, which copies them into RAM below 256 MiB and into a
   temporary memory-mapped ``.npy`` above (before 2026-11-21: ``FrameSet.subset`` into RAM).

Measured in the child, after its imports and the scan of the data folder (the high-water mark
is reset then, through ``/proc/self/clear_refs``): peak RSS = ``VmHWM`` of ``/proc/self/status``
(the kernel's high-water mark; ``getrusage(RUSAGE_SELF).ru_maxrss`` is the same figure except
that it also remembers the RSS of the parent that forked the child before exec), which counts the touched pages of a memory map (file-backed: page cache the
kernel may drop under pressure) as well as private memory; and the peaks of ``RssAnon``
(private memory: what cannot be dropped) and ``RssFile``, sampled every 10 ms from
``/proc/self/status``. For ``extract`` also the largest child process's peak
(``RUSAGE_CHILDREN``; 0 since the workers are threads, counted in the main figure). Rows compare each stage at N with the same stage at the smallest N
(the ratio is the growth factor: flat = 1.00x); the frame-matrix row shows how much the data
grew meanwhile, and each row's note gives the peak as a fraction of the frame matrix.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, ROOT, Row, Section, timed_section

MIB = 2.0 ** 20
N_CLASSES = 10
HIDDEN = (50, 50, 50)
STAGES = ("extract", "train-memmap", "train-pipeline")


# -- measuring inside a child --------------------------------------------------------------

def _status_kib() -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile, RssShmem of this process, in KiB."""
    out: dict[str, int] = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(rest.split()[0])
    return out


class PeakSampler:
    """Track the peaks of RssAnon and RssFile in a background thread (every ``interval`` s)."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        for k, v in _status_kib().items():
            if v > self.peak.get(k, -1):
                self.peak[k] = v

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakSampler":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _interleaved(tracks: Any, n: int) -> Any:
    """The first ``n`` tracks of ``tracks`` taken round-robin over the classes."""
    by_class: dict[str, list[str]] = {}
    for t in tracks:
        by_class.setdefault(t.label, []).append(t.track_id)
    ids: list[str] = []
    for i in range(max(len(v) for v in by_class.values())):
        ids.extend(v[i] for v in by_class.values() if i < len(v))
    return tracks.subset(ids[:n])


def _view(fs: Any, a: int, b: int) -> Any:
    """FrameSet of tracks ``a:b`` of ``fs`` whose X is a slice of fs.X (no copy of a memmap)."""
    from mirlearn.features.frameset import FrameSet

    o = fs.offsets
    return FrameSet(fs.X[o[a]:o[b]], o[a:b + 1] - o[a], fs.tracks[a:b])


def child(stage: str, data: Path, cache: Path, n: int) -> dict[str, Any]:
    """Run one stage on the first ``n`` tracks of ``data``; return its peaks (bytes) and time."""
    from mirlearn.datasets.folder import load_folder
    from mirlearn.features.cache import extract_frames
    from mirlearn.features.settings import FrameSettings

    if stage != "extract":
        import torch

        torch.set_num_threads(1)
        from mirlearn.datasets.splits import make_splits
        from mirlearn.learners import MLPLearner
    tracks = _interleaved(load_folder(data), n)
    settings = FrameSettings()
    hwm_reset = _reset_peak()  # the peak of the stage, not of the imports and the folder scan
    floor = _status_kib()["VmRSS"]
    t0 = time.perf_counter()
    with PeakSampler() as sampler:
        fs = extract_frames(tracks, settings, cache_dir=cache, n_jobs=2, progress=False)
        if stage != "extract":
            learner = MLPLearner(hidden=HIDDEN, max_epochs=1, patience=1, batch_size=256,
                                     seed=0, progress=False)
            if stage == "train-memmap":
                train, valid = _view(fs, 0, n // 2), _view(fs, n // 2, n // 2 + n // 4)
            else:  # as mirlearn.pipeline.train_learner and `mirlearn train` do
                from mirlearn.pipeline import part_frames

                split = make_splits(fs.tracks, n_splits=1, seed=0)[0]
                parts = Path(cache) / "parts"
                parts.mkdir(exist_ok=True)
                train = part_frames(fs, split.train, parts / "train.npy")
                valid = part_frames(fs, split.valid, parts / "valid.npy")
            learner.fit(train, valid)
    seconds = time.perf_counter() - t0
    kib = 1024
    return {
        "stage": stage, "n": n, "seconds": seconds,
        "frames": int(fs.X.shape[0]), "frame_bytes": int(fs.X.nbytes),
        "floor": floor * kib,
        # VmHWM, not ru_maxrss: the latter also keeps the RSS of the parent forked before exec.
        "peak_rss": _status_kib().get("VmHWM", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * kib,
        "hwm_reset": hwm_reset,
        "peak_anon": sampler.peak.get("RssAnon", 0) * kib,
        "peak_file": sampler.peak.get("RssFile", 0) * kib,
        "worker_peak_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib,
    }


# -- the parent ----------------------------------------------------------------------------

def _run_child(stage: str, data: Path, cache: Path, n: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.bench_memory", "--child", stage,
           "--data-dir", str(data), "--cache-dir", str(cache), "--n", str(n)]
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _frames_per_clip(seconds: float) -> int:
    from mirlearn.features.settings import FrameSettings, frame_count

    s = FrameSettings()
    return frame_count(int(round(seconds * s.sr)), s)


def _check_disk(where: Path, tracks: list[int], seconds: float, have_wavs: bool) -> None:
    """Refuse to start when the WAVs and the largest frame cache would not fit (+ 2 GiB)."""
    sr, dim = 22050, 513
    wav = 0 if have_wavs else N_CLASSES * math.ceil(max(tracks) / N_CLASSES) * (44 + 2 * round(seconds * sr))
    cache = max(tracks) * _frames_per_clip(seconds) * dim * 4
    free = shutil.disk_usage(where).free
    need = wav + cache + 2 * 2 ** 30
    print(f"disk: need ~{(wav + cache) / 2**30:.2f} GiB (WAV {wav / 2**30:.2f} + largest cache "
          f"{cache / 2**30:.2f}) + 2 GiB margin; {free / 2**30:.1f} GiB free at {where}", flush=True)
    if need > free:
        raise SystemExit(f"not enough disk space at {where}: need {need / 2**30:.1f} GiB, "
                         f"have {free / 2**30:.1f} GiB")


def run(args: argparse.Namespace) -> Section:
    """Generate (or reuse) the tracks, run every (stage, N) in a child, tabulate the peaks."""
    # ``python -m benchmarks --only memory`` passes its own namespace: fill in our defaults.
    for name, default in (("tracks", [100, 1000, 10000]), ("seconds", 3.0), ("data_dir", None)):
        if not hasattr(args, name):
            setattr(args, name, default)
    tracks = sorted(set(args.tracks))
    section = Section(
        name="memory",
        title="Peak memory (RSS) as the dataset grows: frame cache and training",
        command="nice -n 19 python -m benchmarks.bench_memory --tracks "
                + " ".join(map(str, tracks)) + f" --seconds {args.seconds:g}",
    )

    def body(sec: Section) -> None:
        work = Path(tempfile.mkdtemp(prefix="mirlearn-bench-memory-"))
        try:
            data = Path(args.data_dir) if args.data_dir else work / "synthetic"
            _check_disk(work, tracks, args.seconds, have_wavs=bool(args.data_dir) and data.is_dir())
            from mirlearn.datasets.synthetic import make_synthetic

            t0 = time.perf_counter()
            make_synthetic(data, n_classes=N_CLASSES, clips_per_class=math.ceil(max(tracks) / N_CLASSES),
                           seconds=args.seconds, n_jobs=2)
            gen_s = time.perf_counter() - t0
            print(f"synthetic tracks ready in {gen_s:.0f} s: {data}", flush=True)
            sec.notes.append(f"{max(tracks)} synthetic clips of {args.seconds:g} s (10 classes, "
                             f"{_frames_per_clip(args.seconds)} frames each) generated in {gen_s:.0f} s; "
                             f"short clips keep {max(tracks)} tracks at {max(tracks) * _frames_per_clip(args.seconds) * 513 * 4 / 2**30:.2f} GiB "
                             f"of frames (30 s clips: 10x the frames per track, same code path).")
            results: dict[tuple[str, int], dict[str, Any]] = {}
            for n in tracks:
                cache = work / f"cache-{n}"
                for stage in STAGES:
                    r = _run_child(stage, data, cache, n)
                    results[stage, n] = r
                    print(f"N={n:6d} {stage:15s} {r['seconds']:7.1f} s  peak RSS {r['peak_rss'] / MIB:7.0f} MiB  "
                          f"anon {r['peak_anon'] / MIB:7.0f}  file {r['peak_file'] / MIB:7.0f}  "
                          f"frames {r['frame_bytes'] / MIB:7.0f} MiB", flush=True)
                shutil.rmtree(cache, ignore_errors=True)
            _tabulate(sec, results, tracks)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    return timed_section(section, body)


def _tabulate(sec: Section, results: dict[tuple[str, int], dict[str, Any]], tracks: list[int]) -> None:
    n0 = tracks[0]
    ref_name = f"same at {n0} tracks"

    def add(what: str, key: str, stage: str, note: Any = None) -> None:
        for n in tracks:
            r = results[stage, n]
            frac = r[key] / r["frame_bytes"]
            extra = note(r) if note else ""
            sec.rows.append(Row(f"{what}, {n} tracks", r[key] / MIB, "MiB", results[stage, n0][key] / MIB,
                                ref_name, better="lower",
                                note=f"{frac:.2f}x the frame matrix{extra}; stage took {r['seconds']:.0f} s"))

    for n in tracks:
        r = results["extract", n]
        sec.rows.append(Row(f"frame matrix X.f32 (= RSS if loaded in memory), {n} tracks",
                            r["frame_bytes"] / MIB, "MiB", results["extract", n0]["frame_bytes"] / MIB,
                            ref_name, better="lower", note=f"{r['frames']:,} frames x 513 float32"))
    add("extract_frames n_jobs=2: peak RSS, main process", "peak_rss", "extract",
        lambda r: f"; largest child process {r['worker_peak_rss'] / MIB:.0f} MiB (workers are threads)")
    add("train 1 epoch on memmap views: peak RSS", "peak_rss", "train-memmap",
        lambda r: f"; of which file-backed (mapped cache pages) up to {r['peak_file'] / MIB:.0f} MiB")
    add("train 1 epoch on memmap views: peak private (RssAnon)", "peak_anon", "train-memmap")
    add("train 1 epoch via pipeline.part_frames (pipeline): peak RSS", "peak_rss", "train-pipeline")
    add("train 1 epoch via pipeline.part_frames (pipeline): peak private (RssAnon)", "peak_anon", "train-pipeline")

    floor = results["train-memmap", n0]["floor"] / MIB
    sec.notes.append(f"Every stage runs in a fresh child process; about {floor:.0f} MiB of each training "
                     f"peak is the interpreter with numpy + torch imported (extract: "
                     f"{results['extract', n0]['floor'] / MIB:.0f} MiB, no torch).")
    if not all(r.get("hwm_reset") for r in results.values()):
        sec.notes.append("Could not reset the peak RSS after the imports (/proc/self/clear_refs): peak "
                         "RSS includes the set-up of each child (imports, scanning the data folder).")
    sec.notes.append("Peak RSS (VmHWM) counts every page of the memory-mapped X.f32 that the epoch "
                     "touched: page cache mapped into the process, which the kernel drops under memory "
                     "pressure. RssAnon (sampled every 10 ms) is the private memory that cannot be dropped.")
    sec.notes.append("The pipeline rows are how mirlearn.pipeline.train_learner and `mirlearn train` "
                     "(cli/run.py) feed MLPLearner.fit: pipeline.part_frames copies the training and "
                     "validation tracks into RAM when they are under 256 MiB, else into a temporary "
                     "memory-mapped .npy (before that fix, FrameSet.subset copied 75 % of the frame "
                     "matrix into private memory: 266 → 2 167 MiB from 100 to 10 000 tracks). "
                     "MLPLearner.fit, the Standardizer and "
                     "FrameBatches themselves stream from a memmap (per-frame labels and the epoch "
                     "permutation, 16 bytes per frame, are the only arrays that grow with N).")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tracks", type=int, nargs="+", default=[100, 1000, 10000],
                   help="dataset sizes N, in tracks (default: 100 1000 10000)")
    p.add_argument("--seconds", type=float, default=3.0, help="length of every synthetic clip (s)")
    p.add_argument("--data-dir", default=None,
                   help="keep (and reuse) the synthetic WAVs here instead of a temporary folder")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for memory.json / memory.md")
    p.add_argument("--child", choices=STAGES, help=argparse.SUPPRESS)
    p.add_argument("--cache-dir", default=None, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, Path(args.data_dir), Path(args.cache_dir), args.n)))
        return
    if min(args.tracks) < 4 * N_CLASSES:
        p.error(f"every N must be at least {4 * N_CLASSES} (a stratified split of {N_CLASSES} classes)")
    section = run(args)
    print(section.to_markdown())
    print(f"saved {section.save(args.out)}")


if __name__ == "__main__":
    main()

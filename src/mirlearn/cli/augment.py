"""``mirlearn augment``: write the offline augmentation's audio, to listen to (or to train on).

Every track of ``--data`` becomes one file per variant of the configuration's ``[augment]``
section (time stretch, pitch shift, gain, noise; random segments), written as
``OUT/<the track's folder under --data>/<stem>~<tag>.wav`` (32-bit float WAV: a gain never
clips), plus ``OUT/augmented.csv``, a manifest (``path,label,track_id``) that ``--data`` reads.
A file already there is kept: a killed command resumes where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mirlearn.cli import checks, options
from mirlearn.cli.common import check_common, load_run_config, load_tracks

MANIFEST = "augmented.csv"


def _target(root: Path, out: Path, path: Path, tag: str) -> Path:
    """Where the copy of ``path`` made by ``tag`` goes: its folder under ``root`` kept."""
    try:
        rel = path.resolve().relative_to(root.resolve()).parent
    except ValueError:  # a manifest naming files elsewhere: flat
        rel = Path()
    return out / rel / f"{path.stem}~{tag}.wav"


def cmd_augment(args: argparse.Namespace) -> int:
    """Write every track's augmented copies as audio files and a manifest of them."""
    import numpy as np
    import soundfile as sf

    from mirlearn import audio
    from mirlearn.errors import AudioError
    from mirlearn.features.augment.transforms import copy_id
    from mirlearn.io import atomic_path
    from mirlearn.progress import Progress

    check_common(args)
    out = checks.check_out_dir(args.out)
    if args.limit is not None:
        checks.check_at_least(args.limit, 1, "--limit")
    args.set = ["augment.enabled=true", *args.set]
    cfg = load_run_config(args)
    transforms = cfg.augment.transforms()
    if not transforms:
        checks.fail("the configuration's [augment] section lists no offline transform (time_stretch, pitch_shift, "
                    "gain_db, noise_snr_db): nothing to write")
    tracks, _ = load_tracks(args.data, args.dataset)
    chosen = list(tracks)[: args.limit] if args.limit else list(tracks)
    root = Path(args.data) if Path(args.data).is_dir() else Path(args.data).parent
    sr = cfg.frames.sr
    print(f"augment: {len(chosen)} track(s) × {len(transforms)} variant(s) → {out} (WAV, {sr} Hz)")
    for t in transforms:
        print(f"  {t.tag}: {t.describe()}")
    rows = [{"path": str(_target(root, out, Path(track.path), t.tag).relative_to(out)), "label": track.label,
             "track_id": copy_id(track.track_id, t)} for track in chosen for t in transforms]

    def one_track(track) -> tuple[int, int, str | None, list[str]]:
        """Write ``track``'s missing copies: (written, kept, why unreadable, notes)."""
        y, done, kept, notes = None, 0, 0, []
        for t in transforms:
            target = _target(root, out, Path(track.path), t.tag)
            if target.is_file():
                kept += 1
                continue
            if y is None:
                try:
                    y = audio.load(track.path, sr=sr, mono=True)
                except AudioError as e:
                    return done, kept, f"{track.path}: {e.cause}", notes
                if len(y) == 0:  # nothing to transform (a transform would refuse an empty signal)
                    return done, kept, f"{track.path}: no audio samples", notes
            z, note = t(y, sr, track.track_id)
            if note:
                notes.append(f"{track.path} ({t.tag}): {note}")
            with atomic_path(target) as tmp:
                sf.write(tmp, np.asarray(z, dtype=np.float32), sr, subtype="FLOAT", format="WAV")
            done += 1
        return done, kept, None, notes

    bad: list[str] = []
    notes: list[str] = []
    written = kept = 0
    t0 = time.perf_counter()
    # Threads: decoding, librosa's FFTs and Rubber Band release the GIL; a track at a time each.
    with Progress(len(chosen), "augment", "track", enabled=not args.no_progress) as bar, \
            ThreadPoolExecutor(max_workers=max(1, args.jobs if args.jobs > 0 else os.cpu_count() or 1)) as pool:
        for done, k, why, track_notes in pool.map(one_track, chosen):
            written, kept = written + done, kept + k
            notes += track_notes
            if why:
                bad.append(why)
            bar.update(1)
    if bad:
        rows = [r for r in rows if Path(out / r["path"]).is_file()]
    with atomic_path(out / MANIFEST) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["path", "label", "track_id"])
        w.writeheader()
        w.writerows(rows)
    for line in notes[:20]:
        print(f"note: {line}")
    print(f"wrote {written} file(s), kept {kept} already there, in {time.perf_counter() - t0:.1f} s; "
          f"manifest {out / MANIFEST} (use: mirlearn run --data {out / MANIFEST})")
    if bad:
        msg = f"{len(bad)} file(s) could not be read:\n  " + "\n  ".join(bad)
        if not args.skip_bad:
            checks.fail(msg)
        print(f"skipped {msg}")
    return 0


def register(sub: Any) -> None:
    """Add ``augment`` to the subcommands."""
    a = options.add_command(sub, "augment", help="write augmented copies of a dataset's audio (to listen to)",
                            description="Write the offline augmentation of the configuration's [augment] section "
                            "(time stretch, pitch shift, gain, noise; random segments) for every track of --data, "
                            "one WAV per track and variant, and a manifest of them (augmented.csv). Training does "
                            "not need these files: `mirlearn run` caches the copies' frames itself.",
                            example="mirlearn augment --data ~/data/gtzan --out gtzan-augmented --limit 10\n"
                            "mirlearn augment --data ~/data/gtzan --out aug --set augment.time_stretch=[1.2] "
                            "--set augment.pitch_shift=[]")
    g = a.add_argument_group("data")
    options.add_data(g)  # type: ignore[arg-type]
    options.add_dataset(g)  # type: ignore[arg-type]
    options.add_skip_bad(g)  # type: ignore[arg-type]
    a.add_argument("--limit", type=int, default=None, metavar="N",
                   help="only the first N tracks of the dataset (default: all)")
    options.add_out(a, help="folder to write the audio files and augmented.csv into (required)")
    options.add_config(a, default="demo")
    options.add_set(a, help="override a config key, e.g. --set augment.time_stretch=[1.2] (TOML value syntax; "
                    "repeatable; augment.enabled is set for you; default: the config's [augment])")
    options.add_jobs(a)
    options.add_no_progress(a)
    a.set_defaults(func=cmd_augment)

"""Commands that use a trained model on audio files: ``predict`` and ``features``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mirlearn.cli import checks, options
from mirlearn.cli.common import check_common
from mirlearn.cli.run import check_model_dir

FEATURES_FILE = "features.npz"
"""The file ``mirlearn features`` writes into its ``--out`` folder."""


def cmd_predict(args: argparse.Namespace) -> int:
    """Genre and class probabilities for audio files."""
    from mirlearn.model import GenreModel, expand_audio_paths

    model_dir = check_model_dir(args.model)
    check_common(args)
    paths = expand_audio_paths(args.audio)
    model = GenreModel.load(model_dir)
    model.learner.set_params(device=args.device)
    results, bad = model.predict_files(paths, skip_bad=args.skip_bad, n_jobs=args.jobs)
    for p, cause in bad:
        print(f"skipped {p}: {cause}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        top = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:3]
        print(f"{r['genre']:<12} {r['path']}   (" + ", ".join(f"{c} {v:.2f}" for c, v in top) + ")")
    return 0


def features_path(out: str | Path) -> Path:
    """The file ``features`` writes: ``OUT/features.npz``, or ``OUT`` itself when it ends in ``.npz``."""
    p = Path(out).expanduser()
    return p if p.suffix.lower() == ".npz" else p / FEATURES_FILE


def cmd_features(args: argparse.Namespace) -> int:
    """Write learned features of audio files to an .npz file."""
    import numpy as np

    from mirlearn.io import atomic_path
    from mirlearn.learners import FeatureSpec
    from mirlearn.model import GenreModel, expand_audio_paths, frames_of_files

    model_dir = check_model_dir(args.model)
    check_common(args)
    if args.layer != "all" and not args.layer.isdigit():
        checks.fail(f"--layer {args.layer}: must be a layer number (1, 2, 3) or all")
    if args.aggregate:
        checks.check_positive(args.window, "--window", unit=" s")
        checks.check_positive(args.hop, "--hop", unit=" s")
    out = features_path(args.out)
    if out.name == FEATURES_FILE and out.parent == Path(args.out).expanduser():
        checks.check_out_dir(out.parent)
    checks.check_out_file(out)
    paths = expand_audio_paths(args.audio)
    model = GenreModel.load(model_dir)
    model.learner.set_params(device=args.device)
    model.learner.select(args.layer)  # a layer the learner lacks stops here
    spec = FeatureSpec(args.layer, args.aggregate, args.window, args.hop)
    frames, bad = frames_of_files(paths, model.frame_settings, skip_bad=args.skip_bad, n_jobs=args.jobs,
                                  max_seconds=model.info.get("max_seconds"))
    for p, cause in bad:
        print(f"skipped {p}: {cause}", file=sys.stderr)
    fs = model.features(frames, spec)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, features=fs.X, offsets=fs.offsets, paths=np.array([str(t.path) for t in fs.tracks]),
                     layers=args.layer, aggregate=args.aggregate,
                     hop_seconds=(args.hop if args.aggregate else model.frame_settings.hop_length / model.frame_settings.sr))
    print(f"features {fs.X.shape[0]} × {fs.X.shape[1]} ({spec.name}) of {fs.n_tracks} files → {out}")
    print("rows of file i: features[offsets[i]:offsets[i+1]]")
    return 0


def register(sub: Any) -> None:
    """Add ``predict`` and ``features`` to the subcommands."""
    pr = options.add_command(sub, "predict", help="genre and class probabilities of audio files",
                             description="Name the genre of audio files with a model from `mirlearn train`; "
                             "prints the top-3 class probabilities (or JSON).",
                             example="mirlearn predict runs/model/model song.mp3 ~/Music/album --json")
    pr.add_argument("model", help="model folder written by `mirlearn train` (OUT/model)")
    pr.add_argument("audio", nargs="+", help="audio files or folders (searched recursively)")
    pr.add_argument("--json", action="store_true", help="print JSON instead of a table (default: off)")
    options.add_skip_bad(pr)
    options.add_execution(pr)
    pr.set_defaults(func=cmd_predict)

    fe = options.add_command(sub, "features", help="write learned features of audio files to .npz",
                             description="Write the learned features of audio files to OUT/features.npz: "
                             "arrays features (rows × dims), offsets (rows of file i: "
                             "features[offsets[i]:offsets[i+1]]), paths, layers, aggregate, hop_seconds.",
                             example="mirlearn features runs/model/model ~/Music/album --layer all --aggregate "
                             "--out feats/")
    fe.add_argument("model", help="model folder written by `mirlearn train` (OUT/model)")
    fe.add_argument("audio", nargs="+", help="audio files or folders (searched recursively)")
    options.add_feature_choice(fe)
    options.add_out(fe, default=".", old=("-o", "--output"),
                    help=f"folder that receives {FEATURES_FILE} (created; an existing {FEATURES_FILE} is "
                    "replaced); a path ending in .npz names the file itself (default: %(default)s)")
    options.add_skip_bad(fe)
    options.add_execution(fe)
    fe.set_defaults(func=cmd_features)

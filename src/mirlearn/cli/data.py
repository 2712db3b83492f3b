"""Commands that make data files: ``splits`` and ``synth``."""

from __future__ import annotations

import argparse
from typing import Any

from mirlearn.cli import checks, options
from mirlearn.cli.common import check_common, load_tracks


def cmd_splits(args: argparse.Namespace) -> int:
    """Make the protocol's random stratified splits of a dataset and save them."""
    from mirlearn.datasets.splits import make_splits, save_splits

    check_common(args)
    checks.check_at_least(args.n_splits, 1, "--n-splits")
    fractions = checks.check_fractions(args.fractions)
    out = checks.check_out_file(args.out)
    tracks, _ = load_tracks(args.data, args.dataset)
    splits = make_splits(tracks, n_splits=args.n_splits, fractions=tuple(fractions), seed=args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_splits(splits, out)
    for s in splits:
        print(f"{s.name}: {len(s.train)} train / {len(s.valid)} valid / {len(s.test)} test")
    print(f"saved {out}")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    """Generate the synthetic dataset (folder-per-label WAV files)."""
    from mirlearn.datasets.synthetic import make_synthetic

    if args.out is not None and args.old_out is not None:
        checks.fail(f"give the folder once: --out {args.out} or {args.old_out}")
    if args.out is None and args.old_out is None:
        checks.fail("give the folder to write: --out DIR")
    args.out = args.out if args.out is not None else args.old_out
    checks.check_at_least(args.classes, 2, "--classes")
    checks.check_at_least(args.clips, 1, "--clips")
    checks.check_positive(args.seconds, "--seconds", unit=" s")
    out = checks.check_out_dir(args.out)
    root = make_synthetic(out, n_classes=args.classes, clips_per_class=args.clips,
                          seconds=args.seconds, seed=args.seed)
    print(f"synthetic dataset in {root}")
    return 0


def register(sub: Any) -> None:
    """Add ``splits`` and ``synth`` to the subcommands."""
    s = options.add_command(sub, "splits", help="make K random stratified train/valid/test splits",
                            description="Make the protocol's K random stratified train/valid/test splits of a "
                            "dataset and save them as one JSON file (use it with --splits).",
                            example="mirlearn splits --data ~/data/gtzan --n-splits 4 --out gtzan-splits.json")
    g = s.add_argument_group("data")
    options.add_data(g)  # type: ignore[arg-type]
    options.add_dataset(g)  # type: ignore[arg-type]
    options.add_split_making(s)
    options.add_out(s, metavar="FILE", default="splits.json", old=("-o", "--output"),
                    help="the JSON file to write (an existing file is replaced) (default: %(default)s)")
    s.set_defaults(func=cmd_splits)

    sy = options.add_command(sub, "synth", help="generate the synthetic dataset",
                             description="Generate the synthetic dataset: folder-per-label WAV files and "
                             "synthetic.json. An existing set with the same parameters is reused.",
                             example="mirlearn synth --out data/synth --classes 4 --clips 20 --seconds 10")
    options.add_out(sy, help="folder to fill: new, empty, or a synthetic set made before (required)")
    # The former positional form `mirlearn synth DIR` stays accepted, undocumented.
    sy.add_argument("old_out", nargs="?", default=None, metavar="DIR", help=argparse.SUPPRESS)
    options.add_synthetic(sy, classes=10, clips=100, seconds=30.0)
    sy.set_defaults(func=cmd_synth)

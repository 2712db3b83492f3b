"""The ``compare`` command: runs side by side on the same splits, with paired differences."""

from __future__ import annotations

import argparse
from typing import Any

from mirlearn.cli import options
from mirlearn.cli.checks import check_out_dir, fail


def cmd_compare(args: argparse.Namespace) -> int:
    """Read every run, check that they share their splits, then write and print the comparison."""
    from mirlearn.experiments.report.compare import accuracy_table, compare_runs, read_run, write_comparison
    from mirlearn.experiments.report.render import md_table

    if len(args.runs) < 2:
        fail("compare needs at least two run folders")
    if args.out is None:
        fail("--out: required (the folder for the comparison)")
    labels = [s.strip() for s in args.labels.split(",")] if args.labels else [None] * len(args.runs)
    if len(labels) != len(args.runs):
        fail(f"--labels: {len(labels)} label(s) for {len(args.runs)} run folder(s)")
    if any(label == "" for label in labels):
        fail("--labels: an empty label")
    out = check_out_dir(args.out)
    comparison = compare_runs([read_run(r, label) for r, label in zip(args.runs, labels)])
    md_path, html_path = write_comparison(comparison, out)
    header, rows = accuracy_table(comparison)
    print(md_table(header, rows))
    for note in comparison.notes:
        print(f"note: {note}")
    print(f"comparison: {md_path}, {html_path}")
    return 0


def register(sub: Any) -> None:
    """Add ``compare`` to the subcommands."""
    c = options.add_command(sub, "compare", help="compare runs on the same splits: every cell, paired differences",
                            description="Put two or more folders of `mirlearn run` side by side: every result "
                            "cell's track accuracy (mean ± std over the splits they share), each run's "
                            "difference from the first one computed split by split, the settings that differ, "
                            "and a figure of every split. The runs must have been evaluated on the same splits "
                            "(same ids and tracks). Writes compare.md, compare.html, compare.json and "
                            "figures/compare_splits.png, and prints the table.",
                            example="mirlearn compare runs/base runs/augmented --labels without,with "
                            "--out runs/augment-effect")
    c.add_argument("runs", nargs="+", metavar="RUN", help="run folders of `mirlearn run` or `demo` (two or more; "
                   "the first is the reference of the differences)")
    c.add_argument("--labels", default=None, metavar="A,B,...",
                   help="names of the runs in tables and figures, comma-separated (default: the folder names)")
    options.add_out(c, help="folder for compare.md, compare.html, compare.json and figures/ (required)")
    c.set_defaults(func=cmd_compare)

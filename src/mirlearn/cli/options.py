"""Every command-line option of mirlearn, declared once.

Each ``add_*`` function adds one option (or one group of options that always travel
together) to a command's parser, so that an option has the same spelling, meaning, default
and help text in every command that takes it. Values are checked after parsing by
:mod:`mirlearn.cli.checks`, before any work; the parser itself only converts types.

Every option's help states its default (``%(default)s``) and every command's ``--help`` ends
with an example (see :func:`add_command`).
"""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path
from typing import Any

DATASET_KINDS = ("auto", "gtzan", "folder", "manifest", "synthetic")
"""Layouts of ``--data`` (kept equal to :data:`mirlearn.datasets.DATASET_KINDS`, which the
command line does not import so that ``mirlearn --help`` stays light)."""


def data_home() -> Path:
    """Where mirlearn keeps generated data and caches: ``$MIRLEARN_HOME`` or ``~/.cache/mirlearn``."""
    return Path(os.environ.get("MIRLEARN_HOME", Path.home() / ".cache" / "mirlearn"))


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``mirlearn: error: ...``.

    argparse prints the usage block and exits with status 2; mirlearn prints one line that
    names the option and the cause (and where to read more), as for every other user error.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"mirlearn: error: {message} (see `{self.prog} --help`)\n")


def add_command(sub: Any, name: str, *, help: str, description: str, example: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with ``example`` (one or more command lines).

    Parameters
    ----------
    sub : the ``add_subparsers()`` action of the top-level parser
    name : the command's name, e.g. ``"run"``
    help : one line for ``mirlearn --help``
    description : the paragraph at the top of ``mirlearn NAME --help``
    example : command line(s) shown under "example:" at the end of ``--help``
    """
    lines = "\n".join(f"  {line}" for line in example.strip().splitlines())
    return sub.add_parser(name, help=help, description=textwrap.fill(description, 90), epilog=f"example:\n{lines}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


# -- data -----------------------------------------------------------------------------------
def add_data(p: argparse.ArgumentParser, *, required: bool = True, help: str | None = None) -> None:
    """``--data PATH``: the only way to give a dataset."""
    p.add_argument("--data", required=required, metavar="PATH", default=None,
                   help=help or "dataset folder (GTZAN, folder-per-label, synthetic) or CSV manifest "
                   + ("(required)" if required else "(default: none)"))


def add_dataset(p: argparse.ArgumentParser, *, help: str | None = None) -> None:
    """``--dataset KIND``: the layout of ``--data``.

    Not an argparse ``choices`` option: :func:`mirlearn.cli.checks.check_dataset_kind` checks
    it, so that ``reproduce`` can still read the deprecated ``--dataset PATH``.
    """
    p.add_argument("--dataset", default="auto", metavar="{" + ",".join(DATASET_KINDS) + "}",
                   help=help or "layout of --data; auto detects a manifest (.csv), GTZAN, or "
                   "folder-per-label (default: %(default)s)")


def add_splits_file(p: argparse.ArgumentParser, *, help: str | None = None) -> None:
    """``--splits FILE``: a split file or folder."""
    p.add_argument("--splits", metavar="FILE", default=None,
                   help=help or "split file (.json from `mirlearn splits`) or a folder holding "
                   "train.txt/valid.txt/test.txt (default: the config's random "
                   "stratified splits, or the manifest's split column)")


def add_split(p: argparse.ArgumentParser, *, many: bool, help: str | None = None) -> None:
    """``--split K|ID``: split(s) by 0-based index or by id (e.g. ``random-seed0-1``).

    Parameters
    ----------
    many : ``run`` takes several splits, ``train`` and ``evaluate`` exactly one
    """
    what = "only these splits" if many else "which split"
    p.add_argument("--split", nargs="+" if many else None, metavar="K|ID", default=None,
                   help=help or f"{what}: a 0-based index or a split id such as random-seed0-1 "
                   "(default: " + ("every split)" if many else "the first split)"))


def add_cache(p: argparse.ArgumentParser) -> None:
    """``--cache DIR``: the frame cache."""
    p.add_argument("--cache", metavar="DIR", default=None,
                   help=f"frame cache folder (default: {data_home() / 'frames'})")


def add_skip_bad(p: argparse.ArgumentParser, *, batch: bool = False) -> None:
    """``--skip-bad``: leave out undecodable files.

    ``batch``: a command over a list of files (``predict``, ``features``) always does the
    good files and names the bad ones; the option only makes that exit status 0.
    """
    help = ("exit 0 when some files cannot be read (they are still named on stderr, as skipped); without it "
            "the exit status is 1 (default: off)" if batch else
            "leave out undecodable files (with a warning) instead of stopping (default: off)")
    p.add_argument("--skip-bad", action="store_true", help=help)


# -- execution ------------------------------------------------------------------------------
def add_jobs(p: argparse.ArgumentParser) -> None:
    """``-j/--jobs N``: worker threads."""
    p.add_argument("-j", "--jobs", type=int, default=2, metavar="N",
                   help="worker threads for decoding and framing, >= 1, or -1 for every CPU "
                   "(default: %(default)s)")


def add_device(p: argparse.ArgumentParser) -> None:
    """``--device``: the torch device of the network."""
    p.add_argument("--device", default="cpu", help="torch device of the network: cpu, cuda or cuda:N "
                   "(default: %(default)s)")


def add_no_progress(p: argparse.ArgumentParser) -> None:
    """``--no-progress``: no progress bars; the log lines (one per epoch, per stage) stay."""
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars or progress lines; the log (one line per epoch with its loss and "
                   "accuracy, one per stage) stays. Without a terminal, progress is plain lines, never "
                   "redrawn bars (default: off)")


def add_execution(p: argparse.ArgumentParser) -> None:
    """``--device``, ``-j/--jobs`` and ``--no-progress``: every command that runs a net."""
    g = p.add_argument_group("execution")
    add_device(g)  # type: ignore[arg-type]
    add_jobs(g)  # type: ignore[arg-type]
    add_no_progress(g)  # type: ignore[arg-type]


# -- configuration --------------------------------------------------------------------------
def add_config(p: argparse.ArgumentParser, *, default: str) -> None:
    """``--config NAME|FILE`` (its default stored as ``config_default``)."""
    p.add_argument("--config", default=None, metavar="NAME|FILE",
                   help=f"packaged config name or TOML file (default: {default}, or "
                   "sigtia2014-sigmoid-hf-500 with --optimizer hf); see `mirlearn configs`")
    p.set_defaults(config_default=default)


def add_optimizer(p: argparse.ArgumentParser) -> None:
    """``--optimizer sgd|hf|adagrad``."""
    p.add_argument("--optimizer", choices=["sgd", "hf", "adagrad"], default=None,
                   help="override training.optimizer: sgd, hf (Hessian-Free) or adagrad (AdaGrad on the SGD "
                   "minibatches); without --config, hf picks the paper's sigmoid + HF config (default: the config's)")


def add_set(p: argparse.ArgumentParser, *, help: str | None = None) -> None:
    """``--set KEY=VALUE`` (repeatable)."""
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help=help or "override a config key, e.g. --set training.max_epochs=20 (TOML value "
                   "syntax; repeatable; default: none)")


# -- outputs --------------------------------------------------------------------------------
def add_out(p: argparse.ArgumentParser, *, help: str, metavar: str = "DIR", default: str | None = None,
            old: tuple[str, ...] = ()) -> None:
    """``--out DIR``: where a command writes; ``old`` spellings stay accepted, hidden.

    Parameters
    ----------
    help : what the folder (or file) holds; must state the default
    old : former spellings (e.g. ``"-o", "--output"``), parsed into the same value
    """
    p.add_argument("--out", metavar=metavar, default=default, help=help)
    if old:
        p.add_argument(*old, dest="out", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


# -- generated data -------------------------------------------------------------------------
def add_seed(p: argparse.ArgumentParser, *, what: str) -> None:
    """``--seed N``."""
    p.add_argument("--seed", type=int, default=0, help=f"seed of {what} (default: %(default)s)")


def add_synthetic(p: argparse.ArgumentParser, *, classes: int, clips: int, seconds: float) -> None:
    """``--classes``, ``--clips``, ``--seconds``, ``--seed``: the shape of a synthetic set."""
    g = p.add_argument_group("synthetic set")
    g.add_argument("--classes", type=int, default=classes, help="number of classes, >= 2 (default: %(default)s)")
    g.add_argument("--clips", type=int, default=clips, help="clips per class, >= 1 (default: %(default)s)")
    g.add_argument("--seconds", type=float, default=seconds, help="clip length in s (default: %(default)s)")
    add_seed(g, what="the clips")  # type: ignore[arg-type]


def add_split_making(p: argparse.ArgumentParser) -> None:
    """``--n-splits``, ``--fractions``, ``--seed``: the protocol's random stratified splits."""
    p.add_argument("--n-splits", type=int, default=4, metavar="K", help="number of splits (default: %(default)s)")
    p.add_argument("--fractions", type=float, nargs=3, default=[0.5, 0.25, 0.25], metavar=("TRAIN", "VALID", "TEST"),
                   help="fractions of each class in train, valid, test (default: %(default)s)")
    add_seed(p, what="the splits")


# -- features -------------------------------------------------------------------------------
def add_feature_choice(p: argparse.ArgumentParser, *, windows_by_default: bool = False) -> None:
    """``--layer``, ``--aggregate`` (or ``--frames``), ``--window``, ``--hop``: which learned features.

    Window and hop default to ``None``: the model's own (its configuration's), never a
    fixed number that a model trained with other windows would silently disagree with.

    Parameters
    ----------
    windows_by_default : rows are aggregation windows unless ``--frames`` is given (``embed``);
        otherwise frames unless ``--aggregate`` is (``features``). Either way ``args.aggregate``
        holds the choice.
    """
    g = p.add_argument_group("features")
    g.add_argument("--layer", default="all", metavar="LAYERS",
                   help="feature layers: all, one layer (1, 2, 3 for the MLP) or several joined by commas "
                   "(1,2) (default: %(default)s)")
    if windows_by_default:
        g.add_argument("--frames", dest="aggregate", action="store_false",
                       help="one row per frame instead of per window (default: windows, the mean and variance "
                       "of their frames)")
    else:
        g.add_argument("--aggregate", action="store_true",
                       help="one row per window (mean and variance of its frames) instead of per frame "
                       "(default: off)")
    g.add_argument("--window", type=float, default=None, metavar="S",
                   help="aggregation window, s (default: the model's, e.g. 2 for the demo config, 5 for the "
                   "paper's)")
    g.add_argument("--hop", type=float, default=None, metavar="S",
                   help="aggregation hop, s (default: the model's, e.g. 1 for the demo config, 2.5 for the "
                   "paper's)")

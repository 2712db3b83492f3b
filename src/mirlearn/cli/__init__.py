"""The ``mirlearn`` command line.

One module per command group, every option declared once (:mod:`~mirlearn.cli.options`)
and meaning one thing everywhere (``--data PATH`` for data, ``--dataset KIND`` for its
layout, ``--out`` for outputs, ``--split K|ID``, ``--device``, ``-j``, ``--no-progress``):

- :mod:`~mirlearn.cli.run`: ``run``, ``demo``, ``train``, ``evaluate``
- :mod:`~mirlearn.cli.use`: ``predict``, ``features``
- :mod:`~mirlearn.cli.data`: ``splits``, ``synth``
- :mod:`~mirlearn.cli.augment`: ``augment``
- :mod:`~mirlearn.cli.reproduce`: ``reproduce``, ``report``
- :mod:`~mirlearn.cli.compare`: ``compare``
- :mod:`~mirlearn.cli.similarity`: ``index``, ``similar``, ``evaluate-similarity``
- :mod:`~mirlearn.cli.transfer`: ``transfer``
- :mod:`~mirlearn.cli.explore`: ``explore``
- :mod:`~mirlearn.cli.configs`: ``configs``

Every command checks all its arguments (:mod:`~mirlearn.cli.checks`), loads and validates
its configuration and reads its track table and splits before any work; a command that
fails changes nothing on disk. Errors a user can fix print as one line,
``mirlearn: error: ...``, with exit status 2 and no traceback. Heavy libraries are imported
inside the commands so that ``mirlearn --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from mirlearn import __version__
from mirlearn.cli import augment, compare, configs, data, explore, reproduce, run, similarity, transfer, use
from mirlearn.cli.options import Parser, data_home
from mirlearn.errors import MirlearnError

__all__ = ["main", "build_parser", "data_home"]


def build_parser() -> argparse.ArgumentParser:
    """The ``mirlearn`` parser with every subcommand."""
    p = Parser(prog="mirlearn", description="Learn features from music audio with deep neural networks; "
               "measure them on genre classification.",
               epilog="example:\n  mirlearn demo\n  mirlearn run --data ~/data/gtzan --out runs/gtzan",
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"mirlearn {__version__}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run.register(sub)
    use.register(sub)
    data.register(sub)
    augment.register(sub)
    reproduce.register(sub)
    compare.register(sub)
    similarity.register(sub)
    transfer.register(sub)
    explore.register(sub)
    configs.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (2 for a user error, 130 when interrupted)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already printed as one line
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    try:
        distributed = _join_ranks(args.command)
    except MirlearnError as e:
        print(f"mirlearn: error: {e}", file=sys.stderr)
        return 2
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below, not at exit
        return status
    except MirlearnError as e:
        print(f"mirlearn: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `mirlearn predict ... | head`: the reader has gone, which is not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 0
    except KeyboardInterrupt:
        print("\nmirlearn: interrupted; run the same command with the same --out to resume", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - only a lost rank is turned into one line; the rest re-raise
        message = distributed.lost_rank_message(e) if distributed is not None else None
        if message is None:
            raise
        print(f"mirlearn: error: {message}", file=sys.stderr)
        distributed.abandon(1)  # the group is broken: no teardown (it can hang or abort)
        return 1
    finally:
        if distributed is not None:
            distributed.finish()


#: The commands that share their work over the ranks of a ``torchrun`` job; the others run as
#: one process (every rank would otherwise write the same files).
RANKED_COMMANDS = ("run", "train", "reproduce", "embed", "features")


def _join_ranks(command: str):
    """Under ``torchrun`` (``WORLD_SIZE`` > 1): join the process group and return
    :mod:`mirlearn.distributed`; ranks other than 0 print nothing on stdout (rank 0 reports for
    the job; errors still reach stderr). Otherwise ``None``, and torch is not imported here.

    Raises
    ------
    MirlearnError
        A command that does not share its work over ranks, started by ``torchrun``.
    """
    import os

    if os.environ.get("WORLD_SIZE", "1").strip() in ("", "0", "1"):
        return None
    if command not in RANKED_COMMANDS:
        raise MirlearnError(f"`mirlearn {command}` runs as one process: start it without torchrun "
                            f"(under torchrun: {', '.join(RANKED_COMMANDS)})")
    from mirlearn import distributed

    w = distributed.init()
    if not w.is_main:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    return distributed


if __name__ == "__main__":
    sys.exit(main())

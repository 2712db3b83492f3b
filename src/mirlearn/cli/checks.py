"""Checks of command-line arguments, run before any work.

Every check raises :class:`~mirlearn.errors.MirlearnError` with one line that names the
option (or file) and the cause; :func:`mirlearn.cli.main` prints it as
``mirlearn: error: ...`` and exits with status 2. Nothing here creates a file or folder that
stays: writability is tested by creating and removing a probe file, because permission bits
say nothing when running as root (and nothing about read-only mounts).
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Sequence

from mirlearn.cli.options import DATASET_KINDS
from mirlearn.errors import MirlearnError

_DEVICE = re.compile(r"cpu|cuda(:\d+)?|mps")
_INDEX = re.compile(r"[+-]?\d+")


def fail(message: str) -> None:
    """Raise the one-line user error ``message``."""
    raise MirlearnError(message)


# -- numbers --------------------------------------------------------------------------------
def check_jobs(jobs: int, option: str = "-j/--jobs") -> int:
    """Worker threads: at least 1, or -1 for every CPU."""
    if jobs < 1 and jobs != -1:
        fail(f"{option} {jobs}: must be a number of threads >= 1, or -1 for every CPU")
    return jobs


def check_positive(value: float, option: str, *, unit: str = "") -> float:
    """A value that must be > 0 (durations, counts)."""
    if not value > 0:  # also catches NaN
        fail(f"{option} {value:g}{unit}: must be > 0")
    return value


def check_at_least(value: int, least: int, option: str) -> int:
    """An integer that must be >= ``least``."""
    if value < least:
        fail(f"{option} {value}: must be >= {least}")
    return value


def check_fractions(fractions: Sequence[float], option: str = "--fractions") -> list[float]:
    """Three positive numbers summing to 1 (train, valid, test)."""
    f = list(fractions)
    if len(f) != 3 or min(f) <= 0 or abs(sum(f) - 1) > 1e-6:
        fail(f"{option} {' '.join(f'{x:g}' for x in f)}: must be three positive numbers summing to 1")
    return f


def check_device(device: str, *, cpu_only: str | None = None) -> str:
    """A torch device name; CUDA must be present when asked for.

    Parameters
    ----------
    cpu_only : when given, the command runs its net on the CPU only and this names the
        command, so that any other device is refused rather than silently ignored
    """
    if not _DEVICE.fullmatch(device):
        fail(f"--device {device}: not a device; use cpu, cuda or cuda:N")
    if device == "cpu":
        return device
    if cpu_only:
        fail(f"--device {device}: `mirlearn {cpu_only}` runs the network on the CPU only (use --device cpu)")
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            fail(f"--device {device}: CUDA is not available on this machine")
        k = int(device.split(":")[1]) if ":" in device else 0
        if k >= torch.cuda.device_count():
            fail(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif device == "mps" and not torch.backends.mps.is_available():
        fail("--device mps: MPS is not available on this machine")
    return device


def check_dataset_kind(kind: str, option: str = "--dataset") -> str:
    """One of :data:`~mirlearn.cli.options.DATASET_KINDS`."""
    if kind not in DATASET_KINDS:
        fail(f"{option} {kind}: unknown layout; use one of {', '.join(DATASET_KINDS)} (the data itself "
             "is given with --data PATH)")
    return kind


# -- inputs ---------------------------------------------------------------------------------
def check_exists(path: str | Path, option: str, *, what: str = "path") -> Path:
    """An input path that must exist."""
    p = Path(path).expanduser()
    if not p.exists():
        fail(f"{option} {p}: {what} not found")
    return p


def check_split_tokens(tokens: Sequence[str] | None, option: str = "--split") -> list[str]:
    """``--split`` values before the splits are known: no negative index, none twice."""
    tokens = list(tokens or [])
    for t in tokens:
        if _INDEX.fullmatch(t) and int(t) < 0:
            fail(f"{option} {t}: split indices are 0-based and cannot be negative")
    seen = set()
    for t in tokens:
        if t in seen:
            fail(f"{option} {t}: given twice")
        seen.add(t)
    return tokens


def resolve_split_tokens(tokens: Sequence[str], names: Sequence[str], option: str = "--split") -> list[int]:
    """Positions in ``names`` of ``--split`` values given as 0-based indices or split ids.

    Parameters
    ----------
    tokens : the values of ``--split``
    names : the names (ids) of the splits at hand, in order

    Returns
    -------
    list of int, one position per token, in the order given
    """
    check_split_tokens(tokens, option)
    out: list[int] = []
    for t in tokens:
        if t in names:
            k = list(names).index(t)
        elif _INDEX.fullmatch(t):
            k = int(t)
            if k >= len(names):
                fail(f"{option} {t}: out of range; there {'is' if len(names) == 1 else 'are'} {len(names)} "
                     f"split(s), 0..{len(names) - 1}")
        else:
            shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
            fail(f"{option} {t}: no split with this id; the splits are {shown}")
        if k in out:
            fail(f"{option} {t}: names a split given twice")
        out.append(k)
    return out


# -- outputs --------------------------------------------------------------------------------
def _nearest_existing(p: Path) -> Path:
    q = p
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def writable(folder: Path) -> str | None:
    """Why no file can be created in the existing ``folder``, or None when one can.

    Creates and removes a uniquely named probe file: the only test that also holds for root,
    read-only mounts and pseudo file systems.
    """
    probe = folder / f".mirlearn-probe-{uuid.uuid4().hex}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as e:
        return e.strerror or type(e).__name__
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass
    return None


def _check_creatable(p: Path, option: str) -> None:
    base = _nearest_existing(p)
    if not base.is_dir():
        fail(f"{option} {p}: {base} is a file, so no folder can be made below it")
    why = writable(base)
    if why:
        fail(f"{option} {p}: cannot write in {base} ({why})")


def check_out_dir(path: str | Path, option: str = "--out", *, run_folder: bool = False) -> Path:
    """An output folder: not a file, creatable or writable.

    Parameters
    ----------
    run_folder : the folder receives a run (provenance, results); an existing non-empty
        folder must then already be a run folder (see :func:`mirlearn.runs.is_run_dir`),
        so that a run never spills into an unrelated folder
    """
    from mirlearn.runs import is_run_dir

    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        fail(f"{option} {p}: is a file, not a folder")
    _check_creatable(p, option)
    if run_folder and p.is_dir() and any(p.iterdir()) and not is_run_dir(p):
        fail(f"{option} {p}: a non-empty folder that is not a mirlearn run folder; give a new or empty folder")
    return p


def check_out_file(path: str | Path, option: str = "--out") -> Path:
    """An output file: not a folder, its folder creatable or writable."""
    p = Path(path).expanduser()
    if p.is_dir():
        fail(f"{option} {p}: is a folder; give the path of the file to write")
    _check_creatable(p.parent if str(p.parent) else Path("."), option)
    return p

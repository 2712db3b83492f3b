"""Run directories: every run records its settings, package versions and code commit.

Layout of a run directory::

    <out>/
      config.toml        the resolved configuration of the run's first invocation
      environment.json   package versions, Python, platform, git commit, command line (first invocation)
      invocations/       one <UTC time>-<pid>.json per invocation that started work: its
                         environment, command line and configuration (TOML text)
      ...                stage outputs (model/, metrics.json, predictions, logs)

Provenance is written only when work starts (the command line checks every argument first),
and it is never overwritten: ``config.toml`` and ``environment.json`` describe the results
the folder was made for, and a later invocation (a resume, another split, other settings)
adds its own file under ``invocations/``. When a later invocation's configuration differs
from ``config.toml``, :func:`record_run` says so and the file under ``invocations/`` is the
record of the settings of that invocation's results.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from mirlearn.io import atomic_write_json, atomic_write_text

_PACKAGES = ("mirlearn", "torch", "numpy", "scipy", "scikit-learn", "soundfile", "soxr", "av", "librosa")


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages whose numerics the results depend on."""
    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    """The commit of the mirlearn source tree (with ``-dirty`` when modified), if in git."""
    src = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=src,
                               capture_output=True, text=True, timeout=5)
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    """What produced a result: versions, commit, machine, command line, time (UTC)."""
    import torch

    return {
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "packages": package_versions(),
        "git_commit": git_commit(),
    }


def run_dir_path(out: str | Path | None, name: str, root: str | Path = "runs") -> Path:
    """The run directory, not yet created: ``out`` if given, else ``runs/<time>-<name>``."""
    if out is not None:
        return Path(out)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{stamp}-{name}"


def new_run_dir(out: str | Path | None, name: str, root: str | Path = "runs") -> Path:
    """Create and return the run directory: ``out`` if given, else ``runs/<time>-<name>``."""
    path = run_dir_path(out, name, root)
    path.mkdir(parents=True, exist_ok=True)
    return path


PROVENANCE_FILES = ("config.toml", "environment.json", "invocations")
"""What :func:`record_run` writes; a folder holding any of these is a run folder."""

RESULT_FILES = ("results.json", "run.json", "metrics.json", "splits.json")
"""Result files of the commands that make runs (``run``, ``reproduce``, ``train``)."""


def is_run_dir(path: str | Path) -> bool:
    """Whether ``path`` is a folder written by a mirlearn run (provenance or results in it)."""
    p = Path(path)
    return p.is_dir() and any((p / name).exists() for name in PROVENANCE_FILES + RESULT_FILES)


@dataclass(frozen=True)
class Recorded:
    """What :func:`record_run` wrote.

    Attributes
    ----------
    invocation : the file under ``invocations/`` of this invocation
    config_differs : ``config.toml`` existed with other settings and was kept
    """

    invocation: Path
    config_differs: bool


def record_run(run_dir: Path, config_toml: str, extra: dict[str, Any] | None = None) -> Recorded:
    """Record this invocation's provenance in ``run_dir``; never overwrite earlier provenance.

    Writes ``invocations/<UTC time>-<pid>.json`` (environment, ``extra``, the configuration as
    TOML text), and ``config.toml`` / ``environment.json`` when they are absent.

    Parameters
    ----------
    run_dir : an existing run folder
    config_toml : the resolved configuration (:func:`mirlearn.config.dump_toml`)
    extra : more keys for the environment record (data path, dataset kind, profile ...)

    Returns
    -------
    Recorded
    """
    env = environment()
    if extra:
        env.update(extra)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    invocation = run_dir / "invocations" / f"{stamp}-{os.getpid()}.json"
    invocation.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(invocation, {**env, "config_toml": config_toml})
    cfg_path = run_dir / "config.toml"
    differs = False
    if cfg_path.is_file():
        differs = cfg_path.read_text(encoding="utf-8") != config_toml
    else:
        atomic_write_text(cfg_path, config_toml)
    if not (run_dir / "environment.json").is_file():
        atomic_write_json(run_dir / "environment.json", env)
    return Recorded(invocation, differs)

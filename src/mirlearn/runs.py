"""Run directories: every run records its settings, package versions and code commit.

Layout of a run directory::

    <out>/
      config.toml        the resolved configuration
      environment.json   package versions, Python, platform, git commit, command line
      ...                stage outputs (model/, metrics.json, predictions, logs)
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
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


def new_run_dir(out: str | Path | None, name: str, root: str | Path = "runs") -> Path:
    """Create and return the run directory: ``out`` if given, else ``runs/<time>-<name>``."""
    if out is not None:
        path = Path(out)
    else:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path(root) / f"{stamp}-{name}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def record_run(run_dir: Path, config_toml: str, extra: dict[str, Any] | None = None) -> None:
    """Write ``config.toml`` and ``environment.json`` into ``run_dir``."""
    atomic_write_text(run_dir / "config.toml", config_toml)
    env = environment()
    if extra:
        env.update(extra)
    atomic_write_json(run_dir / "environment.json", env)

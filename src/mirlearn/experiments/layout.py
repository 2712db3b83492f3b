"""The run folder: the one place that knows where every file of a run lives.

Every command that writes into a run folder, and the report that reads it, gets its paths
from here; nothing else builds run paths or searches run folders with patterns. ::

    <run>/
      config.toml  environment.json      provenance (see :mod:`mirlearn.runs`)
      run.json  splits.json  results.json
      report.md  report.html  table1.csv  table2.csv  figures/
      .scratch/                          temporaries of running commands; a later run removes
                                         those of processes that no longer exist
      [<group>/]split-<split id>/        one learner trained and evaluated on one split
        net/                             net.json (what it was trained on), checkpoint.pt,
                                         train_log.csv, result.json, train_result.json, featurenet.pt
        cells/<cell>.json                one result cell: features → forest → vote
        predictions/<cell>.csv           per-track votes of that cell
      baselines/<dataset>/<method>/split-<split id>/cells/...
      <dataset>/<net>/cells/...          transfer of a trained net to another dataset

``<group>`` is empty for ``mirlearn run`` and ``<dataset>/<net>`` for the grid of
``mirlearn reproduce``. Split folders are named by the split's id, never by its position in a
list, so that ``--split`` selections of the same splits always meet the same folders.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from mirlearn.io import clean_atomic_leftovers, pid_alive

__all__ = ["RunLayout", "SplitLayout", "scratch_dir", "clean_scratch", "split_folder_name"]

_SCRATCH = ".scratch"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def split_folder_name(split_id: str) -> str:
    """``split-<id>`` with characters that are unsafe in a file name replaced by ``_``."""
    safe = _UNSAFE.sub("_", str(split_id)).strip("._") or "unnamed"
    return f"split-{safe}"


@dataclass(frozen=True)
class SplitLayout:
    """The folder of one learner on one split (or of one transfer / baseline experiment)."""

    root: Path

    @property
    def net_dir(self) -> Path:
        """The trained learner: weights, training log, checkpoint, ``net.json``."""
        return self.root / "net"

    @property
    def net_json(self) -> Path:
        """What the learner was trained on and with (its input fingerprint)."""
        return self.net_dir / "net.json"

    @property
    def train_log(self) -> Path:
        """One row per epoch (or Hessian-Free step) of the learner's training."""
        return self.net_dir / "train_log.csv"

    @property
    def train_result_json(self) -> Path:
        """How the learner's training ended (best epoch, validation loss and accuracy, time)."""
        return self.net_dir / "train_result.json"

    @property
    def cells_dir(self) -> Path:
        return self.root / "cells"

    def cell_json(self, cell: str) -> Path:
        """The result record of one feature cell."""
        return self.cells_dir / f"{cell}.json"

    def predictions_csv(self, cell: str) -> Path:
        """Per-track votes of one feature cell."""
        return self.root / "predictions" / f"{cell}.csv"

    @property
    def features_file(self) -> Path:
        """All-layer activations of the split's tracks (raw float32, removed after the cells)."""
        return self.root / "features-all.f32"


class RunLayout:
    """Paths of one run folder.

    Parameters
    ----------
    root : the run folder (need not exist yet)
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunLayout({str(self.root)!r})"

    # -- files of the whole run ------------------------------------------------------------
    @property
    def config_toml(self) -> Path:
        return self.root / "config.toml"

    @property
    def environment_json(self) -> Path:
        return self.root / "environment.json"

    @property
    def model_dir(self) -> Path:
        """The run's model for ``predict`` / ``features`` / ``evaluate``: the learner of its
        first split and the forest of the configuration's predict cell (see
        :class:`mirlearn.model.GenreModel`)."""
        return self.root / "model"

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def splits_json(self) -> Path:
        return self.root / "splits.json"

    @property
    def results_json(self) -> Path:
        return self.root / "results.json"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def figures_dir(self) -> Path:
        return self.root / "figures"

    def table_csv(self, name: str) -> Path:
        """A table of the report in long form, e.g. ``table_csv("table1")``."""
        return self.root / f"{name}.csv"

    @property
    def scratch_root(self) -> Path:
        """Where running commands keep temporaries (see :func:`scratch_dir`)."""
        return self.root / _SCRATCH

    # -- experiment folders ----------------------------------------------------------------
    def split(self, split_id: str, *group: str) -> SplitLayout:
        """The folder of a learner on split ``split_id``; ``group`` e.g. ``("gtzan", "relu-sgd-50")``."""
        return SplitLayout(self.root.joinpath(*group) / split_folder_name(split_id))

    def baseline(self, dataset: str, method: str, split_id: str) -> SplitLayout:
        """The folder of a hand-crafted baseline (``mfcc``, ``pmsc``) on one split."""
        return self.split(split_id, "baselines", dataset, method)

    def transfer(self, dataset: str, net: str) -> SplitLayout:
        """The folder of a trained net applied to another dataset (Table 2)."""
        return SplitLayout(self.root / dataset / net)

    # -- what a finished (or half-finished) run holds -------------------------------------
    def cell_files(self) -> list[Path]:
        """Every finished cell record of the run, sorted (temporaries are skipped)."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.rglob("cells/*.json")
                      if not p.name.startswith(".") and _SCRATCH not in p.parts)

    def net_dirs(self) -> list[Path]:
        """Every folder of a trained (or training) learner, sorted."""
        if not self.root.is_dir():
            return []
        marks = ("net.json", "train_log.csv", "train_result.json", "featurenet.pt", "hf_log.csv")  # hf_log: old runs
        return sorted(p for p in self.root.rglob("net") if p.is_dir() and _SCRATCH not in p.parts
                      and any((p / m).is_file() for m in marks))


# -- temporaries that a kill cannot leave behind for good ------------------------------------
def clean_scratch(parent: str | os.PathLike[str]) -> list[Path]:
    """Remove what killed processes left in ``parent``: their scratch folders under
    ``parent/.scratch`` and their half-written files (:func:`mirlearn.io.atomic_path`) in
    ``parent`` and ``parent/net``.

    Returns the removed paths. What a live process (another command working in the same run)
    holds is left alone.
    """
    root = Path(parent) / _SCRATCH
    removed: list[Path] = clean_atomic_leftovers(parent) + clean_atomic_leftovers(Path(parent) / "net")
    if not root.is_dir():
        return removed
    for p in sorted(root.iterdir()):
        m = re.match(r"(\d+)-", p.name)
        if m and pid_alive(int(m.group(1))):
            continue  # a running command's, ours included (an enclosing block may use it)
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    try:
        root.rmdir()  # only when empty
    except OSError:
        pass
    return removed


@contextmanager
def scratch_dir(parent: str | os.PathLike[str], prefix: str = "tmp") -> Iterator[Path]:
    """A temporary folder ``parent/.scratch/<pid>-<prefix>-XXXX``, removed when the block ends.

    A ``kill -9`` cannot run the clean-up; the folder name carries the process id so that the
    next command working in ``parent`` (which calls :func:`clean_scratch` first) removes it.
    """
    clean_scratch(parent)
    root = Path(parent) / _SCRATCH
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-{prefix}-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        try:
            root.rmdir()
        except OSError:
            pass

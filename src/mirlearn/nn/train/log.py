"""``train_log.csv``: one row per epoch (or HF step), the same columns first for every optimiser."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Mapping

from mirlearn.io import atomic_write_text

__all__ = ["LOG_COLUMNS", "LOG_NAME", "write_log"]

#: Columns every optimiser's log starts with, in order; the runner's own fields follow
#: (SGD: ``lr``; Hessian-Free: ``objective``, ``damping``, ``cg_iters``, ...).
LOG_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_acc", "seconds")

LOG_NAME = "train_log.csv"


def write_log(path: str | Path, history: list[Mapping[str, Any]], columns: tuple[str, ...] = LOG_COLUMNS) -> None:
    """Write the per-epoch rows as CSV atomically.

    Columns are ``columns`` then any other keys of the rows in first-seen order; floats are
    written in full (``repr``, so they read back exactly), missing values as empty fields.
    """
    cols = list(columns)
    for row in history:
        cols.extend(k for k in row if k not in cols)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for row in history:
        w.writerow(_csv_value(row.get(c)) for c in cols)
    atomic_write_text(path, buf.getvalue())


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)

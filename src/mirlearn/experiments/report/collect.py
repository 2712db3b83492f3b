"""Reading a run's results: the cell JSONs and ``run.json``, gathered into one statistic per cell.

Every path comes from :class:`mirlearn.experiments.layout.RunLayout`; a cell is identified by
its JSON content alone (``experiment``: ``table``, ``dataset``, ``net``, ``method``, ``units``;
and ``split``, ``layers``, ``aggregate``, ``metrics``), never by the folder it lies in.

All accuracies are track accuracies in percent; "mean ± std" is over the splits of a cell,
with the population standard deviation (``ddof = 0``), as in
:func:`mirlearn.pipeline.summarize`.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from mirlearn.experiments.layout import RunLayout
from mirlearn.experiments.published import BASELINES, LAYERS, METHODS, Published, cell_key, normalize_method, published

__all__ = ["CellStat", "STD_DDOF", "MISSING", "collect", "summarize_cells", "best_cell", "cells_only", "run_info",
           "stats_of", "dataset_name", "key_of", "published_args", "pool_confusions"]

#: Degrees of freedom of the standard deviation over splits (population std, as in the protocol).
STD_DDOF = 0
#: What a table shows for a missing number.
MISSING = "—"
_DATASET_NAMES = {"gtzan": "GTZAN", "ismir2004": "ISMIR 2004"}


def dataset_name(d: str) -> str:
    """The display name of a dataset (``"gtzan"`` → ``"GTZAN"``); unknown names unchanged."""
    return _DATASET_NAMES.get(d, d)


# ----------------------------------------------------------------------------------------------
# Collecting results


def collect(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every cell JSON of a run, plus ``run.json`` when present.

    Parameters
    ----------
    run_dir : str or Path
        The run directory; its cells are :meth:`RunLayout.cell_files`.

    Returns
    -------
    list of dict
        Sorted by path. Every entry has ``"_kind"`` and ``"_path"`` (POSIX, relative to
        ``run_dir``; used to name the file in notes and to order duplicates, never to identify
        the cell): ``"cell"`` entries are the cell JSONs as written; the ``"run"`` entry (at
        most one, last) is ``run.json``; ``"error"`` entries name a file that could not be read
        (``"error"`` says why) and are otherwise ignored by the tables.
    """
    layout = RunLayout(run_dir)
    root = layout.root
    if not root.is_dir():
        raise FileNotFoundError(f"run directory not found: {root}")
    out: list[dict[str, Any]] = []
    for path in layout.cell_files():
        rel = path.relative_to(root).as_posix()
        if not path.is_file():
            continue
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(d, dict) or not isinstance(d.get("metrics"), dict):
                raise ValueError("not a cell record (no 'metrics' object)")
        except (OSError, ValueError) as e:
            warnings.warn(f"{path}: skipped, {e}", stacklevel=2)
            out.append({"_kind": "error", "_path": rel, "error": str(e)})
            continue
        out.append({**d, "_kind": "cell", "_path": rel})
    run_json = layout.run_json
    rel = run_json.relative_to(root).as_posix()
    if run_json.is_file():
        try:
            d = json.loads(run_json.read_text(encoding="utf-8"))
            out.append({**(d if isinstance(d, dict) else {}), "_kind": "run", "_path": rel})
        except (OSError, ValueError) as e:
            warnings.warn(f"{run_json}: skipped, {e}", stacklevel=2)
            out.append({"_kind": "error", "_path": rel, "error": str(e)})
    return out


def cells_only(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cell entries of :func:`collect` (entries without ``_kind`` count as cells)."""
    return [e for e in entries if e.get("_kind", "cell") == "cell" and isinstance(e.get("metrics"), dict)]


def run_info(entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The ``run.json`` entry of :func:`collect`, or ``{}``."""
    for e in entries:
        if e.get("_kind") == "run":
            return e
    return {}


# ----------------------------------------------------------------------------------------------
# Cell statistics over splits


@dataclass
class CellStat:
    """One result cell, gathered over its splits.

    Attributes
    ----------
    table : {1, 2, "baseline"}
    dataset : str
        ``"gtzan"`` or ``"ismir2004"``.
    method : str
        Training method (``"ReLU+SGD"`` …) or baseline feature (``"MFCC"``, ``"PMSC"``).
    units : int or None
        Hidden units per layer; ``None`` for baselines.
    layers : str
        ``"1"``, ``"2"``, ``"3"`` or ``"all"``.
    aggregate : bool
    net : str or None
        The net's name in the run (``experiment.net``), when given.
    splits : list of str
        Split ids, one per accuracy.
    accuracies : list of float
        Track accuracy of each split, in percent.
    classes : list of str
        Class names of :attr:`confusion` (union over splits, first-seen order).
    confusion : np.ndarray [shape=(n_classes, n_classes)], int64, or None
        Track confusion summed over the splits (rows true, columns predicted).
    published : Published or None
        The paper's number for this cell (``None`` where the paper has no such cell, e.g. on
        another data set).
    paths : list of str
        The cell JSONs used, relative to the run directory.
    """

    table: int | str
    dataset: str
    method: str
    units: int | None
    layers: str
    aggregate: bool
    net: str | None = None
    splits: list[str] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    confusion: np.ndarray | None = None
    published: Published | None = None
    paths: list[str] = field(default_factory=list)

    @property
    def n_splits(self) -> int:
        """Number of splits with a result."""
        return len(self.accuracies)

    @property
    def mean(self) -> float:
        """Mean track accuracy over splits (%), NaN without splits."""
        return float(np.mean(self.accuracies)) if self.accuracies else float("nan")

    @property
    def std(self) -> float:
        """Standard deviation of the track accuracy over splits (%, ``ddof =`` :data:`STD_DDOF`)."""
        if len(self.accuracies) <= STD_DDOF:
            return float("nan")
        return float(np.std(self.accuracies, ddof=STD_DDOF))

    @property
    def diff(self) -> float | None:
        """Our mean minus the published value (percentage points), when both are known."""
        if self.published is None or not self.accuracies:
            return None
        return self.mean - self.published.value

    @property
    def label(self) -> str:
        """A short human-readable name, e.g. ``"ReLU+SGD+Dropout 500, all layers, aggregated (GTZAN)"``."""
        who = self.method if self.units is None else f"{self.method} {self.units}"
        lay = "all layers" if self.layers == "all" else f"layer {self.layers}"
        return f"{who}, {lay}, {'aggregated' if self.aggregate else 'frames'} ({dataset_name(self.dataset)})"


def key_of(cell: dict[str, Any]) -> tuple | None:
    """The :data:`~mirlearn.experiments.published.PUBLISHED`-style key of a cell JSON, from its content.

    ``None`` when the cell has no usable ``experiment`` block (table, method, units).
    """
    exp = cell.get("experiment")
    if not isinstance(exp, dict) or "method" not in exp:
        return None
    table = exp.get("table")
    method = normalize_method(exp["method"])
    if table is None:
        table = "baseline" if method in BASELINES else None
    if table is None:
        return None
    layers = cell.get("layers", "all")
    aggregate = bool(cell.get("aggregate", False))
    units = exp.get("units")
    try:
        units = None if units is None else int(units)
    except (TypeError, ValueError):
        return None
    return cell_key(table, method, units, layers, aggregate, exp.get("dataset"))


def _split_of(cell: dict[str, Any]) -> str:
    # A cell names its split; an old record without one counts as a split of its own.
    if cell.get("split") is not None:
        return str(cell["split"])
    return cell.get("_path", "?")


def summarize_cells(cells: Iterable[dict[str, Any]], notes: list[str] | None = None) -> dict[tuple, CellStat]:
    """Gather cell JSONs into one :class:`CellStat` per (table, dataset, method, units, layers, aggregate).

    Parameters
    ----------
    cells : iterable of dict
        Cell JSONs (as from :func:`collect`; entries that are not cells are ignored).
    notes : list of str, optional
        Receives a line for every cell that was skipped: no ``experiment`` block, a
        duplicate split (the first one, in path order, is kept), or no accuracy.

    Returns
    -------
    dict
        Keyed by :func:`mirlearn.experiments.published.cell_key`.
    """
    notes = notes if notes is not None else []
    stats: dict[tuple, CellStat] = {}
    metrics_of: dict[tuple, list[dict[str, Any]]] = {}
    for cell in sorted(cells_only(cells), key=lambda c: c.get("_path", "")):
        path = cell.get("_path", "?")
        key = key_of(cell)
        if key is None:
            notes.append(f"{path}: no usable 'experiment' block (table, method, units); not in the tables")
            continue
        table, dataset, method, units, layers, aggregate = key
        st = stats.get(key)
        if st is None:
            st = stats[key] = CellStat(table=table, dataset=dataset, method=method, units=units, layers=layers,
                                       aggregate=aggregate, net=cell.get("experiment", {}).get("net"),
                                       published=published(*published_args(key)))
            metrics_of[key] = []
        split = _split_of(cell)
        if split in st.splits:
            notes.append(f"{path}: second result for split {split!r} of {st.label}; ignored")
            continue
        metrics = cell["metrics"]
        acc = metrics.get("accuracy")
        if acc is None or not math.isfinite(float(acc)):
            notes.append(f"{path}: no track accuracy; ignored")
            continue
        st.splits.append(split)
        st.accuracies.append(100.0 * float(acc))
        st.paths.append(path)
        metrics_of[key].append(metrics)
    for key, st in stats.items():
        st.classes, st.confusion = pool_confusions(metrics_of[key])
    return stats


def pool_confusions(metrics: Iterable[dict[str, Any]]) -> tuple[list[str], np.ndarray | None]:
    """The track confusions of several cell ``metrics`` summed, class by class.

    Parameters
    ----------
    metrics : iterable of dict
        Cell ``metrics`` objects (``classes``, ``confusion``: rows true, columns predicted);
        those without both are skipped.

    Returns
    -------
    classes : list of str
        The union of the classes, in first-seen order.
    confusion : np.ndarray [shape=(n_classes, n_classes)], int64, or None
        ``None`` when no record has a confusion.
    """
    classes: list[str] = []
    tally: dict[tuple[str, str], int] = {}
    for m in metrics:
        names = [str(c) for c in m.get("classes", []) or []]
        conf = m.get("confusion")
        if not names or conf is None:
            continue
        try:
            arr = np.asarray(conf, dtype=np.int64).reshape(len(names), len(names))
        except (TypeError, ValueError):
            continue  # a malformed record: not pooled
        for c in names:
            if c not in classes:
                classes.append(c)
        for i, ti in enumerate(names):
            for j, pj in enumerate(names):
                tally[(ti, pj)] = tally.get((ti, pj), 0) + int(arr[i, j])
    if not classes:
        return [], None
    out = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for (t, p), v in tally.items():
        out[classes.index(t), classes.index(p)] = v
    return classes, out


def published_args(key: tuple) -> tuple:
    """The arguments of :func:`~mirlearn.experiments.published.published` for a cell key."""
    table, dataset, method, units, layers, aggregate = key
    return (table, method, units, layers, aggregate, dataset)


def stats_of(cells: Iterable[dict[str, Any]] | dict[tuple, CellStat]) -> dict[tuple, CellStat]:
    """``cells`` if already summarised, else :func:`summarize_cells` of them."""
    if isinstance(cells, dict):
        return cells
    return summarize_cells(cells)


# ----------------------------------------------------------------------------------------------
# Best cell


def best_cell(cells: Iterable[dict[str, Any]] | dict[tuple, CellStat], table: int | str | None = 1) -> CellStat | None:
    """The cell with the highest mean track accuracy over splits.

    Parameters
    ----------
    cells : iterable of dict, or dict of CellStat
    table : {1, 2, "baseline"} or None
        Choose among the cells of this table only (``None``: among all).

    Returns
    -------
    CellStat or None
        Ties go to the cell with more splits, then the smaller std, then the first in
        Table 1 order; ``None`` when there is no cell.
    """
    stats = [s for s in stats_of(cells).values() if s.n_splits and (table is None or s.table == table)]
    if not stats:
        return None

    def rank(s: CellStat) -> tuple:
        std = s.std if math.isfinite(s.std) else 0.0
        return (-s.mean, -s.n_splits, std, _order_key(s))

    return min(stats, key=rank)


def _order_key(s: CellStat) -> tuple:
    m = METHODS.index(s.method) if s.method in METHODS else len(METHODS) + (
        BASELINES.index(s.method) if s.method in BASELINES else len(BASELINES))
    lay = LAYERS.index(s.layers) if s.layers in LAYERS else len(LAYERS)
    return (str(s.table), s.dataset, m, s.units or 0, lay, s.aggregate)


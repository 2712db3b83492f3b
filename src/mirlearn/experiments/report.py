"""The report of a ``sigtia2014`` run: the paper's tables, figures and timings, from JSON alone.

Everything here reads the files a run leaves behind — one JSON per result cell, the nets'
training logs, ``run.json`` and ``environment.json`` — and never a model, so a report can be
rebuilt at any time, also from a copied or half-finished run::

    RUN/
      run.json                                   profile, reductions, settings, stage timings
      environment.json                           package versions, git commit (optional)
      gtzan/<net>/split-<k>/cells/<cell>.json    Table 1 cells
      gtzan/<net>/split-<k>/net/train_log.csv    SGD learning curve (or hf_log.csv for HF)
      ismir2004/<net>/cells/<cell>.json          Table 2 cells
      baselines/<dataset>/<feature>/.../cells/<cell>.json

:func:`write_report` adds::

    RUN/report.md  RUN/report.html  RUN/table1.csv  RUN/table2.csv
    RUN/figures/layer_accuracy.png  RUN/figures/confusion_best.png  RUN/figures/learning_curves.png

All accuracies in the tables are track accuracies in percent; "mean ± std" is over the splits
of a cell, with the population standard deviation (``ddof = 0``), as in
:func:`mirlearn.experiments.protocol.summarize`. Missing cells are shown as "—".

Examples
--------
>>> md_path, html_path = write_report("runs/sigtia2014")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from mirlearn.experiments.published import (BASELINES, CITATION, LAYERS, METHODS, UNITS, Published, cell_key,
                                            normalize_layers, normalize_method, published)
from mirlearn.io import atomic_path, atomic_write_text

__all__ = ["CellStat", "Table1Row", "Table2Row", "NetCurves", "TABLE1_COLUMNS", "STD_DDOF", "collect",
           "summarize_cells", "table1", "format_table1_markdown", "table1_csv", "table2",
           "format_table2_markdown", "table2_csv", "best_cell", "read_learning_curves", "plot_layer_accuracy",
           "plot_confusion", "plot_learning_curves", "write_report", "main"]

#: Degrees of freedom of the standard deviation over splits (population std, as in the protocol).
STD_DDOF = 0
#: Columns of Table 1, in order: (layers, aggregate).
TABLE1_COLUMNS: tuple[tuple[str, bool], ...] = tuple((layer, agg) for layer in LAYERS for agg in (False, True))
#: Datasets of the baseline rows of Table 2, in order.
#: The Table 2 net that is always listed (it has a published number), even when not run yet.
TABLE2_DEFAULT_NETS: tuple[tuple[str, int], ...] = (("ReLU+SGD+Dropout", 500),)

MISSING = "—"
_DATASET_NAMES = {"gtzan": "GTZAN", "ismir2004": "ISMIR 2004"}
_RUN_JSON = "run.json"
_ENV_JSON = "environment.json"


# ----------------------------------------------------------------------------------------------
# Collecting results


def collect(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every cell JSON under ``run_dir``, plus ``run.json`` when present.

    Parameters
    ----------
    run_dir : str or Path
        The run directory; cells are the files matching ``**/cells/*.json`` (hidden files,
        such as the temporaries of atomic writes, are skipped).

    Returns
    -------
    list of dict
        Sorted by path. Every entry has ``"_kind"`` and ``"_path"`` (POSIX, relative to
        ``run_dir``): ``"cell"`` entries are the cell JSONs as written; the ``"run"`` entry (at
        most one, last) is ``run.json``; ``"error"`` entries name a file that could not be read
        (``"error"`` says why) and are otherwise ignored by the tables.
    """
    root = Path(run_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"run directory not found: {root}")
    out: list[dict[str, Any]] = []
    for path in sorted(root.rglob("cells/*.json")):
        rel = path.relative_to(root).as_posix()
        if path.name.startswith(".") or not path.is_file():
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
    run_json = root / _RUN_JSON
    if run_json.is_file():
        try:
            d = json.loads(run_json.read_text(encoding="utf-8"))
            out.append({**(d if isinstance(d, dict) else {}), "_kind": "run", "_path": _RUN_JSON})
        except (OSError, ValueError) as e:
            warnings.warn(f"{run_json}: skipped, {e}", stacklevel=2)
            out.append({"_kind": "error", "_path": _RUN_JSON, "error": str(e)})
    return out


def _cells_only(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("_kind", "cell") == "cell" and isinstance(e.get("metrics"), dict)]


def _run_info(entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
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
        The paper's number for this cell, where transcribed.
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
        return f"{who}, {lay}, {'aggregated' if self.aggregate else 'frames'} ({_dataset_name(self.dataset)})"


def _dataset_name(d: str) -> str:
    return _DATASET_NAMES.get(d, d)


def _key_of(cell: dict[str, Any]) -> tuple | None:
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
    if cell.get("split") is not None:
        return str(cell["split"])
    m = re.search(r"(?:^|/)(split-\d+)/", cell.get("_path", ""))
    return m.group(1) if m else cell.get("_path", "?")


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
    confs: dict[tuple, dict[tuple[str, str], int]] = {}
    for cell in sorted(_cells_only(cells), key=lambda c: c.get("_path", "")):
        path = cell.get("_path", "?")
        key = _key_of(cell)
        if key is None:
            notes.append(f"{path}: no usable 'experiment' block (table, method, units); not in the tables")
            continue
        table, dataset, method, units, layers, aggregate = key
        st = stats.get(key)
        if st is None:
            st = stats[key] = CellStat(table=table, dataset=dataset, method=method, units=units, layers=layers,
                                       aggregate=aggregate, net=cell.get("experiment", {}).get("net"),
                                       published=published(*_published_args(key)))
            confs[key] = {}
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
        classes = [str(c) for c in metrics.get("classes", [])]
        conf = metrics.get("confusion")
        if classes and conf is not None:
            arr = np.asarray(conf, dtype=np.int64).reshape(len(classes), len(classes))
            for c in classes:
                if c not in st.classes:
                    st.classes.append(c)
            tally = confs[key]
            for i, ti in enumerate(classes):
                for j, pj in enumerate(classes):
                    tally[(ti, pj)] = tally.get((ti, pj), 0) + int(arr[i, j])
    for key, st in stats.items():
        if st.classes:
            k = len(st.classes)
            st.confusion = np.zeros((k, k), dtype=np.int64)
            for (t, p), v in confs[key].items():
                st.confusion[st.classes.index(t), st.classes.index(p)] = v
    return stats


def _published_args(key: tuple) -> tuple:
    table, dataset, method, units, layers, aggregate = key
    return (table, method, units, layers, aggregate, dataset)


def _stats_of(cells: Iterable[dict[str, Any]] | dict[tuple, CellStat]) -> dict[tuple, CellStat]:
    if isinstance(cells, dict):
        return cells
    return summarize_cells(cells)


# ----------------------------------------------------------------------------------------------
# Table 1: GTZAN grid


@dataclass
class Table1Row:
    """One row of Table 1: a net (method × units) and its eight feature cells.

    Attributes
    ----------
    method : str
    units : int
    cells : dict
        ``(layers, aggregate) -> CellStat or None`` for every column of :data:`TABLE1_COLUMNS`.
    """

    method: str
    units: int
    cells: dict[tuple[str, bool], CellStat | None]
    dataset: str = "gtzan"

    @property
    def label(self) -> str:
        """``"<method> <units>"``."""
        return f"{self.method} {self.units}"


def table1(cells: Iterable[dict[str, Any]] | dict[tuple, CellStat], dataset: str = "gtzan") -> list[Table1Row]:
    """Table 1: rows = method × units, columns = layer × {frames, aggregated}.

    Parameters
    ----------
    cells : iterable of dict, or dict of CellStat
        Cell JSONs (from :func:`collect`) or their :func:`summarize_cells`.
    dataset : the dataset the nets were trained on (``run.json``'s ``dataset``); published
        values are shown for ``"gtzan"`` only

    Returns
    -------
    list of Table1Row
        Six rows, in the order ``ReLU+SGD 50, ReLU+SGD 500, ReLU+SGD+Dropout 50, …,
        Sigmoid+HF 500``; a cell without results is ``None``.
    """
    stats = _stats_of(cells)
    rows = []
    for method in METHODS:
        for units in UNITS:
            row = {}
            for layers, agg in TABLE1_COLUMNS:
                st = stats.get(cell_key(1, method, units, layers, agg, dataset))
                row[(layers, agg)] = st if st is not None and st.n_splits else None
            rows.append(Table1Row(method=method, units=units, cells=row, dataset=dataset))
    return rows


def _column_name(layers: str, aggregate: bool) -> str:
    lay = "all" if layers == "all" else f"L{layers}"
    return f"{lay} {'agg' if aggregate else 'frames'}"


def _fmt(x: float | None, digits: int) -> str:
    if x is None or not math.isfinite(x):
        return MISSING
    return f"{x:.{digits}f}"


def _fmt_published(p: Published) -> str:
    s = f"{p.value:g}"
    return s + (f" ± {p.std:g}" if p.std is not None else "")


def format_cell(st: CellStat | None, *, digits: int = 1, full_splits: int | None = None,
                published_value: Published | None = None) -> str:
    """One table entry: ``"mean ± std"``, ``"[n=k]"`` when short of splits, ``"(paper X, Δ ±Y)"``.

    Parameters
    ----------
    st : CellStat or None
        ``None`` (or no splits) gives "—", followed by the published value when known.
    digits : int
        Decimals of our numbers.
    full_splits : int, optional
        The number of splits of a complete cell; fewer are flagged with ``[n=k]``.
    published_value : Published, optional
        Shown for a missing cell (a present cell carries its own).
    """
    if st is None or not st.n_splits:
        p = published_value
        return MISSING + (f" (paper {_fmt_published(p)})" if p is not None else "")
    s = _fmt(st.mean, digits)
    if st.n_splits > 1:
        s += f" ± {_fmt(st.std, digits)}"
    if full_splits is not None and st.n_splits < full_splits:
        s += f" [n={st.n_splits}]"
    if st.published is not None:
        s += f" (paper {_fmt_published(st.published)}, Δ {st.diff:+.{digits}f})"
    return s


def _full_splits(stats: Iterable[CellStat | None]) -> int:
    return max([s.n_splits for s in stats if s is not None] or [0])


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _table1_grid(rows: Sequence[Table1Row]) -> tuple[list[str], list[list[str]]]:
    full = _full_splits(st for r in rows for st in r.cells.values())
    header = ["Net"] + [_column_name(l, a) for l, a in TABLE1_COLUMNS]
    body = []
    for r in rows:
        line = [r.label]
        for layers, agg in TABLE1_COLUMNS:
            line.append(format_cell(r.cells.get((layers, agg)), digits=1, full_splits=full,
                                    published_value=published(1, r.method, r.units, layers, agg, r.dataset)))
        body.append(line)
    return header, body


def format_table1_markdown(rows: Sequence[Table1Row]) -> str:
    """Table 1 as a Markdown table (6 rows × 8 accuracy columns, plus the net's name).

    Parameters
    ----------
    rows : sequence of Table1Row
        From :func:`table1`.

    Returns
    -------
    str
        No trailing newline.
    """
    return _md_table(*_table1_grid(rows))


_CSV_COLUMNS = ("method", "units", "layers", "aggregate", "n_splits", "mean", "std", "published", "diff")


def _csv_num(x: float | None, digits: int = 4) -> str:
    if x is None or not math.isfinite(x):
        return ""
    return f"{x:.{digits}f}"


def _csv_row(method: str, units: int | None, layers: str, agg: bool, st: CellStat | None,
             p: Published | None) -> list[str]:
    n = st.n_splits if st is not None else 0
    return [method, "" if units is None else str(units), layers, str(bool(agg)).lower(), str(n),
            _csv_num(st.mean if n else None), _csv_num(st.std if n else None),
            "" if p is None else f"{p.value:g}", _csv_num(st.diff if n else None)]


def table1_csv(rows: Sequence[Table1Row]) -> str:
    """Table 1 in long form: one CSV line per (method, units, layers, aggregate).

    Columns: ``method, units, layers, aggregate, n_splits, mean, std, published, diff``;
    accuracies in percent, ``diff = mean - published``; empty where unknown (a missing cell
    has ``n_splits`` 0).
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_CSV_COLUMNS)
    for r in rows:
        for layers, agg in TABLE1_COLUMNS:
            st = r.cells.get((layers, agg))
            w.writerow(_csv_row(r.method, r.units, layers, agg, st,
                                published(1, r.method, r.units, layers, agg, r.dataset)))
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# Table 2: transfer to ISMIR 2004, and the baselines


@dataclass
class Table2Row:
    """One row of Table 2.

    Attributes
    ----------
    section : {"transfer", "baseline"}
    dataset : str
    method : str
    units : int or None
    layers : str
    aggregate : bool
    stat : CellStat or None
        ``None`` when the run has no result for this row.
    published : Published or None
    """

    section: str
    dataset: str
    method: str
    units: int | None
    layers: str
    aggregate: bool
    stat: CellStat | None
    published: Published | None

    @property
    def label(self) -> str:
        """The net (``"ReLU+SGD+Dropout 500"``) or baseline (``"MFCC"``)."""
        return self.method if self.units is None else f"{self.method} {self.units}"


def table2(cells: Iterable[dict[str, Any]] | dict[tuple, CellStat], dataset: str = "gtzan") -> list[Table2Row]:
    """Table 2: every transferred net on ISMIR 2004, then the MFCC / PMSC baselines.

    Transfer rows: for each Table 2 net found (and always ReLU+SGD+Dropout 500, which has a
    published value), layer {1, 2, 3, all} × {frames, aggregated}. Baseline rows: MFCC and
    PMSC, all layers, frames and aggregated, on ISMIR 2004 and then on ``dataset`` (mean ±
    std over splits).

    Parameters
    ----------
    cells : iterable of dict, or dict of CellStat
        Cell JSONs (from :func:`collect`) or their :func:`summarize_cells`.
    dataset : the main dataset of the run (GTZAN for the paper)

    Returns
    -------
    list of Table2Row
    """
    stats = _stats_of(cells)
    nets = {(k[2], k[3]) for k in stats if k[0] == 2 and k[1] == "ismir2004"} | set(TABLE2_DEFAULT_NETS)
    order = lambda mu: (METHODS.index(mu[0]) if mu[0] in METHODS else len(METHODS), mu[0], mu[1] or 0)  # noqa: E731
    rows: list[Table2Row] = []
    for method, units in sorted(nets, key=order):
        for layers, agg in TABLE1_COLUMNS:
            key = cell_key(2, method, units, layers, agg, "ismir2004")
            st = stats.get(key)
            rows.append(Table2Row("transfer", "ismir2004", method, units, layers, agg,
                                  st if st is not None and st.n_splits else None, published(*_published_args(key))))
    for ds in dict.fromkeys(("ismir2004", dataset)):
        for method in BASELINES:
            for agg in (False, True):
                key = cell_key("baseline", method, None, "all", agg, ds)
                st = stats.get(key)
                rows.append(Table2Row("baseline", ds, method, None, "all", agg,
                                      st if st is not None and st.n_splits else None,
                                      published(*_published_args(key))))
    return rows


def _table2_grid(rows: Sequence[Table2Row]) -> tuple[list[str], list[list[str]]]:
    header = ["Features", "Dataset", "Layers", "Input", "Ours", "Paper", "Δ"]
    fulls = {ds: _full_splits(r.stat for r in rows if r.dataset == ds) for ds in {r.dataset for r in rows}}
    body = []
    for r in rows:
        st = r.stat
        ours = MISSING
        if st is not None:
            ours = _fmt(st.mean, 2) + (f" ± {_fmt(st.std, 2)}" if st.n_splits > 1 else "")
            if st.n_splits < fulls[r.dataset]:
                ours += f" [n={st.n_splits}]"
        paper = _fmt_published(r.published) if r.published is not None else MISSING
        diff = f"{st.diff:+.2f}" if st is not None and st.diff is not None else MISSING
        body.append([r.label, _dataset_name(r.dataset), "all" if r.layers == "all" else r.layers,
                     "aggregated" if r.aggregate else "frames", ours, paper, diff])
    return header, body


def format_table2_markdown(rows: Sequence[Table2Row]) -> str:
    """Table 2 as a Markdown table: features, dataset, layers, input, ours, paper, Δ."""
    return _md_table(*_table2_grid(rows))


def table2_csv(rows: Sequence[Table2Row]) -> str:
    """Table 2 in long form: ``section, dataset`` then the columns of :func:`table1_csv`."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("section", "dataset") + _CSV_COLUMNS)
    for r in rows:
        w.writerow([r.section, r.dataset] + _csv_row(r.method, r.units, r.layers, r.aggregate, r.stat, r.published))
    return buf.getvalue()


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
    stats = [s for s in _stats_of(cells).values() if s.n_splits and (table is None or s.table == table)]
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


# ----------------------------------------------------------------------------------------------
# Learning curves


@dataclass
class NetCurves:
    """The validation curves of one net over its splits.

    Attributes
    ----------
    label : str
        Panel title, e.g. ``"ReLU+SGD+Dropout 500 (GTZAN)"``.
    group : str
        The net's folder relative to the run directory (``"gtzan/relu-dropout-500"``).
    kind : {"sgd", "hf"}
        ``"sgd"``: x is the epoch (``train_log.csv``); ``"hf"``: x is the HF step (``hf_log.csv``).
    runs : list of dict
        One per split: ``{"split": str, "x": array, "valid_loss": array, "valid_acc": array}``
        with the validation accuracy in percent (HF: ``100 (1 - valid_error)``).
    seconds : float
        Training time summed over splits (SGD logs hold per-epoch seconds; HF logs the
        cumulative time, so the last one is taken).
    sort_key : tuple
        Order of the panels.
    """

    label: str
    group: str
    kind: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    sort_key: tuple = ()


def _read_log(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cols: dict[str, list[float]] = {}
    for r in rows:
        for k, v in r.items():
            if k is None:
                continue
            try:
                x = float(v) if v not in (None, "") else float("nan")
            except ValueError:
                x = float("nan")
            cols.setdefault(k, []).append(x)
    return {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}


def read_learning_curves(run_dir: str | Path, cells: Iterable[dict[str, Any]] | None = None,
                         notes: list[str] | None = None) -> list[NetCurves]:
    """The nets' validation curves from every ``net/train_log.csv`` and ``net/hf_log.csv``.

    A log at ``<group>/split-<k>/net/<log>`` is split ``split-<k>`` of net ``<group>``; a log at
    ``<group>/net/<log>`` is a net with one run.

    Parameters
    ----------
    run_dir : str or Path
    cells : iterable of dict, optional
        Cell JSONs (from :func:`collect`), used to name each net by its method and units.
    notes : list of str, optional
        Receives a line for every log that could not be read.

    Returns
    -------
    list of NetCurves
        In Table 1 order (method, units), then by folder.
    """
    root = Path(run_dir)
    notes = notes if notes is not None else []
    names: dict[str, tuple[str, tuple]] = {}
    for c in _cells_only(cells or []):
        exp = c.get("experiment") or {}
        m = re.match(r"(.*?)(?:/split-\d+)?/cells/[^/]+$", c.get("_path", ""))
        if m and exp.get("method") and exp.get("units") is not None and m.group(1) not in names:
            method = normalize_method(exp["method"])
            dataset = str(exp.get("dataset", "")).lower()
            names[m.group(1)] = (f"{method} {exp['units']} ({_dataset_name(dataset)})",
                                 (METHODS.index(method) if method in METHODS else len(METHODS), int(exp["units"])))
    groups: dict[str, NetCurves] = {}
    logs = sorted([(p, "sgd") for p in root.rglob("net/train_log.csv")] + [(p, "hf") for p in root.rglob("net/hf_log.csv")])
    for path, kind in logs:
        net_dir = path.parent
        parent = net_dir.parent
        if re.fullmatch(r"split-\d+", parent.name):
            group_dir, split = parent.parent, parent.name
        else:
            group_dir, split = parent, ""
        group = group_dir.relative_to(root).as_posix() if group_dir != root else "."
        rel = path.relative_to(root).as_posix()
        try:
            log = _read_log(path)
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            notes.append(f"{rel}: unreadable log ({e}); no learning curve")
            continue
        x_col = "epoch" if kind == "sgd" else "step"
        if x_col not in log or len(log[x_col]) == 0:
            notes.append(f"{rel}: empty log or no {x_col!r} column; no learning curve")
            continue
        n = len(log[x_col])
        nan = np.full(n, np.nan)
        if kind == "sgd":
            acc = 100.0 * log.get("valid_acc", nan)
            secs = float(np.nansum(log["seconds"])) if "seconds" in log else 0.0
        else:
            acc = 100.0 * (1.0 - log["valid_error"]) if "valid_error" in log else nan
            s = log.get("seconds", nan)
            secs = float(np.nanmax(s)) if np.isfinite(s).any() else 0.0
        label, key = names.get(group, (group, (len(METHODS) + 1, 0)))
        nc = groups.setdefault(group, NetCurves(label=label, group=group, kind=kind, sort_key=key + (group,)))
        if nc.kind != kind:
            nc.kind = "mixed"
        nc.runs.append({"split": split or "run", "x": log[x_col], "valid_loss": log.get("valid_loss", nan),
                        "valid_acc": acc, "path": rel})
        nc.seconds += secs
    return sorted(groups.values(), key=lambda g: g.sort_key)


# ----------------------------------------------------------------------------------------------
# Figures (matplotlib without pyplot: no global state, Agg canvas)


def _new_figure(figsize: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    return path


def plot_layer_accuracy(rows: Sequence[Table1Row], path: str | Path) -> Path:
    """Bar chart of Table 1: one panel per net, layers on x, frames vs aggregated bars.

    Error bars are the std over splits; a black tick marks a published value. Missing cells
    have no bar.

    Parameters
    ----------
    rows : sequence of Table1Row
        From :func:`table1`.
    path : str or Path
        PNG written atomically.

    Returns
    -------
    Path
    """
    ncols, nrows = len(METHODS), len(UNITS)
    fig = _new_figure((4.2 * ncols, 3.2 * nrows))
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    x = np.arange(len(LAYERS))
    width = 0.38
    colours = {False: "#8fb8de", True: "#2b6cb0"}
    placed = {(r.method, r.units): r for r in rows}
    for (ui, units), (mi, method) in ((u, m) for u in enumerate(UNITS) for m in enumerate(METHODS)):
        ax = axes[ui, mi]
        r = placed.get((method, units)) or Table1Row(method, units, {}, rows[0].dataset if rows else "gtzan")
        for j, agg in enumerate((False, True)):
            means, stds = [], []
            for layers in LAYERS:
                st = r.cells.get((layers, agg))
                means.append(st.mean if st is not None else np.nan)
                stds.append(st.std if st is not None and st.n_splits > 1 else np.nan)
            ax.bar(x + (j - 0.5) * width, means, width, yerr=stds, capsize=3, color=colours[agg],
                   label="aggregated" if agg else "frames")
            for k, layers in enumerate(LAYERS):
                p = published(1, r.method, r.units, layers, agg, r.dataset)
                if p is not None:
                    ax.plot([x[k] + (j - 1) * width, x[k] + j * width], [p.value, p.value], color="black", lw=2,
                            label="paper" if not any(t.get_label() == "paper" for t in ax.lines) else None)
            for k, m in enumerate(means):
                if not math.isfinite(m):
                    ax.text(x[k] + (j - 0.5) * width, 2, MISSING, ha="center", va="bottom", fontsize=8, color="#888")
        ax.set_title(f"{r.method}, {r.units} units", fontsize=10)
        ax.set_xticks(x, ["layer 1", "layer 2", "layer 3", "all"])
        ax.set_xlim(-0.6, len(LAYERS) - 0.4)
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
        if mi == 0:
            ax.set_ylabel("track accuracy (%)")
    seen: dict[str, Any] = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    fig.legend(list(seen.values()), list(seen.keys()), loc="outside lower center", ncols=len(seen), frameon=False)
    name = _dataset_name(rows[0].dataset) if rows else "GTZAN"
    fig.suptitle(f"Table 1 ({name}): accuracy per layer, mean ± std over splits")
    return _save_png(fig, path)


def plot_confusion(stat: CellStat, path: str | Path) -> Path:
    """The confusion matrix of a cell, summed over its splits; colour = share of the true class.

    Parameters
    ----------
    stat : CellStat
        Must have a confusion matrix.
    path : str or Path
        PNG written atomically.

    Returns
    -------
    Path
    """
    if stat.confusion is None:
        raise ValueError(f"{stat.label} has no confusion matrix")
    conf = stat.confusion
    k = len(stat.classes)
    support = conf.sum(axis=1, keepdims=True)
    share = np.divide(conf, support, out=np.zeros(conf.shape, dtype=np.float64), where=support > 0)
    side = max(4.0, 0.55 * k + 2.0)
    fig = _new_figure((side + 1.0, side))
    ax = fig.subplots()
    im = ax.imshow(share * 100, cmap="Blues", vmin=0, vmax=100)
    for i in range(k):
        for j in range(k):
            if conf[i, j]:
                ax.text(j, i, str(int(conf[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(np.arange(k), stat.classes, rotation=45, ha="right")
    ax.set_yticks(np.arange(k), stat.classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = f"{stat.mean:.1f}" + (f" ± {stat.std:.1f}" if stat.n_splits > 1 else "")
    ax.set_title(f"{stat.label}\n{acc} %, summed over {stat.n_splits} split(s)", fontsize=9)
    fig.colorbar(im, ax=ax, label="% of true class", shrink=0.8)
    return _save_png(fig, path)


def plot_learning_curves(curves: Sequence[NetCurves], path: str | Path) -> Path:
    """Validation loss (top) and accuracy (bottom) per net, one line per split.

    Parameters
    ----------
    curves : sequence of NetCurves
        From :func:`read_learning_curves`; must not be empty.
    path : str or Path
        PNG written atomically.

    Returns
    -------
    Path
    """
    from matplotlib.ticker import MaxNLocator

    if not curves:
        raise ValueError("no learning curves to plot")
    n = len(curves)
    fig = _new_figure((3.4 * n, 5.6))
    axes = fig.subplots(2, n, squeeze=False)
    for j, nc in enumerate(curves):
        top, bottom = axes[0, j], axes[1, j]
        for run in nc.runs:
            top.plot(run["x"], run["valid_loss"], lw=1.2, label=run["split"])
            bottom.plot(run["x"], run["valid_acc"], lw=1.2, label=run["split"])
        top.set_title(nc.label, fontsize=9)
        top.set_ylabel("validation loss" if j == 0 else "")
        bottom.set_ylabel("validation accuracy (%)" if j == 0 else "")
        bottom.set_xlabel("HF step" if nc.kind == "hf" else "epoch")
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(nc.runs) > 1:
            bottom.legend(fontsize=7, frameon=False)
    fig.suptitle("Learning curves (frame-level validation)")
    return _save_png(fig, path)


# ----------------------------------------------------------------------------------------------
# The report: blocks rendered both as Markdown and as self-contained HTML


@dataclass
class _Block:
    kind: str  # "h1" "h2" "p" "ul" "table" "img" "pre"
    text: str = ""
    items: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    path: str = ""  # image, relative to the report
    data: bytes = b""


def _render_markdown(blocks: Sequence[_Block]) -> str:
    parts = []
    for b in blocks:
        if b.kind == "h1":
            parts.append(f"# {b.text}")
        elif b.kind == "h2":
            parts.append(f"## {b.text}")
        elif b.kind == "p":
            parts.append(b.text)
        elif b.kind == "ul":
            parts.append("\n".join(f"- {i}" for i in b.items))
        elif b.kind == "table":
            parts.append(_md_table(b.header, b.rows))
        elif b.kind == "img":
            parts.append(f"![{b.text}]({b.path})")
        elif b.kind == "pre":
            parts.append(f"```\n{b.text}\n```")
    return "\n\n".join(parts) + "\n"


_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1200px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #2b6cb0; padding-bottom: .2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; }
th { background: #eef3f8; }
td:not(:first-child) { text-align: right; }
tr:nth-child(even) td { background: #fafafa; }
pre { background: #f5f5f5; padding: .8em; overflow-x: auto; font-size: 0.85em; }
img { max-width: 100%; border: 1px solid #eee; }
"""


def _render_html(blocks: Sequence[_Block], title: str) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', f"<title>{e(title)}</title>",
             f"<style>{_CSS}</style>", "</head>", "<body>"]
    for b in blocks:
        if b.kind in ("h1", "h2"):
            parts.append(f"<{b.kind}>{e(b.text)}</{b.kind}>")
        elif b.kind == "p":
            parts.append(f"<p>{_inline_html(b.text)}</p>")
        elif b.kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in b.header)
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in b.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif b.kind == "img":
            data = base64.b64encode(b.data).decode("ascii")
            parts.append(f'<p><img alt="{e(b.text)}" src="data:image/png;base64,{data}"></p>')
        elif b.kind == "pre":
            parts.append(f"<pre>{e(b.text)}</pre>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _inline_html(text: str) -> str:
    """Escape, then render the two Markdown inline forms the report uses: `code` and **bold**."""
    s = html.escape(text)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)


def _fmt_seconds(s: float) -> str:
    if not math.isfinite(s):
        return MISSING
    total = int(round(s))
    return f"{s:,.1f} s ({total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d})"


def _flatten(d: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(d, dict):
        out: list[tuple[str, str]] = []
        for k, v in d.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(d, (list, tuple)):
        return [(prefix, json.dumps(d, default=str))]
    return [(prefix, str(d))]


def _section_of(table: int | str, dataset: str) -> str:
    if table == "baseline":
        return f"baselines ({_dataset_name(dataset)})"
    return f"Table {table} ({_dataset_name(dataset)})"


def _completeness_notes(t1: Sequence[Table1Row], t2: Sequence[Table2Row]) -> list[str]:
    notes = []
    cells = [(r, col, r.cells.get(col)) for r in t1 for col in TABLE1_COLUMNS]
    have = [c for c in cells if c[2] is not None]
    full = _full_splits(c[2] for c in have)
    notes.append(f"Table 1: {len(have)} of {len(cells)} cells have results"
                 + (f" (up to {full} split(s) each)." if have else "."))
    if full and full < 4:
        notes.append(f"Table 1: at most {full} split(s) per cell; the paper's protocol uses 4.")
    for r in t1:
        missing = [_column_name(*col) for col in TABLE1_COLUMNS if r.cells.get(col) is None]
        short = [f"{_column_name(*col)} (n={st.n_splits})" for col in TABLE1_COLUMNS
                 if (st := r.cells.get(col)) is not None and st.n_splits < full]
        if missing:
            notes.append(f"Table 1, {r.label}: missing " + ", ".join(missing) + ".")
        if short:
            notes.append(f"Table 1, {r.label}: fewer splits than the other cells: " + ", ".join(short) + ".")
    by_label: dict[str, list[str]] = {}
    for r in t2:
        if r.stat is None:
            who = f"{r.label} on {_dataset_name(r.dataset)}"
            by_label.setdefault(who, []).append(f"{'all' if r.layers == 'all' else 'L' + r.layers} "
                                                f"{'agg' if r.aggregate else 'frames'}")
    for who, cols in by_label.items():
        notes.append(f"Table 2, {who}: missing " + ", ".join(cols) + ".")
    return notes


def _build_blocks(run_dir: Path, entries: list[dict[str, Any]], fig_dir: Path, rel_fig: str) -> tuple[list[_Block], dict[str, str]]:
    notes: list[str] = []
    run = _run_info(entries)
    cells = _cells_only(entries)
    stats = summarize_cells(cells, notes)
    main_dataset = str((run or {}).get("dataset") or "gtzan")
    t1 = table1(stats, main_dataset)
    t2 = table2(stats, main_dataset)
    curves = read_learning_curves(run_dir, cells, notes)
    best = best_cell(stats, table=1)
    best_scope = "Table 1"
    if best is None:
        best, best_scope = best_cell(stats, table=None), "all results"
    csvs = {"table1.csv": table1_csv(t1), "table2.csv": table2_csv(t2)}

    b: list[_Block] = []
    title = "mirlearn report — Sigtia & Dixon (ICASSP 2014) reproduction"
    b.append(_Block("h1", title))
    meta = [f"Run directory: `{run_dir.name}`", f"Result cells: {len(cells)}"]
    for key in ("dataset", "created"):
        if run.get(key) is not None:
            meta.append(f"{key.capitalize()}: {run[key] if not isinstance(run[key], (dict, list)) else json.dumps(run[key])}")
    b.append(_Block("ul", items=meta))

    # Run settings
    b.append(_Block("h2", "Run"))
    profile = run.get("profile")
    if profile is None:
        b.append(_Block("p", "Profile: unknown (no `run.json`, or no `profile` in it)."))
    else:
        b.append(_Block("p", f"Profile: **{profile}**"
                        + (" — reduced settings; the numbers are not comparable with the paper's."
                           if str(profile) != "paper" else "")))
    reductions = run.get("reductions")
    if reductions:
        b.append(_Block("p", "Reductions from the paper's protocol:"))
        b.append(_Block("ul", items=[str(r) for r in reductions]))
    elif run:
        b.append(_Block("p", "Reductions from the paper's protocol: none listed."))
    settings = run.get("settings")
    if isinstance(settings, dict) and settings:
        b.append(_Block("table", header=["Setting", "Value"], rows=[list(kv) for kv in _flatten(settings)]))

    # Completeness
    b.append(_Block("h2", "Completeness"))
    b.append(_Block("ul", items=_completeness_notes(t1, t2) + notes))

    # Tables
    b.append(_Block("h2", f"Table 1 — {_dataset_name(main_dataset)}, features of each net"))
    b.append(_Block("p", "Track accuracy (%), mean ± std over splits (population std); `[n=k]`: fewer splits "
                         "than the most complete cell; `(paper X, Δ ±Y)`: the published value and our difference "
                         "in percentage points, where transcribed; —: no result. Long form: `table1.csv`."))
    b.append(_Block("table", header=_table1_grid(t1)[0], rows=_table1_grid(t1)[1]))
    b.append(_Block("h2", "Table 2 — transfer to ISMIR 2004, and baselines"))
    b.append(_Block("p", f"Track accuracy (%): the {_dataset_name(main_dataset)} nets' features on ISMIR 2004 "
                         "(train → development), then the MFCC and PMSC baselines on ISMIR 2004 and on "
                         f"{_dataset_name(main_dataset)} (mean ± std over splits). "
                         "Long form: `table2.csv`."))
    h2, r2 = _table2_grid(t2)
    b.append(_Block("table", header=h2, rows=r2))
    caveats = sorted({f"{r.label} ({_dataset_name(r.dataset)}): {r.published.note}." for r in t2
                      if r.published is not None and r.published.note})
    if caveats:
        b.append(_Block("ul", items=caveats))

    # Figures
    figures: list[tuple[str, str, Any]] = []
    if best is not None and best.confusion is not None:
        figures.append(("confusion_best.png", f"Confusion matrix of the best cell ({best_scope})",
                        lambda p: plot_confusion(best, p)))
    if any(st is not None for r in t1 for st in r.cells.values()):
        figures.append(("layer_accuracy.png", "Table 1: accuracy per layer", lambda p: plot_layer_accuracy(t1, p)))
    if curves:
        figures.append(("learning_curves.png", "Learning curves", lambda p: plot_learning_curves(curves, p)))
    images: dict[str, bytes] = {}
    fig_error = None
    for name, _, fn in figures:
        try:
            fn(fig_dir / name)
            images[name] = (fig_dir / name).read_bytes()
        except ImportError as exc:  # matplotlib missing: tables still come out
            fig_error = f"figures skipped: {exc}"
            break

    b.append(_Block("h2", f"Best cell ({best_scope})"))
    if best is None:
        b.append(_Block("p", MISSING + " no results yet."))
    else:
        acc = f"{best.mean:.2f}" + (f" ± {best.std:.2f}" if best.n_splits > 1 else "")
        b.append(_Block("p", f"**{best.label}**: {acc} % over {best.n_splits} split(s)"
                        + (f" (paper {_fmt_published(best.published)})" if best.published else "")
                        + ". Confusion summed over the splits (rows true, columns predicted):"))
        if best.confusion is not None:
            from mirlearn.classify.metrics import format_confusion

            b.append(_Block("pre", format_confusion(best.confusion, best.classes)))
        if "confusion_best.png" in images:
            b.append(_Block("img", "confusion matrix of the best cell", path=f"{rel_fig}/confusion_best.png",
                            data=images["confusion_best.png"]))

    b.append(_Block("h2", "Accuracy per layer"))
    if "layer_accuracy.png" in images:
        b.append(_Block("img", "Table 1 accuracy per layer", path=f"{rel_fig}/layer_accuracy.png",
                        data=images["layer_accuracy.png"]))
    else:
        b.append(_Block("p", fig_error or f"{MISSING} no Table 1 results yet."))

    b.append(_Block("h2", "Learning curves"))
    if "learning_curves.png" in images:
        b.append(_Block("p", "Validation loss and accuracy of each net: against the epoch for SGD nets, "
                             "the HF step for Hessian-Free nets; one line per split."))
        b.append(_Block("img", "learning curves", path=f"{rel_fig}/learning_curves.png",
                        data=images["learning_curves.png"]))
    else:
        b.append(_Block("p", fig_error or f"{MISSING} no training logs found."))

    # Timings
    b.append(_Block("h2", "Time per stage"))
    rows: list[list[str]] = []
    run_timings = run.get("timings")
    if isinstance(run_timings, dict):
        for stage, secs in run_timings.items():
            try:
                rows.append([f"last invocation: {stage}", _fmt_seconds(float(secs))])
            except (TypeError, ValueError):
                rows.append([f"last invocation: {stage}", str(secs)])
    sums: dict[str, dict[str, float]] = {}
    for c in cells:
        key = _key_of(c)
        section = _section_of(key[0], key[1]) if key else "other cells"
        for t, v in (c.get("timings") or {}).items():
            try:
                sums.setdefault(section, {}).setdefault(t, 0.0)
                sums[section][t] += float(v)
            except (TypeError, ValueError):
                pass
    labels = {"features_s": "features", "forest_fit_s": "forest fit", "forest_predict_s": "forest predict"}
    total: dict[str, float] = {}
    for section in sorted(sums):
        for t, v in sums[section].items():
            rows.append([f"cells, {section}: {labels.get(t, t)}", _fmt_seconds(v)])
            total[t] = total.get(t, 0.0) + v
    if len(sums) > 1:
        for t, v in total.items():
            rows.append([f"cells, all: {labels.get(t, t)}", _fmt_seconds(v)])
    for nc in curves:
        rows.append([f"net training: {nc.label} ({len(nc.runs)} run(s))", _fmt_seconds(nc.seconds)])
    if len(curves) > 1:
        rows.append(["net training: all nets", _fmt_seconds(sum(nc.seconds for nc in curves))])
    if rows:
        b.append(_Block("p", "Cell times are summed over every cell (features = slicing/aggregating the "
                             "activations of a cell); net training time comes from the training logs. "
                             "'Last invocation' rows are the wall time of the latest `reproduce` command: a "
                             "resumed run times only the work it did itself."))
        b.append(_Block("table", header=["Stage", "Time"], rows=rows))
    else:
        b.append(_Block("p", f"{MISSING} no timings recorded."))

    # Environment
    b.append(_Block("h2", "Environment"))
    env_path = run_dir / _ENV_JSON
    env: dict[str, Any] = {}
    if env_path.is_file():
        try:
            env = json.loads(env_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            b.append(_Block("p", f"`{_ENV_JSON}` unreadable: {exc}"))
    if env:
        items = [f"git commit: `{env.get('git_commit') or 'unknown'}`"]
        for key in ("python", "platform", "created_utc", "cpu_count"):
            if env.get(key) is not None:
                items.append(f"{key}: {env[key]}")
        if env.get("command"):
            cmd = env["command"]
            items.append(f"command: `{' '.join(map(str, cmd)) if isinstance(cmd, list) else cmd}`")
        b.append(_Block("ul", items=items))
        pk = env.get("packages")
        if isinstance(pk, dict) and pk:
            b.append(_Block("table", header=["Package", "Version"],
                            rows=[[str(k), str(v) if v is not None else "not installed"] for k, v in pk.items()]))
    elif not env_path.is_file():
        b.append(_Block("p", f"No `{_ENV_JSON}` in the run directory."))

    b.append(_Block("p", f"Published values: {CITATION}. Only the cells transcribed in "
                         "`mirlearn.experiments.published` are compared; all others show —."))
    return b, csvs


def write_report(run_dir: str | Path, out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``report.md``, ``report.html``, ``table1.csv``, ``table2.csv`` and ``figures/*.png``.

    Reads only JSON and CSV files (cells, ``run.json``, ``environment.json``, training logs),
    so it works on any copy of a run, finished or not: missing cells show as "—" and the
    report lists them. The HTML embeds its images (base64 data URIs) and its CSS: one file,
    no external resources. Every file is written atomically; the report is deterministic
    (no generation time in it), so rebuilding it from the same results gives the same text.

    Parameters
    ----------
    run_dir : str or Path
        The run directory.
    out_dir : str or Path, optional
        Where to write (default: ``run_dir``).

    Returns
    -------
    md_path, html_path : Path
    """
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreadable files are listed in the report instead
        entries = collect(run_dir)
    errors = [f"{e['_path']}: unreadable ({e['error']}); ignored" for e in entries if e.get("_kind") == "error"]
    blocks, csvs = _build_blocks(run_dir, entries, out / "figures", "figures")
    if errors:
        i = next(i for i, bl in enumerate(blocks) if bl.kind == "h2" and bl.text == "Completeness")
        blocks[i + 1].items.extend(errors)
    for name, text in csvs.items():
        atomic_write_text(out / name, text)
    md_path, html_path = out / "report.md", out / "report.html"
    atomic_write_text(md_path, _render_markdown(blocks))
    atomic_write_text(html_path, _render_html(blocks, blocks[0].text))
    return md_path, html_path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mirlearn.experiments.report RUN [--out DIR]``: write the report of a run."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m mirlearn.experiments.report", description=main.__doc__)
    ap.add_argument("run_dir", help="run directory (holds cells/*.json somewhere below)")
    ap.add_argument("--out", default=None, help="output folder (default: the run directory)")
    args = ap.parse_args(argv)
    md, html_path = write_report(args.run_dir, args.out)
    print(md)
    print(html_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

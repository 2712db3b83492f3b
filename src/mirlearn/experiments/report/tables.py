"""The paper's tables from a run's cell statistics: Table 1, Table 2, as Markdown and long-form CSV.

Table 1: the GTZAN grid, rows = method × units, columns = layer × {frames, aggregated}.
Table 2: the transfer of the nets to ISMIR 2004, then the MFCC / PMSC baselines. Every entry
carries the paper's value (:mod:`mirlearn.experiments.published`) and our difference where the
run's data match the paper's. Accuracies are track accuracies in percent; missing cells are
shown as "—".
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from mirlearn.experiments.published import BASELINES, LAYERS, METHODS, UNITS, Published, cell_key, published
from mirlearn.experiments.report.collect import MISSING, CellStat, dataset_name, published_args, stats_of
from mirlearn.experiments.report.render import md_table

__all__ = ["TABLE1_COLUMNS", "TABLE2_DEFAULT_NETS", "Table1Row", "Table2Row", "table1", "table2", "format_cell",
           "format_table1_markdown", "format_table2_markdown", "table1_csv", "table2_csv", "table1_grid",
           "PAPER_DATASET", "TABLE2_PAPER_NETS", "TABLE2_REFERENCE_CELLS",
           "table2_grid", "column_name", "fmt_published", "full_splits"]

#: Columns of Table 1, in order: (layers, aggregate).
TABLE1_COLUMNS: tuple[tuple[str, bool], ...] = tuple((layer, agg) for layer in LAYERS for agg in (False, True))
#: The data set the paper's nets were trained on: only a run on it is compared cell by cell.
PAPER_DATASET = "gtzan"
#: The nets of the paper's Table 2, listed in a GTZAN run's Table 2 (with their published
#: values) even when the run has not transferred them.
TABLE2_PAPER_NETS: tuple[tuple[str, int], ...] = tuple((m, u) for m in METHODS for u in UNITS)
#: The Table 2 net listed in the Table 2 of a run on another data set (synthetic, music/speech).
TABLE2_DEFAULT_NETS: tuple[tuple[str, int], ...] = (("ReLU+SGD+Dropout", 500),)
#: The published Table 2 transfer cells that a run on another data set still shows, as a
#: reference point only (not compared, not in the "ours vs published" figure): the paper's best
#: Table 2 cell, which reports have always shown, so that such runs' tables stay as they were.
TABLE2_REFERENCE_CELLS: frozenset[tuple] = frozenset({cell_key(2, "ReLU+SGD+Dropout", 500, "all", True, "ismir2004")})


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
    stats = stats_of(cells)
    rows = []
    for method in METHODS:
        for units in UNITS:
            row = {}
            for layers, agg in TABLE1_COLUMNS:
                st = stats.get(cell_key(1, method, units, layers, agg, dataset))
                row[(layers, agg)] = st if st is not None and st.n_splits else None
            rows.append(Table1Row(method=method, units=units, cells=row, dataset=dataset))
    return rows


def column_name(layers: str, aggregate: bool) -> str:
    lay = "all" if layers == "all" else f"L{layers}"
    return f"{lay} {'agg' if aggregate else 'frames'}"


def _fmt(x: float | None, digits: int) -> str:
    if x is None or not math.isfinite(x):
        return MISSING
    return f"{x:.{digits}f}"


def fmt_published(p: Published) -> str:
    """A published value (± std) as the paper prints it."""
    return p.text


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
        return MISSING + (f" (paper {fmt_published(p)})" if p is not None else "")
    s = _fmt(st.mean, digits)
    if st.n_splits > 1:
        s += f" ± {_fmt(st.std, digits)}"
    if full_splits is not None and st.n_splits < full_splits:
        s += f" [n={st.n_splits}]"
    if st.published is not None:
        s += f" (paper {fmt_published(st.published)}, Δ {st.diff:+.{digits}f})"
    return s


def full_splits(stats: Iterable[CellStat | None]) -> int:
    return max([s.n_splits for s in stats if s is not None] or [0])


def table1_grid(rows: Sequence[Table1Row]) -> tuple[list[str], list[list[str]]]:
    """Header and body of Table 1 as text (see :func:`format_cell`)."""
    full = full_splits(st for r in rows for st in r.cells.values())
    header = ["Net"] + [column_name(l, a) for l, a in TABLE1_COLUMNS]
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
    return md_table(*table1_grid(rows))


_CSV_COLUMNS = ("method", "units", "layers", "aggregate", "n_splits", "mean", "std", "published", "diff")


def _csv_num(x: float | None, digits: int = 4) -> str:
    if x is None or not math.isfinite(x):
        return ""
    return f"{x:.{digits}f}"


def _csv_row(method: str, units: int | None, layers: str, agg: bool, st: CellStat | None,
             p: Published | None, diff: float | None) -> list[str]:
    n = st.n_splits if st is not None else 0
    return [method, "" if units is None else str(units), layers, str(bool(agg)).lower(), str(n),
            _csv_num(st.mean if n else None), _csv_num(st.std if n else None),
            "" if p is None else p.value_text, _csv_num(diff if n else None)]


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
                                published(1, r.method, r.units, layers, agg, r.dataset),
                                st.diff if st is not None else None))
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
        The paper's value of this cell, where it is comparable with ours (or shown for reference).
    reference : bool
        ``True`` when :attr:`published` is shown for reference only, beside a run whose nets were
        not trained on the paper's data: no difference is taken.
    """

    section: str
    dataset: str
    method: str
    units: int | None
    layers: str
    aggregate: bool
    stat: CellStat | None
    published: Published | None
    reference: bool = False

    @property
    def diff(self) -> float | None:
        """Our mean minus the published value (percentage points), when both are known and comparable."""
        if self.stat is None or not self.stat.n_splits or self.published is None or self.reference:
            return None
        return self.stat.mean - self.published.value

    @property
    def label(self) -> str:
        """The net (``"ReLU+SGD+Dropout 500"``) or baseline (``"MFCC"``)."""
        return self.method if self.units is None else f"{self.method} {self.units}"


def table2(cells: Iterable[dict[str, Any]] | dict[tuple, CellStat], dataset: str = "gtzan") -> list[Table2Row]:
    """Table 2: every transferred net on ISMIR 2004, then the MFCC / PMSC baselines.

    Transfer rows: for each Table 2 net found, layer {1, 2, 3, all} × {frames, aggregated}; a
    GTZAN run also lists every net of the paper's Table 2 (:data:`TABLE2_PAPER_NETS`), so that
    each published cell is shown, and its transfer rows carry the published values (the paper
    has aggregated features only). A run on another data set lists ReLU+SGD+Dropout 500 and
    shows only the :data:`TABLE2_REFERENCE_CELLS`, as references. Baseline rows: MFCC and PMSC,
    all layers, frames and aggregated, on ISMIR 2004 (compared with the paper whatever the
    run's main data set: the baseline does not depend on the nets) and then on ``dataset``
    (mean ± std over splits).

    Parameters
    ----------
    cells : iterable of dict, or dict of CellStat
        Cell JSONs (from :func:`collect`) or their :func:`summarize_cells`.
    dataset : the main dataset of the run (GTZAN for the paper)

    Returns
    -------
    list of Table2Row
    """
    stats = stats_of(cells)
    comparable = str(dataset).lower() == PAPER_DATASET
    nets = {(k[2], k[3]) for k in stats if k[0] == 2 and k[1] == "ismir2004"}
    nets |= set(TABLE2_PAPER_NETS if comparable else TABLE2_DEFAULT_NETS)
    order = lambda mu: (METHODS.index(mu[0]) if mu[0] in METHODS else len(METHODS), mu[0], mu[1] or 0)  # noqa: E731
    rows: list[Table2Row] = []
    for method, units in sorted(nets, key=order):
        for layers, agg in TABLE1_COLUMNS:
            key = cell_key(2, method, units, layers, agg, "ismir2004")
            st = stats.get(key)
            shown = comparable or key in TABLE2_REFERENCE_CELLS
            rows.append(Table2Row("transfer", "ismir2004", method, units, layers, agg,
                                  st if st is not None and st.n_splits else None,
                                  published(*published_args(key)) if shown else None, reference=not comparable))
    for ds in dict.fromkeys(("ismir2004", dataset)):
        for method in BASELINES:
            for agg in (False, True):
                key = cell_key("baseline", method, None, "all", agg, ds)
                st = stats.get(key)
                rows.append(Table2Row("baseline", ds, method, None, "all", agg,
                                      st if st is not None and st.n_splits else None,
                                      published(*published_args(key))))
    return rows


def table2_grid(rows: Sequence[Table2Row]) -> tuple[list[str], list[list[str]]]:
    """Header and body of Table 2 as text: features, dataset, layers, input, ours, paper, Δ."""
    header = ["Features", "Dataset", "Layers", "Input", "Ours", "Paper", "Δ"]
    fulls = {ds: full_splits(r.stat for r in rows if r.dataset == ds) for ds in {r.dataset for r in rows}}
    body = []
    for r in rows:
        st = r.stat
        ours = MISSING
        if st is not None:
            ours = _fmt(st.mean, 2) + (f" ± {_fmt(st.std, 2)}" if st.n_splits > 1 else "")
            if st.n_splits < fulls[r.dataset]:
                ours += f" [n={st.n_splits}]"
        paper = fmt_published(r.published) if r.published is not None else MISSING
        diff = f"{r.diff:+.2f}" if r.diff is not None else MISSING
        body.append([r.label, dataset_name(r.dataset), "all" if r.layers == "all" else r.layers,
                     "aggregated" if r.aggregate else "frames", ours, paper, diff])
    return header, body


def format_table2_markdown(rows: Sequence[Table2Row]) -> str:
    """Table 2 as a Markdown table: features, dataset, layers, input, ours, paper, Δ."""
    return md_table(*table2_grid(rows))


def table2_csv(rows: Sequence[Table2Row]) -> str:
    """Table 2 in long form: ``section, dataset`` then the columns of :func:`table1_csv`."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("section", "dataset") + _CSV_COLUMNS)
    for r in rows:
        w.writerow([r.section, r.dataset] + _csv_row(r.method, r.units, r.layers, r.aggregate, r.stat, r.published,
                                                      r.diff))
    return buf.getvalue()


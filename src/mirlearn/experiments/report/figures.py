"""The report's figures, drawn with matplotlib without pyplot (no global state, Agg canvas).

Every figure is written atomically as a PNG without a creation time, so a rebuilt report
gives the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mirlearn.experiments.published import BASELINES, LAYERS, METHODS, UNITS, published
from mirlearn.experiments.report.collect import MISSING, CellStat, dataset_name
from mirlearn.experiments.report.curves import NetCurves
from mirlearn.experiments.report.tables import Table1Row, Table2Row
from mirlearn.io import atomic_path

__all__ = ["plot_layer_accuracy", "plot_confusion", "plot_learning_curves", "CURVES_DPI", "CURVES_MIN_SIZE",
           "ComparisonPoint", "comparison_points",
           "plot_ours_vs_published"]


# ----------------------------------------------------------------------------------------------
# Figures (matplotlib without pyplot: no global state, Agg canvas)


def _new_figure(figsize: tuple[float, float], dpi: int = 100):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi="figure", metadata={"Software": None})
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
    name = dataset_name(rows[0].dataset) if rows else "GTZAN"
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


#: Size and resolution of the learning-curve figure: wide enough to read at a glance in a
#: browser (at least 8 × 5 inches at 120 dpi, 960 × 600 pixels, for one net).
CURVES_DPI = 120
CURVES_MIN_SIZE = (8.0, 5.0)
#: Learning-curve panels per row (two panels, loss above accuracy, per net).
CURVES_PER_ROW = 3


def plot_learning_curves(curves: Sequence[NetCurves], path: str | Path, *, rows: str = "frame") -> Path:
    """Per net, training and validation loss (top) and validation accuracy (bottom); one colour per split.

    The figure is at least :data:`CURVES_MIN_SIZE` inches at :data:`CURVES_DPI` dpi, with axis
    labels and a legend (colour = split; solid = validation, dashed = training loss). Up to
    :data:`CURVES_PER_ROW` nets side by side, further nets on further rows.

    Parameters
    ----------
    curves : sequence of NetCurves
        From :func:`read_learning_curves`; must not be empty.
    path : str or Path
        PNG written atomically.
    rows : what the validation accuracy is over: ``"frame"`` (an MLP) or ``"patch"`` (a CNN)

    Returns
    -------
    Path
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    if not curves:
        raise ValueError("no learning curves to plot")
    n = len(curves)
    ncols = min(n, CURVES_PER_ROW)
    blocks = -(-n // ncols)
    size = (max(CURVES_MIN_SIZE[0], 4.4 * ncols), max(CURVES_MIN_SIZE[1], 5.2 * blocks))
    fig = _new_figure(size, dpi=CURVES_DPI)
    axes = fig.subplots(2 * blocks, ncols, squeeze=False)
    colours = [f"C{i}" for i in range(10)]
    splits: dict[str, str] = {}
    for j, nc in enumerate(curves):
        top, bottom = axes[2 * (j // ncols), j % ncols], axes[2 * (j // ncols) + 1, j % ncols]
        for run in nc.runs:
            colour = splits.setdefault(str(run["split"]), colours[len(splits) % len(colours)])
            train = np.asarray(run.get("train_loss", []), dtype=np.float64)
            if train.size and np.isfinite(train).any():
                top.plot(run["x"], train, lw=1.2, ls="--", color=colour)
            top.plot(run["x"], run["valid_loss"], lw=1.4, color=colour)
            bottom.plot(run["x"], run["valid_acc"], lw=1.4, color=colour)
        top.set_title(nc.label, fontsize=10)
        top.set_ylabel("loss (cross-entropy)")
        bottom.set_ylabel("validation accuracy (%)")
        bottom.set_xlabel(nc.x_label)
        top.set_xlabel(nc.x_label)
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for j in range(n, blocks * ncols):  # empty places of the last row
        axes[2 * (j // ncols), j % ncols].set_visible(False)
        axes[2 * (j // ncols) + 1, j % ncols].set_visible(False)
    handles = [Line2D([], [], color="#333", lw=1.4, label="validation"),
               Line2D([], [], color="#333", lw=1.2, ls="--", label="training loss")]
    handles += [Line2D([], [], color=c, lw=3, label=f"split {name}") for name, c in splits.items()]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), frameon=False, fontsize=9)
    fig.suptitle(f"Learning curves: training and validation loss (top), validation {rows} accuracy (bottom)")
    return _save_png(fig, path)


# ----------------------------------------------------------------------------------------------
# Ours against the paper


@dataclass(frozen=True)
class ComparisonPoint:
    """One cell that has both our result and a published value.

    Attributes
    ----------
    group : str
        Where the cell is: ``"Table 1, frames"``, ``"Table 1, aggregated"``, ``"Table 2"`` or
        ``"baselines"``.
    method : str
        Training method or baseline feature (the point's colour).
    label : str
        The cell, e.g. ``"ReLU+SGD 50, layer 1, frames (GTZAN)"``.
    published, published_std : float, float or None
        The paper's track accuracy and its std over splits, in percent.
    ours, ours_std : float, float or None
        Our mean track accuracy and its std over splits (``None`` with one split), in percent.
    n_splits : int
    """

    group: str
    method: str
    label: str
    published: float
    published_std: float | None
    ours: float
    ours_std: float | None
    n_splits: int


#: Marker of each group of cells.
_MARKERS = {"Table 1, frames": "o", "Table 1, aggregated": "s", "Table 2": "^", "baselines": "D"}
_COLOURS = dict(zip(METHODS + BASELINES, ("#2b6cb0", "#dd6b20", "#38a169", "#718096", "#805ad5")))


def comparison_points(t1: Sequence[Table1Row], t2: Sequence[Table2Row]) -> list[ComparisonPoint]:
    """Every cell of Table 1 and Table 2 with our result and a comparable published value.

    Parameters
    ----------
    t1 : sequence of Table1Row
        From :func:`~mirlearn.experiments.report.tables.table1`: a cell has a published value
        only on GTZAN.
    t2 : sequence of Table2Row
        From :func:`~mirlearn.experiments.report.tables.table2`; rows whose published value is
        shown for reference only are left out.

    Returns
    -------
    list of ComparisonPoint
        Table 1 in its row and column order, then Table 2 in its row order.
    """
    points: list[ComparisonPoint] = []

    def add(group: str, st: CellStat, p) -> None:
        points.append(ComparisonPoint(group, st.method, st.label, p.value, p.std, st.mean,
                                      st.std if st.n_splits > 1 else None, st.n_splits))

    for r in t1:
        for (layers, agg), st in r.cells.items():
            if st is not None and st.n_splits and st.published is not None:
                add(f"Table 1, {'aggregated' if agg else 'frames'}", st, st.published)
    for r2 in t2:
        if r2.stat is not None and r2.stat.n_splits and r2.published is not None and not r2.reference:
            add("Table 2" if r2.section == "transfer" else "baselines", r2.stat, r2.published)
    return points


def plot_ours_vs_published(points: Sequence[ComparisonPoint], path: str | Path) -> Path:
    """Our accuracy (y) against the paper's (x), one point per cell, with the y = x diagonal.

    Vertical error bars: our std over splits; horizontal: the paper's std, where given.
    Colour: method; marker: table (and frames / aggregated in Table 1).

    Parameters
    ----------
    points : sequence of ComparisonPoint
        From :func:`comparison_points`; must not be empty.
    path : str or Path
        PNG written atomically.
    rows : what the validation accuracy is over: ``"frame"`` (an MLP) or ``"patch"`` (a CNN)

    Returns
    -------
    Path
    """
    from matplotlib.lines import Line2D

    if not points:
        raise ValueError("no cell with both our result and a published value")
    fig = _new_figure((7.6, 6.4))
    ax = fig.subplots()
    values = [v for pt in points for v in (pt.published, pt.ours)]
    lo = max(0.0, math.floor((min(values) - 5.0) / 5.0) * 5.0)
    hi = min(100.0, math.ceil((max(values) + 5.0) / 5.0) * 5.0)
    ax.plot([lo, hi], [lo, hi], color="#999", lw=1, ls="--", zorder=1)
    for pt in points:
        ax.errorbar(pt.published, pt.ours, xerr=pt.published_std, yerr=pt.ours_std, fmt=_MARKERS.get(pt.group, "x"),
                    color=_COLOURS.get(pt.method, "#333"), ecolor=_COLOURS.get(pt.method, "#333"), elinewidth=0.8,
                    capsize=2, markersize=6, alpha=0.85, zorder=2)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.set_xlabel("published track accuracy (%)")
    ax.set_ylabel("our track accuracy (%)")
    methods = [m for m in METHODS + BASELINES if any(pt.method == m for pt in points)]
    groups = [g for g in _MARKERS if any(pt.group == g for pt in points)]
    handles = [Line2D([], [], color=_COLOURS[m], marker="o", ls="", label=m) for m in methods]
    handles += [Line2D([], [], color="#333", marker=_MARKERS[g], ls="", markerfacecolor="none", label=g)
                for g in groups]
    handles.append(Line2D([], [], color="#999", ls="--", label="ours = published"))
    ax.legend(handles=handles, fontsize=8, loc="upper left", frameon=False)
    ax.set_title(f"Ours vs published ({len(points)} cells; error bars: std over splits)", fontsize=10)
    return _save_png(fig, path)

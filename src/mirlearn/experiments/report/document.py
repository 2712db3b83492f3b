"""The report of a ``sigtia2014`` run: its sections, and :func:`write_report`.

Everything here reads the files a run leaves behind — one JSON per result cell, the nets'
training logs, ``run.json`` and ``environment.json`` — through
:class:`mirlearn.experiments.layout.RunLayout`, and never a model, so a report can be rebuilt at
any time, also from a copied or half-finished run.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Sequence

from mirlearn.experiments.layout import RunLayout
from mirlearn.experiments.published import CITATION
from mirlearn.experiments.report.collect import (MISSING, CellStat, best_cell, cells_only, collect, dataset_name,
                                                 key_of, run_info, summarize_cells)
from mirlearn.experiments.report.curves import read_learning_curves
from mirlearn.experiments.report.facts import (choose_cell, dataset_blocks, dataset_size, environment_blocks,
                                               per_class_table, settings_of)
from mirlearn.experiments.report.kinds import EMPTY, GRID, detect_kind
from mirlearn.experiments.report.run_report import run_blocks
from mirlearn.experiments.report.schindler import is_schindler_run, schindler_blocks
from mirlearn.experiments.report.timing import cell_time_rows, duration, stage_words
from mirlearn.experiments.report.figures import (comparison_points, plot_confusion, plot_layer_accuracy,
                                                 plot_learning_curves, plot_ours_vs_published)
from mirlearn.experiments.report.render import Block, render_html, render_markdown
from mirlearn.experiments.report.tables import (TABLE1_COLUMNS, TABLE2_PAPER_NETS, Table1Row, Table2Row, column_name,
                                                fmt_published,
                                                full_splits, table1, table1_csv, table1_grid, table2, table2_csv,
                                                table2_grid)
from mirlearn.io import atomic_write_text

__all__ = ["write_report", "OURS_VS_PUBLISHED"]

#: File name of the "ours vs published" figure in the figures folder.
OURS_VS_PUBLISHED = "ours_vs_published.png"


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
        return f"baselines ({dataset_name(dataset)})"
    return f"Table {table} ({dataset_name(dataset)})"


def _completeness_notes(t1: Sequence[Table1Row], t2: Sequence[Table2Row], plan: "_Plan") -> list[str]:
    notes = list(plan.not_run)
    cells = [(r, col, r.cells.get(col)) for r in t1 for col in TABLE1_COLUMNS]
    have = [c for c in cells if c[2] is not None]
    full = full_splits(c[2] for c in have)
    notes.append(f"Table 1: {len(have)} of {len(cells)} cells have results"
                 + (f" (up to {full} split(s) each)." if have else "."))
    if full and full < 4:
        notes.append(f"Table 1: at most {full} split(s) per cell; the paper's protocol uses 4.")
    for r in t1:
        missing = [column_name(*col) for col in TABLE1_COLUMNS if r.cells.get(col) is None]
        short = [f"{column_name(*col)} (n={st.n_splits})" for col in TABLE1_COLUMNS
                 if (st := r.cells.get(col)) is not None and st.n_splits < full]
        if missing:
            notes.append(f"Table 1, {r.label}: missing " + ", ".join(missing) + ".")
        if short:
            notes.append(f"Table 1, {r.label}: fewer splits than the other cells: " + ", ".join(short) + ".")
    by_label: dict[str, list[str]] = {}
    for r in t2:
        if r.stat is None:
            who = f"{r.label} on {dataset_name(r.dataset)}"
            by_label.setdefault(who, []).append(f"{'all' if r.layers == 'all' else 'L' + r.layers} "
                                                f"{'agg' if r.aggregate else 'frames'}")
    for who, cols in by_label.items():
        notes.append(f"Table 2, {who}: missing " + ", ".join(cols) + ".")
    return notes


def _net_order(method: str, units: int) -> tuple:
    return (TABLE2_PAPER_NETS.index((method, units)) if (method, units) in TABLE2_PAPER_NETS else
            len(TABLE2_PAPER_NETS), method, units)


class _Plan:
    """What the grid was asked to run, from ``run.json`` (``nets``, ``ismir2004``, ``baselines``).

    A run.json without these keys (older runs) counts as the whole grid, as before.
    """

    def __init__(self, run: dict[str, Any]) -> None:
        from mirlearn.experiments.sigtia2014 import NETS

        self.nets: set[tuple[str, int]] | None = None
        self.not_run: list[str] = []
        if isinstance(run.get("nets"), list):
            asked = {str(k) for k in run["nets"]}
            self.nets = {(n.method, n.units) for n in NETS if n.key in asked}
            left = [f"{n.method} {n.units}" for n in NETS if n.key not in asked]
            if left:
                self.not_run.append("Table 1 nets not run (left out with `--nets`): " + ", ".join(left) + ".")
        self.table2 = run.get("ismir2004") is not False
        if not self.table2:
            self.not_run.append("Table 2 was not run: no `--ismir2004` data given (neither the transfer of the "
                                "nets nor the baselines on ISMIR 2004).")
        self.baselines = not (isinstance(run.get("baselines"), list) and not run["baselines"])
        if not self.baselines:
            self.not_run.append("The MFCC / PMSC baselines were not run (`--no-baselines`).")

    def t1(self, rows: Sequence[Table1Row]) -> list[Table1Row]:
        """The Table 1 rows of the nets that were run."""
        return [r for r in rows if self.nets is None or (r.method, r.units) in self.nets]

    def t2(self, rows: Sequence[Table2Row]) -> list[Table2Row]:
        """The Table 2 rows of what was run."""
        return [r for r in rows if (self.table2 or r.dataset != "ismir2004")
                and (self.baselines or r.section != "baseline")]


def _per_class_blocks(stats: dict[tuple, CellStat], cells: list[dict[str, Any]]) -> list[Block]:
    """Per-class accuracy of every net's chosen cell, one table per data set (columns: nets)."""
    settings = settings_of(cells)
    nets: dict[tuple, dict[tuple[str, bool], CellStat]] = {}
    for key, st in stats.items():
        if st.units is not None and st.n_splits:
            nets.setdefault((st.dataset, st.table, st.method, st.units), {})[(st.layers, st.aggregate)] = st
    if not nets:
        return [Block("p", f"{MISSING} no net has a result yet.")]
    b: list[Block] = []
    hows: set[str] = set()
    for ds in dict.fromkeys(k[0] for k in sorted(nets, key=lambda k: (k[1] != 1, str(k[1]), k[0]))):
        columns: list[tuple[str, CellStat]] = []
        for k in sorted((k for k in nets if k[0] == ds), key=lambda k: (str(k[1]), _net_order(k[2], k[3]))):
            cell, how = choose_cell(nets[k], settings)
            if cell is None or nets[k][cell].confusion is None:
                continue
            hows.add(how)
            lay = "all" if cell[0] == "all" else f"L{cell[0]}"
            columns.append((f"{k[2]} {k[3]} ({lay} {'agg' if cell[1] else 'frames'})", nets[k][cell]))
        if columns:
            h, r = per_class_table(columns)
            b.append(Block("p", f"On {dataset_name(ds)}: accuracy (%) of each class, (right / test tracks), "
                                "pooled over the splits."))
            b.append(Block("table", header=h, rows=r))
    if hows:
        b.insert(0, Block("p", "Each net's cell is " + "; or ".join(sorted(hows)) + ". The accuracy of a class is "
                               "its test tracks classified right / its test tracks (recall)."))
    return b or [Block("p", f"{MISSING} no net's cell has a confusion matrix.")]


def _build_blocks(run_dir: Path, entries: list[dict[str, Any]], fig_dir: Path, rel_fig: str
                  ) -> tuple[list[Block], dict[str, str]]:
    """The report's blocks and its long-form tables (``{"table1": csv text, "table2": ...}``)."""
    notes: list[str] = []
    run = run_info(entries)
    cells = cells_only(entries)
    stats = summarize_cells(cells, notes)
    main_dataset = str((run or {}).get("dataset") or "gtzan")
    t1 = table1(stats, main_dataset)
    t2 = table2(stats, main_dataset)
    curves = read_learning_curves(run_dir, cells, notes)
    best = best_cell(stats, table=1)
    best_scope = "Table 1"
    if best is None:
        best, best_scope = best_cell(stats, table=None), "all results"
    csvs = {"table1": table1_csv(t1), "table2": table2_csv(t2)}
    plan = _Plan(run)
    t1_run, t2_run = plan.t1(t1), plan.t2(t2)

    b: list[Block] = []
    title = "mirlearn report — Sigtia & Dixon (ICASSP 2014) reproduction"
    b.append(Block("h1", title))
    meta = [f"Run directory: `{run_dir.name}`", f"Result cells: {len(cells)}"]
    for key in ("dataset", "created"):
        if run.get(key) is not None:
            meta.append(f"{key.capitalize()}: {run[key] if not isinstance(run[key], (dict, list)) else json.dumps(run[key])}")
    b.append(Block("ul", items=meta))

    # Run settings
    b.append(Block("h2", "Run"))
    profile = run.get("profile")
    if profile is None:
        b.append(Block("p", "Profile: unknown (no `run.json`, or no `profile` in it)."))
    else:
        b.append(Block("p", f"Profile: **{profile}**"
                        + (" — reduced settings; the numbers are not comparable with the paper's."
                           if str(profile) != "paper" else "")))
    reductions = run.get("reductions")
    if reductions:
        b.append(Block("p", "Reductions from the paper's protocol:"))
        b.append(Block("ul", items=[str(r) for r in reductions]))
    elif run:
        b.append(Block("p", "Reductions from the paper's protocol: none listed."))
    settings = run.get("settings")
    if isinstance(settings, dict) and settings:
        b.append(Block("table", header=["Setting", "Value"], rows=[list(kv) for kv in _flatten(settings)]))

    # Data
    b.append(Block("h2", "Data"))
    main_cells = [c for c in cells if str((c.get("experiment") or {}).get("dataset") or main_dataset) == main_dataset]
    b += dataset_blocks(dataset_size(run_dir, main_cells), dataset_name(main_dataset))
    ismir_cells = [c for c in cells if (c.get("experiment") or {}).get("dataset") == "ismir2004"]
    if ismir_cells and main_dataset != "ismir2004":
        b += dataset_blocks(dataset_size(None, ismir_cells), "ISMIR 2004 (Table 2)")

    # Completeness
    b.append(Block("h2", "Completeness"))
    b.append(Block("ul", items=_completeness_notes(t1_run, t2_run, plan) + notes))

    # Tables
    b.append(Block("h2", f"Table 1 — {dataset_name(main_dataset)}, features of each net"))
    b.append(Block("p", "Track accuracy (%), mean ± std over splits (population std); `[n=k]`: fewer splits "
                         "than the most complete cell; `(paper X, Δ ±Y)`: the published value and our difference "
                         "in percentage points (on GTZAN only); —: no result. Long form: `table1.csv`."))
    if len(t1_run) < len(t1):
        b.append(Block("p", "Only the nets that were run are listed; " + plan.not_run[0][0].lower()
                       + plan.not_run[0][1:]))
    b.append(Block("table", header=table1_grid(t1_run)[0], rows=table1_grid(t1_run)[1]))
    b.append(Block("h2", "Table 2 — transfer to ISMIR 2004, and baselines"))
    if plan.table2:
        b.append(Block("p", f"Track accuracy (%): the {dataset_name(main_dataset)} nets' features on ISMIR 2004 "
                             "(train → development), then the MFCC and PMSC baselines on ISMIR 2004 and on "
                             f"{dataset_name(main_dataset)} (mean ± std over splits). "
                             "Long form: `table2.csv`."))
    else:
        b.append(Block("p", "Table 2 was not run: no `--ismir2004` data given (`mirlearn reproduce sigtia2014 "
                            "--ismir2004 DIR` adds it)."
                       + (f" The MFCC and PMSC baselines on {dataset_name(main_dataset)}, track accuracy (%), "
                          "mean ± std over splits:" if t2_run else "")))
    if t2_run:
        h2, r2 = table2_grid(t2_run)
        b.append(Block("table", header=h2, rows=r2))
    caveats = sorted({f"{r.label} ({dataset_name(r.dataset)}): {r.published.note}." for r in t2_run
                      if r.published is not None and r.published.note})
    if caveats:
        b.append(Block("ul", items=caveats))

    # Figures
    figures: list[tuple[str, str, Any]] = []
    if best is not None and best.confusion is not None:
        figures.append(("confusion_best.png", f"Confusion matrix of the best cell ({best_scope})",
                        lambda p: plot_confusion(best, p)))
    if any(st is not None for r in t1 for st in r.cells.values()):
        figures.append(("layer_accuracy.png", "Table 1: accuracy per layer", lambda p: plot_layer_accuracy(t1, p)))
    if curves:
        figures.append(("learning_curves.png", "Learning curves", lambda p: plot_learning_curves(curves, p)))
    points = comparison_points(t1, t2)
    if points:
        figures.append((OURS_VS_PUBLISHED, "Ours vs published", lambda p: plot_ours_vs_published(points, p)))
    else:
        (fig_dir / OURS_VS_PUBLISHED).unlink(missing_ok=True)  # from an earlier report of other results
    images: dict[str, bytes] = {}
    fig_error = None
    for name, _, fn in figures:
        try:
            fn(fig_dir / name)
            images[name] = (fig_dir / name).read_bytes()
        except ImportError as exc:  # matplotlib missing: tables still come out
            fig_error = f"figures skipped: {exc}"
            break

    b.append(Block("h2", f"Best cell ({best_scope})"))
    if best is None:
        b.append(Block("p", MISSING + " no results yet."))
    else:
        acc = f"{best.mean:.2f}" + (f" ± {best.std:.2f}" if best.n_splits > 1 else "")
        b.append(Block("p", f"**{best.label}**: {acc} % over {best.n_splits} split(s)"
                        + (f" (paper {fmt_published(best.published)})" if best.published else "")
                        + ". Confusion summed over the splits (rows true, columns predicted):"))
        if best.confusion is not None:
            from mirlearn.classify.metrics import format_confusion

            b.append(Block("pre", format_confusion(best.confusion, best.classes)))
        if "confusion_best.png" in images:
            b.append(Block("img", "confusion matrix of the best cell", path=f"{rel_fig}/confusion_best.png",
                            data=images["confusion_best.png"]))

    b.append(Block("h2", "Per-class accuracy of each net"))
    b += _per_class_blocks(stats, cells)

    b.append(Block("h2", "Accuracy per layer"))
    if "layer_accuracy.png" in images:
        b.append(Block("img", "Table 1 accuracy per layer", path=f"{rel_fig}/layer_accuracy.png",
                        data=images["layer_accuracy.png"]))
    else:
        b.append(Block("p", fig_error or f"{MISSING} no Table 1 results yet."))

    b.append(Block("h2", "Learning curves"))
    if "learning_curves.png" in images:
        b.append(Block("p", "Training loss (dashed) and validation loss (solid) of each net, and its validation "
                            "frame accuracy below, against its epoch (a Hessian-Free epoch is one HF step), from "
                            "the nets' training logs; one colour per split."))
        b.append(Block("img", "learning curves", path=f"{rel_fig}/learning_curves.png",
                        data=images["learning_curves.png"]))
    else:
        b.append(Block("p", fig_error or f"{MISSING} no training logs found."))

    b.append(Block("h2", "Ours vs published"))
    if OURS_VS_PUBLISHED in images:
        diffs = [pt.ours - pt.published for pt in points]
        b.append(Block("p", f"Every cell with both our result and a published value ({len(points)} cells): "
                            "x = the paper's track accuracy, y = ours, error bars = std over splits (ours "
                            "vertical, the paper's horizontal where it gives one); on the dashed line we "
                            f"match the paper. Mean difference {sum(diffs) / len(diffs):+.1f} points, range "
                            f"{min(diffs):+.1f} to {max(diffs):+.1f}."))
        b.append(Block("img", "ours vs published", path=f"{rel_fig}/{OURS_VS_PUBLISHED}",
                       data=images[OURS_VS_PUBLISHED]))
    else:
        b.append(Block("p", fig_error or f"{MISSING} no cell has both our result and a published value (the "
                                          "paper's cells are GTZAN nets, on GTZAN and on ISMIR 2004)."))

    # Timings
    b.append(Block("h2", "Time per stage"))
    b += _time_blocks(run, cells, curves)
    b += environment_blocks(run_dir)

    b.append(Block("p", f"Published values: {CITATION}, every cell of its Tables 1 and 2 "
                         "(`mirlearn.experiments.published`); they are compared only with a run on the "
                         "paper's data (GTZAN nets), and show — where the paper has no such cell."))
    return b, csvs


def _time_blocks(run: dict[str, Any], cells: list[dict[str, Any]], curves: Sequence[Any]) -> list[Block]:
    """The grid's time table in words: the last command's stages, the cells' stages, the nets' training."""
    rows: list[list[str]] = []
    run_timings = run.get("timings")
    if isinstance(run_timings, dict):
        for stage, secs in run_timings.items():
            rows.append([f"last invocation: {stage_words(stage)}", duration(secs)])
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in cells:
        key = key_of(c)
        groups.setdefault(_section_of(key[0], key[1]) if key else "other cells", []).append(c)
    for section in sorted(groups):
        rows += [[f"cells, {what}", t] for what, t in cell_time_rows(groups[section], section)]
    if len(groups) > 1:
        rows += [[f"cells, {what}", t] for what, t in cell_time_rows(cells, "all")]
    for nc in curves:
        rows.append([f"net training: {nc.label} ({len(nc.runs)} run(s))", duration(nc.seconds)])
    if len(curves) > 1:
        rows.append(["net training: all nets", duration(sum(nc.seconds for nc in curves))])
    if not rows:
        return [Block("p", f"{MISSING} no timings recorded.")]
    return [Block("p", "Cell times are summed over every cell (cell features = slicing/aggregating the "
                       "activations of a cell); net training time comes from the training logs. 'Last "
                       "invocation' rows are the wall time of the latest `reproduce` command: a resumed run "
                       "times only the work it did itself."),
            Block("table", header=["Stage", "Time"], rows=rows)]


def write_report(run_dir: str | Path, out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` of any run folder mirlearn writes.

    The kind of folder is told from its files (:func:`~mirlearn.experiments.report.kinds.detect_kind`):
    the grid of ``mirlearn reproduce sigtia2014`` gets the paper's tables (and ``table1.csv``,
    ``table2.csv``); a ``mirlearn run`` / ``demo``, ``train`` or ``evaluate`` folder gets the report
    of one configuration (:mod:`~mirlearn.experiments.report.run_report`).

    Reads only JSON, TOML and CSV files (cells, ``run.json``, ``results.json``, ``environment.json``, training logs),
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
    source = RunLayout(run_dir)
    target = RunLayout(out_dir if out_dir is not None else run_dir)
    target.root.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreadable files are listed in the report instead
        entries = collect(source.root)
    errors = [f"{e['_path']}: unreadable ({e['error']}); ignored" for e in entries if e.get("_kind") == "error"]
    kind = detect_kind(source.root)
    rel_fig = target.figures_dir.relative_to(target.root).as_posix()
    if kind not in (GRID, EMPTY):  # run / demo, train, evaluate: one configuration (errors in its notes)
        blocks, csvs, errors = run_blocks(source.root, kind, entries, target.figures_dir, rel_fig), {}, []
    elif is_schindler_run(run_info(entries)):  # `reproduce schindler2016`: its own tables
        blocks, csvs = schindler_blocks(source.root, entries, target.figures_dir, rel_fig), {}
    else:
        blocks, csvs = _build_blocks(source.root, entries, target.figures_dir, rel_fig)
    if errors:
        i = next(i for i, bl in enumerate(blocks) if bl.kind == "h2" and bl.text == "Completeness")
        blocks[i + 1].items.extend(errors)
    for name, text in csvs.items():
        atomic_write_text(target.table_csv(name), text)
    md_path, html_path = target.report_md, target.report_html
    atomic_write_text(md_path, render_markdown(blocks))
    atomic_write_text(html_path, render_html(blocks, blocks[0].text))
    return md_path, html_path


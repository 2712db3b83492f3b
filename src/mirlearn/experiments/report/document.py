"""The report of a ``sigtia2014`` run: its sections, and :func:`write_report`.

Everything here reads the files a run leaves behind — one JSON per result cell, the nets'
training logs, ``run.json`` and ``environment.json`` — through
:class:`mirlearn.experiments.layout.RunLayout`, and never a model, so a report can be rebuilt at
any time, also from a copied or half-finished run.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any, Sequence

from mirlearn.experiments.layout import RunLayout
from mirlearn.experiments.published import CITATION
from mirlearn.experiments.report.collect import (MISSING, best_cell, cells_only, collect, dataset_name, key_of,
                                                 run_info, summarize_cells)
from mirlearn.experiments.report.curves import read_learning_curves
from mirlearn.experiments.report.figures import (comparison_points, plot_confusion, plot_layer_accuracy,
                                                 plot_learning_curves, plot_ours_vs_published)
from mirlearn.experiments.report.render import Block, render_html, render_markdown
from mirlearn.experiments.report.tables import (TABLE1_COLUMNS, Table1Row, Table2Row, column_name, fmt_published,
                                                full_splits, table1, table1_csv, table1_grid, table2, table2_csv,
                                                table2_grid)
from mirlearn.io import atomic_write_text

__all__ = ["write_report", "OURS_VS_PUBLISHED"]

#: File name of the "ours vs published" figure in the figures folder.
OURS_VS_PUBLISHED = "ours_vs_published.png"


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
        return f"baselines ({dataset_name(dataset)})"
    return f"Table {table} ({dataset_name(dataset)})"


def _completeness_notes(t1: Sequence[Table1Row], t2: Sequence[Table2Row]) -> list[str]:
    notes = []
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

    # Completeness
    b.append(Block("h2", "Completeness"))
    b.append(Block("ul", items=_completeness_notes(t1, t2) + notes))

    # Tables
    b.append(Block("h2", f"Table 1 — {dataset_name(main_dataset)}, features of each net"))
    b.append(Block("p", "Track accuracy (%), mean ± std over splits (population std); `[n=k]`: fewer splits "
                         "than the most complete cell; `(paper X, Δ ±Y)`: the published value and our difference "
                         "in percentage points (on GTZAN only); —: no result. Long form: `table1.csv`."))
    b.append(Block("table", header=table1_grid(t1)[0], rows=table1_grid(t1)[1]))
    b.append(Block("h2", "Table 2 — transfer to ISMIR 2004, and baselines"))
    b.append(Block("p", f"Track accuracy (%): the {dataset_name(main_dataset)} nets' features on ISMIR 2004 "
                         "(train → development), then the MFCC and PMSC baselines on ISMIR 2004 and on "
                         f"{dataset_name(main_dataset)} (mean ± std over splits). "
                         "Long form: `table2.csv`."))
    h2, r2 = table2_grid(t2)
    b.append(Block("table", header=h2, rows=r2))
    caveats = sorted({f"{r.label} ({dataset_name(r.dataset)}): {r.published.note}." for r in t2
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

    b.append(Block("h2", "Accuracy per layer"))
    if "layer_accuracy.png" in images:
        b.append(Block("img", "Table 1 accuracy per layer", path=f"{rel_fig}/layer_accuracy.png",
                        data=images["layer_accuracy.png"]))
    else:
        b.append(Block("p", fig_error or f"{MISSING} no Table 1 results yet."))

    b.append(Block("h2", "Learning curves"))
    if "learning_curves.png" in images:
        b.append(Block("p", "Validation loss and accuracy of each net against its epoch (a Hessian-Free "
                            "epoch is one HF step), from the nets' training logs; one line per split."))
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
        key = key_of(c)
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
        b.append(Block("p", "Cell times are summed over every cell (features = slicing/aggregating the "
                             "activations of a cell); net training time comes from the training logs. "
                             "'Last invocation' rows are the wall time of the latest `reproduce` command: a "
                             "resumed run times only the work it did itself."))
        b.append(Block("table", header=["Stage", "Time"], rows=rows))
    else:
        b.append(Block("p", f"{MISSING} no timings recorded."))

    # Environment
    b.append(Block("h2", "Environment"))
    env_path = RunLayout(run_dir).environment_json
    env: dict[str, Any] = {}
    if env_path.is_file():
        try:
            env = json.loads(env_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            b.append(Block("p", f"`{env_path.name}` unreadable: {exc}"))
    if env:
        items = [f"git commit: `{env.get('git_commit') or 'unknown'}`"]
        for key in ("python", "platform", "created_utc", "cpu_count"):
            if env.get(key) is not None:
                items.append(f"{key}: {env[key]}")
        if env.get("command"):
            cmd = env["command"]
            items.append(f"command: `{' '.join(map(str, cmd)) if isinstance(cmd, list) else cmd}`")
        b.append(Block("ul", items=items))
        pk = env.get("packages")
        if isinstance(pk, dict) and pk:
            b.append(Block("table", header=["Package", "Version"],
                            rows=[[str(k), str(v) if v is not None else "not installed"] for k, v in pk.items()]))
    elif not env_path.is_file():
        b.append(Block("p", f"No `{env_path.name}` in the run directory."))

    b.append(Block("p", f"Published values: {CITATION}, every cell of its Tables 1 and 2 "
                         "(`mirlearn.experiments.published`); they are compared only with a run on the "
                         "paper's data (GTZAN nets), and show — where the paper has no such cell."))
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
    source = RunLayout(run_dir)
    target = RunLayout(out_dir if out_dir is not None else run_dir)
    target.root.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreadable files are listed in the report instead
        entries = collect(source.root)
    errors = [f"{e['_path']}: unreadable ({e['error']}); ignored" for e in entries if e.get("_kind") == "error"]
    blocks, csvs = _build_blocks(source.root, entries, target.figures_dir,
                                 target.figures_dir.relative_to(target.root).as_posix())
    if errors:
        i = next(i for i, bl in enumerate(blocks) if bl.kind == "h2" and bl.text == "Completeness")
        blocks[i + 1].items.extend(errors)
    for name, text in csvs.items():
        atomic_write_text(target.table_csv(name), text)
    md_path, html_path = target.report_md, target.report_html
    atomic_write_text(md_path, render_markdown(blocks))
    atomic_write_text(html_path, render_html(blocks, blocks[0].text))
    return md_path, html_path


"""Runs side by side: the same splits, every result cell, paired differences.

``mirlearn compare RUN_A RUN_B ...`` answers the question every ablation asks — does this
setting help? — from the folders of ``mirlearn run`` alone: it reads each run's
``results.json`` (per-split track accuracy of every cell), ``splits.json`` and ``config.toml``,
checks that the runs were measured on the *same* splits (same ids and the same train / valid /
test tracks), and writes::

    OUT/compare.md  OUT/compare.html  OUT/compare.json  OUT/figures/compare_splits.png

Accuracies are track accuracies in percent, "mean ± std" over the splits all runs share
(population std, ``ddof = 0``, as everywhere in the reports). The difference of a run against
the first one is *paired*: computed split by split, then summarised, so the spread between
splits (often larger than the effect) does not hide a consistent gain.

Examples
--------
>>> comparison = compare_runs([read_run("runs/base"), read_run("runs/augmented")])  # doctest: +SKIP
>>> write_comparison(comparison, "runs/base-vs-augmented")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mirlearn.errors import MirlearnError
from mirlearn.experiments.layout import RunLayout
from mirlearn.experiments.report.facts import augmentation_text
from mirlearn.experiments.report.figures import _new_figure, _save_png
from mirlearn.experiments.report.render import Block, render_html, render_markdown
from mirlearn.io import atomic_write_json, atomic_write_text

__all__ = ["RunResults", "Comparison", "read_run", "compare_runs", "comparison_blocks", "write_comparison",
           "cell_title", "COMPARE_FIGURE"]

#: File name of the per-split figure in ``OUT/figures``.
COMPARE_FIGURE = "compare_splits.png"
MISSING = "—"


@dataclass(frozen=True)
class RunResults:
    """What a comparison needs of one run folder."""

    label: str  #: the run's name in tables and figures
    root: Path  #: the run folder
    config: dict[str, Any]  #: ``config.toml`` as a nested dict (``{}`` when absent)
    split_ids: tuple[str, ...]  #: the splits the run evaluated, in its order
    #: cell name (``layer-dense_agg``, ``output-vote``) → split id → track accuracy in [0, 1]
    accuracy: dict[str, dict[str, float]]
    #: split id → (train, valid, test) track ids, from ``splits.json``; None when that is absent
    membership: dict[str, tuple[frozenset[str], ...]] | None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MirlearnError(f"{path}: not found; compare takes folders written by `mirlearn run` or "
                            "`mirlearn demo`") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise MirlearnError(f"{path}: unreadable ({e})") from None


def read_run(root: str | Path, label: str | None = None) -> RunResults:
    """Read one run folder's results, splits and configuration.

    Raises
    ------
    MirlearnError
        One line naming the file when the folder is missing or its ``results.json`` is
        absent, unreadable or not of a ``mirlearn run``.
    """
    layout = RunLayout(Path(root))
    if not layout.root.is_dir():
        raise MirlearnError(f"{layout.root}: run folder not found")
    results = _read_json(layout.results_json)
    if not (isinstance(results, dict) and isinstance(results.get("splits"), list)
            and isinstance(results.get("summary"), dict)):
        raise MirlearnError(f"{layout.results_json}: not the results of `mirlearn run` (no splits or summary)")
    split_ids = tuple(str(s) for s in results["splits"])
    accuracy: dict[str, dict[str, float]] = {}
    for cell, stat in results["summary"].items():
        per_split = stat.get("per_split") if isinstance(stat, dict) else None
        if not isinstance(per_split, list) or len(per_split) != len(split_ids):
            raise MirlearnError(f"{layout.results_json}: cell {cell!r} has no accuracy per split")
        accuracy[str(cell)] = {s: float(a) for s, a in zip(split_ids, per_split)
                               if isinstance(a, (int, float)) and math.isfinite(a)}
    membership = None
    if layout.splits_json.is_file():
        doc = _read_json(layout.splits_json)
        try:
            membership = {str(s["name"]): (frozenset(s["train"]), frozenset(s["valid"]), frozenset(s["test"]))
                          for s in doc["splits"]}
        except (KeyError, TypeError):
            raise MirlearnError(f"{layout.splits_json}: not a mirlearn splits file") from None
    config: dict[str, Any] = {}
    if layout.config_toml.is_file():
        try:
            config = tomllib.loads(layout.config_toml.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise MirlearnError(f"{layout.config_toml}: unreadable ({e})") from None
    return RunResults(label=label or layout.root.name, root=layout.root, config=config, split_ids=split_ids,
                      accuracy=accuracy, membership=membership)


@dataclass(frozen=True)
class Comparison:
    """Runs measured on the same splits, with every number the report shows."""

    runs: tuple[RunResults, ...]
    splits: tuple[str, ...]  #: the split ids every run has, in the first run's order
    cells: tuple[str, ...]  #: every cell of any run: layer cells first, then the own output
    headline: str | None  #: the cell the figure shows: the first run's predict cell, else its best
    #: settings whose values differ between the runs: (dotted key, value per run as text)
    differences: tuple[tuple[str, tuple[str, ...]], ...]
    notes: tuple[str, ...] = field(default=())  #: splits left out, cells some runs lack

    def values(self, run: int, cell: str) -> list[float | None]:
        """Accuracy in [0, 1] of one run's cell on each shared split (None where missing)."""
        acc = self.runs[run].accuracy.get(cell, {})
        return [acc.get(s) for s in self.splits]

    def deltas(self, run: int, cell: str) -> list[float]:
        """Run ``run`` minus the first run, split by split, where both have the cell."""
        return [b - a for a, b in zip(self.values(0, cell), self.values(run, cell))
                if a is not None and b is not None]


def _flatten(d: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(d, dict):
        out: dict[str, str] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: json.dumps(d) if isinstance(d, (list, tuple, bool)) or d is None else str(d)}


def _cell_order(cell: str) -> tuple:
    return (cell.startswith("output-"), cell.endswith("_agg"), cell)


def _predict_cell(config: dict[str, Any]) -> str | None:
    f = config.get("features") if isinstance(config.get("features"), dict) else {}
    layers, agg = f.get("predict_layers"), f.get("predict_aggregate")
    if layers is None or agg is None:
        return None
    return f"layer-{layers}_{'agg' if agg else 'frames'}"


def compare_runs(runs: Sequence[RunResults]) -> Comparison:
    """Line the runs up on their shared splits.

    Raises
    ------
    MirlearnError
        Fewer than two runs, two runs with the same label, no split shared by all runs, or a
        split id whose train / valid / test tracks differ between two runs (then their
        accuracies are not comparable, and pairing them would mislead).
    """
    runs = tuple(runs)
    if len(runs) < 2:
        raise MirlearnError("compare needs at least two run folders")
    labels = [r.label for r in runs]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise MirlearnError(f"two runs are labelled {dup[0]!r}; give --labels")
    first = runs[0]
    shared = [s for s in first.split_ids if all(s in r.split_ids for r in runs[1:])]
    if not shared:
        raise MirlearnError(f"{first.root} and the other runs share no split id; compare needs runs "
                            "evaluated on the same splits (`--splits FILE` makes a run use given splits)")
    for r in runs[1:]:
        if first.membership is None or r.membership is None:
            continue
        for s in shared:
            if first.membership.get(s) != r.membership.get(s):
                raise MirlearnError(f"split {s!r} has other tracks in {r.root / 'splits.json'} than in "
                                    f"{first.root / 'splits.json'}; compare needs the same splits "
                                    "(`--splits FILE` makes a run use given splits)")
    notes = []
    for r in runs:
        left = [s for s in r.split_ids if s not in shared]
        if left:
            notes.append(f"{r.label}: split(s) {', '.join(left)} left out (not in every run)")
    if any(r.membership is None for r in runs):
        notes.append("a run has no splits.json: its splits were matched by id only")
    cells = sorted({c for r in runs for c in r.accuracy}, key=_cell_order)
    for c in cells:
        lacking = [r.label for r in runs if c not in r.accuracy]
        if lacking:
            notes.append(f"cell {c}: not in {', '.join(lacking)}")
    headline = _predict_cell(first.config)
    if headline not in first.accuracy:
        means = {c: np.mean(list(v.values())) for c, v in first.accuracy.items() if v and c.startswith("layer-")}
        headline = max(means, key=means.get) if means else None  # type: ignore[arg-type]
    flat = [_flatten(r.config) for r in runs]
    keys = sorted(set().union(*flat))
    differences = tuple((k, tuple(f.get(k, MISSING) for f in flat)) for k in keys
                        if len({f.get(k, MISSING) for f in flat}) > 1)
    return Comparison(runs=runs, splits=tuple(shared), cells=tuple(cells), headline=headline,
                      differences=differences, notes=tuple(notes))


def cell_title(cell: str) -> str:
    """``layer-dense_agg`` → ``dense, windows``; ``output-vote`` → ``own output, vote``."""
    if cell.startswith("layer-"):
        layers, _, how = cell[len("layer-"):].rpartition("_")
        return f"{layers}, {'windows' if how == 'agg' else 'frames'}"
    if cell.startswith("output-"):
        how = cell[len("output-"):]
        return "own output, " + {"meanprob": "mean probability"}.get(how, how)
    return cell


def _pct(values: Sequence[float | None], signed: bool = False) -> str:
    vals = [100 * v for v in values if v is not None]
    if not vals:
        return MISSING
    m = f"{np.mean(vals):+.1f}" if signed else f"{np.mean(vals):.1f}"
    return m + (f" ± {np.std(vals):.1f}" if len(vals) > 1 else "")


def _tally(deltas: Sequence[float]) -> str:
    eps = 1e-9
    better = sum(d > eps for d in deltas)
    worse = sum(d < -eps for d in deltas)
    return f"{better} / {len(deltas) - better - worse} / {worse}"


def accuracy_table(c: Comparison) -> tuple[list[str], list[list[str]]]:
    """Header and rows: each cell's mean ± std per run, then each later run's paired Δ."""
    base = c.runs[0].label
    header = ["cell"] + [r.label for r in c.runs]
    for r in c.runs[1:]:
        header += [f"Δ {r.label} − {base}", "better / same / worse"]
    rows = []
    for cell in c.cells:
        row = [cell_title(cell)] + [_pct(c.values(i, cell)) for i in range(len(c.runs))]
        for i in range(1, len(c.runs)):
            d = c.deltas(i, cell)
            row += [_pct(d, signed=True), _tally(d) if d else MISSING]
        rows.append(row)
    return header, rows


def plot_splits(c: Comparison, path: str | Path) -> Path | None:
    """Per-split accuracy of the headline cell, one line per split across the runs."""
    if c.headline is None:
        return None
    fig = _new_figure((1.6 + 1.3 * len(c.runs), 3.4))
    ax = fig.add_subplot()
    x = np.arange(len(c.runs))
    for j, s in enumerate(c.splits):
        y = [c.values(i, c.headline)[j] for i in range(len(c.runs))]
        ax.plot(x, [np.nan if v is None else 100 * v for v in y], marker="o", alpha=0.8, label=s)
    means = [np.mean([v for v in c.values(i, c.headline) if v is not None] or [np.nan]) for i in x]
    ax.plot(x, 100 * np.asarray(means), "k_", markersize=28, markeredgewidth=2.5, label="mean")
    ax.set_xticks(x, [r.label for r in c.runs], rotation=15 if len(c.runs) > 2 else 0)
    ax.set_xlim(-0.5, len(c.runs) - 0.5)
    ax.set_ylabel("track accuracy (%)")
    ax.set_title(f"{cell_title(c.headline)}: each split", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return _save_png(fig, path)


def comparison_blocks(c: Comparison, figure: Path | None = None, rel_fig: str = "figures") -> list[Block]:
    """The comparison report as blocks (see :mod:`~mirlearn.experiments.report.render`)."""
    labels = [r.label for r in c.runs]
    blocks = [Block("h1", f"Comparison: {' vs '.join(labels)}")]
    blocks.append(Block("p", f"Track accuracy (%) of every result cell, mean ± std over the {len(c.splits)} "
                        f"split(s) all runs share ({', '.join(c.splits)}; same train / valid / test tracks). "
                        f"Δ is paired: each run minus **{labels[0]}**, split by split, then mean ± std; "
                        "\"better / same / worse\" counts those splits."))
    blocks.append(Block("ul", items=[f"**{r.label}**: `{r.root}`"
                                     + (f" (config {r.config['name']})" if r.config.get("name") else "")
                                     for r in c.runs]))
    blocks.append(Block("h2", "Accuracy"))
    header, rows = accuracy_table(c)
    blocks.append(Block("table", header=header, rows=rows))
    if figure is not None and figure.is_file():
        blocks.append(Block("img", text=f"{cell_title(c.headline or '')} on each split",
                            path=f"{rel_fig}/{figure.name}", data=figure.read_bytes()))
    blocks.append(Block("h2", "What differs"))
    if c.differences:
        blocks.append(Block("table", header=["setting"] + labels,
                            rows=[[k, *vals] for k, vals in c.differences]))
    else:
        blocks.append(Block("p", "The configurations are identical."))
    aug = [f"{r.label}: {t}" for r in c.runs if (t := augmentation_text(r.config.get("augment")))]
    if aug:
        blocks.append(Block("ul", items=aug))
    if c.notes:
        blocks.append(Block("h2", "Notes"))
        blocks.append(Block("ul", items=list(c.notes)))
    return blocks


def comparison_json(c: Comparison) -> dict[str, Any]:
    """Every number of the comparison, for scripts (accuracies in [0, 1])."""
    cells = {}
    for cell in c.cells:
        entry: dict[str, Any] = {"runs": {}}
        for i, r in enumerate(c.runs):
            vals = c.values(i, cell)
            ok = [v for v in vals if v is not None]
            entry["runs"][r.label] = {"per_split": vals, "mean": float(np.mean(ok)) if ok else None,
                                      "std": float(np.std(ok)) if ok else None}
            if i:
                d = c.deltas(i, cell)
                entry["runs"][r.label]["delta"] = {"per_split": d, "mean": float(np.mean(d)) if d else None,
                                                   "std": float(np.std(d)) if d else None}
        cells[cell] = entry
    return {"format": "mirlearn.compare", "version": 1, "runs": [{"label": r.label, "path": str(r.root)}
                                                                  for r in c.runs],
            "baseline": c.runs[0].label, "splits": list(c.splits), "headline": c.headline, "cells": cells,
            "differences": {k: list(v) for k, v in c.differences}, "notes": list(c.notes)}


def write_comparison(c: Comparison, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``compare.md``, ``compare.html``, ``compare.json`` and the per-split figure.

    Returns
    -------
    md_path, html_path : Path
    """
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    figure = plot_splits(c, fig_dir / COMPARE_FIGURE)
    blocks = comparison_blocks(c, figure)
    md_path, html_path = out / "compare.md", out / "compare.html"
    atomic_write_json(out / "compare.json", comparison_json(c))
    atomic_write_text(md_path, render_markdown(blocks))
    atomic_write_text(html_path, render_html(blocks, blocks[0].text))
    return md_path, html_path

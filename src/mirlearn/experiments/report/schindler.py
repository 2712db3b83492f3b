"""The report of a ``mirlearn reproduce schindler2016`` run: the shallow and deep CNNs beside the paper.

One table per dataset: rows shallow / deep (and MFCC), columns the CNN's own output — "max
probability" (``output-meanprob``: the class of the highest mean patch probability) and
"majority vote" (``output-vote``) — the best forest cell of the net's layers, each as track
accuracy (%) mean ± std over splits (population std), and the published accuracy (max
probability) where the dataset is one of the paper's; otherwise "no published figure for this
dataset". Reads JSON only (cells, ``run.json``), as every report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from mirlearn.experiments.published import SCHINDLER2016_CITATION, SCHINDLER2016_DATASETS, schindler2016_published
from mirlearn.experiments.report.collect import MISSING, cells_only, dataset_name, run_info
from mirlearn.experiments.report.curves import read_learning_curves
from mirlearn.experiments.report.facts import dataset_blocks, dataset_size, environment_blocks, fmt_pct
from mirlearn.experiments.report.render import Block
from mirlearn.experiments.report.timing import duration

__all__ = ["PAPER", "SchindlerRow", "is_schindler_run", "schindler_rows", "schindler_table", "schindler_blocks",
           "HEADER"]

PAPER = "schindler2016"
_NETS = ("shallow", "deep")
#: Columns of the table.
HEADER = ["Net", "Max probability", "Majority vote", "Best forest cell", "Published (max probability)"]
#: How the protocol here differs from the paper's (listed in every report).
PROTOCOL_NOTES = (
    "Splits: random stratified 50/25/25 train / validation / test splits (the configs' 4, or `--splits`); the "
    "tutorial's tables come from stratified cross-validation, so the folds and their sizes differ.",
    "No data augmentation (the tutorial used time stretch and pitch shift); no L1 weight penalty (the paper's "
    "1e-4 is not implemented); early stopping on validation loss within the `--epochs` budget.",
    "The paper's clips and excerpts are its datasets'; here every track's whole log-mel rows are cut into patches.",
)


def is_schindler_run(run: dict[str, Any]) -> bool:
    """Whether a ``run.json`` record is one of ``mirlearn reproduce schindler2016``."""
    return str(run.get("paper")) == PAPER


@dataclass
class SchindlerRow:
    """One row of the table: a net (or the MFCC baseline) on one dataset.

    ``meanprob`` / ``vote``: track accuracy (%) per split of the own-output cells; ``forest``:
    cell name → accuracies per split; ``published``: the paper's value (%) or ``None``.
    """

    label: str
    dataset: str
    meanprob: list[float] = field(default_factory=list)
    vote: list[float] = field(default_factory=list)
    forest: dict[str, list[float]] = field(default_factory=dict)
    published: float | None = None

    def best_forest(self) -> tuple[str, list[float]] | None:
        """Among the forest cells with the most splits, the one of the highest mean accuracy (on
        test: an optimistic pick, the report says so)."""
        if not self.forest:
            return None
        name = max(sorted(self.forest), key=lambda n: (len(self.forest[n]),
                                                       sum(self.forest[n]) / len(self.forest[n])))
        return name, self.forest[name]


def _acc(cell: dict[str, Any]) -> float | None:
    try:
        return 100.0 * float(cell["metrics"]["accuracy"])
    except (KeyError, TypeError, ValueError):
        return None


def schindler_rows(cells: Sequence[dict[str, Any]], epochs: int | None) -> dict[str, list[SchindlerRow]]:
    """Rows per dataset from cell JSONs (those of the two nets and the MFCC baseline).

    Parameters
    ----------
    cells : cell records (``experiment.paper == "schindler2016"`` for the nets; the MFCC baseline's
        ``experiment.method == "MFCC"``)
    epochs : the run's ``--epochs`` (100 or 200): which published column applies (``None``: none)
    """
    out: dict[str, dict[str, SchindlerRow]] = {}
    for c in cells:
        exp = c.get("experiment") or {}
        acc = _acc(c)
        if acc is None or not isinstance(exp, dict):
            continue
        ds = str(exp.get("dataset") or "")
        if exp.get("paper") == PAPER and exp.get("net") in _NETS:
            key, label = str(exp["net"]), str(exp["net"])
        elif str(exp.get("method")) == "MFCC":
            key, label = "mfcc", "MFCC (baseline)"
        else:
            continue
        row = out.setdefault(ds, {}).setdefault(key, SchindlerRow(label, ds))
        name = str(c.get("cell"))
        if name == "output-meanprob":
            row.meanprob.append(acc)
        elif name == "output-vote":
            row.vote.append(acc)
        else:
            row.forest.setdefault(name, []).append(acc)
    tables: dict[str, list[SchindlerRow]] = {}
    for ds, rows in out.items():
        for net in _NETS:
            if net in rows:
                p = schindler2016_published(ds, net, epochs) if epochs is not None else None
                rows[net].published = None if p is None else p.value
        tables[ds] = [rows[k] for k in (*_NETS, "mfcc") if k in rows]
    return tables


def schindler_table(rows: Sequence[SchindlerRow]) -> tuple[list[str], list[list[str]]]:
    """The Markdown table of one dataset: :data:`HEADER` and one line per row."""
    body: list[list[str]] = []
    for r in rows:
        best = r.best_forest()
        forest = MISSING if best is None else f"{fmt_pct(best[1])} ({best[0]})"
        if r.label.startswith("MFCC"):
            pub = MISSING
        elif r.published is not None:
            pub = f"{r.published:.1f}"
        else:
            pub = MISSING
        body.append([r.label, fmt_pct(r.meanprob), fmt_pct(r.vote), forest, pub])
    return list(HEADER), body


def _dataset_title(ds: str) -> str:
    return SCHINDLER2016_DATASETS.get(ds.lower(), dataset_name(ds))


def schindler_blocks(run_dir: Path, entries: list[dict[str, Any]], fig_dir: Path, rel_fig: str) -> list[Block]:
    """Every block of the report of a ``reproduce schindler2016`` run folder."""
    run = run_info(entries)
    cells = cells_only(entries)
    epochs = run.get("epochs") if isinstance(run.get("epochs"), int) else None
    tables = schindler_rows(cells, epochs)
    b: list[Block] = [Block("h1", "mirlearn report — Schindler, Lidy & Rauber (FMT 2016) reproduction")]
    b.append(Block("ul", items=[f"Run directory: `{run_dir.name}`", f"Result cells: {len(cells)}",
                                f"Dataset: {run.get('dataset', MISSING)}",
                                f"Nets: {', '.join(run.get('nets') or []) or MISSING}",
                                f"Epochs (`--epochs`): {epochs if epochs is not None else MISSING}"]))

    b.append(Block("h2", "Run"))
    profile = run.get("profile")
    b.append(Block("p", f"Profile: **{profile if profile is not None else 'unknown'}**"
                   + (" — reduced settings; the numbers are not comparable with the paper's."
                      if profile is not None and str(profile) != "paper" else "")))
    if run.get("reductions"):
        b.append(Block("p", "Reductions from the paper's settings:"))
        b.append(Block("ul", items=[str(r) for r in run["reductions"]]))
    if run.get("user_overrides"):
        b.append(Block("p", f"Overrides (`--set`) on both nets and the baseline: `{run['user_overrides']}`"))
    b.append(Block("p", "How this protocol differs from the paper's:"))
    b.append(Block("ul", items=list(PROTOCOL_NOTES)))

    b.append(Block("h2", "Data"))
    main = str(run.get("dataset") or "")
    b += dataset_blocks(dataset_size(run_dir, [c for c in cells if (c.get("experiment") or {}).get("dataset")
                                               == main] or cells), dataset_name(main) or "Data set")

    notes: list[str] = []
    if isinstance(run.get("baselines"), list) and not run["baselines"]:
        notes.append("The MFCC baseline was not run (`--no-baselines`).")
    for ds, rows in sorted(tables.items()):
        for r in rows:
            n = max([len(r.meanprob), len(r.vote), *(len(v) for v in r.forest.values())] or [0])
            notes.append(f"{_dataset_title(ds)}, {r.label}: {n} split(s).")
    for net in run.get("nets") or []:
        if not any(r.label == net for rows in tables.values() for r in rows):
            notes.append(f"{net}: no result yet.")

    b.append(Block("h2", "Track accuracy"))
    b.append(Block("p", "Track accuracy (%), mean ± std over splits (population std). *Max probability*: the "
                        "CNN's own output, the class of the highest mean patch probability; *majority vote*: the "
                        "class most of the track's patches choose; *best forest cell*: the net's layers as "
                        "features → forest → vote, the cell with the best mean test accuracy (an optimistic "
                        "pick: chosen on test). MFCC: mirlearn's baseline on the same splits. *Published*: "
                        f"the paper's max-probability accuracy at {epochs if epochs else '?'} epochs."))
    if not tables:
        b.append(Block("p", f"{MISSING} no results yet."))
    for ds, rows in sorted(tables.items()):
        b.append(Block("h2", f"{_dataset_title(ds)}"))
        h, body = schindler_table(rows)
        b.append(Block("table", header=h, rows=body))
        if ds.lower() not in SCHINDLER2016_DATASETS:
            b.append(Block("p", f"No published figure for this dataset ({ds}): the paper reports GTZAN, "
                                "ISMIR 2004 genre, the Latin Music Database and MSD."))
        elif epochs is not None and not any(r.published is not None for r in rows):
            b.append(Block("p", f"The paper shows no figure for {_dataset_title(ds)} at {epochs} epochs."))

    b.append(Block("h2", "Completeness"))
    b.append(Block("ul", items=notes or ["nothing recorded"]))

    curves = read_learning_curves(run_dir, cells, [])
    b.append(Block("h2", "Learning curves"))
    if curves:
        try:
            from mirlearn.experiments.report.figures import plot_learning_curves

            path = plot_learning_curves(curves, fig_dir / "learning_curves.png", rows="patch")
            b.append(Block("p", "Training loss (dashed) and validation loss (solid) of each net, and its "
                                "validation patch accuracy below, against its epoch; one colour per split."))
            b.append(Block("img", "learning curves", path=f"{rel_fig}/learning_curves.png",
                           data=Path(path).read_bytes()))
        except ImportError as exc:  # matplotlib missing: the tables still come out
            b.append(Block("p", f"figures skipped: {exc}"))
    else:
        b.append(Block("p", f"{MISSING} no training logs found."))

    b.append(Block("h2", "Time per stage"))
    timings = run.get("timings")
    if isinstance(timings, dict) and timings:
        b.append(Block("p", "Wall time of the latest `reproduce` command (a resumed run times only its own work)."))
        b.append(Block("table", header=["Stage", "Time"],
                       rows=[[_stage(k), duration(v)] for k, v in timings.items()]))
    else:
        b.append(Block("p", f"{MISSING} no timings recorded."))
    b += environment_blocks(run_dir)
    b.append(Block("p", f"Published values: {SCHINDLER2016_CITATION} (`mirlearn.experiments.published`, "
                        "from the project's `PUBLISHED.md`); shown only for the paper's datasets, never guessed."))
    return b


def _stage(key: str) -> str:
    if key == "total_s":
        return "whole command"
    if key.startswith("baselines/"):
        return f"MFCC baseline on {key.split('/', 1)[1]}"
    if "/split-" in key:
        net, split = key.split("/split-", 1)
        return f"{net} net, split {split}: training and its cells"
    return key.removesuffix("_s").replace("_", " ")

"""Time tables in words: every stage a run times, named as a person would name it.

Run folders record durations under keys (``train_s``, ``forest_fit_s``, ``table1/<net>/split-0``,
``total_s`` …); a report never shows such a key, it shows what the stage did ("net training",
"forest fits") and how long it took as :func:`mirlearn.progress.format_seconds` writes it
("12.3 s", "3 min 05 s").
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

from mirlearn.experiments.report.collect import MISSING, cells_only, dataset_name
from mirlearn.progress import format_seconds

__all__ = ["duration", "stage_words", "CELL_STAGES", "cell_time_rows"]

#: What each timing of a cell record measures.
CELL_STAGES: dict[str, str] = {"features_s": "cell features (layer slices, window aggregation)",
                               "forest_fit_s": "forest fits", "forest_predict_s": "forest predictions"}
#: What the timings of a run's stages measure (``results.json``, ``run.json``).
_STAGES: dict[str, str] = {"train_s": "net training", "features_s": "activations of every layer",
                           "total_s": "whole command", "frames_s": "frame extraction",
                           "frames_ismir2004_s": "frame extraction (ISMIR 2004)", "frames": "frame extraction",
                           "training": "training", "wall_seconds": "net training (wall clock)",
                           "seconds": "net training (epochs only)"}


def duration(seconds: Any) -> str:
    """A duration in words (``"41 s"``, ``"3 min 05 s"``); "—" when not a finite number."""
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return MISSING
    return format_seconds(s) if math.isfinite(s) else MISSING


def stage_words(key: str) -> str:
    """What a timing key of a run measures, in words.

    ``table1/<net>/split-<k>`` → ``"Table 1, net <net>, split <k>: training and its cells"``,
    ``baselines/<dataset>`` → ``"MFCC / PMSC baselines on <dataset>"``, ``table2/transfer`` →
    ``"Table 2: nets transferred to ISMIR 2004"``, known keys by name (``total_s`` → ``"whole
    command"``); any other key loses its ``_s`` and its underscores.
    """
    key = str(key)
    if key in _STAGES:
        return _STAGES[key]
    m = re.fullmatch(r"table1/([^/]+)/split-(.+)", key)
    if m:
        return f"Table 1, net {m.group(1)}, split {m.group(2)}: training and its cells"
    m = re.fullmatch(r"baselines/([^/]+)", key)
    if m:
        return f"MFCC / PMSC baselines on {dataset_name(m.group(1))}"
    if key == "table2/transfer":
        return "Table 2: nets transferred to ISMIR 2004"
    words = re.sub(r"_s$", "", key).replace("_", " ").replace("/", ", ")
    return words or key


def cell_time_rows(cells: Iterable[dict[str, Any]], scope: str = "") -> list[list[str]]:
    """``[stage, time]`` rows: each cell timing summed over ``cells``, with the number of cells."""
    cells = cells_only(cells)
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for c in cells:
        for t, v in (c.get("timings") or {}).items():
            try:
                sums[t] = sums.get(t, 0.0) + float(v)
                counts[t] = counts.get(t, 0) + 1
            except (TypeError, ValueError):
                pass
    rows = []
    for t in list(CELL_STAGES) + sorted(set(sums) - set(CELL_STAGES)):
        if t in sums:
            what = CELL_STAGES.get(t) or stage_words(t)
            rows.append([f"{what}{', ' + scope if scope else ''} ({counts[t]} cell{'s' if counts[t] != 1 else ''})",
                         duration(sums[t])])
    return rows

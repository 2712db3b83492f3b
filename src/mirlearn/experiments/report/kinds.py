"""Which command wrote a run folder, told from the files in it (never from its name).

=============  =====================================================================================
kind           what marks it
=============  =====================================================================================
``grid``       ``run.json`` (written by ``mirlearn reproduce``), a started ``reproduce``'s
               ``environment.json`` (it records the ``profile``), or a cell naming its Table
               (``experiment.table``)
``run``        ``results.json`` (``mirlearn run`` / ``demo``), or ``split-<id>/`` folders
               directly in the folder (a run not finished yet), or the command recorded in
               ``environment.json``; a ``model/`` beside them changes nothing
``train``      ``metrics.json`` or ``model/model.json`` without ``results.json``
               (``mirlearn train``)
``evaluate``   ``cells/*.json`` directly in the folder (``mirlearn evaluate --out``)
``empty``      none of these: nothing a mirlearn command wrote
=============  =====================================================================================

Old run folders have cells without an ``experiment`` block: nothing here needs one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mirlearn.experiments.layout import RunLayout
from mirlearn.experiments.report.facts import read_json

__all__ = ["GRID", "RUN", "TRAIN", "EVALUATE", "EMPTY", "KINDS", "detect_kind", "command_of"]

GRID, RUN, TRAIN, EVALUATE, EMPTY = "grid", "run", "train", "evaluate", "empty"
KINDS = (GRID, RUN, TRAIN, EVALUATE, EMPTY)
_COMMANDS = {"reproduce": GRID, "run": RUN, "demo": RUN, "train": TRAIN, "evaluate": EVALUATE}


def command_of(env: dict[str, Any] | None) -> str | None:
    """The mirlearn subcommand recorded in ``environment.json`` (``"demo"``, ``"train"`` …), if any."""
    cmd = (env or {}).get("command")
    if isinstance(cmd, list):
        for word in cmd[1:]:
            if str(word) in _COMMANDS:
                return str(word)
    return None


def _names_a_table(cell_path: Path) -> bool:
    cell = read_json(cell_path)
    exp = cell.get("experiment") if cell else None
    return isinstance(exp, dict) and bool(exp.get("method"))


def detect_kind(run_dir: str | Path) -> str:
    """The kind of a run folder: one of :data:`KINDS` (see the module's table)."""
    layout = RunLayout(run_dir)
    root = layout.root
    if not root.is_dir():
        return EMPTY
    env = read_json(layout.environment_json)
    if layout.run_json.is_file() or (env is not None and "profile" in env):
        return GRID
    if layout.results_json.is_file():
        return RUN
    cells = layout.cell_files()
    if any(_names_a_table(p) for p in cells[:50]):  # a grid's cells all name theirs: a few suffice
        return GRID
    if any(p.is_dir() for p in root.glob("split-*")):
        return RUN  # a run not finished yet (with or without the model it saves at the end)
    if (root / "metrics.json").is_file() or (root / "model" / "model.json").is_file():
        return TRAIN
    if any(p.parent.parent == root for p in cells):
        return EVALUATE
    by_command = _COMMANDS.get(command_of(env) or "")
    if by_command is not None:
        return by_command
    if layout.config_toml.is_file() or layout.splits_json.is_file():
        return RUN  # a run stopped before its first result
    return EMPTY

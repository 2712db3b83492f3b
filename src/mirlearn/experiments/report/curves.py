"""The nets' learning curves, read from each trained net's ``train_log.csv``.

Every trainer writes the same log (``epoch, train_loss, valid_loss, valid_acc, seconds``, then
columns of its own), so nothing here asks which trainer ran. Which net and split a log belongs
to is read from the files beside it — ``net.json``, else ``train_result.json``, else the cell
JSONs of the same split folder — never from folder names. Logs of older runs (Hessian-Free's
``hf_log.csv``) are read by :func:`_read_legacy_hf_log` alone.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

import numpy as np

from mirlearn.experiments.layout import RunLayout, SplitLayout
from mirlearn.experiments.published import METHODS, normalize_method
from mirlearn.experiments.report.collect import cells_only, dataset_name

__all__ = ["NetCurves", "TRAIN_LOG", "read_learning_curves", "read_log", "read_net_log"]

#: The training log every trainer writes in its net folder.
TRAIN_LOG = "train_log.csv"
#: What a trainer writes beside it: the best epoch, why it stopped, and (in new runs) the net's identity.
_RESULT_FILES = ("train_result.json", "result.json")
#: Hessian-Free's log in runs made before the trainers shared one log format.
_LEGACY_HF_LOG = "hf_log.csv"


@dataclass
class NetCurves:
    """The learning curves (training loss, validation loss and accuracy) of one net over its splits.

    Attributes
    ----------
    label : str
        Panel title, e.g. ``"ReLU+SGD+Dropout 500 (GTZAN)"``.
    group : str
        The net's identity, ``"<dataset>/<net>"`` (or, for a net that names nothing, its
        folder relative to the run directory).
    x_label : str
        What the log counts: ``"epoch"`` (``"HF step"`` for a legacy ``hf_log.csv``).
    runs : list of dict
        One per split: ``{"split": str, "x": array, "train_loss": array, "valid_loss": array,
        "valid_acc": array, "path": str}`` with the validation accuracy in percent (NaN where the
        log has no such column).
    seconds : float
        Training time summed over splits (the logs' per-epoch ``seconds``).
    sort_key : tuple
        Order of the panels.
    """

    label: str
    group: str
    x_label: str = "epoch"
    runs: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    sort_key: tuple = ()


def read_log(path: Path) -> dict[str, np.ndarray]:
    """A CSV log as float columns; empty or non-numeric entries are NaN."""
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


#: A learning curve: ``(epoch, train_loss, valid_loss, valid_acc %, seconds)``, arrays of one length.
Curve = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]


def _curve(log: dict[str, np.ndarray]) -> Curve | None:
    """The :data:`Curve` of a ``train_log.csv``, ``None`` without epochs."""
    if "epoch" not in log or len(log["epoch"]) == 0:
        return None
    nan = np.full(len(log["epoch"]), np.nan)
    secs = float(np.nansum(log["seconds"])) if "seconds" in log else 0.0
    return log["epoch"], log.get("train_loss", nan), log.get("valid_loss", nan), 100.0 * log.get("valid_acc", nan), secs


def _read_legacy_hf_log(path: Path) -> Curve | None:
    """The curve of an old ``hf_log.csv``: HF steps, ``objective`` (training loss), ``valid_error``,
    cumulative seconds."""
    log = read_log(path)
    if "step" not in log or len(log["step"]) == 0:
        return None
    nan = np.full(len(log["step"]), np.nan)
    acc = 100.0 * (1.0 - log["valid_error"]) if "valid_error" in log else nan
    s = log.get("seconds", nan)
    return (log["step"], log.get("objective", nan), log.get("valid_loss", nan), acc,
            float(np.nanmax(s)) if np.isfinite(s).any() else 0.0)


def read_net_log(net_dir: Path, root: Path, notes: list[str]) -> tuple[dict[str, Any], float, str] | None:
    """The training log of one net folder as one run of :attr:`NetCurves.runs`.

    Parameters
    ----------
    net_dir : the net's folder (``train_log.csv``, or an old ``hf_log.csv``)
    root : the run folder; the log's path in the run is given relative to it
    notes : receives a line when the log exists but cannot be read

    Returns
    -------
    (run, seconds, x_label) or None
        ``run`` has ``x``, ``train_loss``, ``valid_loss``, ``valid_acc`` (%) and ``path``, and
        ``split`` = ``"run"`` (the caller names it); ``seconds`` is the training time the log
        records; ``None`` when there is no log yet or it has no epoch.
    """
    log_path, reader, x_label = net_dir / TRAIN_LOG, None, "epoch"
    if not log_path.is_file():
        log_path, reader, x_label = net_dir / _LEGACY_HF_LOG, _read_legacy_hf_log, "HF step"
        if not log_path.is_file():
            return None  # a net that has not logged an epoch yet
    try:
        rel = log_path.relative_to(root).as_posix()
    except ValueError:
        rel = log_path.as_posix()
    try:
        curve = reader(log_path) if reader is not None else _curve(read_log(log_path))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        notes.append(f"{rel}: unreadable log ({e}); no learning curve")
        return None
    if curve is None:
        notes.append(f"{rel}: empty log or no epoch column; no learning curve")
        return None
    x, train_loss, valid_loss, valid_acc, secs = curve
    run = {"split": "run", "x": x, "train_loss": train_loss, "valid_loss": valid_loss, "valid_acc": valid_acc,
           "path": rel}
    return run, secs, x_label


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def _identity_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """``method``, ``units``, ``net``, ``dataset``, ``split`` of a net or cell record, when it names them."""
    for d in (record, record.get("experiment")):
        if isinstance(d, dict) and d.get("method") and d.get("units") is not None:
            split = record.get("split", d.get("split"))
            return {"method": normalize_method(d["method"]), "units": d["units"], "net": d.get("net"),
                    "dataset": str(d.get("dataset") or "").lower(), "split": None if split is None else str(split)}
    return None


def _net_identity(split: SplitLayout, cells_by_folder: dict[PurePosixPath, dict[str, Any]]
                  ) -> dict[str, Any] | None:
    """Which net and split a net folder holds: ``net.json``, the trainer's result, or the split's cells.

    The first record that names the net (method and units) gives the identity; the split named
    in ``net.json`` (the split the net was trained on) wins over the others'.
    """
    net_json = _read_json(split.net_json) if split.net_json.is_file() else None
    ident = None
    for path in (split.net_json,) + tuple(split.net_dir / name for name in _RESULT_FILES):
        record = net_json if path == split.net_json else (_read_json(path) if path.is_file() else None)
        ident = _identity_of(record) if record is not None else None
        if ident is not None:
            break
    if ident is None:
        cell = cells_by_folder.get(PurePosixPath(split.root.as_posix()))
        ident = _identity_of(cell) if cell is not None else None
    if ident is not None and net_json is not None and net_json.get("split") is not None:
        ident["split"] = str(net_json["split"])
    return ident


def read_learning_curves(run_dir: str | Path, cells: Iterable[dict[str, Any]] | None = None,
                         notes: list[str] | None = None) -> list[NetCurves]:
    """The training and validation curves of every trained net of a run (:meth:`RunLayout.net_dirs`).

    Parameters
    ----------
    run_dir : str or Path
    cells : iterable of dict, optional
        Cell JSONs (from :func:`~mirlearn.experiments.report.collect.collect`): a net folder
        without ``net.json`` is named by the cells of its split folder.
    notes : list of str, optional
        Receives a line for every log that could not be read.

    Returns
    -------
    list of NetCurves
        One per net (its splits together), in Table 1 order (method, units), then by name.
    """
    layout = RunLayout(run_dir)
    root = layout.root
    notes = notes if notes is not None else []
    # The split folder of a cell is the folder above its cells/ folder.
    cells_by_folder: dict[PurePosixPath, dict[str, Any]] = {}
    for c in cells_only(cells or []):
        if "_path" in c:
            folder = PurePosixPath(root.as_posix()) / PurePosixPath(c["_path"]).parent.parent
            cells_by_folder.setdefault(folder, c)
    groups: dict[str, NetCurves] = {}
    for net_dir in layout.net_dirs():
        read = read_net_log(net_dir, root, notes)
        if read is None:
            continue
        run, secs, x_label = read
        ident = _net_identity(SplitLayout(net_dir.parent), cells_by_folder)
        if ident is not None:
            group = f"{ident['dataset']}/{ident['net'] or ident['method'] + '-' + str(ident['units'])}"
            label = f"{ident['method']} {ident['units']} ({dataset_name(ident['dataset'])})"
            m = ident["method"]
            key: tuple = (METHODS.index(m) if m in METHODS else len(METHODS), int(ident["units"]))
            split = ident["split"] or "run"
        else:
            group = net_dir.parent.relative_to(root).as_posix() if net_dir.parent != root else "."
            label, key, split = group, (len(METHODS) + 1, 0), "run"
        nc = groups.setdefault(group, NetCurves(label=label, group=group, x_label=x_label, sort_key=key + (group,)))
        if nc.x_label != x_label:
            nc.x_label = "epoch / HF step"
        nc.runs.append({**run, "split": split})
        nc.seconds += secs
    return sorted(groups.values(), key=lambda g: g.sort_key)

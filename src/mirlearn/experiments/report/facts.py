"""Facts about a run folder that every kind of report states: its configuration, its data set's
size, its environment, and the per-class accuracy of a chosen cell.

Everything is read from JSON and TOML files, tolerantly: a missing or unreadable file gives
fewer facts (and a sentence saying so), never an exception, so that a report of a
half-finished or copied run folder always comes out.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from mirlearn.experiments.layout import RunLayout
from mirlearn.experiments.report.collect import MISSING, CellStat, cells_only
from mirlearn.experiments.report.render import Block

__all__ = ["read_json", "read_config", "settings_of", "KEY_SETTINGS", "config_blocks", "SplitSize", "DatasetSize",
           "dataset_size", "dataset_blocks", "environment_blocks", "predict_cell", "choose_cell",
           "per_class_rows", "per_class_table", "fmt_pct"]


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; ``None`` when absent, unreadable or not an object."""
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def fmt_pct(values: Sequence[float], digits: int = 1) -> str:
    """``"mean ± std"`` of percentages (population std, over splits); no ``±`` for one value; "—" for none."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return MISSING
    s = f"{np.mean(vals):.{digits}f}"
    return s + (f" ± {np.std(vals):.{digits}f}" if len(vals) > 1 else "")


# ----------------------------------------------------------------------------------------------
# Configuration


def read_config(root: Path, cells: Iterable[dict[str, Any]] = ()) -> tuple[dict[str, Any], str]:
    """The run's configuration as a nested dict, and where it was read from.

    ``config.toml`` of the run folder first, else the ``settings`` that every cell record
    carries; ``({}, "")`` when neither is there.
    """
    path = RunLayout(root).config_toml
    if path.is_file():
        try:
            return tomllib.loads(path.read_text(encoding="utf-8")), "`config.toml`"
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            pass
    for c in cells_only(cells):
        if isinstance(c.get("settings"), dict):
            return c["settings"], "the settings stored in the result cells"
    return {}, ""


def settings_of(cells: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The ``settings`` of the first cell record that has them (``{}`` if none)."""
    for c in cells_only(cells):
        if isinstance(c.get("settings"), dict):
            return c["settings"]
    return {}


#: The settings a report lists, in order, with what each one means.
KEY_SETTINGS: tuple[tuple[str, str], ...] = (
    ("frames.kind", "input frames"), ("frames.sr", "sample rate (Hz)"), ("frames.n_fft", "FFT size (samples)"),
    ("frames.hop_length", "frame hop (samples)"),
    ("network.hidden", "hidden units per layer"), ("network.activation", "activation"),
    ("network.maxout_pieces", "pieces per maxout unit"),
    ("cnn.architecture", "network on patches"), ("cnn.patch_frames", "patch length (frames)"),
    ("cnn.dense_activation", "dense layer's activation"), ("cnn.maxout_pieces", "pieces per maxout unit (dense)"),
    ("cnn.dense_units", "dense units"),
    ("network.dropout", "dropout"), ("training.optimizer", "optimizer"), ("training.lr", "learning rate"),
    ("training.adagrad_initial_accumulator", "AdaGrad: initial accumulator"), ("training.adagrad_eps", "AdaGrad: eps"),
    ("training.batch_size", "batch size (frames)"), ("training.max_epochs", "at most epochs"),
    ("training.patience", "early-stopping patience (epochs)"),
    ("features.layers", "feature layers"), ("features.aggregate", "aggregated over windows"),
    ("features.window_seconds", "window (s)"), ("features.hop_seconds", "window hop (s)"),
    ("features.timescales", "windows pooled side by side (s)"), ("features.pool", "statistics of a window"),
    ("features.predict_layers", "layers of the `predict` model"),
    ("features.predict_aggregate", "`predict` model aggregated"),
    ("forest.n_estimators", "forest: trees"), ("forest.max_features", "forest: features per split"),
    ("forest.min_samples_leaf", "forest: rows per leaf, at least"),
    ("forest.max_train_frames", "forest: training rows, at most"),
    ("splits.n_splits", "splits"), ("splits.fractions", "train / valid / test fractions"),
)


def _get(d: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    return str(v)


def config_blocks(cfg: dict[str, Any], source: str, name: str | None = None) -> list[Block]:
    """A "Configuration" section: name, description and :data:`KEY_SETTINGS`."""
    b = [Block("h2", "Configuration")]
    name = cfg.get("name") or name
    if not cfg:
        b.append(Block("p", f"Configuration **{name}**; its settings were not found (no `config.toml`)."
                       if name else "No configuration found (no `config.toml`, no settings in the cells)."))
        return b
    head = f"Configuration **{name or 'unnamed'}**"
    if cfg.get("description"):
        head += f": {cfg['description']}"
    whole = "; the whole of it is in `config.toml`" if source == "`config.toml`" else ""
    b.append(Block("p", head + f" (read from {source}{whole})."))
    rows = [[f"{what} (`{key}`)", _value(v)] for key, what in KEY_SETTINGS if (v := _get(cfg, key)) is not None]
    if rows:
        b.append(Block("table", header=["Setting", "Value"], rows=rows))
    aug = augmentation_text(cfg.get("augment"))
    if aug:
        b.append(Block("p", aug))
    return b


def augmentation_text(aug: Any) -> str:
    """One sentence naming a configuration's ``[augment]`` section, or ``""`` when it is off."""
    if not isinstance(aug, dict) or not aug.get("enabled"):
        return ""
    lists = [("time_stretch", "time stretch ×{}"), ("pitch_shift", "pitch shift {:+g} st"),
             ("gain_db", "gain {:+g} dB"), ("noise_snr_db", "noise at {} dB SNR")]
    offline = [fmt.format(v) for key, fmt in lists for v in (aug.get(key) or [])]
    if offline and aug.get("crop_seconds"):
        offline.append(f"each as {aug.get('segments', 1)} random segment(s) of {aug['crop_seconds']} s")
    batch = []
    if aug.get("batch_gain_db"):
        batch.append(f"gain within ±{aug['batch_gain_db']} dB")
    if aug.get("time_masks") and aug.get("time_mask_frames"):
        batch.append(f"{aug['time_masks']} time mask(s) of up to {aug['time_mask_frames']} frames")
    if aug.get("freq_masks") and aug.get("freq_mask_bands"):
        batch.append(f"{aug['freq_masks']} frequency mask(s) of up to {aug['freq_mask_bands']} bands")
    if aug.get("mixup_alpha"):
        batch.append(f"mixup (α = {aug['mixup_alpha']})")
    parts = []
    if offline:
        parts.append(f"one copy of each training track per variant ({', '.join(offline)}; "
                     f"{aug.get('backend', 'librosa')})")
    if batch:
        parts.append("per training batch: " + ", ".join(batch))
    return ("**Augmentation** (training tracks only; validation and test tracks never): "
            + ("; ".join(parts) if parts else "enabled, nothing listed") + ".")


# ----------------------------------------------------------------------------------------------
# Data set size


@dataclass
class SplitSize:
    """Tracks of one split's parts."""

    name: str
    train: int | None = None
    valid: int | None = None
    test: int | None = None

    @property
    def text(self) -> str:
        """``"9 train / 6 valid / 3 test tracks"``."""
        part = lambda n: "?" if n is None else str(n)  # noqa: E731
        return f"{part(self.train)} train / {part(self.valid)} valid / {part(self.test)} test tracks"


@dataclass
class DatasetSize:
    """How large a run's data set is.

    Attributes
    ----------
    n_tracks : int or None
        Distinct tracks over every part of every split in ``splits.json`` (``None`` without it).
    classes : list of str
        Class names, from the result cells (or the saved model).
    splits : list of SplitSize
        The splits that have results (every split of ``splits.json`` if none has).
    source : str
        Where the split sizes come from.
    """

    n_tracks: int | None = None
    classes: list[str] = field(default_factory=list)
    splits: list[SplitSize] = field(default_factory=list)
    source: str = ""


def dataset_size(root: Path | None, cells: Iterable[dict[str, Any]] = (), used: Sequence[str] | None = None,
                 classes: Sequence[str] = ()) -> DatasetSize:
    """The size of the data set of a run folder, from ``splits.json`` and the cell records.

    Parameters
    ----------
    root : the run folder (``None``: do not read its ``splits.json``)
    cells : cell records (their ``metrics.classes`` and ``split_sizes``)
    used : the split names to report (default: those of the cells; all of ``splits.json`` if none)
    classes : class names known otherwise (a saved model's), used when no cell names any
    """
    cells = cells_only(cells)
    out = DatasetSize()
    for c in cells:
        for name in c["metrics"].get("classes", []) or []:
            if str(name) not in out.classes:
                out.classes.append(str(name))
    if not out.classes:
        out.classes = [str(c) for c in classes]
    if used is None:
        used = list(dict.fromkeys(str(c["split"]) for c in cells if c.get("split") is not None))
    data = read_json(RunLayout(root).splits_json) if root is not None else None
    listed = data.get("splits") if data else None
    if isinstance(listed, list):
        ids: set[str] = set()
        sizes: dict[str, SplitSize] = {}
        for s in listed:
            if not isinstance(s, dict):
                continue
            parts = {p: s.get(p) if isinstance(s.get(p), list) else [] for p in ("train", "valid", "test")}
            for p in parts.values():
                ids.update(map(str, p))
            name = str(s.get("name"))
            sizes[name] = SplitSize(name, len(parts["train"]), len(parts["valid"]), len(parts["test"]))
        out.n_tracks = len(ids)
        out.splits = [sizes[n] for n in used if n in sizes] or list(sizes.values())
        out.source = "`splits.json`"
    if not out.splits:  # no splits.json: the sizes the cell records carry
        seen: dict[str, SplitSize] = {}
        for c in cells:
            sz = c.get("split_sizes")
            if isinstance(sz, dict) and c.get("split") is not None and str(c["split"]) not in seen:
                seen[str(c["split"])] = SplitSize(str(c["split"]), sz.get("train"), sz.get("valid"), sz.get("test"))
        out.splits = list(seen.values())
        out.source = "the result cells" if seen else ""
    return out


def dataset_blocks(size: DatasetSize, what: str = "Data set", data: str | None = None) -> list[Block]:
    """A paragraph and a table: tracks, classes and their names, split sizes."""
    b: list[Block] = []
    k = len(size.classes)
    head = f"{what}: " + (f"**{size.n_tracks} tracks**" if size.n_tracks is not None else "number of tracks not "
                          "recorded (no `splits.json`)")
    head += f", **{k} classes** ({', '.join(size.classes)})" if k else ", classes not recorded"
    if data:
        head += f"; from `{data}`"
    b.append(Block("p", head + "."))
    if size.splits:
        rows = [[s.name, _n(s.train), _n(s.valid), _n(s.test)] for s in size.splits]
        b.append(Block("p", f"Tracks per part of each split (from {size.source}): the net learns on *train*, "
                            "stops early on *valid*; the forest is fit on train + valid and scored on *test*."))
        b.append(Block("table", header=["Split", "Train", "Valid", "Test"], rows=rows))
    return b


def _n(x: int | None) -> str:
    return MISSING if x is None else str(x)


# ----------------------------------------------------------------------------------------------
# Environment


def environment_blocks(root: Path) -> list[Block]:
    """The "Environment" section: git commit, Python, platform, the command, package versions."""
    b = [Block("h2", "Environment")]
    env_path = RunLayout(root).environment_json
    env: dict[str, Any] = {}
    if env_path.is_file():
        try:
            env = json.loads(env_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            b.append(Block("p", f"`{env_path.name}` unreadable: {exc}"))
    if isinstance(env, dict) and env:
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
    return b


# ----------------------------------------------------------------------------------------------
# The cell a report looks at closely, and its per-class accuracy


def predict_cell(settings: dict[str, Any]) -> tuple[str, bool]:
    """``(layers, aggregate)`` of the cell a configuration saves for ``predict`` (default all layers, aggregated)."""
    f = settings.get("features") if isinstance(settings, dict) else None
    f = f if isinstance(f, dict) else {}
    return str(f.get("predict_layers", "all")), bool(f.get("predict_aggregate", True))


def choose_cell(available: dict[tuple[str, bool], CellStat], settings: dict[str, Any]
                ) -> tuple[tuple[str, bool] | None, str]:
    """The cell to look at closely, chosen without looking at test results where possible.

    Parameters
    ----------
    available : ``(layers, aggregate) -> CellStat`` of one net
    settings : the configuration (its ``features.predict_layers`` / ``predict_aggregate``)

    Returns
    -------
    key, how
        The cell, and a sentence saying how it was chosen. The cell the configuration names for
        ``predict`` is fixed before any result; only when it has no result is the cell with the
        highest test accuracy taken, and then the sentence says it is optimistic.
    """
    want = predict_cell(settings)
    have = {k: s for k, s in available.items() if s is not None and s.n_splits}
    if want in have:
        lay = "all layers" if want[0] == "all" else f"layer {want[0]}"
        return want, (f"the cell the configuration names for `predict` ({lay}, "
                      f"{'aggregated' if want[1] else 'frames'}: `features.predict_layers`, "
                      "`features.predict_aggregate`), fixed before any result was seen; picking the cell with "
                      "the best test accuracy instead would overstate it")
    if not have:
        return None, "no cell has a result"
    best = max(have, key=lambda k: (have[k].mean, -(have[k].std if math.isfinite(have[k].std) else 0.0)))
    return best, ("the cell with the highest mean test accuracy, because the cell the configuration names for "
                  "`predict` has no result: this choice looks at the test tracks, so its accuracy is optimistic")


def per_class_rows(stat: CellStat) -> list[list[str]]:
    """One row per class: test tracks, correctly classified, accuracy (recall, %), pooled over splits."""
    if stat.confusion is None:
        return []
    rows = []
    for i, c in enumerate(stat.classes):
        n = int(stat.confusion[i].sum())
        ok = int(stat.confusion[i, i])
        rows.append([c, str(n), str(ok), f"{100.0 * ok / n:.1f}" if n else MISSING])
    return rows


def per_class_table(stats: Sequence[tuple[str, CellStat]]) -> tuple[list[str], list[list[str]]]:
    """Per-class accuracy (recall, %) of several cells side by side: rows classes, a column per cell.

    Each entry is ``"acc (correct/tracks)"``, pooled over the cell's splits; "—" where a cell has
    no test track of the class.
    """
    classes: list[str] = []
    for _, st in stats:
        for c in st.classes:
            if c not in classes:
                classes.append(c)
    header = ["Class"] + [name for name, _ in stats]
    rows = []
    for c in classes:
        row = [c]
        for _, st in stats:
            if st.confusion is None or c not in st.classes:
                row.append(MISSING)
                continue
            i = st.classes.index(c)
            n, ok = int(st.confusion[i].sum()), int(st.confusion[i, i])
            row.append(f"{100.0 * ok / n:.1f} ({ok}/{n})" if n else MISSING)
        rows.append(row)
    return header, rows

"""The report of a ``run`` / ``demo``, ``train`` or ``evaluate`` folder (not the paper's grid).

One configuration, one learner per split: the report states the configuration, the data set's
size, the track accuracy of every feature cell (layer × frames / aggregated, mean ± std over
splits), the per-class accuracy and confusion of one cell chosen without looking at the test
tracks, the learning curves, and the time of every stage in words. Which kind of folder it is
comes from :func:`mirlearn.experiments.report.kinds.detect_kind`.

Read here: ``results.json``, ``config.toml``, ``splits.json``, ``environment.json``,
``invocations/``, ``split-<id>/net/{net.json, train_log.csv, train_result.json}``,
``split-<id>/cells/*.json``; for ``train``: ``metrics.json``, ``model/model.json``,
``model/result.json``, ``model/train_log.csv``; for ``evaluate``: ``cells/*.json``.
"""

from __future__ import annotations

import math
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Sequence

from mirlearn.experiments.layout import RunLayout
from mirlearn.experiments.report.collect import MISSING, CellStat, cells_only, pool_confusions
from mirlearn.experiments.report.curves import NetCurves, read_net_log
from mirlearn.experiments.report.facts import (choose_cell, config_blocks, dataset_blocks, dataset_size,
                                               environment_blocks, fmt_pct, per_class_rows, read_config, read_json)
from mirlearn.experiments.report.figures import plot_confusion, plot_learning_curves
from mirlearn.experiments.report.kinds import EVALUATE, RUN, TRAIN, command_of
from mirlearn.experiments.report.render import Block
from mirlearn.experiments.report.timing import cell_time_rows, duration

__all__ = ["run_blocks", "plain_stats", "layer_table", "CONFUSION_PNG", "CURVES_PNG"]

CONFUSION_PNG = "confusion_best.png"
CURVES_PNG = "learning_curves.png"
_TITLES = {RUN: "run", TRAIN: "trained model", EVALUATE: "evaluation of a trained model"}
_WRITERS = {RUN: "`mirlearn run` or `mirlearn demo`", TRAIN: "`mirlearn train`", EVALUATE: "`mirlearn evaluate`"}


# ----------------------------------------------------------------------------------------------
# Cell statistics without an experiment block


def plain_stats(cells: Sequence[dict[str, Any]], name: str, dataset: str, notes: list[str]
                ) -> tuple[dict[tuple[str, bool], CellStat], dict[tuple[str, bool], list[float]]]:
    """One :class:`CellStat` per ``(layers, aggregate)`` over the splits, and its frame accuracies.

    Parameters
    ----------
    cells : cell records of one configuration (as from :func:`collect`)
    name, dataset : the configuration's name and the data set's, for the cells' labels
    notes : receives a line for every record left out (a second one of a split, no accuracy)

    Returns
    -------
    stats : dict
        ``(layers, aggregate) -> CellStat`` (track accuracy in percent per split).
    frame_acc : dict
        ``(layers, aggregate) -> [frame accuracy %, per split]`` (window accuracy for an
        aggregated cell); splits without one are left out.
    """
    stats: dict[tuple[str, bool], CellStat] = {}
    metrics_of: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    frame_acc: dict[tuple[str, bool], list[float]] = {}
    for c in sorted(cells_only(cells), key=lambda c: c.get("_path", "")):
        if c.get("own_output"):  # the learner's own decisions: own_output_rows, not a feature cell
            continue
        key = (str(c.get("layers", "all")), bool(c.get("aggregate", False)))
        st = stats.setdefault(key, CellStat(table="run", dataset=dataset, method=name, units=None, layers=key[0],
                                            aggregate=key[1]))
        split = str(c.get("split") if c.get("split") is not None else c.get("_path", "?"))
        path = c.get("_path", "?")
        if split in st.splits:
            notes.append(f"{path}: second result for split {split!r}; ignored")
            continue
        m = c["metrics"]
        try:
            acc = float(m.get("accuracy"))
        except (TypeError, ValueError):
            acc = float("nan")
        if not math.isfinite(acc):
            notes.append(f"{path}: no track accuracy; ignored")
            continue
        st.splits.append(split)
        st.accuracies.append(100.0 * acc)
        st.paths.append(path)
        metrics_of.setdefault(key, []).append(m)
        fa = m.get("frame_accuracy")
        if isinstance(fa, (int, float)) and math.isfinite(fa):
            frame_acc.setdefault(key, []).append(100.0 * float(fa))
    for key, st in stats.items():
        st.classes, st.confusion = pool_confusions(metrics_of.get(key, []))
    return {k: s for k, s in stats.items() if s.n_splits}, frame_acc


def _order(key: tuple[str, bool]) -> tuple:
    """Layers in network order (numbers, then named ones as the learner lists them), "all" last."""
    name = key[0]
    if name == "all":
        return (2, 0, "", key[1])
    if name.isdigit():
        return (0, int(name), "", key[1])
    return (1, 0, name, key[1])


def _layer_name(layers: str) -> str:
    return "all layers" if layers == "all" else f"layer {layers}"


def own_output_rows(cells: Sequence[dict[str, Any]], row: str = "frame") -> tuple[list[str], list[list[str]]]:
    """The learner's own track decisions (no forest): one row per decision rule, mean ± std over
    the splits of the track accuracy and of the accuracy of its rows (frames or patches), in %."""
    labels = {"mean": "highest mean probability", "vote": "majority vote of its " + row + "es"
              if row.endswith("ch") else "majority vote of its " + row + "s"}
    rows = []
    for how in ("mean", "vote"):
        recs = [c for c in cells_only(cells) if c.get("own_output") == how]
        acc = [100.0 * float(c["metrics"]["accuracy"]) for c in recs
               if isinstance(c.get("metrics", {}).get("accuracy"), (int, float))]
        row_acc = [100.0 * float(c["metrics"]["frame_accuracy"]) for c in recs
                   if isinstance(c.get("metrics", {}).get("frame_accuracy"), (int, float))]
        if acc:
            rows.append([labels[how], fmt_pct(acc), fmt_pct(row_acc)])
    return ["Decision per track", "track acc", f"{row} acc"], rows


def layer_table(stats: dict[tuple[str, bool], CellStat], frame_acc: dict[tuple[str, bool], list[float]],
                row: str = "frame") -> tuple[list[str], list[list[str]]]:
    """Rows = layers; columns = track and frame (a CNN: patch) accuracy per row, track and
    *window* accuracy aggregated.

    Every entry is mean ± std over splits, in percent (population std; no ± for one split).
    """
    aggs = sorted({a for _, a in stats})
    header = ["Features"]
    rows_name = row + ("es" if row.endswith("ch") else "s")
    for a in aggs:
        header += (["aggregated: track acc", "aggregated: window acc"] if a else
                   [f"{rows_name}: track acc", f"{rows_name}: {row} acc"])
    rows = []
    for layers in sorted({k[0] for k in stats}, key=lambda l: _order((l, False))):
        row = [_layer_name(layers)]
        for a in aggs:
            st = stats.get((layers, a))
            row += [fmt_pct(st.accuracies) if st else MISSING, fmt_pct(frame_acc.get((layers, a), []))]
        rows.append(row)
    return header, rows


# ----------------------------------------------------------------------------------------------
# The report


def _split_folder_cells(root: Path, cells: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Cells grouped by the folder above their ``cells/`` (``"."`` for ``cells/`` in the root)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for c in cells:
        folder = PurePosixPath(c.get("_path", "?")).parent.parent.as_posix()
        out.setdefault(folder, []).append(c)
    return out


def _net_label(cfg: dict[str, Any], name: str) -> str:
    net = cfg.get("network") if isinstance(cfg.get("network"), dict) else {}
    opt = (cfg.get("training") or {}).get("optimizer") if isinstance(cfg.get("training"), dict) else None
    what = []
    if net.get("activation"):
        what.append(str(net["activation"]))
    if net.get("hidden"):
        what.append("×".join(map(str, net["hidden"])) + " units")
    if opt:
        what.append(str(opt))
    return f"{name}" + (f" ({', '.join(what)})" if what else "")


def _curves(root: Path, kind: str, cfg: dict[str, Any], name: str, split_hint: str | None, notes: list[str]
            ) -> tuple[NetCurves | None, list[tuple[str, float]]]:
    """The learning curves of the folder's nets as one panel (one line per split), and each net's
    training time ``(split, seconds)`` from its ``train_result.json`` (wall clock) or its log."""
    if kind == TRAIN:
        net_dirs = [root / "model"] if (root / "model").is_dir() else []
    elif kind == RUN:
        net_dirs = [d for d in RunLayout(root).net_dirs() if d.parent.parent == root]
    else:
        net_dirs = []
    nc = NetCurves(label=_net_label(cfg, name), group=".")
    times: list[tuple[str, float]] = []
    for d in net_dirs:
        split = split_hint if kind == TRAIN else None
        net_json = read_json(d / "net.json")
        if split is None:
            split = str(net_json["split"]) if net_json and net_json.get("split") else d.parent.name.removeprefix(
                "split-")
        result = read_json(d / "train_result.json") or read_json(d / "result.json") or {}
        read = read_net_log(d, root, notes)
        secs = result.get("wall_seconds", result.get("seconds"))
        if read is not None:
            run, log_secs, nc.x_label = read
            nc.runs.append({**run, "split": split})
            secs = log_secs if secs is None else secs
        if isinstance(secs, (int, float)):
            times.append((split, float(secs)))
    return (nc if nc.runs else None), times


def _figures(fig_dir: Path, figures: list[tuple[str, Callable[[Path], Any]]], notes: list[str]) -> dict[str, bytes]:
    images: dict[str, bytes] = {}
    for fname, fn in figures:
        try:
            fn(fig_dir / fname)
            images[fname] = (fig_dir / fname).read_bytes()
        except ImportError as exc:  # matplotlib missing: the text still comes out
            notes.append(f"figures skipped: {exc}")
            break
        except (OSError, ValueError) as exc:
            notes.append(f"figure {fname} not drawn: {exc}")
    return images


def run_blocks(root: Path, kind: str, entries: list[dict[str, Any]], fig_dir: Path, rel_fig: str) -> list[Block]:
    """The report of a ``run`` / ``demo``, ``train`` or ``evaluate`` folder, as blocks.

    Parameters
    ----------
    root : the folder
    kind : :data:`~mirlearn.experiments.report.kinds.RUN`, ``TRAIN`` or ``EVALUATE``
    entries : :func:`~mirlearn.experiments.report.collect.collect` of the folder
    fig_dir, rel_fig : where figures go, and that folder relative to the report
    """
    notes = [f"{e['_path']}: unreadable ({e['error']}); ignored" for e in entries if e.get("_kind") == "error"]
    cells = cells_only(entries)
    layout = RunLayout(root)
    results = read_json(layout.results_json) or {}
    env = read_json(layout.environment_json) or {}
    metrics_rec = read_json(root / "metrics.json") if kind == TRAIN else None
    model = read_json(root / "model" / "model.json") if kind == TRAIN else None
    cfg, cfg_source = read_config(root, cells)
    name = str(cfg.get("name") or results.get("config") or ((model or {}).get("info") or {}).get("config")
               or "unnamed configuration")
    dataset = Path(str(env["data"])).name if env.get("data") else "data"

    by_folder = _split_folder_cells(root, cells)
    if kind == RUN:  # the run's own cells: split-<id>/cells; others (an evaluation/ folder) come after
        main_key = [f for f in by_folder if PurePosixPath(f).parent.as_posix() == "." and f.startswith("split-")]
    elif kind == EVALUATE:
        main_key = ["."] if "." in by_folder else []
    else:
        main_key = []
    main = [c for f in main_key for c in by_folder[f]]
    others = {f: cs for f, cs in by_folder.items() if f not in main_key}
    stats, frame_acc = plain_stats(main, name, dataset, notes)
    row = "patch" if cfg.get("learner") == "cnn" else "frame"  # what a CNN's forest classifies
    if kind == RUN:  # a cell results.json has but whose record is gone (copied without it)
        for cname, s in (results.get("summary") or {}).items():
            if not isinstance(s, dict) or s.get("own_output"):
                continue
            key = (str(s.get("layers", "all")), bool(s.get("aggregate", False)))
            per = [100.0 * float(a) for a in s.get("per_split", []) if isinstance(a, (int, float))]
            if key not in stats and per:
                stats[key] = CellStat(table="run", dataset=dataset, method=name, units=None, layers=key[0],
                                      aggregate=key[1], splits=[str(x) for x in results.get("splits", [])][:len(per)],
                                      accuracies=per, paths=["results.json"])
                notes.append(f"{cname}: no cell record; its accuracy is taken from `results.json`")

    b: list[Block] = [Block("h1", f"mirlearn report — {_TITLES[kind]}: {name}")]
    cmd = command_of(env)
    meta = [f"Run directory: `{root.name}`",
            f"Written by: {'`mirlearn ' + cmd + '`' if cmd else _WRITERS[kind]}",
            f"Result cells: {len(cells)}"]
    inv = root / "invocations"
    if inv.is_dir():
        n_inv = len(list(inv.glob("*.json")))
        meta.append(f"Commands run in this folder: {n_inv} (`invocations/`)")
    if env.get("created_utc"):
        meta.append(f"Started: {env['created_utc']}")
    b.append(Block("ul", items=meta))

    b += config_blocks(cfg, cfg_source, name)

    # Data set
    used = [str(s) for s in results.get("splits", [])] or None
    if kind == TRAIN and metrics_rec and metrics_rec.get("split"):
        used = [str(metrics_rec["split"])]
    size = dataset_size(root, main or cells, used, classes=(model or {}).get("classes", []))
    b.append(Block("h2", "Data set"))
    b += dataset_blocks(size, "Data set", env.get("data"))

    # Results
    chosen: CellStat | None = None
    how = ""
    if kind == TRAIN:
        b.append(Block("h2", "The saved model"))
        m = (metrics_rec or {}).get("metrics") if isinstance((metrics_rec or {}).get("metrics"), dict) else None
        spec = (model or {}).get("features") or {}
        if m is not None and isinstance(m.get("accuracy"), (int, float)):
            layers = str(spec.get("layers", "all"))
            agg = bool(spec.get("aggregate", True))
            classes, conf = pool_confusions([m])
            chosen = CellStat(table="model", dataset=dataset, method=name, units=None, layers=layers, aggregate=agg,
                              splits=[str(metrics_rec.get("split"))], accuracies=[100.0 * float(m["accuracy"])],
                              classes=classes, confusion=conf, paths=["metrics.json"])
            how = ("the cell the model was saved with for `predict` (`features.predict_layers`, "
                   "`features.predict_aggregate`), fixed before any result was seen")
            b.append(Block("p", f"Test track accuracy of the saved model ({_layer_name(layers)}, "
                                f"{'aggregated' if agg else 'frames'}; split {metrics_rec.get('split')}): "
                                f"**{100.0 * float(m['accuracy']):.1f} %** on {m.get('n_tracks', '?')} test tracks "
                                "(from `metrics.json`). `mirlearn predict` and `mirlearn features` take "
                                "the `model/` folder."))
        elif model is not None:
            b.append(Block("p", "A model is saved in `model/`, but `metrics.json` (its test accuracy) is missing."))
        else:
            b.append(Block("p", "No model saved yet (no `model/model.json`): the training has not finished."))

    if kind in (RUN, EVALUATE):
        b.append(Block("h2", "Track accuracy per feature cell"))
        if stats:
            n = max(s.n_splits for s in stats.values())
            rows_name = "patches (the network's input patches)" if row == "patch" else "frames"
            b.append(Block("p", f"Accuracy (%) on the test tracks, mean ± std over {n} split(s) (population std; "
                                "one split: no ±). *Track acc*: the share of test tracks whose majority vote "
                                f"is right; *{row} acc*: the share of {rows_name} the forest classifies right; "
                                "for an aggregated cell the forest classifies *windows* "
                                f"({_window_text(cfg)}), so its second column is the window accuracy."))
            header, rows = layer_table(stats, frame_acc, row)
            b.append(Block("table", header=header, rows=rows))
            oh, orows = own_output_rows(main, row)
            if orows:
                b.append(Block("p", "The learner's own output, no forest: each test track gets the class of "
                                    f"highest mean probability over its {row}es, or the majority vote of its "
                                    f"{row}es (Schindler & Lidy's \"max probability\" and \"majority vote\")."
                               if row == "patch" else
                               "The learner's own output, no forest: each test track gets the class of "
                               "highest mean probability over its frames, or the majority vote of its frames."))
                b.append(Block("table", header=oh, rows=orows))
            key, how = choose_cell(stats, cfg)
            chosen = stats.get(key) if key is not None else None
        else:
            b.append(Block("p", "No result cell yet: the run has not evaluated a feature cell "
                                + ("(is it still running, or was it stopped?)." if kind == RUN else ".")))
    for folder, cs in sorted(others.items()):
        ostats, ofa = plain_stats(cs, name, dataset, notes)
        if not ostats:
            continue
        b.append(Block("h2", f"Evaluation in `{folder}/`"))
        b.append(Block("p", f"{len(cs)} result cell(s) written by `mirlearn evaluate` into `{folder}/`: accuracy "
                            "(%) on the test tracks, as above."))
        h, r = layer_table(ostats, ofa)
        b.append(Block("table", header=h, rows=r))

    # The chosen cell: per-class accuracy and confusion
    figures: list[tuple[str, Callable[[Path], Any]]] = []
    if chosen is not None and chosen.confusion is not None:
        figures.append((CONFUSION_PNG, lambda p: plot_confusion(chosen, p)))
    curves, net_times = _curves(root, kind, cfg, name, (metrics_rec or {}).get("split"), notes)
    if curves is not None:
        figures.append((CURVES_PNG, lambda p: plot_learning_curves([curves], p, rows=row)))
    images = _figures(fig_dir, figures, notes)

    b.append(Block("h2", "Per-class accuracy"))
    if chosen is None or chosen.confusion is None:
        b.append(Block("p", f"{MISSING} no cell with a confusion matrix yet."))
    else:
        acc = f"{chosen.mean:.1f}" + (f" ± {chosen.std:.1f}" if chosen.n_splits > 1 else "")
        b.append(Block("p", f"Cell: **{_layer_name(chosen.layers)}, {'aggregated' if chosen.aggregate else 'frames'}"
                            f"**, track accuracy {acc} % over {chosen.n_splits} split(s). It is {how}. "
                            "Accuracy of a class = its test tracks classified right / its test tracks "
                            "(recall), pooled over the splits."))
        b.append(Block("table", header=["Class", "Test tracks", "Right", "Accuracy (%)"], rows=per_class_rows(chosen)))
        from mirlearn.classify.metrics import format_confusion

        b.append(Block("p", "Confusion matrix (rows: true class, columns: predicted), summed over the splits:"))
        b.append(Block("pre", format_confusion(chosen.confusion, chosen.classes)))
        if CONFUSION_PNG in images:
            b.append(Block("img", "confusion matrix of the chosen cell", path=f"{rel_fig}/{CONFUSION_PNG}",
                           data=images[CONFUSION_PNG]))

    b.append(Block("h2", "Learning curves"))
    if CURVES_PNG in images:
        b.append(Block("p", f"Training loss (dashed) and validation loss (solid) above, validation {row} accuracy "
                            f"below, against the {curves.x_label}; one colour per split (from "
                            + ", ".join(f"`{r['path']}`" for r in curves.runs) + ")."))
        b.append(Block("img", "learning curves", path=f"{rel_fig}/{CURVES_PNG}", data=images[CURVES_PNG]))
    elif kind == EVALUATE:
        b.append(Block("p", "None here: `mirlearn evaluate` does not train; the learning curves are in the report "
                            "of the `mirlearn train` folder that saved the model."))
    else:
        b.append(Block("p", f"{MISSING} no training log found (`train_log.csv`)."))

    b.append(Block("h2", "Time per stage"))
    rows = _time_rows(kind, results, main if kind != TRAIN else [], net_times)
    for folder, cs in sorted(others.items()):
        rows += cell_time_rows(cs, f"`{folder}/`")
    if rows:
        b.append(Block("p", "Wall-clock time of each stage, summed over the splits and cells it ran on. Frame "
                            "extraction (decoding and spectra, cached between runs) is not recorded in the folder."))
        b.append(Block("table", header=["Stage", "Time"], rows=rows))
    else:
        b.append(Block("p", f"{MISSING} no timings recorded yet."))

    if notes:
        b.append(Block("h2", "Notes"))
        b.append(Block("ul", items=notes))
    b += environment_blocks(root)
    return b


def _window_text(cfg: dict[str, Any]) -> str:
    f = cfg.get("features") if isinstance(cfg.get("features"), dict) else {}
    w, h = f.get("window_seconds"), f.get("hop_seconds")
    if isinstance(f.get("timescales"), list) and h is not None:  # multi-timescale pooling
        return f"windows of {', '.join(f'{t:g}' for t in f['timescales'])} s side by side every {h} s"
    return f"{w} s windows every {h} s" if w is not None and h is not None else "windows of several frames"


def _time_rows(kind: str, results: dict[str, Any], cells: list[dict[str, Any]],
               net_times: list[tuple[str, float]]) -> list[list[str]]:
    """``[stage, time]`` rows of a run, train or evaluate folder, with a total."""
    rows: list[list[str]] = []
    total = 0.0
    timings = results.get("timings") if isinstance(results.get("timings"), list) else []
    per_split = [t for t in timings if isinstance(t, dict)]
    words = {"train_s": "net training", "features_s": "activations of every layer of the split's tracks"}
    for key, what in words.items():
        vals = [float(t[key]) for t in per_split if isinstance(t.get(key), (int, float))]
        if vals:
            rows.append([f"{what} ({len(vals)} split{'s' if len(vals) != 1 else ''})", duration(sum(vals))])
            total += sum(vals)
    if not any(r[0].startswith("net training") for r in rows) and net_times:
        secs = sum(s for _, s in net_times)
        source = "the saved model’s training record" if kind == TRAIN else "the nets’ training records"
        rows.append([f"net training ({len(net_times)} net{'s' if len(net_times) != 1 else ''}, from {source})",
                     duration(secs)])
        total += secs
    cell_rows = cell_time_rows(cells)
    rows += cell_rows
    for c in cells_only(cells):
        for v in (c.get("timings") or {}).values():
            if isinstance(v, (int, float)) and math.isfinite(v):
                total += float(v)
    if len(rows) > 1:
        rows.append(["total of the stages above", duration(total)])
    return rows

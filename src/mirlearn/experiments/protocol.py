"""The evaluation protocol: for each split, train a net, then every feature cell → forest → vote.

A *cell* is one feature choice: hidden layer 1, 2, 3 or all, on frames or aggregated over
windows. Results are written one JSON per cell, so an interrupted run resumes where it
stopped and a finished cell is never computed twice.

Layout under the run directory::

    split-<k>/net/            training log, checkpoint, featurenet.pt
    split-<k>/cells/<cell>.json
    split-<k>/predictions/<cell>.csv
    results.json              every cell of every split, and mean ± std over splits
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mirlearn.config import Config
from mirlearn.datasets.splits import Split
from mirlearn.features.frameset import FrameSet
from mirlearn.io import atomic_write_json
from mirlearn.learner import FeatureLearner, FeatureSpec, layer_columns, parse_layers


def cells_of(cfg: Config) -> list[FeatureSpec]:
    """The feature cells a configuration asks for, layers × aggregation."""
    f = cfg.features
    return [FeatureSpec(layers=layer, aggregate=agg, window_seconds=f.window_seconds, hop_seconds=f.hop_seconds)
            for agg in f.aggregate for layer in f.layers]


def make_forest(cfg: Config):
    """The track classifier of a configuration (a Random Forest on rows, then a vote)."""
    from mirlearn.classify import TrackForestClassifier

    fc = cfg.forest
    return TrackForestClassifier(n_estimators=fc.n_estimators, max_features=fc.max_features,
                                 min_samples_leaf=fc.min_samples_leaf, max_samples=fc.max_samples,
                                 max_train_frames=fc.max_train_frames, backend=fc.backend,
                                 n_jobs=fc.n_jobs, random_state=fc.seed)


def cell_features(all_layers: FrameSet, widths: Sequence[int] | None, spec: FeatureSpec, cfg: Config) -> FrameSet:
    """Slice the all-layer activations to ``spec.layers`` and aggregate when asked.

    ``widths=None`` marks a single feature matrix (a baseline): only ``layers="all"`` applies.
    """
    from mirlearn.features.aggregate import aggregate_frameset

    if widths is None:
        if spec.layers != "all":
            raise ValueError(f"a baseline has no hidden layers; cell {spec.name} asks for layer {spec.layers}")
        sel = ()
    else:
        sel = parse_layers(spec.layers, len(widths))
    if widths is None or len(sel) == len(widths):
        fs = all_layers
    else:
        cols = layer_columns(widths, sel)
        fs = FrameSet(np.ascontiguousarray(all_layers.X[:, cols[0]:cols[-1] + 1]), all_layers.offsets,
                      all_layers.tracks)
    if spec.aggregate:
        fs = aggregate_frameset(fs, window_seconds=spec.window_seconds, hop_seconds=spec.hop_seconds,
                                sr=cfg.frames.sr, hop_length=cfg.frames.hop_length)
    return fs


@dataclass
class SplitOutcome:
    """What one split produced: the cells' metrics and the stage timings (s)."""

    split: str
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)


#: A training or validation part of a memory-mapped frame cache larger than this is copied
#: to a temporary memory-mapped file next to the net instead of into RAM (bytes).
SUBSET_IN_RAM_BYTES = 256 << 20


def part_frames(frames: FrameSet, ids: Sequence[str], path: Path) -> FrameSet:
    """The frames of tracks ``ids``: copied into RAM when small or when ``frames`` is in RAM,
    else into the memory-mapped file ``path`` (whose folder the caller removes)."""
    rows = int(sum(frames.lengths[frames.tracks.position(t)] for t in ids))
    big = rows * frames.dim * frames.X.dtype.itemsize > SUBSET_IN_RAM_BYTES
    return frames.subset(ids, out=path if big and isinstance(frames.X, np.memmap) else None)


def split_activations(learner: FeatureLearner, frames: FrameSet, split: Split, out: Path) -> FrameSet:
    """All-layer activations of the split's tracks, ordered train, valid, test.

    Written to ``out`` (raw float32) and returned memory-mapped; the raw frames of the split
    pass through a temporary memory map next to ``out`` when large (:func:`part_frames`).
    """
    ids = list(split.train) + list(split.valid) + list(split.test)
    with tempfile.TemporaryDirectory(prefix="frames-", dir=out.parent) as tmp:
        split_frames = part_frames(frames, ids, Path(tmp) / "split.npy")
        all_layers = learner.transform(split_frames, layers="all", out=out)
        del split_frames  # release the memory map before the folder goes
    return all_layers


def fit_and_test_parts(features: FrameSet, split: Split) -> tuple[FrameSet, FrameSet]:
    """The forest's training part (train + valid tracks) and test part of ``features``.

    Views, not copies, when ``features`` is ordered as :func:`split_activations` orders it
    (a GTZAN-sized all-layer cell would otherwise copy 5.4 GiB into RAM).
    """
    return (features.subset(list(split.train) + list(split.valid), copy=False),
            features.subset(list(split.test), copy=False))


def train_network(cfg: Config, frames: FrameSet, split: Split, net_dir: str | Path, *, device: str = "cpu",
                  progress: bool = True, log: Callable[[str], None] = print) -> FeatureLearner:
    """Train the configuration's network on ``split`` (or reuse the one saved in ``net_dir``).

    A network whose training was interrupted resumes from its last checkpoint in ``net_dir``.
    """
    net_dir = Path(net_dir)
    if (net_dir / "featurenet.pt").is_file():
        log(f"[{split.name}] network: reusing {net_dir / 'featurenet.pt'}")
        return FeatureLearner.load(net_dir)
    net_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="frames-", dir=net_dir) as tmp:
        train_fs, valid_fs = (part_frames(frames, ids, Path(tmp) / f"{name}.npy")
                              for name, ids in (("train", split.train), ("valid", split.valid)))
        log(f"[{split.name}] training {cfg.network.activation} MLP {cfg.network.hidden} with "
            f"{cfg.training.optimizer} on {len(train_fs.X)} frames ({len(split.train)} tracks)")
        t0 = time.perf_counter()
        learner = FeatureLearner.from_config(cfg, run_dir=net_dir, device=device, progress=progress)
        learner.fit(train_fs, valid_fs)
        seconds = time.perf_counter() - t0
        del train_fs, valid_fs  # release the memory maps before the folder goes
    learner.save(net_dir)
    atomic_write_json(net_dir / "train_result.json", {**_asdict(learner.train_result_), "wall_seconds": seconds})
    log(f"[{split.name}] network trained in {seconds:.1f} s: {learner.training_summary()}")
    return learner


def evaluate_cells(cfg: Config, features: FrameSet, widths: Sequence[int] | None, split: Split,
                   out_dir: str | Path, cells: Sequence[FeatureSpec], *, experiment: dict[str, Any] | None = None,
                   log: Callable[[str], None] = print) -> dict[str, dict[str, Any]]:
    """Forest + vote for every feature cell; one JSON per cell, finished cells are skipped.

    Parameters
    ----------
    features : features of (at least) every track of the split: all hidden layers
        concatenated when ``widths`` is given, else one feature matrix (a baseline) whose
        cells must use ``layers="all"``
    widths : widths of the hidden layers, or None for a baseline
    split : the forest is fit on train + valid tracks and tested on the test tracks
    experiment : what the cells belong to (table, dataset, net, method, units), stored in each
    """
    from mirlearn.classify import evaluate_tracks, vote, write_predictions

    from mirlearn.runs import git_commit, package_versions

    out = Path(out_dir)
    results: dict[str, dict[str, Any]] = {}
    provenance = {"settings": cfg.to_dict(), "versions": package_versions(), "git_commit": git_commit()}
    for spec in cells:
        path = out / "cells" / f"{spec.name}.json"
        if path.is_file():
            results[spec.name] = json.loads(path.read_text())
            continue
        t0 = time.perf_counter()
        fs = cell_features(features, widths, spec, cfg)
        t_feat = time.perf_counter() - t0
        fit_fs, test_fs = fit_and_test_parts(fs, split)
        t0 = time.perf_counter()
        forest = make_forest(cfg).fit(fit_fs)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        frame_proba = forest.predict_frames(test_fs)
        t_pred = time.perf_counter() - t0
        track_pred, track_scores = vote(frame_proba, test_fs.offsets, len(test_fs.tracks.classes))
        m = evaluate_tracks(test_fs.tracks.y, track_pred, test_fs.tracks.classes,
                            frame_true=test_fs.frame_labels(), frame_pred=frame_proba.argmax(1))
        write_predictions(out / "predictions" / f"{spec.name}.csv", test_fs.tracks.ids, test_fs.tracks.y,
                          track_pred, track_scores, test_fs.tracks.classes)
        n_rows = int(forest.n_train_frames_)
        record = {"cell": spec.name, "layers": spec.layers, "aggregate": spec.aggregate, "split": split.name,
                  "experiment": dict(experiment or {}), "metrics": m.to_dict(), "n_fit_rows": len(fit_fs.X),
                  "n_forest_rows": n_rows, "n_test_rows": len(test_fs.X), "dim": fs.dim,
                  "timings": {"features_s": t_feat, "forest_fit_s": t_fit, "forest_predict_s": t_pred},
                  "split_sizes": {"train": len(split.train), "valid": len(split.valid), "test": len(split.test)},
                  **provenance}
        atomic_write_json(path, record)
        results[spec.name] = record
        log(f"[{split.name}] {spec.name:<20} track acc {m.accuracy:6.1%}  frame acc {m.frame_accuracy:6.1%}"
            f"  (forest fit {t_fit:.1f} s on {n_rows} × {fs.dim})")
    return results


def run_split(cfg: Config, frames: FrameSet, split: Split, out_dir: str | Path, *, device: str = "cpu",
              progress: bool = True, keep_features: bool = False, learner: FeatureLearner | None = None,
              experiment: dict[str, Any] | None = None, log: Callable[[str], None] = print) -> SplitOutcome:
    """Train the configuration's network on one split and evaluate every feature cell.

    Parameters
    ----------
    cfg : the experiment configuration
    frames : raw frames of (at least) every track of the split
    split : train / valid / test track ids
    out_dir : the split's folder; finished work found there is reused
    keep_features : keep the all-layer activations on disk after the cells are done
    learner : an already trained network to evaluate (no training then)
    experiment : stored in every cell record (see :func:`evaluate_cells`)
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    outcome = SplitOutcome(split=split.name)
    t0 = time.perf_counter()
    if learner is None:
        learner = train_network(cfg, frames, split, out / "net", device=device, progress=progress, log=log)
    outcome.timings["train_s"] = time.perf_counter() - t0
    tr_path = out / "net" / "train_result.json"
    outcome.train = json.loads(tr_path.read_text()) if tr_path.is_file() else {}

    cells = cells_of(cfg)
    todo = [c for c in cells if not (out / "cells" / f"{c.name}.json").is_file()]
    feat_path = out / "features-all.f32"
    if todo:
        t0 = time.perf_counter()
        all_layers = split_activations(learner, frames, split, feat_path)
        outcome.timings["features_s"] = time.perf_counter() - t0
        evaluate_cells(cfg, all_layers, learner.widths_, split, out, todo, experiment=experiment, log=log)
        del all_layers
        if not keep_features:
            feat_path.unlink(missing_ok=True)
    for spec in cells:
        outcome.cells[spec.name] = json.loads((out / "cells" / f"{spec.name}.json").read_text())
    return outcome


def _asdict(obj: Any) -> dict[str, Any]:
    import dataclasses

    if dataclasses.is_dataclass(obj):
        return json.loads(json.dumps(dataclasses.asdict(obj), default=lambda o: o.tolist()
                                     if isinstance(o, np.ndarray) else float(o)))
    return dict(obj)


def summarize(outcomes: Sequence[SplitOutcome], cells: Sequence[FeatureSpec]) -> dict[str, Any]:
    """Mean ± std (over splits) of the track accuracy of every cell."""
    table: dict[str, Any] = {}
    for spec in cells:
        accs = [o.cells[spec.name]["metrics"]["accuracy"] for o in outcomes]
        table[spec.name] = {"layers": spec.layers, "aggregate": spec.aggregate,
                            "mean": float(np.mean(accs)), "std": float(np.std(accs)) if len(accs) > 1 else 0.0,
                            "per_split": accs}
    return table


def format_table(summary: dict[str, Any], layers: Sequence[str], aggregate: Sequence[bool]) -> str:
    """Track accuracy (%) as a text table: rows = layers, columns = frames / aggregated."""
    head = ["layer"] + ["aggregated" if a else "frames" for a in aggregate]
    rows = []
    for layer in layers:
        row = [layer]
        for a in aggregate:
            cell = summary[f"layer-{layer}_{'agg' if a else 'frames'}"]
            row.append(f"{100 * cell['mean']:.1f}" + (f" ± {100 * cell['std']:.1f}" if len(cell["per_split"]) > 1 else ""))
        rows.append(row)
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def run_protocol(cfg: Config, frames: FrameSet, splits: Sequence[Split], out_dir: str | Path, *,
                 device: str = "cpu", progress: bool = True, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run :func:`run_split` on every split and write ``results.json`` with the summary."""
    out = Path(out_dir)
    outcomes = []
    for k, split in enumerate(splits):
        outcomes.append(run_split(cfg, frames, split, out / f"split-{k}", device=device, progress=progress, log=log))
    cells = cells_of(cfg)
    summary = summarize(outcomes, cells)
    result = {"config": cfg.name, "splits": [o.split for o in outcomes], "summary": summary,
              "timings": [o.timings for o in outcomes], "train": [o.train for o in outcomes]}
    atomic_write_json(out / "results.json", result)
    return result

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


def cell_features(all_layers: FrameSet, widths: Sequence[int], spec: FeatureSpec, cfg: Config) -> FrameSet:
    """Slice the all-layer activations to ``spec.layers`` and aggregate when asked."""
    from mirlearn.features.aggregate import aggregate_frameset

    sel = parse_layers(spec.layers, len(widths))
    if len(sel) == len(widths):
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


def run_split(cfg: Config, frames: FrameSet, split: Split, out_dir: str | Path, *, device: str = "cpu",
              progress: bool = True, keep_features: bool = False, learner: FeatureLearner | None = None,
              log: Callable[[str], None] = print) -> SplitOutcome:
    """Train the configuration's network on one split and evaluate every feature cell.

    Parameters
    ----------
    cfg : the experiment configuration
    frames : raw frames of (at least) every track of the split
    split : train / valid / test track ids
    out_dir : the split's folder; finished work found there is reused
    keep_features : keep the all-layer activations on disk after the cells are done
    learner : an already trained network to evaluate (no training then)
    """
    from mirlearn.classify import evaluate_tracks, write_predictions

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    outcome = SplitOutcome(split=split.name)
    train_fs, valid_fs = frames.subset(split.train), frames.subset(split.valid)

    net_dir = out / "net"
    t0 = time.perf_counter()
    if learner is not None:
        pass
    elif (net_dir / "featurenet.pt").is_file():
        learner = FeatureLearner.load(net_dir)
        log(f"[{split.name}] network: reusing {net_dir / 'featurenet.pt'}")
    else:
        log(f"[{split.name}] training {cfg.network.activation} MLP {cfg.network.hidden} with "
            f"{cfg.training.optimizer} on {len(train_fs.X)} frames ({len(split.train)} tracks)")
        learner = FeatureLearner.from_config(cfg, run_dir=net_dir, device=device, progress=progress)
        learner.fit(train_fs, valid_fs)
        learner.save(net_dir)
        atomic_write_json(net_dir / "train_result.json", _asdict(learner.train_result_))
        log(f"[{split.name}] network trained in {time.perf_counter() - t0:.1f} s: {learner.training_summary()}")
    outcome.timings["train_s"] = time.perf_counter() - t0
    tr_path = net_dir / "train_result.json"
    outcome.train = json.loads(tr_path.read_text()) if tr_path.is_file() else {}
    del train_fs, valid_fs

    cells = cells_of(cfg)
    todo = [c for c in cells if not (out / "cells" / f"{c.name}.json").is_file()]
    if todo:
        ids = list(split.train) + list(split.valid) + list(split.test)
        sub = frames.subset(ids)
        t0 = time.perf_counter()
        feat_path = out / "features-all.f32"
        all_layers = learner.transform(sub, layers="all", out=feat_path)
        outcome.timings["features_s"] = time.perf_counter() - t0
        fit_ids = list(split.train) + list(split.valid)
        for spec in todo:
            t0 = time.perf_counter()
            fs = cell_features(all_layers, learner.widths_, spec, cfg)
            t_feat = time.perf_counter() - t0
            fit_fs, test_fs = fs.subset(fit_ids), fs.subset(list(split.test))
            t0 = time.perf_counter()
            forest = make_forest(cfg).fit(fit_fs)
            t_fit = time.perf_counter() - t0
            t0 = time.perf_counter()
            frame_proba = forest.predict_frames(test_fs)
            t_pred = time.perf_counter() - t0
            from mirlearn.classify import vote

            track_pred, track_scores = vote(frame_proba, test_fs.offsets, len(test_fs.tracks.classes))
            m = evaluate_tracks(test_fs.tracks.y, track_pred, test_fs.tracks.classes,
                                frame_true=test_fs.frame_labels(), frame_pred=frame_proba.argmax(1))
            write_predictions(out / "predictions" / f"{spec.name}.csv", test_fs.tracks.ids, test_fs.tracks.y,
                              track_pred, track_scores, test_fs.tracks.classes)
            record = {"cell": spec.name, "layers": spec.layers, "aggregate": spec.aggregate,
                      "split": split.name, "metrics": m.to_dict(), "n_fit_rows": len(fit_fs.X),
                      "n_test_rows": len(test_fs.X), "dim": fs.dim,
                      "timings": {"features_s": t_feat, "forest_fit_s": t_fit, "forest_predict_s": t_pred}}
            atomic_write_json(out / "cells" / f"{spec.name}.json", record)
            log(f"[{split.name}] {spec.name:<20} track acc {m.accuracy:6.1%}  frame acc "
                f"{m.frame_accuracy:6.1%}  (forest fit {t_fit:.1f} s on {len(fit_fs.X)} × {fs.dim})")
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

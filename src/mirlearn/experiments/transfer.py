"""Transfer: a trained model's frozen features on another dataset, beside MFCC and random weights.

Choi et al. (2017) judge a convnet's features by putting simple classifiers on them for new
datasets and tasks, against MFCC and against the same network with random weights. Here, for
every split of the target dataset and every *feature source* —

- ``model``: the trained learner, frozen (never retrained on the target);
- ``random weights``: the same architecture with fresh random weights (``--random-weights``);
- ``mfcc``: MFCC frames, the hand-crafted baseline —

three classifiers are trained on the split's training (+ validation) tracks and scored on its
test tracks:

- ``forest``: the paper's recipe, a Random Forest on aggregation windows (the model's window and
  hop; the model's forest settings) and a majority vote per track, fit on train + valid;
- ``logreg`` and ``svm``: on track vectors (mean and variance of all frame features), their
  hyper-parameters chosen on the validation tracks, then refit on train + valid
  (:mod:`mirlearn.classify.track_classifiers`).

The task is the target data's labels (accuracy), its tags (multi-label: one sigmoid output per
tag, per-tag and macro ROC-AUC and PR-AUC; the forest averages its windows' tag probabilities,
:mod:`mirlearn.classify.task_forest`) or its numeric targets (regression: ridge and SVR on track
vectors, a regression forest on windows; R² and mean absolute error).

Features are computed once per source for every track (they do not depend on the split), a
bounded number of tracks at a time. Results: ``OUT/transfer.json``, ``OUT/transfer.md`` and
``OUT/transfer.html`` (mean ± std of test accuracy over the splits).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mirlearn.classify.task_forest import fit_task_forest, predict_task_forest
from mirlearn.classify.task_metrics import HEADLINE, regression_scores, tag_scores
from mirlearn.classify.track_classifiers import TASK_CLASSIFIERS, fit_track_classifier
from mirlearn.datasets.splits import Split
from mirlearn.features.aggregate import aggregate, track_statistics
from mirlearn.features.frameset import FrameSet
from mirlearn.features.timebase import window_frames
from mirlearn.io import atomic_write_json, atomic_write_text

__all__ = ["FeatureSource", "CLASSIFIERS", "classifiers_of", "source_of_learner", "source_of_frames",
           "evaluate_source", "pct_mean_std", "score_blocks", "transfer_blocks", "write_transfer"]

#: The classifiers of every source of a single-label task, in table order.
CLASSIFIERS = ("forest", *TASK_CLASSIFIERS["label"])
_TITLES = {"forest": "forest + vote (windows)", "logreg": "logistic regression (track vectors)",
           "svm": "SVM, RBF (track vectors)", "ridge": "ridge regression (track vectors)",
           "svr": "SVR, RBF (track vectors)"}
_FOREST_TITLES = {"label": "forest + vote (windows)", "tags": "forest, mean of windows",
                  "target": "regression forest, mean of windows"}
_METRIC_TITLES = {"accuracy": "accuracy (%)", "roc_auc": "ROC-AUC, macro over tags (%)",
                  "pr_auc": "PR-AUC (average precision), macro over tags (%)", "r2": "R² (%)",
                  "mae": "mean absolute error (target units)"}
_METRICS = {"label": ("accuracy",), "tags": ("roc_auc", "pr_auc"), "target": ("r2", "mae")}


def classifiers_of(task: str) -> tuple[str, ...]:
    """The classifiers of every source for ``task``, in table order."""
    return ("forest", *TASK_CLASSIFIERS[task])


def task_truth(tracks, task: str) -> np.ndarray:
    """What ``task`` asks of ``tracks``: class indices, a tag matrix or targets (track order)."""
    if task == "label":
        return np.asarray(tracks.y)
    if task == "tags":
        return tracks.tag_matrix()
    return tracks.targets


@dataclass
class FeatureSource:
    """One kind of features of every track of the target dataset.

    Attributes
    ----------
    name : "model", "random weights", "mfcc"
    windows : aggregation windows (mean and variance of the frame features), one FrameSet
    vectors : np.ndarray [shape=(n_tracks, dim)], the track vectors, in ``windows.tracks`` order
    """

    name: str
    windows: FrameSet
    vectors: np.ndarray


def _windows_and_vectors(name: str, frames: FrameSet, features: Callable[[FrameSet], FrameSet],
                         window_s: float, hop_s: float, batch_tracks: int = 64) -> FeatureSource:
    tb = frames.time_base
    window = window_frames(window_s, tb.sr, tb.hop_length)
    hop = window_frames(hop_s, tb.sr, tb.hop_length)
    ids = frames.tracks.ids
    wins, offs, vecs = [], [0], []
    for a in range(0, len(ids), batch_tracks):
        F = features(frames.subset(ids[a:a + batch_tracks], copy=False))
        Xa, oa = aggregate(F.X, F.offsets, window=window, hop=hop)
        wins.append(Xa)
        offs.extend((offs[-1] + oa[1:]).tolist())
        vecs.append(track_statistics(F.X, F.offsets))
    windows = FrameSet(np.concatenate(wins), np.asarray(offs, dtype=np.int64), frames.tracks,
                       tb.replace(kind="features").windows(window_s, hop_s))
    return FeatureSource(name, windows, np.concatenate(vecs))


def source_of_learner(name: str, learner: Any, layers: Sequence[str], frames: FrameSet, window_s: float,
                      hop_s: float) -> FeatureSource:
    """Windows and track vectors of a learner's features (frozen) of ``frames``."""
    return _windows_and_vectors(name, frames, lambda chunk: learner.transform(chunk, layers=tuple(layers)),
                                window_s, hop_s)


def source_of_frames(name: str, frames: FrameSet, window_s: float, hop_s: float) -> FeatureSource:
    """Windows and track vectors of the frames themselves (MFCC)."""
    return _windows_and_vectors(name, frames, lambda chunk: chunk, window_s, hop_s)


def _scores(task: str, truth: np.ndarray, out: np.ndarray, tag_names: Sequence[str]) -> dict[str, Any]:
    if task == "label":
        return {"accuracy": float(np.mean(out == truth))}
    if task == "tags":
        return tag_scores(truth, out, tag_names)
    return regression_scores(truth, out)


def evaluate_source(source: FeatureSource, split: Split, forest: Any, *, seed: int = 0,
                    task: str = "label") -> dict[str, Any]:
    """Test scores of every classifier on one split, and what validation chose.

    Parameters
    ----------
    source : the features
    split : train / valid / test track ids (all in ``source.windows.tracks``)
    forest : an unfitted :class:`~mirlearn.classify.TrackForestClassifier` (cloned here for
        ``label``; its parameters serve the tag and regression forests)
    seed : random state of the track classifiers
    task : "label" (accuracy), "tags" (ROC-AUC and PR-AUC, per tag and macro) or "target" (R², MAE)

    Returns
    -------
    dict
        For every classifier of :func:`classifiers_of` ``(task)``: the task's scores (see
        :mod:`mirlearn.classify.task_metrics`), and for the track classifiers ``params`` and
        ``valid_score`` (the best validation score).
    """
    from sklearn.base import clone

    tracks = source.windows.tracks
    truth = task_truth(tracks, task)
    names = tracks.tag_names
    pos = {name: np.array([tracks.position(t) for t in getattr(split, name)], dtype=np.int64)
           for name in ("train", "valid", "test")}
    out: dict[str, Any] = {}
    fit_ids = list(split.train) + list(split.valid)
    fit_w, test_w = source.windows.subset(fit_ids), source.windows.subset(list(split.test))
    if task == "label":
        pred = clone(forest).fit(fit_w).predict_tracks(test_w).pred
    else:
        fit_pos = np.concatenate([pos["train"], pos["valid"]])
        f = fit_task_forest(task, fit_w.X, fit_w.offsets, truth[fit_pos], forest_params=forest.get_params())
        pred = predict_task_forest(f, test_w.X, test_w.offsets)
    out["forest"] = _scores(task, truth[pos["test"]], pred, names)
    V = source.vectors
    for kind in TASK_CLASSIFIERS[task]:
        t = fit_track_classifier(kind, V[pos["train"]], truth[pos["train"]], V[pos["valid"]], truth[pos["valid"]],
                                 seed=seed, task=task)
        out[kind] = {**_scores(task, truth[pos["test"]], t.predict(V[pos["test"]]), names), "params": t.params,
                     "valid_score": max(a for _, a in t.valid_scores)}
    return out


def pct_mean_std(values: Sequence[float | None], scale: float = 100.0, digits: int = 1) -> str:
    """``"mean ± std"`` over splits of ``scale × value`` (fractions as %), skipping None and NaN
    (:func:`~mirlearn.experiments.report.facts.fmt_pct`)."""
    from mirlearn.experiments.report.facts import fmt_pct

    return fmt_pct([scale * v for v in values if v is not None], digits)


_WHAT = {"label": "Test-track {metric}", "tags": "Tagging of the test tracks, {metric}",
         "target": "Regression on the test tracks, {metric}"}
_HOW = {"label": "the forest fits on train + valid windows and votes per track.",
        "tags": "the forest fits on train + valid windows, each carrying its track's tags, and averages "
                "its windows' tag probabilities per track. Tags without positive and negative test tracks "
                "are left out of the macro means.",
        "target": "the regression forest fits on train + valid windows, each carrying its track's target, "
                  "and averages its windows' predictions per track."}


def score_blocks(result: dict[str, Any], *, frozen: bool = True) -> list:
    """The score tables of a transfer-shaped result: one per metric of its task (sources ×
    classifiers, mean ± std over the splits), and for tags a per-tag table.

    ``frozen``: say that the features' model was not trained on this data (transfer).
    """
    from mirlearn.experiments.report.render import Block

    task = result.get("task", "label")
    splits = result["splits"]
    sources = result["sources"]
    clfs = classifiers_of(task)
    header = ["features", _FOREST_TITLES[task], *[_TITLES[c] for c in clfs[1:]]]
    blocks = []
    for k, metric in enumerate(_METRICS[task]):
        scale, digits = (1.0, 3) if metric == "mae" else (100.0, 1)
        rows = [[src, *[pct_mean_std([result["per_split"][s][src][c][metric] for s in splits], scale, digits)
                        for c in clfs]] for src in sources]
        text = (_WHAT[task].format(metric=_METRIC_TITLES[metric]) +
                f", mean ± std over {len(splits)} split(s) of the target data ({', '.join(splits)}).")
        if k == 0:
            text += ((" The model is frozen: nothing of it is trained on the target." if frozen else "") +
                     " Track classifiers choose their hyper-parameters on the validation tracks, then fit on "
                     "train + valid; " + _HOW[task])
        blocks += [Block("p", text), Block("table", header=header, rows=rows)]
    if task == "tags":
        rows = []
        for g in result.get("tag_names", []):
            pos = [result["per_split"][s][sources[0]]["logreg"]["per_tag"][g]["positives"] for s in splits]
            row = [g, f"{np.mean(pos):.1f}"]
            for src in sources:
                v = [result["per_split"][s][src]["logreg"]["per_tag"][g]["roc_auc"] for s in splits]
                row.append(pct_mean_std(v))
            rows.append(row)
        blocks += [Block("h2", "Per tag"),
                   Block("p", "ROC-AUC (%) of every tag with the logistic regression (one sigmoid output per "
                              "tag), mean ± std over the splits where the tag has positive and negative test "
                              "tracks; positives: test tracks with the tag, mean over splits."),
                   Block("table", header=["tag", "positives", *sources], rows=rows)]
    return blocks


def transfer_blocks(result: dict[str, Any]) -> list:
    """The report of a transfer result (see :func:`write_transfer`) as render blocks."""
    from mirlearn.experiments.report.render import Block

    sources = result["sources"]
    blocks = [Block("h1", f"Transfer: {result['model']} → {result['data']}"), *score_blocks(result)]
    notes = [f"model: `{result['model']}`, layers {', '.join(result['layers'])}; windows of "
             f"{result['window_seconds']:g} s every {result['hop_seconds']:g} s"]
    if "random weights" in sources:
        notes.append(f"random weights: the same architecture and input standardisation, weights drawn with seed "
                     f"{result['random_seed']}, never trained")
    if "mfcc" in sources:
        notes.append("mfcc: 20 MFCC and their deltas per frame (mirlearn's MFCC), the same windows and classifiers")
    blocks.append(Block("ul", items=notes))
    return blocks


def write_transfer(result: dict[str, Any], out: str | Path) -> tuple[Path, Path]:
    """``transfer.json``, ``transfer.md`` and ``transfer.html`` in ``out``."""
    from mirlearn.experiments.report.render import render_html, render_markdown

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "transfer.json", result)
    blocks = transfer_blocks(result)
    atomic_write_text(out / "transfer.md", render_markdown(blocks))
    atomic_write_text(out / "transfer.html", render_html(blocks, blocks[0].text))
    return out / "transfer.md", out / "transfer.html"

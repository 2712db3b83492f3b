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

Features are computed once per source for every track (they do not depend on the split), a
bounded number of tracks at a time. Results: ``OUT/transfer.json``, ``OUT/transfer.md`` and
``OUT/transfer.html`` (mean ± std of test accuracy over the splits).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mirlearn.classify.track_classifiers import TRACK_CLASSIFIERS, fit_track_classifier
from mirlearn.datasets.splits import Split
from mirlearn.features.aggregate import aggregate, track_statistics
from mirlearn.features.frameset import FrameSet
from mirlearn.features.timebase import window_frames
from mirlearn.io import atomic_write_json, atomic_write_text

__all__ = ["FeatureSource", "CLASSIFIERS", "source_of_learner", "source_of_frames", "evaluate_source",
           "transfer_blocks", "write_transfer"]

#: The classifiers of every source, in table order.
CLASSIFIERS = ("forest", *TRACK_CLASSIFIERS)
_TITLES = {"forest": "forest + vote (windows)", "logreg": "logistic regression (track vectors)",
           "svm": "SVM, RBF (track vectors)"}


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


def evaluate_source(source: FeatureSource, split: Split, forest: Any, *, seed: int = 0) -> dict[str, Any]:
    """Test accuracy of every classifier on one split, and what validation chose.

    Parameters
    ----------
    source : the features
    split : train / valid / test track ids (all in ``source.windows.tracks``)
    forest : an unfitted :class:`~mirlearn.classify.TrackForestClassifier` (cloned here)
    seed : random state of the track classifiers
    """
    from sklearn.base import clone

    tracks = source.windows.tracks
    y = np.asarray(tracks.y)
    pos = {name: np.array([tracks.position(t) for t in getattr(split, name)], dtype=np.int64)
           for name in ("train", "valid", "test")}
    out: dict[str, Any] = {}
    fit_ids = list(split.train) + list(split.valid)
    f = clone(forest).fit(source.windows.subset(fit_ids))
    pred = f.predict_tracks(source.windows.subset(list(split.test))).pred
    out["forest"] = {"accuracy": float(np.mean(pred == y[pos["test"]]))}
    V = source.vectors
    for kind in TRACK_CLASSIFIERS:
        t = fit_track_classifier(kind, V[pos["train"]], y[pos["train"]], V[pos["valid"]], y[pos["valid"]], seed=seed)
        out[kind] = {"accuracy": float(np.mean(t.predict(V[pos["test"]]) == y[pos["test"]])), "params": t.params,
                     "valid_accuracy": max(a for _, a in t.valid_accuracy)}
    return out


def _fmt(values: Sequence[float]) -> str:
    v = 100 * np.asarray(values, dtype=float)
    return f"{v.mean():.1f}" + (f" ± {v.std():.1f}" if len(v) > 1 else "")


def transfer_blocks(result: dict[str, Any]) -> list:
    """The report of a transfer result (see :func:`write_transfer`) as render blocks."""
    from mirlearn.experiments.report.render import Block

    splits = result["splits"]
    sources = result["sources"]
    rows = []
    for src in sources:
        row = [src]
        for clf in CLASSIFIERS:
            accs = [result["per_split"][s][src][clf]["accuracy"] for s in splits]
            row.append(_fmt(accs))
        rows.append(row)
    blocks = [Block("h1", f"Transfer: {result['model']} → {result['data']}"),
              Block("p", f"Test-track accuracy (%), mean ± std over {len(splits)} split(s) of the target data "
                         f"({', '.join(splits)}). The model is frozen: nothing of it is trained on the target. "
                         "Track classifiers choose their hyper-parameters on the validation tracks, then fit "
                         "on train + valid; the forest fits on train + valid windows and votes per track."),
              Block("table", header=["features", *[_TITLES[c] for c in CLASSIFIERS]], rows=rows)]
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

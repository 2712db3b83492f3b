"""Track-level evaluation: accuracy, per-class accuracy, confusion matrix, predictions on disk."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np


@dataclass
class Metrics:
    """Evaluation of track predictions (and, optionally, of frame predictions).

    Attributes
    ----------
    classes : list of str
        Class names; index ``k`` of every array below is ``classes[k]``.
    n_tracks : int
        Number of evaluated tracks.
    accuracy : float
        Share of tracks whose predicted class is the true one (NaN when ``n_tracks == 0``).
    per_class_accuracy : np.ndarray [shape=(n_classes,)], float64
        Recall of each class: share of its tracks predicted as it; NaN for a class without
        tracks.
    confusion : np.ndarray [shape=(n_classes, n_classes)], int64
        Track counts; rows are true classes, columns predicted classes.
    frame_accuracy : float or None
        Share of frames (or windows) classified correctly, when frame predictions were given.
    n_frames : int or None
        Number of evaluated frames, when given.
    """

    classes: list[str]
    n_tracks: int
    accuracy: float
    per_class_accuracy: np.ndarray
    confusion: np.ndarray
    frame_accuracy: float | None = None
    n_frames: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (lists, floats, ints; NaN written as ``None``)."""
        return {
            "classes": list(self.classes),
            "n_tracks": int(self.n_tracks),
            "accuracy": _num(self.accuracy),
            "per_class_accuracy": {c: _num(a) for c, a in zip(self.classes, self.per_class_accuracy)},
            "confusion": np.asarray(self.confusion, dtype=np.int64).tolist(),
            "frame_accuracy": _num(self.frame_accuracy),
            "n_frames": None if self.n_frames is None else int(self.n_frames),
            **({"extra": dict(self.extra)} if self.extra else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Metrics":
        """Inverse of :meth:`to_dict`."""
        classes = list(d["classes"])
        pca = d["per_class_accuracy"]
        return cls(
            classes=classes,
            n_tracks=int(d["n_tracks"]),
            accuracy=_float(d["accuracy"]),
            per_class_accuracy=np.array([_float(pca[c]) for c in classes], dtype=np.float64),
            confusion=np.array(d["confusion"], dtype=np.int64).reshape(len(classes), len(classes)),
            frame_accuracy=None if d.get("frame_accuracy") is None else float(d["frame_accuracy"]),
            n_frames=None if d.get("n_frames") is None else int(d["n_frames"]),
            extra=dict(d.get("extra", {})),
        )

    def format_confusion(self, *, normalize: bool = False) -> str:
        """The confusion matrix as a text table; see :func:`format_confusion`."""
        return format_confusion(self.confusion, self.classes, normalize=normalize)

    def summary(self) -> str:
        """One line: track accuracy, frame accuracy when known, number of tracks."""
        s = f"track accuracy {100 * self.accuracy:.2f} % ({self.n_tracks} tracks)"
        if self.frame_accuracy is not None:
            s += f", frame accuracy {100 * self.frame_accuracy:.2f} %"
        return s


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _float(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def _as_index(a: np.ndarray, n_classes: int, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D class indices, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got dtype {a.dtype}")
    a = a.astype(np.int64, copy=False)
    if a.size and (a.min() < 0 or a.max() >= n_classes):
        raise ValueError(f"{name} holds class indices outside [0, {n_classes}): {a.min()} ... {a.max()}")
    return a


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (true, predicted) pairs.

    Parameters
    ----------
    y_true, y_pred : np.ndarray [shape=(n,)], int
        Class indices in ``[0, n_classes)``.
    n_classes : int

    Returns
    -------
    confusion : np.ndarray [shape=(n_classes, n_classes)], int64
        ``confusion[i, j]`` = number of items of true class ``i`` predicted as ``j``.
    """
    y_true = _as_index(y_true, n_classes, "y_true")
    y_pred = _as_index(y_pred, n_classes, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {len(y_true)} items but y_pred has {len(y_pred)}")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def evaluate_tracks(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str],
                    frame_true: np.ndarray | None = None,
                    frame_pred: np.ndarray | None = None) -> Metrics:
    """Accuracy, per-class accuracy and confusion matrix of track predictions.

    Parameters
    ----------
    y_true, y_pred : np.ndarray [shape=(n_tracks,)], int
        True and predicted class index of every track.
    classes : sequence of str
        Class names; indices refer to it.
    frame_true, frame_pred : np.ndarray [shape=(n_frames,)], int, optional
        True and predicted class of every frame (or window); give both or neither.

    Returns
    -------
    Metrics

    Examples
    --------
    >>> m = evaluate_tracks(np.array([0, 0, 1]), np.array([0, 1, 1]), ["a", "b"])
    >>> m.accuracy, m.confusion.tolist()
    (0.6666666666666666, [[1, 1], [0, 1]])
    """
    classes = [str(c) for c in classes]
    k = len(classes)
    if k == 0:
        raise ValueError("classes is empty")
    conf = confusion_matrix(y_true, y_pred, k)
    n = int(conf.sum())
    correct = np.diag(conf)
    support = conf.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, correct / np.maximum(support, 1), np.nan)
    acc = float(correct.sum() / n) if n else float("nan")

    frame_acc = n_frames = None
    if (frame_true is None) != (frame_pred is None):
        raise ValueError("give both frame_true and frame_pred, or neither")
    if frame_true is not None:
        ft = _as_index(frame_true, k, "frame_true")
        fp = _as_index(frame_pred, k, "frame_pred")  # type: ignore[arg-type]
        if ft.shape != fp.shape:
            raise ValueError(f"frame_true has {len(ft)} items but frame_pred has {len(fp)}")
        n_frames = int(len(ft))
        frame_acc = float(np.count_nonzero(ft == fp) / n_frames) if n_frames else float("nan")
    return Metrics(classes=classes, n_tracks=n, accuracy=acc, per_class_accuracy=per_class.astype(np.float64),
                   confusion=conf.astype(np.int64), frame_accuracy=frame_acc, n_frames=n_frames)


def format_confusion(confusion: np.ndarray, classes: Sequence[str], *, normalize: bool = False,
                     width: int = 6) -> str:
    """A confusion matrix as a fixed-width text table for the terminal.

    Rows are true classes, columns predicted classes (headed by each name, cut to 10
    characters); a last column gives each class's accuracy (recall) in %.

    Parameters
    ----------
    confusion : np.ndarray [shape=(n_classes, n_classes)], int
    classes : sequence of str
    normalize : bool
        Print each row as percentages of its true class instead of counts.
    width : int
        Least width of every number column (widened to fit the names, up to 11).

    Returns
    -------
    table : str
        Lines joined by ``"\\n"``, no trailing newline.
    """
    conf = np.asarray(confusion)
    classes = [str(c) for c in classes]
    k = len(classes)
    if conf.shape != (k, k):
        raise ValueError(f"confusion has shape {conf.shape}, expected ({k}, {k})")
    support = conf.sum(axis=1)
    # Wide enough for GTZAN's and ISMIR's class names (up to 10 characters), no wider.
    width = max(width, min(11, max((len(c) for c in classes), default=0) + 1))
    corner = "true \\ pred"
    name_w = max([len(corner)] + [len(c) for c in classes])
    head = f"{corner:<{name_w}} " + " ".join(f"{c[:width - 1]:>{width}}" for c in classes)
    head += f" {'acc %':>{width + 1}}"
    lines = [head, "-" * len(head)]
    for i, c in enumerate(classes):
        if normalize:
            row = conf[i] / support[i] * 100 if support[i] else np.full(k, np.nan)
            cells = [f"{v:>{width}.1f}" for v in row]
        else:
            cells = [f"{int(v):>{width}d}" for v in conf[i]]
        acc = f"{100 * conf[i, i] / support[i]:>{width + 1}.1f}" if support[i] else f"{'-':>{width + 1}}"
        lines.append(f"{c:<{name_w}} " + " ".join(cells) + f" {acc}")
    return "\n".join(lines)


def write_predictions(path: str | Path, track_ids: Sequence[str], y_true: np.ndarray | None,
                      y_pred: np.ndarray, scores: np.ndarray | None, classes: Sequence[str]) -> None:
    """Write per-track predictions as CSV, atomically.

    Columns: ``track_id, true, predicted, correct``, then one ``score:<class>`` column per
    class when ``scores`` is given. Class columns hold names, not indices.

    Parameters
    ----------
    path : str or Path
        Destination (its folder is created).
    track_ids : sequence of str [length n_tracks]
    y_true : np.ndarray [shape=(n_tracks,)], int, or None
        True class indices; ``None`` for unlabelled tracks (``true`` and ``correct`` left empty).
    y_pred : np.ndarray [shape=(n_tracks,)], int
        Predicted class indices.
    scores : np.ndarray [shape=(n_tracks, n_classes)], float, or None
        Per-class scores of every track (vote shares or mean probabilities), written with
        6 decimals.
    classes : sequence of str
        Class names.
    """
    from mirlearn.io import atomic_write_text

    classes = [str(c) for c in classes]
    k = len(classes)
    ids = [str(t) for t in track_ids]
    n = len(ids)
    y_pred = _as_index(y_pred, k, "y_pred")
    if len(y_pred) != n:
        raise ValueError(f"{n} track ids but {len(y_pred)} predictions")
    if y_true is not None:
        y_true = _as_index(y_true, k, "y_true")
        if len(y_true) != n:
            raise ValueError(f"{n} track ids but {len(y_true)} true labels")
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != (n, k):
            raise ValueError(f"scores has shape {scores.shape}, expected ({n}, {k})")

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["track_id", "true", "predicted", "correct"] + ([f"score:{c}" for c in classes]
                                                              if scores is not None else []))
    for i in range(n):
        row = [ids[i],
               "" if y_true is None else classes[y_true[i]],
               classes[y_pred[i]],
               "" if y_true is None else int(y_true[i] == y_pred[i])]
        if scores is not None:
            row += [f"{s:.6f}" for s in scores[i]]
        w.writerow(row)
    atomic_write_text(path, buf.getvalue())

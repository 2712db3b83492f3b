"""The protocol every feature learner follows, so that a new family plugs in beside the MLP.

A learner is a scikit-learn estimator (constructor arguments stored as they are, learned
state ending in ``_``; :func:`sklearn.base.clone`, ``get_params(deep=...)`` and
``set_params`` work) over :class:`~mirlearn.features.frameset.FrameSet` data:

- ``fit(train, valid)``: train on labelled frames; ``valid`` drives early stopping;
- ``feature_layers_``: the named feature layers and their widths, in order (after ``fit``);
- ``transform(frames, layers=...)``: the activations of the chosen layers, a FrameSet;
- ``predict_proba(frames)``: the learner's own class probabilities per frame (or patch);
- ``output(frames)``: the same as a FrameSet whose offsets give each track's rows;
- ``save(folder)`` / ``Learner.load(folder)``;
- ``training_summary()``: one line on how training ended.

The pipeline (:mod:`mirlearn.pipeline`) only ever talks to this protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from sklearn.base import BaseEstimator

from mirlearn.errors import MirlearnError
from mirlearn.features.frameset import FrameSet
from mirlearn.learners.layers import LayerSpec, select_layers

__all__ = ["Learner", "feature_matrix", "row_batches", "sample_rows"]

#: Constructor arguments that place or display a run but never change what is learned: they
#: are not saved with a learner and not part of its input fingerprint.
RUNTIME_PARAMS = frozenset({"device", "run_dir", "progress"})
#: Constructor arguments added after learners were first saved: left out of the saved
#: parameters (and fingerprints) while unset, so that earlier runs' learners stay current.
UNSET_OMITTED = frozenset({"augment", "task", "maxout_pieces", "dense_activation", "dense_units", "adagrad_initial_accumulator",
                           "adagrad_eps", "pretrain", "label_fraction"})
#: What a learner can be trained to predict (its ``task``; ``None`` is ``"label"``).
LEARNER_TASKS = ("label", "tags")
#: Parameters whose value here means what unset means: saved (and fingerprinted) as unset, so
#: that ``label_fraction=1`` (every label) reuses the runs made without the option.
SAME_AS_UNSET = {"label_fraction": 1}


class Learner(BaseEstimator):
    """Base class of feature learners (see the module docstring for the protocol)."""

    #: Registry name of the family (``"mlp"``, later ``"cnn"``…), saved with every learner.
    kind: str = ""

    # -- what subclasses implement ----------------------------------------------------------
    def fit(self, train: FrameSet, valid: FrameSet) -> "Learner":  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def feature_layers_(self) -> dict[str, int]:  # pragma: no cover - abstract
        """Feature layer name → width, in the order of the all-layer matrix."""
        raise NotImplementedError

    def transform(self, frames: FrameSet, *, layers: LayerSpec = "all", batch_size: int = 8192,
                  out: str | Path | None = None) -> FrameSet:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_proba(self, frames: FrameSet, batch_size: int = 8192) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def output(self, frames: FrameSet) -> FrameSet:
        """The learner's own class probabilities as a FrameSet: one row per row the learner
        classifies (a frame, or a patch), with the offsets of each track's rows."""
        return frames.with_rows(np.asarray(self.predict_proba(frames), dtype=np.float32), kind="features")

    def randomized(self, seed: int = 0) -> "Learner":  # pragma: no cover - abstract
        """A copy of this fitted learner whose network has fresh random weights (same
        architecture, same initialisation, same input standardisation): the random-weights
        baseline of transfer studies (Choi et al. 2017). ``self`` is not changed."""
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_saved(cls, blob: dict[str, Any]) -> "Learner":  # pragma: no cover - abstract
        """The learner of what :meth:`save` wrote, already read from disk."""
        raise NotImplementedError

    @classmethod
    def load(cls, path: str | Path) -> "Learner":
        """Load a saved learner of any registered family (see :func:`mirlearn.learners.load_learner`)."""
        from mirlearn.learners import load_learner

        return load_learner(path)

    def training_summary(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------
    @property
    def multilabel(self) -> bool:
        """True when the learner is trained on tags: one sigmoid output per tag, not a softmax."""
        return getattr(self, "task", None) == "tags"

    def output_names(self, train: FrameSet, valid: FrameSet) -> list[str]:
        """The outputs of a learner about to be fit: the classes, or (task ``tags``) the tags of
        the training tracks, in sorted order."""
        task = getattr(self, "task", None)
        if task not in (None, *LEARNER_TASKS):
            raise MirlearnError(f"unknown learner task {task!r}: use one of {', '.join(LEARNER_TASKS)}")
        if not self.multilabel:
            if list(train.tracks.classes) != list(valid.tracks.classes):
                raise MirlearnError("train and valid frames have different class lists")
            return list(train.tracks.classes)
        names = train.tracks.tag_names
        if not names:
            raise MirlearnError("task 'tags': the training tracks carry no tags (a manifest's tags column)")
        return names

    def track_targets(self, tracks: Any) -> np.ndarray:
        """What every track is trained towards: its class index ``(n_tracks,)`` int64, or (task
        ``tags``) its 0/1 tag indicators over ``classes_`` ``(n_tracks, n_tags)`` float32."""
        if self.multilabel:
            return tracks.tag_matrix(self.classes_).astype(np.float32)
        return np.asarray(tracks.y)

    @classmethod
    def layer_names_for(cls, params: dict[str, Any]) -> list[str]:  # pragma: no cover - abstract
        """The feature layer names a learner with these parameters will have (before fitting)."""
        raise NotImplementedError

    def layer_names(self) -> list[str]:
        """The feature layer names of this learner (known before fitting)."""
        return self.layer_names_for(self.get_params(deep=False))

    def select(self, layers: LayerSpec) -> tuple[str, ...]:
        """Normalise a layer selection against this learner's layer names."""
        return select_layers(layers, self.layer_names())

    def saved_params(self) -> dict[str, Any]:
        """Constructor arguments that define what is learned (JSON-ready: tuples as lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params(deep=False).items()
                if k not in RUNTIME_PARAMS and not (k in UNSET_OMITTED and v is None)
                and not (k in SAME_AS_UNSET and v is not None and v == SAME_AS_UNSET[k])}

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise MirlearnError(f"this {type(self).__name__} is not fitted yet: call fit() or load()")


def feature_matrix(n_rows: int, dim: int, fill: Callable[[np.ndarray], None],
                   out: str | Path | None = None) -> np.ndarray:
    """A float32 ``(n_rows, dim)`` feature matrix filled by ``fill(Y)``: in RAM, or when ``out``
    is given written to that file (``.npy``: NumPy format; else raw float32) atomically and
    returned as a read-only memory map (all-layer features of GTZAN are ≈ 7.7 GB)."""
    if out is None:
        Y = np.empty((n_rows, dim), dtype=np.float32)
        fill(Y)
        return Y
    from mirlearn.io import atomic_path

    out = Path(out)
    npy = out.suffix == ".npy"
    with atomic_path(out) as tmp:
        Y = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n_rows, dim)) if npy \
            else np.memmap(tmp, dtype=np.float32, mode="w+", shape=(n_rows, dim))
        fill(Y)
        Y.flush()
        del Y
    return np.load(out, mmap_mode="r") if npy else np.memmap(out, dtype=np.float32, mode="r", shape=(n_rows, dim))


def row_batches(X: np.ndarray, batch_size: int) -> Iterator[tuple[int, Any]]:
    """``(start, tensor)`` for consecutive batches of rows of ``X`` (bounded memory)."""
    for start in range(0, len(X), batch_size):
        yield start, as_tensor(X[start:start + batch_size])


def as_tensor(rows: np.ndarray):
    """A float32 CPU tensor of ``rows``; read-only memory-mapped rows are copied once."""
    import torch

    a = np.ascontiguousarray(rows, dtype=np.float32)
    if not a.flags.writeable:
        a = a.copy()
    return torch.from_numpy(a)


def sample_rows(X: np.ndarray, y: np.ndarray, cap: int | None, seed: Any) -> tuple[np.ndarray, np.ndarray]:
    """A seeded sample of ``cap`` rows of ``(X, y)`` in their order (copied), or both as they are."""
    if not cap or len(y) <= cap:
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(len(y), cap, replace=False))
    return np.ascontiguousarray(X[rows]), y[rows]

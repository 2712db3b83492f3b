"""What the MLP learner adds for pre-training and few labels (Hamel & Eck's question).

- :func:`check_options`: the learner's ``pretrain`` and ``label_fraction`` parameters, checked
  in one line each before any work;
- :func:`labelled_frames`: the frames of the tracks whose labels are used (the seeded,
  stratified share of :func:`mirlearn.datasets.labelled.labelled_ids`; an augmented copy
  follows its source track), for the supervised training and its early stopping;
- :func:`pretrain_net`: greedy layer-wise pre-training of the net's hidden layers on *every*
  training frame, labelled or not (:func:`mirlearn.nn.pretrain.stack.pretrain_mlp`), in
  ``run_dir/pretrain/layer-<k>/``.

The pipeline gives the feature cells' forests the same labelled tracks
(:func:`mirlearn.pipeline.labelled_split_of`), so that no stage learns from a label the net
was not allowed to see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mirlearn.errors import ConfigError
from mirlearn.features.frameset import FrameSet
from mirlearn.nn.pretrain.settings import PretrainSettings

__all__ = ["check_options", "labelled_frames", "pretrain_net", "unlabelled_rows"]


def check_options(pretrain: Mapping[str, Any] | None, label_fraction: float | None, *, activation: str,
                  multilabel: bool) -> PretrainSettings | None:
    """The pre-training settings (``None``: none), after checking both options.

    Raises
    ------
    ConfigError
        One line naming the option and what it must be.
    """
    if label_fraction is not None:
        ok = isinstance(label_fraction, (int, float)) and not isinstance(label_fraction, bool) \
            and 0 < label_fraction <= 1
        if not ok:
            raise ConfigError(f"label_fraction={label_fraction!r}: must be a share of the labelled tracks in (0, 1] "
                              "(or None: all)")
        if multilabel:
            raise ConfigError("label_fraction keeps a stratified share of labelled tracks: it needs task 'label', "
                              "not 'tags'")
    if pretrain is None:
        return None
    settings = PretrainSettings.from_dict(pretrain).check(activation=activation)
    return settings if settings.enabled else None


def labelled_frames(frames: FrameSet, fraction: float | None, seed: int) -> FrameSet:
    """The frames of the tracks whose labels are used: ``frames`` itself when ``fraction`` is
    ``None`` or 1, else a copy of the picked tracks' frames (whole tracks, in their order).

    The pick is among the original tracks; an augmented copy (``<id>~<tag>``) is kept with its
    source, so the copies never add a labelled track.
    """
    if fraction is None or fraction == 1:
        return frames
    from mirlearn.datasets.labelled import labelled_ids
    from mirlearn.features.augment.transforms import source_id

    tracks = frames.tracks
    originals = [t for t in tracks.ids if source_id(t) == t]
    labels = [tracks[tracks.position(t)].label for t in originals]
    keep = set(labelled_ids(originals, labels, float(fraction), seed=seed))
    return frames.subset([t for t in tracks.ids if source_id(t) in keep])


def unlabelled_rows(X: np.ndarray, cap: int | None, seed: Any) -> np.ndarray:
    """The rows of ``X`` used without labels (standardiser, pre-training): a seeded sample of
    ``cap`` rows in their order (the same rows :func:`~mirlearn.learners.base.sample_rows`
    picks with that seed), or ``X`` itself."""
    from mirlearn.learners.base import sample_rows

    return sample_rows(X, np.zeros(len(X), np.int8), cap, seed)[0]


def pretrain_net(net: Any, X: np.ndarray, X_valid: np.ndarray | None, settings: PretrainSettings, *, seed: int,
                 device: str, run_dir: Path | None, progress: bool) -> list:
    """Pre-train the hidden layers of ``net`` (a :class:`~mirlearn.nn.featurenet.FeatureNet`)
    on raw frames ``X`` (its standardiser applied per batch), monitoring ``X_valid``; the
    layers' runs go to ``run_dir/pretrain/``. Returns one TrainResult per layer."""
    from mirlearn.nn.pretrain.stack import pretrain_mlp
    from mirlearn.nn.train.loop import require_device

    net.to(require_device(device))
    return pretrain_mlp(net.mlp, X, X_valid, settings, preprocess=net.standardize, seed=seed, device=device,
                        run_dir=None if run_dir is None else run_dir / "pretrain", progress=progress)

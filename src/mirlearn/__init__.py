"""mirlearn: learn features from music audio with deep neural networks.

The package follows the pipeline, low layers first (a module never imports a higher one)::

    audio, datasets/           decode; track tables, loaders, splits
    features/                  FrameSet + TimeBase, FrameSettings, frame kinds, cache, aggregation
    nn/                        networks; one training loop with SGD and Hessian-Free runners
    classify/                  forest, vote, metrics
    learners/                  the learner protocol, named feature layers, the MLP learner
    pipeline, model            split → learner → cells → forest → vote; GenreModel (fit/predict)
    experiments/, cli/         run folders, the paper's grid and report; the command line

The main names are importable from the package itself; heavy modules (torch, scikit-learn)
are imported lazily, on first use, so that ``import mirlearn`` and ``mirlearn --help`` stay fast.

>>> from mirlearn import MLPLearner, TrackForestClassifier, extract_frames, load_dataset
>>> from mirlearn import GenreModel   # GenreModel.load("runs/demo").predict(y, sr), .transform(y, sr)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load": "mirlearn.audio",
    "load_dataset": "mirlearn.datasets",
    "Track": "mirlearn.datasets.tracks",
    "TrackTable": "mirlearn.datasets.tracks",
    "make_splits": "mirlearn.datasets.splits",
    "make_synthetic": "mirlearn.datasets.synthetic",
    "FrameSet": "mirlearn.features.frameset",
    "FrameSettings": "mirlearn.features.settings",
    "TimeBase": "mirlearn.features.timebase",
    "extract_frames": "mirlearn.features.cache",
    "aggregate_frameset": "mirlearn.features.aggregate",
    "MLPLearner": "mirlearn.learners",
    "FeatureSpec": "mirlearn.learners",
    "load_learner": "mirlearn.learners",
    "GenreModel": "mirlearn.model",
    "Prediction": "mirlearn.model",
    "Features": "mirlearn.export",
    "TrackForestClassifier": "mirlearn.classify",
    "load_config": "mirlearn.config",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mirlearn' has no attribute {name!r}")


def __dir__() -> list[str]:
    # the lazily imported names too, so that dir(), tab completion and help() show them
    return sorted(set(globals()) | set(_EXPORTS))

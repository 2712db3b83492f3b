"""Frames and features: |FFT| frames, standardisation, window aggregation, the frame cache.

Names are imported lazily so that ``import mirlearn.features`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FrameSet": "mirlearn.features.frameset",
    "FrameSettings": "mirlearn.features.spectral",
    "magnitude_frames": "mirlearn.features.spectral",
    "frame_count": "mirlearn.features.spectral",
    "Standardizer": "mirlearn.features.standardize",
    "aggregate": "mirlearn.features.aggregate",
    "aggregate_frameset": "mirlearn.features.aggregate",
    "window_frames": "mirlearn.features.aggregate",
    "extract_frames": "mirlearn.features.cache",
    "clear_cache": "mirlearn.features.cache",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mirlearn.features' has no attribute {name!r}")

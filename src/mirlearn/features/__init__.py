"""Frames and features: frame kinds, standardisation, window aggregation, the frame cache.

=================  ==================================================================
module             what it holds
=================  ==================================================================
settings           :class:`FrameSettings`: decoding, framing and kind, checked when made
representations/  the registry of frame kinds (fft, logmel, mfcc, cqt) and PMSC
timebase           :class:`TimeBase`: the time of every row (frames or windows)
frameset           :class:`FrameSet`: frames + offsets + tracks + time base
cache              :func:`extract_frames`: frames of a track table, memory-mapped on disk
shards             the same cache built by the ranks of a ``torchrun`` job, one share each
standardize        :class:`Standardizer`
aggregate          :func:`aggregate_frameset`: mean and variance over windows of seconds
pooling            :func:`pool_frameset`: several statistics over windows of several lengths
baselines          MFCC / log-mel by name with per-call options (the baselines' entry points)
=================  ==================================================================

Names are imported lazily so that ``import mirlearn.features`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FrameSet": "mirlearn.features.frameset",
    "TimeBase": "mirlearn.features.timebase",
    "FrameSettings": "mirlearn.features.settings",
    "FrameSettingError": "mirlearn.features.settings",
    "frame_count": "mirlearn.features.settings",
    "frames": "mirlearn.features.representations",
    "kinds": "mirlearn.features.representations",
    "register_kind": "mirlearn.features.representations",
    "magnitude_frames": "mirlearn.features.representations.fft",
    "PMSC": "mirlearn.features.representations.pmsc",
    "Standardizer": "mirlearn.features.standardize",
    "aggregate": "mirlearn.features.aggregate",
    "aggregate_frameset": "mirlearn.features.aggregate",
    "window_frames": "mirlearn.features.aggregate",
    "pool_frameset": "mirlearn.features.pooling",
    "extract_frames": "mirlearn.features.cache",
    "clear_cache": "mirlearn.features.cache",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mirlearn.features' has no attribute {name!r}")

"""Frame kinds: what is computed on every frame of a signal, one module per kind.

=========  ===========================================  ======================================
kind       module                                       values per frame (defaults)
=========  ===========================================  ======================================
``fft``    :mod:`~.representations.fft`                 ``n_fft // 2 + 1`` (513): ``|FFT|``
``logmel`` :mod:`~.representations.mel`                 ``n_mels`` (128) log-mel bands, dB
``mfcc``   :mod:`~.representations.mfcc`                20 MFCC + 20 deltas
``cqt``    :mod:`~.representations.cqt`                 ``n_bins`` (80) constant-Q bins, dB
=========  ===========================================  ======================================

All kinds share the framing of :class:`~mirlearn.features.settings.FrameSettings`
(``sr``, ``n_fft``, ``hop_length``, ``window``, ``center``), so every kind has one row per
``|FFT|`` frame and the cache, standardiser, aggregation and forest work on any of them.
:class:`~.representations.pmsc.PMSC` (PCA-whitened log-mel) is a fitted transform, not a
kind. A new kind is a new module calling :func:`register_kind`, imported below.
"""

from __future__ import annotations

from mirlearn.features.representations.registry import (
    FrameKind,
    FrameSettingError,
    describe_kinds,
    frames,
    kind,
    kinds,
    register_kind,
    unregister_kind,
)

# Imported for their registration; the order is the order of kinds().
from mirlearn.features.representations import fft as _fft  # noqa: E402,F401  isort: skip
from mirlearn.features.representations import mel as _mel  # noqa: E402,F401  isort: skip
from mirlearn.features.representations import mfcc as _mfcc  # noqa: E402,F401  isort: skip
from mirlearn.features.representations import cqt as _cqt  # noqa: E402,F401  isort: skip

__all__ = ["FrameKind", "FrameSettingError", "describe_kinds", "frames", "kind", "kinds", "register_kind",
           "unregister_kind"]

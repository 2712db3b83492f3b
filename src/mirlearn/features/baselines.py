"""Old home of the baseline features of the paper's Table 2 (MFCC, PMSC, log-mel).

The code lives in :mod:`mirlearn.features.representations`: ``mel`` (:func:`mel_filterbank`,
:func:`power_to_db`, :func:`logmel_frames`), ``mfcc`` (:func:`mfcc_frames`) and ``pmsc``
(:class:`PMSC`). This module re-exports them for old imports and keeps the by-name entry
points :func:`baseline_frames` / :func:`baseline_dim`, which take per-call options that the
registered kinds fix (``n_mels``, ``n_mfcc``, ...).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from mirlearn.features.representations.mel import AMIN, _hz_to_mel, _mel_to_hz, logmel_frames, mel_filterbank, \
    power_to_db
from mirlearn.features.representations.mfcc import mfcc_frames
from mirlearn.features.representations.pmsc import PMSC

BaselineKind = Literal["mfcc", "logmel"]

#: Frame kinds :func:`baseline_frames` computes.
BASELINE_KINDS: tuple[str, ...] = ("mfcc", "logmel")


def baseline_dim(kind: str, **options: Any) -> int:
    """Values per frame of :func:`baseline_frames` ``(kind, ..., **options)``.

    Parameters
    ----------
    kind : {"mfcc", "logmel"}
    **options
        The keyword arguments that would be passed to the frame function.

    Returns
    -------
    int
        ``n_mfcc * (2 if deltas else 1)`` for ``"mfcc"`` (40 by default), ``n_mels`` for
        ``"logmel"`` (128 by default).
    """
    if kind == "mfcc":
        return int(options.get("n_mfcc", 20)) * (2 if options.get("deltas", True) else 1)
    if kind == "logmel":
        return int(options.get("n_mels", 128))
    raise ValueError(f"unknown baseline kind {kind!r}; known: {', '.join(BASELINE_KINDS)}")


def baseline_frames(
    kind: str,
    y: np.ndarray,
    *,
    sr: int = 22050,
    n_fft: int = 1024,
    hop_length: int = 512,
    center: bool = False,
    **options: Any,
) -> np.ndarray:
    """Baseline frames of kind ``kind`` with per-call options.

    Parameters
    ----------
    kind : {"mfcc", "logmel"}
        :func:`mfcc_frames` or :func:`logmel_frames`.
    y : np.ndarray [shape=(n_samples,)]
        Mono audio at ``sr`` Hz.
    sr, n_fft, hop_length, center
        Shared framing, as :func:`~mirlearn.features.representations.fft.magnitude_frames`.
    **options
        Further keyword arguments of the frame function (``n_mels``, ``n_mfcc``,
        ``deltas``, ``top_db``, ``window``, ...).

    Returns
    -------
    np.ndarray [shape=(n_frames, baseline_dim(kind, **options))], float32

    Raises
    ------
    ValueError
        For an unknown ``kind`` or a signal shorter than one frame.
    """
    funcs = {"mfcc": mfcc_frames, "logmel": logmel_frames}
    if kind not in funcs:
        raise ValueError(f"unknown baseline kind {kind!r}; known: {', '.join(BASELINE_KINDS)}")
    return funcs[kind](y, sr=sr, n_fft=n_fft, hop_length=hop_length, center=center, **options)


__all__ = ["AMIN", "BASELINE_KINDS", "BaselineKind", "PMSC", "baseline_dim", "baseline_frames",
           "logmel_frames", "mel_filterbank", "mfcc_frames", "power_to_db", "_hz_to_mel", "_mel_to_hz"]

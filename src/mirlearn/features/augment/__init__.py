"""Data augmentation for training audio (issue #13).

=================  ==================================================================
module             what it holds
=================  ==================================================================
audio              pure functions on mono float32 audio: :func:`time_stretch`,
                   :func:`pitch_shift` (backends ``"librosa"``, ``"rubberband"``),
                   :func:`gain`, :func:`add_noise`, :func:`random_crop`
transforms         :class:`AudioTransform` (one variant of a data set: a transform, its
                   value, a random segment), copies' ids, and :func:`extract_augmented`
                   (every variant's frames through the frame cache)
=================  ==================================================================

Importing this package imports neither librosa nor pedalboard: each backend's library is
imported by the call that uses it (:func:`check_backend` checks it is installed).
"""

from __future__ import annotations

from mirlearn.features.augment.audio import (
    BACKENDS,
    DEFAULT_SHIFT_SEMITONES,
    DEFAULT_STRETCH_RATES,
    MAX_SEMITONES,
    add_noise,
    check_backend,
    gain,
    pitch_shift,
    random_crop,
    time_stretch,
)
from mirlearn.features.augment.transforms import (
    AudioTransform,
    copy_id,
    extract_augmented,
    offline_transforms,
    source_id,
)

__all__ = [
    "AudioTransform",
    "copy_id",
    "extract_augmented",
    "offline_transforms",
    "source_id",
    "BACKENDS",
    "DEFAULT_SHIFT_SEMITONES",
    "DEFAULT_STRETCH_RATES",
    "MAX_SEMITONES",
    "add_noise",
    "check_backend",
    "gain",
    "pitch_shift",
    "random_crop",
    "time_stretch",
]

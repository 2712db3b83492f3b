"""Frame settings: how audio is decoded and cut into frames, and what each frame holds.

One type, :class:`FrameSettings`, serves the frame cache, the models and the ``[frames]``
section of a configuration (:mod:`mirlearn.config` imports it from here). It is checked
when made, so that a bad value fails at once, naming the setting and the value.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from mirlearn.features import representations
from mirlearn.features.timebase import TimeBase


class FrameSettingError(ValueError):
    """A frame setting has a value it cannot have.

    Attributes
    ----------
    key : str
        The setting, e.g. ``"hop_length"``.
    value : object
        The value given.
    what : str
        What the value must be, e.g. ``"must be a positive integer"``.
    """

    def __init__(self, key: str, value: Any, what: str) -> None:
        self.key, self.value, self.what = key, value, what
        super().__init__(f"{key}={value!r}: {what}")


@dataclass(frozen=True)
class FrameSettings:
    """How audio is decoded and cut into frames, and what is computed on each frame.

    Attributes
    ----------
    sr : int
        Sampling rate the audio is decoded at, Hz.
    n_fft : int
        Frame length, samples.
    hop_length : int
        Distance between the starts of consecutive frames, samples; at most ``n_fft``
        (a longer hop would skip samples between frames).
    window : str
        Window name as understood by ``scipy.signal.get_window`` (periodic form).
    center : bool
        ``False`` (the paper): frame ``t`` covers samples ``[t * hop, t * hop + n_fft)``.
        ``True``: the signal is zero-padded by ``n_fft // 2`` on both sides first, so frame
        ``t`` is centred on sample ``t * hop`` (librosa's default).
    kind : str
        What is computed per frame: a registered frame kind (see
        :func:`mirlearn.features.representations.kinds`; ``'fft'``: ``|FFT|``).
    max_seconds : float or None
        Decode only the first ``max_seconds`` seconds of every track (the ISMIR 2004
        protocol: 30); ``None`` decodes all of it.

    Raises
    ------
    FrameSettingError
        (a ``ValueError``) naming the setting and its value, for a non-positive rate,
        length or hop, a hop longer than the frame, an unknown kind, or a non-positive
        ``max_seconds``.

    Examples
    --------
    >>> s = FrameSettings()
    >>> s.dim, s.replace(kind="mfcc").dim
    (513, 40)
    """

    sr: int = 22050
    n_fft: int = 1024
    hop_length: int = 512
    window: str = "hann"
    center: bool = False
    kind: str = "fft"
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("sr", "n_fft", "hop_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise FrameSettingError(name, value, "must be a positive integer")
        if self.hop_length > self.n_fft:
            raise FrameSettingError("hop_length", self.hop_length,
                                    f"must be at most n_fft ({self.n_fft}): a longer hop skips samples")
        if not isinstance(self.window, str) or not self.window:
            raise FrameSettingError("window", self.window, "must be a window name such as 'hann'")
        if not isinstance(self.center, (bool, np.bool_)):
            raise FrameSettingError("center", self.center, "must be true or false")
        if self.kind not in representations.kinds():
            raise FrameSettingError("kind", self.kind,
                                    f"unknown frame kind; known: {', '.join(representations.kinds())}")
        m = self.max_seconds
        if m is not None:
            if isinstance(m, bool) or not isinstance(m, (int, float, np.integer, np.floating)) \
                    or not (math.isfinite(m) and m > 0):
                raise FrameSettingError("max_seconds", m, "must be a positive number of seconds (or unset)")
            object.__setattr__(self, "max_seconds", float(m))

    @property
    def dim(self) -> int:
        """Values per frame (``n_fft // 2 + 1`` for ``kind='fft'``)."""
        return int(representations.kind(self.kind).dim(self))

    @property
    def time_base(self) -> TimeBase:
        """The time base of frames made with these settings."""
        return TimeBase(self.sr, self.hop_length, self.kind, n_fft=self.n_fft, center=self.center)

    def frame_count(self, n_samples: int) -> int:
        """Frames of a signal of ``n_samples`` samples; see :func:`frame_count`."""
        return frame_count(n_samples, self)

    def replace(self, **changes: Any) -> "FrameSettings":
        """A checked copy with some settings changed, e.g. ``s.replace(kind="logmel")``."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, saved with models and in the records of a run."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FrameSettings":
        """Inverse of :meth:`to_dict` (``max_seconds`` may be absent); unknown keys raise ``TypeError``."""
        return cls(**d)


def frame_count(n_samples: int, settings: FrameSettings) -> int:
    """Number of frames that :func:`~mirlearn.features.representations.frames` returns.

    Parameters
    ----------
    n_samples : int
        Length of the signal, in samples.
    settings : FrameSettings

    Returns
    -------
    int
        ``1 + (n_samples - n_fft) // hop_length`` without centring (0 when the signal is
        shorter than one frame), ``1 + n_samples // hop_length`` with centring.
    """
    n = int(n_samples)
    if settings.center:
        n += 2 * (settings.n_fft // 2)
    if n < settings.n_fft:
        return 0
    return 1 + (n - settings.n_fft) // settings.hop_length


__all__ = ["FrameSettingError", "FrameSettings", "frame_count"]

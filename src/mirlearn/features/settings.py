"""Frame settings: how audio is decoded and cut into frames, and what each frame holds.

One type, :class:`FrameSettings`, serves the frame cache, the models and the ``[frames]``
section of a configuration (:mod:`mirlearn.config` imports it from here). It is checked
when made, so that a bad value fails at once, naming the setting and the value.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from mirlearn.features import representations
from mirlearn.features.representations.registry import FrameSettingError
from mirlearn.features.timebase import TimeBase

#: Settings read by some frame kinds only (see :class:`FrameSettings`). Each enters
#: ``to_dict()`` (hence cache keys and fingerprints) only when its kind reads it and it
#: differs from its default, so the dicts and keys of settings made before these existed
#: are unchanged.
KIND_PARAMS = ("n_mels", "fmin", "fmax", "top_db", "n_bins", "bins_per_octave")


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
    n_mels : int
        ``kind='logmel'``: mel bands (values per frame), 128 by default (PMSC's input;
        40 / 80 / 96 for the CNNs).
    fmin : float or None
        Lowest frequency, Hz. ``'logmel'``: lower edge of the filterbank (``None``: 0 Hz);
        ``'cqt'``: centre of the lowest bin (``None``: C1, 32.70 Hz, librosa's default).
    fmax : float or None
        ``'logmel'``: upper edge of the filterbank, Hz, above ``fmin`` and at most
        ``sr / 2`` (``None``: ``sr / 2``).
    top_db : float or None
        ``'logmel'`` and ``'cqt'``: values more than ``top_db`` dB below the loudest value
        of the *track* (the whole decoded signal, after ``max_seconds``) are raised to that
        level, as ``librosa.power_to_db(S, top_db=80)`` on the track's spectrogram (and as
        the cache has always stored ``'logmel'``). ``None`` (or ``inf``, its form in TOML)
        leaves only the absolute floor of -100 dB, so a row does not depend on the rest of
        its track. Stored as ``inf`` when given as ``None``.
    n_bins : int
        ``'cqt'``: bins (values per frame), 80 by default (the parallel CNN's input).
    bins_per_octave : int
        ``'cqt'``: bins per octave (12 by default; 24, 36 ...).

    Raises
    ------
    FrameSettingError
        (a ``ValueError``) naming the setting and its value, for a non-positive rate,
        length or hop, a hop longer than the frame, an unknown kind, a non-positive
        ``max_seconds``, ``n_mels``, ``n_bins``, ``bins_per_octave`` or ``top_db``, a
        negative ``fmin``; and, for the kind that reads them, ``fmax`` above ``sr / 2`` or
        not above ``fmin`` (``'logmel'``), a top CQT bin reaching above ``sr / 2`` (named
        ``n_bins``) or ``fmin`` of 0 (``'cqt'``).

    Examples
    --------
    >>> s = FrameSettings()
    >>> s.dim, s.replace(kind="mfcc").dim, s.replace(kind="logmel", n_mels=80).dim
    (513, 40, 80)
    """

    sr: int = 22050
    n_fft: int = 1024
    hop_length: int = 512
    window: str = "hann"
    center: bool = False
    kind: str = "fft"
    max_seconds: float | None = None
    n_mels: int = 128
    fmin: float | None = None
    fmax: float | None = None
    top_db: float | None = 80.0
    n_bins: int = 80
    bins_per_octave: int = 12

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
        self._check_kind_params()

    def _check_kind_params(self) -> None:
        # Each value on its own, whatever the kind; how they go together, by the kind.
        for name in ("n_mels", "n_bins", "bins_per_octave"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise FrameSettingError(name, value, "must be a positive integer")
        for name in ("fmin", "fmax"):
            value = getattr(self, name)
            if value is None:
                continue
            if not _is_number(value) or not math.isfinite(value) or value < 0 \
                    or (name == "fmax" and value == 0):
                what = "a non-negative" if name == "fmin" else "a positive"
                raise FrameSettingError(name, value, f"must be {what} frequency in Hz (or unset)")
            object.__setattr__(self, name, float(value))
        t = self.top_db
        if t is None:
            object.__setattr__(self, "top_db", math.inf)
        elif not _is_number(t) or math.isnan(t) or t <= 0:
            raise FrameSettingError("top_db", t, "must be a positive number of dB (inf: no floor)")
        else:
            object.__setattr__(self, "top_db", float(t))
        check = representations.kind(self.kind).check
        if check is not None:
            check(self)

    @property
    def dim(self) -> int:
        """Values per frame, known before any audio (``n_fft // 2 + 1`` for ``'fft'``,
        ``n_mels`` for ``'logmel'``, ``n_bins`` for ``'cqt'``)."""
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

    @property
    def db_floor(self) -> float | None:
        """``top_db`` as the kinds take it: ``None`` for no floor relative to the maximum."""
        return None if math.isinf(self.top_db) else self.top_db

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, saved with models and in the records of a run (and hashed into
        frame-cache keys).

        Holds the framing fields always, and of :data:`KIND_PARAMS` only those that the kind
        reads and that differ from their defaults: settings that make the same frames give
        the same dict, and the dicts (and cache keys) of the settings that existed before
        these fields are unchanged.
        """
        d = asdict(self)
        used = representations.kind(self.kind).params
        for name in KIND_PARAMS:
            if name not in used or d[name] == _DEFAULTS[name]:
                del d[name]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FrameSettings":
        """Inverse of :meth:`to_dict` (``max_seconds`` may be absent); unknown keys raise ``TypeError``."""
        return cls(**d)


_DEFAULTS = {f.name: f.default for f in fields(FrameSettings)}


def _is_number(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating))


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

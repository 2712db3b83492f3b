"""The time base of a frame matrix: which instant of its track every row stands for.

Frames are cut from audio decoded at ``sr`` Hz, one every ``hop_length`` samples; with
``center=False`` (the paper) frame ``t`` covers samples ``[t * hop, t * hop + n_fft)``, with
``center=True`` it is centred on sample ``t * hop`` (it covers ``[t * hop - n_fft // 2,
t * hop - n_fft // 2 + n_fft)`` of the unpadded signal). Learned features keep the time base
of their frames (kind ``"features"``); aggregation turns it into windows of ``window_seconds``
every ``window_hop_seconds`` (kind ``"windows"``), rounded to whole frames by
:func:`window_frames` exactly as the aggregation itself rounds them.

Examples
--------
>>> tb = TimeBase(22050, 512, "fft", n_fft=1024)
>>> tb.times(3)                      # start of each frame, s
array([0.        , 0.02321995, 0.04643991])
>>> w = tb.windows(5.0, 2.5)         # 215-frame windows every 108 frames
>>> (w.window_frames, w.window_hop_frames)
(215, 108)
>>> w.times(2).round(4)
array([0.    , 2.5078])
"""

from __future__ import annotations

import math
from dataclasses import KW_ONLY, asdict, dataclass, replace
from typing import Any, Literal

import numpy as np

#: Kind of the rows of an aggregated FrameSet.
WINDOWS = "windows"
#: Kind of learned activations (one row per input frame).
FEATURES = "features"

Anchor = Literal["start", "center", "end"]


def window_frames(seconds: float, sr: int, hop_length: int) -> int:
    """Convert a duration in seconds to a number of frames.

    Parameters
    ----------
    seconds : float
        Duration, in seconds.
    sr : int
        Sampling rate, in Hz.
    hop_length : int
        Hop between frames, in samples.

    Returns
    -------
    int
        ``round(seconds * sr / hop_length)``, halves rounded up; e.g. 5 s -> 215 and
        2.5 s -> 108 frames at 22050 Hz with hop 512.

    Raises
    ------
    ValueError
        If the result is below one frame.
    """
    x = seconds * sr / hop_length
    n = int(math.floor(x + 0.5))
    if n < 1:
        raise ValueError(f"{seconds} s is less than one frame ({hop_length / sr:.4f} s)")
    return n


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class TimeBase:
    """Sample rate, hop and kind of the rows of a frame matrix; for windows, their size.

    Attributes
    ----------
    sr : int
        Sampling rate the audio was decoded at, Hz.
    hop_length : int
        Hop between consecutive frames, samples.
    kind : str
        What a row holds: a frame kind (``"fft"``, ``"logmel"``, ``"mfcc"``, ...),
        ``"features"`` for learned activations (one row per frame), ``"windows"`` for
        aggregated rows (one row per window), or any other label (``"pmsc"``).
    window_seconds, window_hop_seconds : float or None
        For aggregated rows: window length and hop as asked, in seconds (both set or both
        ``None``). The windows really hold :attr:`window_frames` frames every
        :attr:`window_hop_frames` frames.
    n_fft : int or None (keyword only)
        Frame length, samples; ``None`` when unknown (then only start times are known).
    center : bool (keyword only)
        Whether frames were centred (``n_fft // 2`` samples of zero padding first).
    """

    sr: int
    hop_length: int
    kind: str
    window_seconds: float | None = None
    window_hop_seconds: float | None = None
    _: KW_ONLY
    n_fft: int | None = None
    center: bool = False

    def __post_init__(self) -> None:
        _positive_int("sr", self.sr)
        _positive_int("hop_length", self.hop_length)
        if self.n_fft is not None:
            _positive_int("n_fft", self.n_fft)
        if not isinstance(self.kind, str) or not self.kind:
            raise ValueError(f"kind must be a non-empty string, got {self.kind!r}")
        if (self.window_seconds is None) != (self.window_hop_seconds is None):
            raise ValueError("window_seconds and window_hop_seconds are set together or not at all")
        if self.window_seconds is not None:
            for name in ("window_seconds", "window_hop_seconds"):
                v = getattr(self, name)
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                    raise ValueError(f"{name} must be a positive number of seconds, got {v!r}")
                object.__setattr__(self, name, float(v))
            window_frames(self.window_seconds, self.sr, self.hop_length)  # raises below one frame
            window_frames(self.window_hop_seconds, self.sr, self.hop_length)
        if self.center and self.n_fft is None:
            raise ValueError("a centred time base needs n_fft (frames start n_fft // 2 early)")

    # -- what a row is ---------------------------------------------------------------------
    @property
    def is_windows(self) -> bool:
        """True when every row is an aggregation window of several frames."""
        return self.window_seconds is not None

    @property
    def frame_seconds(self) -> float:
        """Hop between frames, s (``hop_length / sr``: 23.2 ms in the paper)."""
        return self.hop_length / self.sr

    @property
    def window_frames(self) -> int | None:
        """Frames per window (215 for 5 s at 22050 Hz, hop 512); ``None`` for frame rows."""
        if self.window_seconds is None:
            return None
        return window_frames(self.window_seconds, self.sr, self.hop_length)

    @property
    def window_hop_frames(self) -> int | None:
        """Frames between window starts (108 for 2.5 s); ``None`` for frame rows."""
        if self.window_hop_seconds is None:
            return None
        return window_frames(self.window_hop_seconds, self.sr, self.hop_length)

    @property
    def row_hop_samples(self) -> int:
        """Samples between the starts of consecutive rows of a track."""
        return self.hop_length * (self.window_hop_frames or 1)

    @property
    def row_length_samples(self) -> int | None:
        """Samples a row covers (``n_fft`` for a frame; for a full window, from the start of
        its first frame to the end of its last); ``None`` when ``n_fft`` is unknown."""
        if self.n_fft is None:
            return None
        return self.hop_length * ((self.window_frames or 1) - 1) + self.n_fft

    # -- time stamps -------------------------------------------------------------------------
    def times(self, n_rows: int, anchor: Anchor = "start") -> np.ndarray:
        """Time of the first ``n_rows`` rows of a track, s from the start of the track.

        Parameters
        ----------
        n_rows : int
            Rows of the track (frames, or windows).
        anchor : {"start", "center", "end"}
            Which instant of each row: the first sample it covers, its middle, or one past
            its last sample. With ``center=True`` the first frame starts ``n_fft // 2``
            samples before the track (in the zero padding), so its centre is at 0 s.

        Returns
        -------
        np.ndarray [shape=(n_rows,)], float64, seconds
            Row ``k`` starts at ``(k * row_hop_samples - pad) / sr``, ``pad = n_fft // 2``
            when centred, else 0. A track shorter than one window has one window over all
            its frames: its start is right, its centre and end are those of a full window.

        Raises
        ------
        ValueError
            For an anchor other than ``"start"`` when ``n_fft`` is unknown.
        """
        if anchor not in ("start", "center", "end"):
            raise ValueError(f"anchor must be 'start', 'center' or 'end', got {anchor!r}")
        pad = self.n_fft // 2 if self.center else 0
        start = np.arange(int(n_rows), dtype=np.float64) * self.row_hop_samples - pad
        if anchor != "start":
            length = self.row_length_samples
            if length is None:
                raise ValueError(f"the {anchor} of a row needs n_fft, which this time base lacks")
            start += length / 2 if anchor == "center" else length
        return start / self.sr

    # -- derived time bases --------------------------------------------------------------------
    def replace(self, **changes: Any) -> "TimeBase":
        """A copy with some fields changed, e.g. ``tb.replace(kind="features")``."""
        return replace(self, **changes)

    def windows(self, window_seconds: float, hop_seconds: float) -> "TimeBase":
        """The time base of these frames aggregated over windows (kind ``"windows"``).

        Raises
        ------
        ValueError
            If this time base is already one of windows.
        """
        if self.is_windows:
            raise ValueError("these rows are windows already; aggregate frames, not windows")
        return replace(self, kind=WINDOWS, window_seconds=window_seconds,
                       window_hop_seconds=hop_seconds)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (saved beside features, so that their times can be recomputed)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TimeBase":
        """Inverse of :meth:`to_dict`; unknown keys raise ``TypeError``."""
        return cls(**d)


__all__ = ["FEATURES", "WINDOWS", "TimeBase", "window_frames"]

"""Frame kind ``"logmel"``: the log mel spectrum of every frame (the input of PMSC and CNNs).

Power spectrum ``|FFT|**2`` of the ``"fft"`` frames (:func:`~mirlearn.features.
representations.fft.magnitude_frames`, so one row per ``|FFT|`` frame) -> Slaney mel
filterbank (the one of ``librosa.filters.mel``: Slaney mel scale, area-normalised
triangles, ``fmin`` to ``fmax``, 0 Hz to sr / 2 by default) -> decibels
``10 log10(max(1e-10, S))`` (``ref=1``), floored ``top_db`` (80) dB below the loudest value
of the signal, as ``librosa.power_to_db``. Written with numpy, so librosa is not needed at
run time; the tests compare every step with librosa.

The settings' ``n_mels``, ``fmin``, ``fmax`` and ``top_db`` choose the bands and the floor.
The floor's reference is the loudest band of the whole signal given, which in the frame cache
is the whole decoded track (after ``max_seconds``): every track is computed in one piece,
so its rows are the same in the cache, in ``predict`` on the file, and on the array.
``top_db=None`` makes every row independent of the others (absolute -100 dB floor only).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from mirlearn.features.representations.fft import magnitude_frames
from mirlearn.features.representations.registry import FrameSettingError, register_kind

if TYPE_CHECKING:
    from mirlearn.features.settings import FrameSettings

#: Default mel bands of the registered ``"logmel"`` kind (the PMSC input of the paper's
#: Table 2); ``FrameSettings.n_mels`` chooses others.
N_MELS = 128

#: Floor of the power (mel) spectrum before the logarithm, as ``librosa.power_to_db``'s amin.
AMIN = 1e-10


# ------------------------------------------------------------------------------------------
# Mel filterbank (Slaney), equal to librosa.filters.mel(htk=False, norm="slaney")
# ------------------------------------------------------------------------------------------
def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    # Slaney's Auditory Toolbox scale: linear below 1 kHz, logarithmic above.
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz,
                    min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep, mels)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=16)
def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Slaney-style triangular mel filterbank (read-only, cached).

    Parameters
    ----------
    sr : int
        Sampling rate, Hz.
    n_fft : int
        FFT length, samples; the filters act on its ``n_fft // 2 + 1`` bins.
    n_mels : int
        Number of bands.
    fmin, fmax : float
        Lowest and highest frequency covered, Hz (``fmax=None``: ``sr / 2``).

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1)], float32
        Band weights, equal to ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels,
        fmin=fmin, fmax=fmax)`` (Slaney mel scale, each triangle scaled to unit area in Hz,
        ``2 / (f_high - f_low)``).
    """
    if n_mels < 1:
        raise ValueError(f"n_mels must be positive, got {n_mels}")
    fmax = sr / 2.0 if fmax is None else float(fmax)
    if not 0.0 <= fmin < fmax:
        raise ValueError(f"need 0 <= fmin < fmax, got fmin={fmin}, fmax={fmax}")
    fftfreqs = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    lower = -ramps[:n_mels] / fdiff[:n_mels, None]
    upper = ramps[2:n_mels + 2] / fdiff[1:n_mels + 1, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    w = weights.astype(np.float32)
    w.setflags(write=False)
    return w


def power_to_db(S: np.ndarray, *, amin: float = AMIN, top_db: float | None = 80.0) -> np.ndarray:
    """Decibels of a power spectrum, as ``librosa.power_to_db(S, ref=1.0)``.

    Parameters
    ----------
    S : np.ndarray
        Non-negative power values.
    amin : float
        Floor applied before the logarithm (-100 dB for 1e-10).
    top_db : float or None
        Values more than ``top_db`` dB below the maximum of the whole of ``S`` are raised
        to that level; ``None`` keeps every frame independent of the others.

    Returns
    -------
    np.ndarray, same shape and float dtype as ``S``
        ``10 * log10(max(amin, S))``, floored as above.
    """
    out = np.log10(np.maximum(S, amin))
    out *= 10.0
    if top_db is not None:
        if top_db < 0:
            raise ValueError(f"top_db must be non-negative, got {top_db}")
        if out.size:
            np.maximum(out, out.max() - top_db, out=out)
    return out


def logmel_frames(
    y: np.ndarray,
    *,
    sr: int = 22050,
    n_fft: int = 1024,
    hop_length: int = 512,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    top_db: float | None = 80.0,
    center: bool = False,
    window: str | tuple | np.ndarray = "hann",
) -> np.ndarray:
    """Log mel spectrum (dB) of every frame of a mono signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio at ``sr`` Hz; computed in float32.
    sr : int
        Sampling rate, Hz.
    n_fft, hop_length : int
        Frame length and hop, samples (1024 and 512, as the ``|FFT|`` frames).
    n_mels : int
        Number of mel bands (128 by default, the PMSC input).
    fmin, fmax : float
        Frequency range of the filterbank, Hz (``None``: ``sr / 2``).
    top_db : float or None
        Floor, in dB below the loudest band of the whole signal (80, as librosa);
        ``None``: only the absolute floor of -100 dB, so a frame does not depend on the rest
        of the signal.
    center : bool
        Framing as :func:`~mirlearn.features.representations.fft.magnitude_frames`
        (``False``: frame ``t`` is ``y[t * hop_length : t * hop_length + n_fft]``).
    window : str, tuple or np.ndarray [shape=(n_fft,)]
        Analysis window, as ``magnitude_frames`` (periodic Hann by default).

    Returns
    -------
    np.ndarray [shape=(n_frames, n_mels)], float32
        ``10 log10(max(1e-10, |FFT|**2 @ mel.T))`` in dB (power, unnormalised FFT; no
        ``ref``), with the same ``n_frames`` as ``magnitude_frames``. Equal to
        ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft,
        hop_length=hop_length, center=center, n_mels=n_mels), top_db=top_db).T``.

    Raises
    ------
    ValueError
        If ``y`` is not one-dimensional or is shorter than one frame.
    """
    mag = magnitude_frames(y, n_fft=n_fft, hop_length=hop_length, window=window, center=center)
    power = np.square(mag, out=mag)
    mel = power @ mel_filterbank(int(sr), int(n_fft), int(n_mels), float(fmin), fmax).T
    return power_to_db(mel, top_db=top_db).astype(np.float32, copy=False)


def _check_logmel(s: "FrameSettings") -> None:
    """The filterbank's range must be inside ``[0, sr / 2]`` and not empty."""
    fmin = 0.0 if s.fmin is None else s.fmin
    fmax = s.sr / 2.0 if s.fmax is None else s.fmax
    if fmax > s.sr / 2.0:
        raise FrameSettingError("fmax", s.fmax, f"must be at most sr / 2 = {s.sr / 2:g} Hz")
    if fmax <= fmin:
        which = "fmax" if s.fmax is not None else "fmin"
        raise FrameSettingError(which, getattr(s, which),
                                f"fmax ({fmax:g} Hz) must be above fmin ({fmin:g} Hz)")


def _logmel(y: np.ndarray, s: "FrameSettings") -> np.ndarray:
    return logmel_frames(y, sr=s.sr, n_fft=s.n_fft, hop_length=s.hop_length, n_mels=s.n_mels,
                         fmin=0.0 if s.fmin is None else s.fmin, fmax=s.fmax, top_db=s.db_floor,
                         center=s.center, window=s.window)


register_kind(
    "logmel",
    _logmel,
    lambda s: s.n_mels,
    description="log mel spectrum, n_mels Slaney bands in dB (128 by default: the input of PMSC)",
    params=("n_mels", "fmin", "fmax", "top_db"),
    check=_check_logmel,
)

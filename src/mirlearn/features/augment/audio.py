"""Audio-domain augmentations: pure functions on one mono float32 signal.

Every function takes ``y`` — mono samples, ``np.ndarray [shape=(n_samples,)]`` — and returns a
new float32, C-contiguous, finite array; none modifies ``y``. Parameters are checked first: a
bad value raises :class:`~mirlearn.errors.ConfigError` with one line naming the parameter.

=================  ==========================================================================
function           what it does
=================  ==========================================================================
time_stretch       tempo × ``rate`` (> 1 faster), pitch kept; about ``round(n / rate)`` samples
pitch_shift        pitch × ``2 ** (semitones / 12)``, duration kept (same number of samples)
gain               level + ``db`` dB (no clipping: samples stay floats)
add_noise          white Gaussian noise at an exact signal-to-noise ratio in dB
random_crop        a random contiguous segment of ``n_samples`` samples
=================  ==========================================================================

Time stretch and pitch shift are expensive (tens of × real time, see
``benchmarks/bench_augment.py``), so they are meant to run offline into the frame cache; gain,
noise and crop cost a pass over the samples and run on the fly.

Backends of the two expensive transforms (:data:`BACKENDS`):

- ``"librosa"``: ``librosa.effects.time_stretch`` (a phase vocoder, STFT 2048 / hop 512) and
  ``librosa.effects.pitch_shift`` (that stretch, then resampling with soxr,
  ``res_type="soxr_hq"``). Extra: ``pip install "mirlearn[augment]"``.
- ``"rubberband"``: the Rubber Band library through Spotify's ``pedalboard`` package
  (``pedalboard.time_stretch``, a binary wheel; no system program is needed), in its
  high-quality offline mode with crisp transients. Pitch shifts move the formants with the
  pitch (``preserve_formants=False``), as librosa's resampling and the ``rubberband`` command
  line do by default. Extra: ``pip install "mirlearn[rubberband]"``. Licence: pedalboard is
  GPLv3 because Rubber Band is; it is an optional extra, imported only when this backend is
  chosen, so mirlearn itself (MIT) never links it otherwise.

The libraries are imported inside the functions: ``import mirlearn`` works without them.

Defaults worth knowing (Schindler & Lidy's augmentation tutorial, the seed of issue #13):
stretch rates :data:`DEFAULT_STRETCH_RATES` and shifts :data:`DEFAULT_SHIFT_SEMITONES`.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from numbers import Integral, Real
from typing import Any

import numpy as np

from mirlearn.errors import ConfigError

#: The backends of :func:`time_stretch` and :func:`pitch_shift`.
BACKENDS: tuple[str, ...] = ("librosa", "rubberband")

#: Stretch rates of Schindler & Lidy's tutorial (> 1 is faster, librosa's convention).
DEFAULT_STRETCH_RATES: tuple[float, ...] = (0.2, 0.5, 1.2, 1.5)

#: Pitch shifts of Schindler & Lidy's tutorial, in semitones.
DEFAULT_SHIFT_SEMITONES: tuple[float, ...] = (-5.0, -2.0, 2.0, 5.0)

#: The largest pitch shift accepted, in semitones (two octaves either way).
MAX_SEMITONES: float = 24.0

# backend → (module imported, pip extra that installs it)
_LIBRARIES = {"librosa": ("librosa", "augment"), "rubberband": ("pedalboard", "rubberband")}


# --------------------------------------------------------------------------- backends


def check_backend(name: str) -> None:
    """Check that ``name`` is a known backend whose library is installed.

    Cheap: the library is looked up, not imported.

    Raises
    ------
    ConfigError
        ``name`` is not one of :data:`BACKENDS`, or its package is not installed (the message
        names the pip extra that installs it).
    """
    if name not in _LIBRARIES:
        raise ConfigError(f"backend: unknown augmentation backend {name!r}; choose one of "
                          + ", ".join(BACKENDS))
    module, extra = _LIBRARIES[name]
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"backend: {name!r} needs the {module} package, which is not installed: "
                          f'pip install "mirlearn[{extra}]"')


def _library(name: str) -> Any:
    """The backend's module, imported (after :func:`check_backend`)."""
    check_backend(name)
    return importlib.import_module(_LIBRARIES[name][0])


# --------------------------------------------------------------------------- transforms


def time_stretch(y: np.ndarray, sr: int, rate: float, *, backend: str = "librosa") -> np.ndarray:
    """Change the tempo by ``rate``, keeping the pitch.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio (converted to float32).
    sr : int
        Sampling rate of ``y`` in Hz (Rubber Band uses it to size its analysis; the phase
        vocoder does not need it).
    rate : float
        Speed factor, > 0: ``rate > 1`` plays faster (shorter output), ``rate < 1`` slower.
        ``rate == 1`` returns a copy of ``y`` untouched.
    backend : {"librosa", "rubberband"}
        The library that stretches (see the module docstring).

    Returns
    -------
    np.ndarray [shape=(round(n_samples / rate),), dtype=float32]
        The stretched audio at the same ``sr``.

    Raises
    ------
    ConfigError
        ``rate`` is not a finite number > 0 or leaves no sample, ``y`` is empty, not 1-D or
        not finite, ``sr`` is not a positive integer, or ``backend`` is unusable.
    """
    y = _mono(y)
    sr = _rate_hz(sr)
    rate = _finite(rate, "rate")
    if rate <= 0:
        raise ConfigError(f"rate: the stretch rate must be > 0 (got {rate:g})")
    n_out = round(len(y) / rate)
    if n_out < 1:
        raise ConfigError(f"rate: a stretch by {rate:g} leaves no sample of a {len(y)}-sample signal")
    check_backend(backend)
    if rate == 1.0:
        return y.copy()
    if backend == "librosa":
        out = _library("librosa").effects.time_stretch(y, rate=rate)
    else:
        out = _library("rubberband").time_stretch(y, float(sr), stretch_factor=rate)[0]
    # Both give exactly round(n / rate) samples today; pinning it keeps the contract if not.
    return _finish(out, n_out)


def pitch_shift(y: np.ndarray, sr: int, semitones: float, *, backend: str = "librosa") -> np.ndarray:
    """Shift the pitch by ``semitones``, keeping the duration.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio (converted to float32).
    sr : int
        Sampling rate of ``y`` in Hz.
    semitones : float
        The shift in (possibly fractional) semitones, ``|semitones| <= 24``; every frequency is
        multiplied by ``2 ** (semitones / 12)``. ``0`` returns a copy of ``y`` untouched.
    backend : {"librosa", "rubberband"}
        The library that shifts (see the module docstring).

    Returns
    -------
    np.ndarray [shape=(n_samples,), dtype=float32]
        The shifted audio, as many samples as ``y``, at the same ``sr``.

    Raises
    ------
    ConfigError
        ``|semitones| > 24`` or not finite, ``y`` is empty, not 1-D or not finite, ``sr`` is
        not a positive integer, or ``backend`` is unusable.
    """
    y = _mono(y)
    sr = _rate_hz(sr)
    semitones = _finite(semitones, "semitones")
    if abs(semitones) > MAX_SEMITONES:
        raise ConfigError(f"semitones: a pitch shift must be within ±{MAX_SEMITONES:g} semitones "
                          f"(got {semitones:g})")
    check_backend(backend)
    if semitones == 0.0:
        return y.copy()
    if backend == "librosa":
        out = _library("librosa").effects.pitch_shift(y, sr=sr, n_steps=semitones, res_type="soxr_hq")
    else:
        out = _library("rubberband").time_stretch(y, float(sr), stretch_factor=1.0,
                                                  pitch_shift_in_semitones=semitones,
                                                  preserve_formants=False)[0]
    return _finish(out, len(y))


def gain(y: np.ndarray, db: float) -> np.ndarray:
    """``y`` scaled by ``db`` decibels: every sample × ``10 ** (db / 20)``.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio.
    db : float
        Gain in dB (negative attenuates). Nothing is clipped: samples may leave [-1, 1].

    Returns
    -------
    np.ndarray [shape=(n_samples,), dtype=float32]

    Raises
    ------
    ConfigError
        ``db`` is not finite, or ``y`` is empty, not 1-D or not finite.
    """
    y = _mono(y, check_finite=False)  # the output's check below covers the input's (one pass, not two)
    db = _finite(db, "db")
    try:
        factor = np.float32(10.0 ** (db / 20.0))
    except OverflowError:
        factor = np.float32(np.inf)
    with np.errstate(over="ignore", invalid="ignore"):  # reported below, as a ConfigError
        out = y * factor
    if not _all_finite(out):
        _mono(y)  # a non-finite input is named as such
        raise ConfigError(f"db: a gain of {db:g} dB overflows float32 on this signal")
    return out


def add_noise(y: np.ndarray, snr_db: float, rng: np.random.Generator | int) -> np.ndarray:
    """``y`` plus white Gaussian noise at a signal-to-noise ratio of exactly ``snr_db``.

    The noise is drawn from ``rng`` and scaled so that ``10 * log10(P_signal / P_noise)`` equals
    ``snr_db``, each ``P`` the mean square over the whole signal (the noise is scaled by its own
    drawn power, so the ratio is exact, not only expected). An all-zero ``y`` stays zero.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio.
    snr_db : float
        Signal-to-noise ratio in dB (finite; may be negative: more noise than signal).
    rng : np.random.Generator or int
        Source of the noise (an int seeds a new generator); the same seed gives the same output.

    Returns
    -------
    np.ndarray [shape=(n_samples,), dtype=float32]

    Raises
    ------
    ConfigError
        ``snr_db`` is not finite, or ``y`` is empty, not 1-D or not finite.
    """
    y = _mono(y)
    snr_db = _finite(snr_db, "snr_db")
    p_signal = _power(y)
    rng = np.random.default_rng(rng)
    noise = rng.standard_normal(len(y), dtype=np.float32)  # float32 draws: cheaper than float64
    p_noise = _power(noise)
    if p_signal == 0.0 or p_noise == 0.0:
        return y.copy()
    noise *= np.float32(math.sqrt(p_signal / p_noise * 10.0 ** (-snr_db / 10.0)))
    noise += y
    return noise


def random_crop(y: np.ndarray, n_samples: int, rng: np.random.Generator | int) -> np.ndarray:
    """A contiguous segment of ``n_samples`` samples of ``y``, its start drawn uniformly.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio.
    n_samples : int
        Length of the segment in samples (>= 1). A ``y`` shorter than that is returned whole
        (a copy); the caller warns, naming the track.
    rng : np.random.Generator or int
        Source of the start (an int seeds a new generator).

    Returns
    -------
    np.ndarray [shape=(min(n, n_samples),), dtype=float32]
        A copy of ``y[start:start + n_samples]``.

    Raises
    ------
    ConfigError
        ``n_samples`` is not an integer >= 1, ``y`` is empty or not 1-D, or the segment drawn
        holds non-finite samples.
    """
    y = _mono(y, check_finite=False)  # only the segment returned is checked: its cost, not the track's
    if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1:
        raise ConfigError(f"n_samples: the segment length must be an integer >= 1 (got {n_samples!r})")
    n_samples = int(n_samples)
    if len(y) <= n_samples:
        out = y.copy()
    else:
        start = int(np.random.default_rng(rng).integers(0, len(y) - n_samples + 1))
        out = y[start:start + n_samples].copy()
    if not _all_finite(out):
        raise ConfigError("y: the segment cropped holds non-finite samples (NaN or inf)")
    return out


# --------------------------------------------------------------------------- checks


def _mono(y: np.ndarray, *, check_finite: bool = True) -> np.ndarray:
    """``y`` as a 1-D float32 C-contiguous array (``y`` itself when it already is one)."""
    y = np.ascontiguousarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ConfigError(f"y: expected mono audio of shape (n_samples,), got shape {y.shape}")
    if y.size == 0:
        raise ConfigError("y: the audio is empty (0 samples)")
    if check_finite and not _all_finite(y):
        raise ConfigError("y: the audio holds non-finite samples (NaN or inf)")
    return y


def _all_finite(x: np.ndarray) -> bool:
    """Whether every sample of float32 ``x`` is finite.

    ``x · x`` (a BLAS dot, about half the time of ``np.isfinite(x).all()``, which allocates) is
    finite when every sample is; when it is not, either a sample is not finite or the squares
    overflowed (samples beyond ~1e19), which the exact test below tells apart.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        squares = float(np.dot(x, x))
    return math.isfinite(squares) or bool(np.isfinite(x).all())


def _power(x: np.ndarray) -> float:
    """Mean square of finite float32 ``x``: a float32 BLAS dot (relative error ~1e-6, ~1e-5 dB),
    in float64 when the float32 sum of squares overflows."""
    with np.errstate(over="ignore"):
        p = float(np.dot(x, x))
    if not math.isfinite(p):
        p = float(np.dot(x.astype(np.float64), x))
    return p / len(x)


def _finite(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ConfigError(f"{name}: expected a finite number (got {value!r})")
    return float(value)


def _rate_hz(sr: int) -> int:
    if isinstance(sr, bool) or not isinstance(sr, Integral) or sr < 1:
        raise ConfigError(f"sr: the sampling rate must be a positive integer in Hz (got {sr!r})")
    return int(sr)


def _finish(out: np.ndarray, n: int) -> np.ndarray:
    """``out`` as float32, C-contiguous, exactly ``n`` samples (zero-padded or cut)."""
    out = np.asarray(out, dtype=np.float32).reshape(-1)
    if len(out) > n:
        out = out[:n]
    elif len(out) < n:
        out = np.pad(out, (0, n - len(out)))
    out = np.ascontiguousarray(out)
    if not _all_finite(out):  # not seen; a guard so nothing non-finite reaches the cache
        out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
    return out

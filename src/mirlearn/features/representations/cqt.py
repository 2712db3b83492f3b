"""Frame kind ``"cqt"``: the constant-Q transform magnitude, in dB, one row per frame.

Bins ``k = 0 .. n_bins - 1`` at ``f_k = fmin * 2 ** (k / bins_per_octave)`` Hz, each the
response of a Hann-windowed complex exponential (a "wavelet") of ``L_k = Q * sr / f_k``
samples, ``Q = 1 / alpha``, ``alpha = (2 ** (2 / bpo) - 1) / (2 ** (2 / bpo) + 1)``, scaled to
unit L1 norm; the magnitude is multiplied by ``sqrt(L_k)``. These are the filters, lengths
and scaling of ``librosa.cqt`` (librosa >= 0.10, ``filter_scale=1``, ``tuning=0``,
``norm=1``, ``scale=True``), the reference the tests compare with.

How it is computed (written here with numpy and soxr, so librosa is not needed at run time):
octave by octave from the top, like librosa: the rate is first divided by ``2 ** e`` in one
soxr ``'HQ'`` call as far as the top bin allows (librosa's "early downsampling"), then halved
before each lower octave while the hop stays a whole number of samples, so every octave's
filters are a few hundred samples long. Unlike librosa, no FFT of the frames: an octave's
filters are the columns of one real matrix (the time-domain form of librosa's filters as it
applies them, see :func:`_octave_kernel`), and all frames' responses are one BLAS product of
the frames (a strided view, copied in chunks) with that matrix. Measured equal to
``librosa.cqt(..., sparsity=0)`` within 0.01 dB over 80 dB, edges included, and to
``librosa.cqt`` with its default ``sparsity=0.01`` (1 % of each filter's FFT weight dropped)
within 0.5 dB for values within 20 dB of the maximum (tests/features/representations/
test_cqt.py).

Alignment with the settings' framing: CQT row ``t`` is centred on the centre of the
``|FFT|`` frame ``t`` of the same settings, sample ``t * hop_length`` when ``center=True``
and ``t * hop_length + n_fft // 2`` when ``center=False``, and a signal has as many CQT rows
as ``|FFT|`` frames (:func:`~mirlearn.features.settings.frame_count`). So
``TimeBase.times(n, anchor="center")`` gives the centre of every CQT row; the low bins see
further than ``n_fft`` on either side (up to ``L_0 / 2`` samples, zeros beyond the signal).
With ``center=True`` row ``t`` is column ``t`` of ``librosa.cqt``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from mirlearn.features.representations.mel import power_to_db
from mirlearn.features.representations.registry import FrameSettingError, register_kind

if TYPE_CHECKING:
    from mirlearn.features.settings import FrameSettings

#: Default lowest bin, Hz: C1 (librosa's ``note_to_hz("C1")``), 440 * 2 ** (-45 / 12).
FMIN_C1 = 440.0 * 2.0 ** (-45.0 / 12.0)

#: Equivalent noise bandwidth of the Hann window, in bins (librosa's ``window_bandwidth``).
_HANN_BANDWIDTH = 1.50018310546875

#: Multiply-adds per product of frames and filters: at most OpenBLAS's threshold for using
#: one thread (65536 x 4). One product per octave (1292 x 256 x 24 for a 30 s clip) took
#: 7 ms on a busy 2-core machine, where OpenBLAS's threads wait on each other, against
#: 0.35 ms in chunks of this size; and the frame cache already runs one track per core.
_CHUNK_MACS = 1 << 18


def cqt_frequencies(n_bins: int, fmin: float = FMIN_C1, bins_per_octave: int = 12) -> np.ndarray:
    """Centre frequencies of the bins, Hz, shape ``(n_bins,)``, float64."""
    return float(fmin) * 2.0 ** (np.arange(int(n_bins)) / float(bins_per_octave))


def _alpha(bins_per_octave: int) -> float:
    # Relative bandwidth of equal-tempered bins (librosa's _relative_bandwidth for evenly
    # spaced bins, or __et_relative_bw for a single one).
    r = 2.0 ** (2.0 / bins_per_octave)
    return (r - 1.0) / (r + 1.0)


def cqt_lengths(n_bins: int, sr: float, fmin: float = FMIN_C1,
                bins_per_octave: int = 12) -> np.ndarray:
    """Filter length of every bin, samples at ``sr`` (``Q * sr / f_k``), float64."""
    return (1.0 / _alpha(bins_per_octave)) * float(sr) / cqt_frequencies(n_bins, fmin, bins_per_octave)


def cqt_cutoff(n_bins: int, fmin: float = FMIN_C1, bins_per_octave: int = 12) -> float:
    """Highest frequency the top bin's main lobe reaches, Hz; must not exceed ``sr / 2``.

    ``f_top * (1 + 0.5 * B / Q)`` with ``B`` the Hann window's bandwidth in bins, as
    librosa, which refuses a CQT whose cutoff is above the Nyquist frequency.
    """
    f_top = float(cqt_frequencies(n_bins, fmin, bins_per_octave)[-1])
    return f_top * (1.0 + 0.5 * _HANN_BANDWIDTH * _alpha(bins_per_octave))


def _twos(n: int) -> int:
    """How many times ``n`` divides by 2 (``n >= 1``)."""
    k = 0
    while n % 2 == 0:
        n //= 2
        k += 1
    return k


@lru_cache(maxsize=64)
def _octave_kernel(sr: float, freqs: tuple[float, ...], alpha: float) -> tuple[np.ndarray, int]:
    """Filters of one octave at rate ``sr`` as a real matrix, and its frame length.

    Returns ``(K, N)``: ``K`` [shape=(N, 2 * n)], float32, read-only, columns ``2 i`` and
    ``2 i + 1`` the real and imaginary parts of filter ``i``, such that ``segment @ K`` is
    its response when ``segment[n]`` is sample ``c - N // 2 + n`` of a frame centred on
    sample ``c``; ``N`` is the power of 2 holding the longest filter.

    Each filter is librosa's: a Hann-windowed ``exp(2 pi i f m / sr)``, ``m`` in
    ``[floor(-L / 2), floor(L / 2))``, unit L1 norm, centred in ``N`` samples. librosa applies
    it as the product of its FFT and the frame's FFT summed over the non-negative
    frequencies only (the filter's small negative-frequency part is dropped); the same
    linear map written in the time domain is ``K[n] = (1 / N) sum_{f=0}^{N/2} B[f]
    exp(-2 pi i f n / N)`` with ``B`` the filter's FFT, which is what is stored.
    """
    lengths = [(1.0 / alpha) * sr / f for f in freqs]
    N = int(2.0 ** math.ceil(math.log2(max(lengths))))
    b = np.zeros((len(freqs), N), dtype=np.complex128)
    for i, (f, L) in enumerate(zip(freqs, lengths)):
        m = np.arange(math.floor(-L / 2), math.floor(L / 2), dtype=np.float64)
        n = len(m)
        w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)  # periodic Hann, as librosa
        h = w * np.exp(2j * np.pi * f / sr * m)
        h /= np.abs(h).sum()  # unit L1 norm
        lpad = (N - n) // 2  # librosa's pad_center
        b[i, lpad:lpad + n] = h
    B = np.fft.fft(b, axis=1)
    B[:, N // 2 + 1:] = 0.0
    Kc = np.fft.fft(B, axis=1) / N  # sum over f >= 0 of B[f] exp(-2 pi i f n / N)
    K = np.empty((N, 2 * len(freqs)), dtype=np.float32)
    K[:, 0::2] = Kc.real.T
    K[:, 1::2] = Kc.imag.T
    K.setflags(write=False)
    return K, N


def _responses(y: np.ndarray, centres: np.ndarray, K: np.ndarray, N: int) -> np.ndarray:
    """``|segment @ K|`` power per filter for frames centred on ``centres`` (samples of ``y``).

    Returns float32 [shape=(len(centres), K.shape[1] // 2)]: squared magnitudes.
    """
    half = N // 2
    lo = int(centres[0]) - half if len(centres) else 0
    hi = int(centres[-1]) + half if len(centres) else 0
    # Zeros outside the signal (librosa pads with zeros too: pad_mode="constant").
    pad_lo, pad_hi = max(0, -lo), max(0, hi - len(y))
    ypad = np.pad(y, (pad_lo, pad_hi)) if (pad_lo or pad_hi) else y
    starts = centres - half + pad_lo
    view = np.lib.stride_tricks.sliding_window_view(ypad, N)
    n_out = K.shape[1] // 2
    out = np.empty((len(centres), n_out), dtype=np.float32)
    step = max(1, _CHUNK_MACS // (N * K.shape[1]))
    r = np.empty((min(step, len(centres)), K.shape[1]), dtype=np.float32)
    for s in range(0, len(centres), step):
        seg = view[starts[s:s + step]]  # fancy indexing: one contiguous copy of the chunk
        rc = r[:len(seg)]
        np.matmul(seg, K, out=rc)
        re, im = rc[:, 0::2], rc[:, 1::2]
        np.add(np.square(re, out=re), np.square(im, out=im), out=out[s:s + step])
    return out


def cqt_power(
    y: np.ndarray,
    *,
    sr: int = 22050,
    hop_length: int = 512,
    fmin: float = FMIN_C1,
    n_bins: int = 80,
    bins_per_octave: int = 12,
    first_centre: int = 0,
    n_frames: int | None = None,
) -> np.ndarray:
    """Squared CQT magnitude of frames centred on ``first_centre + t * hop_length``.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio at ``sr`` Hz; computed in float32.
    sr : int
        Sampling rate, Hz.
    hop_length : int
        Samples between frame centres; the more factors of 2 it has, the more octaves are
        computed at a reduced rate (512: all of them; an odd hop: none, slower).
    fmin : float
        Centre of the lowest bin, Hz (C1 = 32.70 Hz by default).
    n_bins, bins_per_octave : int
        Bins, and bins per octave.
    first_centre : int
        Sample on which frame 0 is centred (>= 0).
    n_frames : int or None
        Frames wanted; ``None``: ``1 + (len(y) - first_centre) // hop_length``.

    Returns
    -------
    np.ndarray [shape=(n_frames, n_bins)], float32
        ``|CQT|**2``, equal (to float32 rounding, away from the track's ends) to
        ``np.abs(librosa.cqt(y, sr=sr, hop_length=hop_length, fmin=fmin, n_bins=n_bins,
        bins_per_octave=bins_per_octave)) ** 2`` at the matching columns.

    Raises
    ------
    ValueError
        If the top bin reaches above ``sr / 2`` or ``y`` is not one-dimensional.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional (mono), got shape {y.shape}")
    nyquist = sr / 2.0
    cutoff = cqt_cutoff(n_bins, fmin, bins_per_octave)
    if cutoff > nyquist:
        raise ValueError(f"the top CQT bin reaches {cutoff:.1f} Hz, above the Nyquist frequency {nyquist:g} Hz")
    if n_frames is None:
        n_frames = max(0, 1 + (len(y) - first_centre) // hop_length)
    freqs = cqt_frequencies(n_bins, fmin, bins_per_octave)
    alpha = _alpha(bins_per_octave)
    scale = np.sqrt(cqt_lengths(n_bins, sr, fmin, bins_per_octave)).astype(np.float32)
    out = np.empty((n_frames, n_bins), dtype=np.float32)
    if n_frames == 0:
        return out
    # Frame t is centred on first_centre + t * hop. Prepending p zeros makes every centre a
    # multiple of the hop, so that halving the rate keeps the centres on samples.
    p = (-first_centre) % hop_length
    if p:
        y = np.concatenate([np.zeros(p, dtype=np.float32), y])
    j0 = (first_centre + p) // hop_length
    cols = np.arange(j0, j0 + n_frames, dtype=np.int64)

    # Octaves from the top; the rate is halved first as far as the top bin allows (keeping
    # the Nyquist frequency at least twice the cutoff, as librosa does), then once per octave
    # while the hop stays a whole number of samples.
    max_halvings = _twos(hop_length)
    early = max(0, int(math.ceil(math.log2(nyquist / cutoff))) - 2)
    n_oct = int(math.ceil(n_bins / bins_per_octave))
    import soxr

    # Early halvings in one soxr call (by 2 ** early, as librosa: halving in steps gives
    # other numbers, by up to a few dB in quiet bins), then one halving per octave.
    done = min(early, max(0, max_halvings - n_oct + 1))
    if done:
        y = soxr.resample(y, 2 ** done, 1, quality="HQ").astype(np.float32, copy=False)
    for o in range(n_oct):
        if o and done < max_halvings:
            y = soxr.resample(y, 2, 1, quality="HQ").astype(np.float32, copy=False)
            done += 1
        hi = n_bins - o * bins_per_octave
        lo = max(0, hi - bins_per_octave)
        rate = sr / 2.0 ** done
        K, N = _octave_kernel(rate, tuple(float(f) for f in freqs[lo:hi]), alpha)
        centres = cols * (hop_length >> done)
        out[:, lo:hi] = _responses(y, centres, K, N)
    out *= np.square(scale)
    return out


def cqt_frames(
    y: np.ndarray,
    *,
    sr: int = 22050,
    n_fft: int = 1024,
    hop_length: int = 512,
    center: bool = False,
    fmin: float = FMIN_C1,
    n_bins: int = 80,
    bins_per_octave: int = 12,
    top_db: float | None = 80.0,
) -> np.ndarray:
    """CQT magnitude in dB of every frame of a mono signal, one row per ``|FFT|`` frame.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio at ``sr`` Hz.
    sr : int
        Sampling rate, Hz.
    n_fft, hop_length, center
        The framing the rows align with (see the module's docstring): row ``t`` is centred on
        sample ``t * hop_length + (0 if center else n_fft // 2)``.
    fmin : float
        Centre of the lowest bin, Hz.
    n_bins, bins_per_octave : int
        Bins (80: the parallel CNN's input), and bins per octave.
    top_db : float or None
        Floor in dB below the loudest value of the whole signal, as for log-mel.

    Returns
    -------
    np.ndarray [shape=(n_frames, n_bins)], float32
        ``20 log10(max(1e-5, |CQT|))`` dB, floored (``librosa.amplitude_to_db`` with
        ``ref=1``); ``n_frames`` as :func:`~mirlearn.features.settings.frame_count`.
    """
    n = len(y) + (2 * (n_fft // 2) if center else 0)
    n_frames = 0 if n < n_fft else 1 + (n - n_fft) // hop_length
    if n_frames == 0:
        raise ValueError(f"signal shorter than one frame ({len(y)} samples < {n_fft})")
    power = cqt_power(y, sr=sr, hop_length=hop_length, fmin=fmin, n_bins=n_bins,
                      bins_per_octave=bins_per_octave, first_centre=0 if center else n_fft // 2,
                      n_frames=n_frames)
    return power_to_db(power, top_db=top_db).astype(np.float32, copy=False)


def _fmin(s: "FrameSettings") -> float:
    return FMIN_C1 if s.fmin is None else s.fmin


def _check_cqt(s: "FrameSettings") -> None:
    """The lowest bin above 0 Hz, the top bin's main lobe at most ``sr / 2``."""
    if s.fmin is not None and s.fmin <= 0:
        raise FrameSettingError("fmin", s.fmin, "the lowest CQT bin must be above 0 Hz")
    cutoff = cqt_cutoff(s.n_bins, _fmin(s), s.bins_per_octave)
    if cutoff > s.sr / 2.0:
        top = cqt_frequencies(s.n_bins, _fmin(s), s.bins_per_octave)[-1]
        raise FrameSettingError(
            "n_bins", s.n_bins,
            f"the top CQT bin ({top:.0f} Hz, reaching {cutoff:.0f} Hz) is above sr / 2 = {s.sr / 2:g} Hz; "
            "use fewer bins, more bins_per_octave or a lower fmin")


def _cqt(y: np.ndarray, s: "FrameSettings") -> np.ndarray:
    return cqt_frames(y, sr=s.sr, n_fft=s.n_fft, hop_length=s.hop_length, center=s.center,
                      fmin=_fmin(s), n_bins=s.n_bins, bins_per_octave=s.bins_per_octave,
                      top_db=s.db_floor)


register_kind(
    "cqt",
    _cqt,
    lambda s: s.n_bins,
    description="constant-Q magnitude in dB, n_bins bins from fmin (80 from C1 by default)",
    params=("fmin", "top_db", "n_bins", "bins_per_octave"),
    check=_check_cqt,
)

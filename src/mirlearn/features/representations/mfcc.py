"""Frame kind ``"mfcc"``: mel-frequency cepstral coefficients and their deltas.

The MFCC baseline of the paper's Table 2 (67.21 % on ISMIR 2004): 40-band log-mel
(:mod:`~mirlearn.features.representations.mel`) -> DCT-II (orthonormal) -> first 20
coefficients (c0 included, no liftering), then first-order deltas (Savitzky-Golay slope over
9 frames, edges repeated): 40 values per frame, one row per ``|FFT|`` frame. The static part
equals ``librosa.feature.mfcc(y=y, sr=sr, n_fft=1024, hop_length=512, center=False,
n_mels=40, n_mfcc=20).T``.
"""

from __future__ import annotations

import numpy as np

from mirlearn.features.representations.mel import logmel_frames
from mirlearn.features.representations.registry import register_kind

#: Mel bands, coefficients kept and whether deltas follow, for the registered ``"mfcc"`` kind.
N_MELS, N_MFCC, DELTAS = 40, 20, True


def mfcc_frames(
    y: np.ndarray,
    *,
    sr: int = 22050,
    n_fft: int = 1024,
    hop_length: int = 512,
    n_mels: int = 40,
    n_mfcc: int = 20,
    deltas: bool = True,
    delta_width: int = 9,
    fmin: float = 0.0,
    fmax: float | None = None,
    top_db: float | None = 80.0,
    center: bool = False,
    window: str | tuple | np.ndarray = "hann",
) -> np.ndarray:
    """Mel-frequency cepstral coefficients (and their deltas) of every frame.

    Choices: power spectrum of the ``|FFT|`` frames (periodic Hann window, no centring);
    ``n_mels`` Slaney mel bands (0 Hz to sr / 2, area-normalised, as librosa); decibels
    ``10 log10(max(1e-10, S))`` floored ``top_db`` = 80 dB below the loudest band of the
    signal (librosa's ``power_to_db`` defaults); DCT-II with orthonormal scaling, first
    ``n_mfcc`` coefficients, c0 kept, no liftering (librosa's ``mfcc`` defaults); deltas of
    the static coefficients by a first-order Savitzky-Golay fit over ``delta_width`` frames
    with the edge frames repeated (``librosa.feature.delta(width=9, mode='nearest')``); no
    delta-deltas.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio at ``sr`` Hz.
    sr : int
        Sampling rate, Hz.
    n_fft, hop_length : int
        Frame length and hop, samples.
    n_mels : int
        Mel bands before the DCT (40).
    n_mfcc : int
        Cepstral coefficients kept (20), at most ``n_mels``.
    deltas : bool
        Append the first-order deltas (40 values per frame instead of 20).
    delta_width : int
        Odd number of frames (>= 3) of the delta fit.
    fmin, fmax : float
        Frequency range of the filterbank, Hz.
    top_db : float or None
        As :func:`logmel_frames`.
    center : bool
        As :func:`~mirlearn.features.representations.fft.magnitude_frames`.
    window : str, tuple or np.ndarray [shape=(n_fft,)]
        Analysis window, as ``magnitude_frames`` (periodic Hann by default).

    Returns
    -------
    np.ndarray [shape=(n_frames, n_mfcc * (2 if deltas else 1))], float32
        Columns ``[c0 .. c19, Δc0 .. Δc19]`` for the defaults; ``n_frames`` as
        ``magnitude_frames``. Static part in dB-scaled cepstral units, deltas in the same
        units per frame.

    Raises
    ------
    ValueError
        If ``y`` is shorter than one frame, ``n_mfcc > n_mels`` or ``delta_width`` is not
        an odd integer >= 3.
    """
    from scipy.fft import dct

    if not 1 <= n_mfcc <= n_mels:
        raise ValueError(f"need 1 <= n_mfcc <= n_mels, got n_mfcc={n_mfcc}, n_mels={n_mels}")
    if deltas and (delta_width < 3 or delta_width % 2 != 1):
        raise ValueError(f"delta_width must be an odd integer >= 3, got {delta_width}")
    logmel = logmel_frames(y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
                           fmin=fmin, fmax=fmax, top_db=top_db, center=center, window=window)
    static = dct(logmel, type=2, norm="ortho", axis=1)[:, :n_mfcc]
    if not deltas:
        return np.ascontiguousarray(static, dtype=np.float32)
    from scipy.signal import savgol_filter

    delta = savgol_filter(static, window_length=delta_width, polyorder=1, deriv=1, axis=0,
                          mode="nearest")
    return np.concatenate([static, delta], axis=1).astype(np.float32, copy=False)


register_kind(
    "mfcc",
    lambda y, s: mfcc_frames(y, sr=s.sr, n_fft=s.n_fft, hop_length=s.hop_length, n_mels=N_MELS,
                             n_mfcc=N_MFCC, deltas=DELTAS, center=s.center, window=s.window),
    lambda s: N_MFCC * (2 if DELTAS else 1),
    description=f"{N_MFCC} MFCC from {N_MELS} mel bands, then their deltas (the MFCC baseline)",
)

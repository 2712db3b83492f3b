"""Baseline frame features of the paper's Table 2: MFCC and PMSC (with log-mel underneath).

Sigtia & Dixon (2014) compare their learned features with two hand-made ones on ISMIR 2004
genre: MFCC (67.21 %) and PMSC, the "principal mel-spectrum components" of Hamel & Eck
(68.45 %). Both are computed here on exactly the frames of
:func:`~mirlearn.features.spectral.magnitude_frames` (1024 samples, hop 512, periodic Hann
window, no centring by default), so a baseline matrix has one row per ``|FFT|`` frame and
everything downstream (standardiser, cache, aggregation over 5 s windows, forest, vote)
works unchanged.

* :func:`logmel_frames` -- power spectrum ``|FFT|**2`` -> Slaney mel filterbank (the one of
  ``librosa.filters.mel``: Slaney mel scale, area-normalised triangles, 0 Hz to sr / 2) ->
  decibels ``10 log10(max(1e-10, S))``, floored ``top_db`` (80) dB below the loudest value
  of the signal, as ``librosa.power_to_db``.
* :func:`mfcc_frames` -- 40-band log-mel -> DCT-II (orthonormal) -> first 20 coefficients
  (c0 included, no liftering), then first-order deltas (Savitzky-Golay slope over 9 frames,
  edges repeated): 40 values per frame. The static part equals
  ``librosa.feature.mfcc(y=y, sr=sr, n_fft=1024, hop_length=512, center=False,
  n_mels=40, n_mfcc=20).T``.
* :class:`PMSC` -- PCA whitening of 128-band log-mel frames, fitted on the training frames
  only (streamed in chunks, float64 statistics), applied to every frame.

The DSP is written with numpy / scipy, so librosa is not needed at run time; the tests
compare every step with librosa.

:func:`baseline_frames` gives the frame functions by name (``"mfcc"``, ``"logmel"``) for the
frame cache. PMSC is not a frame kind: it needs a fit, so it is cached as ``"logmel"`` frames
and a :class:`PMSC` fitted on the training tracks' rows is applied afterwards, like the
standardiser.

Examples
--------
>>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
>>> mfcc_frames(y).shape
(42, 40)
>>> logmel_frames(y).shape
(42, 128)
>>> pmsc = PMSC().fit(logmel_frames(y))
>>> pmsc.transform(logmel_frames(y)).shape
(42, 128)
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import numpy as np

from mirlearn.features.chunks import StreamingMoments

from mirlearn.features.spectral import magnitude_frames

BaselineKind = Literal["mfcc", "logmel"]

#: Frame kinds :func:`baseline_frames` computes.
BASELINE_KINDS: tuple[str, ...] = ("mfcc", "logmel")

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


# ------------------------------------------------------------------------------------------
# Frame functions
# ------------------------------------------------------------------------------------------
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
        Framing as :func:`~mirlearn.features.spectral.magnitude_frames` (``False``: frame
        ``t`` is ``y[t * hop_length : t * hop_length + n_fft]``).

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
    mag = magnitude_frames(y, n_fft=n_fft, hop_length=hop_length, center=center)
    power = np.square(mag, out=mag)
    mel = power @ mel_filterbank(int(sr), int(n_fft), int(n_mels), float(fmin), fmax).T
    return power_to_db(mel, top_db=top_db).astype(np.float32, copy=False)


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
        As :func:`~mirlearn.features.spectral.magnitude_frames`.

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
                           fmin=fmin, fmax=fmax, top_db=top_db, center=center)
    static = dct(logmel, type=2, norm="ortho", axis=1)[:, :n_mfcc]
    if not deltas:
        return np.ascontiguousarray(static, dtype=np.float32)
    from scipy.signal import savgol_filter

    delta = savgol_filter(static, window_length=delta_width, polyorder=1, deriv=1, axis=0,
                          mode="nearest")
    return np.concatenate([static, delta], axis=1).astype(np.float32, copy=False)


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
    """Baseline frames of kind ``kind``: the entry point of the frame cache.

    Parameters
    ----------
    kind : {"mfcc", "logmel"}
        :func:`mfcc_frames` or :func:`logmel_frames`.
    y : np.ndarray [shape=(n_samples,)]
        Mono audio at ``sr`` Hz.
    sr, n_fft, hop_length, center
        Shared framing, as :func:`~mirlearn.features.spectral.magnitude_frames`.
    **options
        Further keyword arguments of the frame function (``n_mels``, ``n_mfcc``,
        ``deltas``, ``top_db``, ...).

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


# ------------------------------------------------------------------------------------------
# PMSC: PCA whitening fitted by streaming
# ------------------------------------------------------------------------------------------
class PMSC(StreamingMoments):
    """Principal mel-spectrum components: PCA whitening of log-mel frames.

    Hamel & Eck's baseline: the log mel spectrum of each frame (here :func:`logmel_frames`,
    128 bands by default) projected on the principal axes of the *training* frames and
    scaled to unit variance, ``z = (x - mean_) @ components_.T / sqrt(explained_variance_
    + eps)``. The paper reproduced does not give the band count nor how many components
    were kept; we use 128 bands and keep all components unless ``n_components`` says
    otherwise. Works on any frame matrix, not only log-mel.

    The fit streams the rows in chunks and accumulates the mean and the centred scatter
    matrix in float64 with Chan's pairwise update, so a memory-mapped matrix larger than
    memory can be fitted and the result does not depend on the chunking (up to rounding).
    scikit-learn style: hyper-parameters in the constructor, :meth:`fit` returns ``self``,
    fitted state ends in ``_``.

    Parameters
    ----------
    n_components : int or None
        Components kept, largest variance first; ``None`` keeps all ``dim``.
    eps : float
        Added to every eigenvalue before the inverse square root (input units squared,
        dB² for log-mel), so that (near-)constant directions are not blown up to inf.
        Covariance of the output on the training frames is ``λ / (λ + eps)`` per
        component: identity to within ``eps / λ_min``.
    chunk_rows : int or None
        Rows converted to float64 at a time; ``None``: about 8 M values per chunk.

    Attributes
    ----------
    mean_ : np.ndarray [shape=(dim,)], float64
    components_ : np.ndarray [shape=(n_components_, dim)], float64
        Orthonormal principal axes, by decreasing variance; each row's entry of largest
        magnitude is positive (a deterministic sign).
    explained_variance_ : np.ndarray [shape=(n_components_,)], float64
        Eigenvalues of the population covariance (``ddof=0``), negatives clipped to 0.
    covariance_ : np.ndarray [shape=(dim, dim)], float64
        Population covariance of the rows seen.
    n_components_ : int
    n_samples_seen_ : int

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((1000, 8)) @ np.diag([1, 2, 3, 4, 5, 6, 7, 8])
    >>> Z = PMSC(eps=0.0).fit(X).transform(X, dtype=np.float64)
    >>> bool(np.allclose(Z.T @ Z / len(Z), np.eye(8)))
    True
    """

    _full_scatter = True
    _what = "PMSC"

    def __init__(self, n_components: int | None = None, eps: float = 1e-8,
                 chunk_rows: int | None = None) -> None:
        self.n_components = n_components
        self.eps = eps
        self.chunk_rows = chunk_rows

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, X: np.ndarray, rows: np.ndarray | None = None) -> "PMSC":
        """Fit mean and principal axes on ``X`` (or its ``rows``), forgetting earlier fits.

        Parameters
        ----------
        X : np.ndarray [shape=(n_frames, dim)]
            The *training* frames, any float dtype; may be a read-only ``np.memmap``.
        rows : np.ndarray [shape=(n_rows,)], int, optional
            Row indices of ``X`` to fit on (e.g. the rows of the training tracks in a
            frame set shared with the test tracks).

        Returns
        -------
        PMSC
            ``self``.

        Raises
        ------
        ValueError
            If there are fewer than 2 rows, or ``n_components`` exceeds ``dim``.
        """
        for attr in ("mean_", "_m2", "n_samples_seen_", "covariance_", "components_",
                     "explained_variance_", "n_components_"):
            self.__dict__.pop(attr, None)
        self.partial_fit(X, rows=rows)
        return self

    def partial_fit(self, X: np.ndarray, rows: np.ndarray | None = None) -> "PMSC":
        """Add the rows of ``X`` (or its ``rows``) to the fit so far and refit the axes.

        Parameters are as for :meth:`fit`. Any sequence of ``partial_fit`` calls gives the
        fit of all rows together (up to float64 rounding); e.g. one call per track.
        """
        self._accumulate(X, rows)
        self._finish()
        return self

    def _finish(self) -> None:
        dim = self.mean_.shape[0]
        if self.n_samples_seen_ < 2:
            raise ValueError(f"PMSC needs at least 2 rows to fit, got {self.n_samples_seen_}")
        k = dim if self.n_components is None else int(self.n_components)
        if not 1 <= k <= dim:
            raise ValueError(f"n_components must be in [1, {dim}], got {self.n_components}")
        if self.eps < 0:
            raise ValueError(f"eps must be non-negative, got {self.eps}")
        m2 = (self._m2 + self._m2.T) / 2  # exactly symmetric
        self.covariance_ = m2 / self.n_samples_seen_
        evals, evecs = np.linalg.eigh(self.covariance_)
        order = np.argsort(evals)[::-1][:k]
        evals = np.clip(evals[order], 0.0, None)
        comps = evecs[:, order].T
        # Deterministic signs: the largest-magnitude entry of every axis is positive.
        big = np.argmax(np.abs(comps), axis=1)
        comps *= np.sign(comps[np.arange(k), big])[:, None]
        self.components_ = comps
        self.explained_variance_ = evals
        self.n_components_ = k

    # -- transforming -------------------------------------------------------------------------
    def _check_fitted(self, X: np.ndarray) -> None:
        if not hasattr(self, "components_"):
            raise RuntimeError("this PMSC is not fitted yet; call fit() first")
        if X.ndim != 2 or X.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"X has shape {X.shape}, expected (n, {self.mean_.shape[0]})")

    @property
    def whitening_(self) -> np.ndarray:
        """Matrix ``W`` with ``transform(X) = (X - mean_) @ W``, shape ``(dim, n_components_)``."""
        if not hasattr(self, "components_"):
            raise RuntimeError("this PMSC is not fitted yet; call fit() first")
        return self.components_.T / np.sqrt(self.explained_variance_ + self.eps)

    def transform(self, X: np.ndarray, *, dtype: Any = np.float32,
                  out: np.ndarray | None = None) -> np.ndarray:
        """Whiten ``X``: ``(X - mean_) @ components_.T / sqrt(explained_variance_ + eps)``.

        Parameters
        ----------
        X : np.ndarray [shape=(n_frames, dim)]
            Frames of the same kind as the training frames (any tracks); may be
            memory-mapped; computed in float64 chunk by chunk.
        dtype : numpy dtype
            Output dtype (float32 for frame matrices; float64 for exact checks).
        out : np.ndarray [shape=(n_frames, n_components_)], optional
            Where to write the result (e.g. a writable ``np.memmap``).

        Returns
        -------
        np.ndarray [shape=(n_frames, n_components_)]
            Whitened frames: on the training frames, mean 0 and covariance the identity
            (to within ``eps / λ_min``), in units of standard deviations.
        """
        self._check_fitted(X)
        shape = (X.shape[0], self.n_components_)
        if out is None:
            out = np.empty(shape, dtype=dtype)
        elif out.shape != shape:
            raise ValueError(f"out must have shape {shape}, got {out.shape}")
        W = self.whitening_
        step = self._chunk_rows(X.shape[1])
        for start in range(0, X.shape[0], step):
            chunk = np.array(X[start:start + step], dtype=np.float64)
            chunk -= self.mean_
            out[start:start + step] = chunk @ W
        return out

    def fit_transform(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """:meth:`fit` on ``X`` (or its ``rows``), then :meth:`transform` all of ``X`` (float32)."""
        return self.fit(X, rows=rows).transform(X)

    # -- saving -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The fitted state (numpy arrays and plain numbers), to save with the model.

        Holds the covariance too, so that :meth:`from_state_dict` can continue with
        :meth:`partial_fit` or refit with another ``n_components``.
        """
        if not hasattr(self, "components_"):
            raise RuntimeError("this PMSC is not fitted yet; call fit() first")
        return {
            "mean": self.mean_.copy(),
            "covariance": self.covariance_.copy(),
            "components": self.components_.copy(),
            "explained_variance": self.explained_variance_.copy(),
            "n_samples_seen": int(self.n_samples_seen_),
            "n_components": self.n_components,
            "eps": float(self.eps),
            "chunk_rows": self.chunk_rows,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> "PMSC":
        """Rebuild a fitted PMSC from :meth:`state_dict`'s output."""
        n_components = state.get("n_components")
        chunk_rows = state.get("chunk_rows")
        p = cls(n_components=None if n_components is None else int(n_components),
                eps=float(state["eps"]),
                chunk_rows=None if chunk_rows is None else int(chunk_rows))
        p.mean_ = np.asarray(state["mean"], dtype=np.float64).copy()
        p.covariance_ = np.asarray(state["covariance"], dtype=np.float64).copy()
        p.components_ = np.asarray(state["components"], dtype=np.float64).copy()
        p.explained_variance_ = np.asarray(state["explained_variance"], dtype=np.float64).copy()
        p.n_samples_seen_ = int(state["n_samples_seen"])
        p.n_components_ = p.components_.shape[0]
        p._m2 = p.covariance_ * p.n_samples_seen_
        dim = p.mean_.shape[0]
        if (p.mean_.ndim != 1 or p.covariance_.shape != (dim, dim)
                or p.components_.shape[1:] != (dim,)
                or p.explained_variance_.shape != (p.n_components_,)):
            raise ValueError("inconsistent PMSC state_dict: shapes of mean, covariance, "
                             "components and explained_variance do not agree")
        return p

    def __repr__(self) -> str:
        fitted = (f", fitted on {self.n_samples_seen_} rows"
                  if hasattr(self, "components_") else "")
        return (f"PMSC(n_components={self.n_components}, eps={self.eps}, "
                f"chunk_rows={self.chunk_rows}{fitted})")

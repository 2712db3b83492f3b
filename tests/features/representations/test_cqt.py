"""Tests of mirlearn.features.representations.cqt: the CQT kind equals librosa.cqt, on the
settings' framing.

Tolerance, measured: against ``librosa.cqt(..., sparsity=0)`` (the same filters, none of
their FFT coefficients dropped) within 0.1 dB for every value within 80 dB of the maximum;
against ``librosa.cqt`` as it is by default (1 % of each filter's FFT weight dropped) within
0.5 dB for values within 20 dB of the maximum (the dropped weight shows as leakage in quiet
bins, librosa's approximation, not ours).
"""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.features.representations import frames
from mirlearn.features.representations.cqt import FMIN_C1, cqt_frames, cqt_power
from mirlearn.features.settings import FrameSettings, frame_count

librosa = pytest.importorskip("librosa")

SR = 22050


@pytest.fixture
def y(rng: np.random.Generator) -> np.ndarray:
    """1.5 s of two tones (one low, one high) plus noise; length not a multiple of the hop."""
    n = 3 * SR // 2 + 301
    t = np.arange(n) / SR
    tone = 0.3 * np.sin(2 * np.pi * 110 * t) + 0.2 * np.sin(2 * np.pi * 1318.5 * t) * (1 + np.sin(2 * np.pi * 2 * t))
    return (tone + 0.02 * rng.standard_normal(n)).astype(np.float32)


def _db(power: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.maximum(power, 1e-10))


def _close_db(got: np.ndarray, ref: np.ndarray, tol: float, within_db: float) -> float:
    """Max |dB difference| where the reference is within ``within_db`` of its maximum."""
    a, b = _db(got), _db(ref)
    mask = b > b.max() - within_db
    worst = float(np.abs(a - b)[mask].max())
    assert worst < tol, worst
    return worst


def _librosa_power(y: np.ndarray, **kw) -> np.ndarray:
    return (np.abs(librosa.cqt(y, sr=SR, **kw)) ** 2).T


@pytest.mark.parametrize("hop, bpo, n_bins", [(512, 12, 80), (256, 24, 80), (441, 12, 36)])
def test_cqt_power_equals_librosa(y: np.ndarray, hop: int, bpo: int, n_bins: int) -> None:
    got = cqt_power(y, sr=SR, hop_length=hop, n_bins=n_bins, bins_per_octave=bpo)
    ref = _librosa_power(y, hop_length=hop, n_bins=n_bins, bins_per_octave=bpo, sparsity=0)
    assert got.shape == ref.shape == (1 + len(y) // hop, n_bins) and got.dtype == np.float32
    _close_db(got, ref, 0.01, 80)  # every frame, the edges included
    _close_db(got, _librosa_power(y, hop_length=hop, n_bins=n_bins, bins_per_octave=bpo), 0.5, 20)


@pytest.mark.parametrize("n_fft, hop", [(1024, 512), (1024, 256), (1024, 384), (2048, 512)])
def test_rows_are_centred_like_the_fft_frames(y: np.ndarray, n_fft: int, hop: int) -> None:
    s = FrameSettings(kind="cqt", n_fft=n_fft, hop_length=hop)
    got = frames(y, s)
    assert got.shape == (frame_count(len(y), s), 80)
    # Row t is centred on sample t * hop + n_fft // 2: librosa's column on a signal with p
    # zeros in front, p making that sample a multiple of the hop.
    p = (-(n_fft // 2)) % hop
    j0 = (n_fft // 2 + p) // hop
    ref = librosa.amplitude_to_db(np.abs(librosa.cqt(np.pad(y, (p, 0)), sr=SR, hop_length=hop, n_bins=80,
                                                     sparsity=0)), top_db=None).T
    ref = ref[j0:j0 + len(got)]
    ref = np.maximum(ref, ref.max() - 80)  # the floor of the whole signal
    assert ref.shape == got.shape
    assert np.abs(got - ref).max() < 0.01
    centred = frames(y, s.replace(center=True))
    assert centred.shape == (frame_count(len(y), s.replace(center=True)), 80)
    if p == 0:  # n_fft // 2 is a whole number of hops: the same rows, j0 later
        assert np.abs(centred[j0:j0 + len(got)] - got).max() < 1e-3


def test_time_base_gives_the_centre_of_every_row() -> None:
    # A click: the top bins (short filters) peak on the row whose centre is nearest to it.
    for center in (False, True):
        s = FrameSettings(kind="cqt", center=center)
        y = np.zeros(SR, dtype=np.float32)
        at = 11294  # 30 samples from a row centre in both framings (top filter: 123 samples)
        y[at] = 1.0
        X = frames(y, s)
        times = s.time_base.times(len(X), anchor="center")
        assert int(np.argmax(X[:, -1])) == int(np.argmin(np.abs(times - at / SR)))


def test_floor_and_settings_reach_the_frames(y: np.ndarray) -> None:
    s = FrameSettings(kind="cqt")
    X = frames(y, s)
    assert X.dtype == np.float32 and X.min() == pytest.approx(X.max() - 80, abs=1e-3)
    np.testing.assert_array_equal(X, cqt_frames(y, sr=SR, fmin=FMIN_C1, n_bins=80, bins_per_octave=12))
    free = frames(y, s.replace(top_db=None))
    assert free.min() < X.max() - 80 and np.array_equal(np.maximum(free, X.max() - 80), X)
    hi = frames(y, s.replace(fmin=55.0, n_bins=60, bins_per_octave=24))
    ref = librosa.amplitude_to_db(np.abs(librosa.cqt(y, sr=SR, hop_length=512, fmin=55.0, n_bins=60,
                                                     bins_per_octave=24, sparsity=0))).T[1:1 + len(hi)]
    assert hi.shape == (len(X), 60) and np.abs(hi - ref).max() < 0.01


def test_too_short_and_too_high_fail(y: np.ndarray) -> None:
    with pytest.raises(ValueError, match="shorter than one frame"):
        cqt_frames(y[:1000])
    with pytest.raises(ValueError, match="Nyquist"):
        cqt_power(y, n_bins=120)


@pytest.mark.shared_data
def test_real_clip_equals_librosa(shared_data) -> None:
    files = sorted((shared_data / "music_speech" / "music").glob("*"))
    if not files:
        pytest.skip("no music_speech clips")
    from mirlearn import audio

    y = audio.load(files[0], sr=SR, mono=True, duration=6.0)
    got = cqt_power(y, sr=SR, hop_length=512, n_bins=80)
    inner = slice(10, -10)  # frames away from the ends
    _close_db(got[inner], _librosa_power(y, hop_length=512, n_bins=80, sparsity=0)[inner], 0.01, 80)
    _close_db(got[inner], _librosa_power(y, hop_length=512, n_bins=80)[inner], 0.5, 20)

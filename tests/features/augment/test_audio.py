"""Tests of mirlearn.features.augment.audio on tiny signals (1 s at 22050 Hz), both backends."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

_ROOT = Path(__file__).resolve().parents[3]
if str(_ROOT) not in sys.path:  # the benchmarks package lives beside src/, not in it
    sys.path.insert(0, str(_ROOT))

from benchmarks.bench_augment import dominant_frequency  # noqa: E402  (the one pitch estimate, also measured there)
from mirlearn.errors import ConfigError  # noqa: E402
from mirlearn.features.augment import audio  # noqa: E402
from mirlearn.features.augment.audio import (  # noqa: E402
    BACKENDS,
    add_noise,
    check_backend,
    gain,
    pitch_shift,
    random_crop,
    time_stretch,
)

SR = 22050
F0 = 440.0
DURATION_TOL = 0.01  # stretched length within 1 % of len / rate (the contract pins it exactly)
PITCH_TOL = 0.005  # 0.5 % of the expected frequency: a twelfth of a semitone (5.9 %)
TAIL_LEVEL = 0.5  # the output's last 5 % at least half as loud (RMS) as its middle third: not zero-padded


def _backend(name: str) -> str:
    """``name``, skipping the test when its library is absent."""
    pytest.importorskip("librosa" if name == "librosa" else "pedalboard")
    return name


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return _backend(request.param)


@pytest.fixture(scope="module")
def tone() -> np.ndarray:
    """1 s of a 440 Hz sine at half scale, float32."""
    t = np.arange(SR) / SR
    return (0.5 * np.sin(2 * np.pi * F0 * t)).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _check_output(out: np.ndarray) -> None:
    assert out.dtype == np.float32 and out.ndim == 1 and out.flags.c_contiguous
    assert np.isfinite(out).all()


def test_frequency_estimator_on_known_tones() -> None:
    t = np.arange(SR) / SR
    for f in (329.63, 440.0, 587.33):
        assert dominant_frequency(np.sin(2 * np.pi * f * t)) == pytest.approx(f, rel=1e-4)


# --------------------------------------------------------------------------- stretch and shift


@pytest.mark.parametrize("rate", [0.2, 0.5, 1.2, 1.5])
def test_time_stretch_duration_and_pitch(tone: np.ndarray, backend: str, rate: float) -> None:
    out = time_stretch(tone, SR, rate, backend=backend)
    _check_output(out)
    assert abs(len(out) - len(tone) / rate) <= DURATION_TOL * len(tone) / rate
    assert len(out) == round(len(tone) / rate)
    # The tone lasts to the end (a short output zero-padded to length would fail here) ...
    n = len(out)
    assert _rms(out[-n // 20:]) > TAIL_LEVEL * _rms(out[n // 3: 2 * n // 3])
    # ... and keeps its pitch.
    assert dominant_frequency(out) == pytest.approx(F0, rel=PITCH_TOL)


@pytest.mark.parametrize("semitones", [-5, -2, 2, 5])
def test_pitch_shift_frequency_and_length(tone: np.ndarray, backend: str, semitones: int) -> None:
    out = pitch_shift(tone, SR, semitones, backend=backend)
    _check_output(out)
    assert len(out) == len(tone)
    assert dominant_frequency(out) == pytest.approx(F0 * 2 ** (semitones / 12), rel=PITCH_TOL)


def test_identity_settings_return_a_copy(tone: np.ndarray, backend: str) -> None:
    for out in (time_stretch(tone, SR, 1.0, backend=backend), pitch_shift(tone, SR, 0, backend=backend)):
        np.testing.assert_array_equal(out, tone)
        assert out is not tone and not np.shares_memory(out, tone)


def test_stretch_accepts_float64_and_leaves_input_alone(tone: np.ndarray, backend: str) -> None:
    y = tone.astype(np.float64)
    before = y.copy()
    out = time_stretch(y, SR, 1.5, backend=backend)
    _check_output(out)
    np.testing.assert_array_equal(y, before)


# --------------------------------------------------------------------------- cheap transforms


@pytest.mark.parametrize("db", [-12.0, -3.0, 0.0, 6.0, 20.0])
def test_gain_changes_rms_by_exactly_db(tone: np.ndarray, db: float) -> None:
    out = gain(tone, db)
    _check_output(out)
    assert 20 * np.log10(_rms(out) / _rms(tone)) == pytest.approx(db, abs=1e-4)
    assert np.abs(out).max() == pytest.approx(0.5 * 10 ** (db / 20), rel=1e-5)  # 20 dB: 5.0, not clipped


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 30.0])
def test_add_noise_measured_snr(tone: np.ndarray, snr_db: float) -> None:
    out = add_noise(tone, snr_db, np.random.default_rng(1))
    _check_output(out)
    noise = out.astype(np.float64) - tone
    measured = 10 * np.log10(np.mean(np.square(tone, dtype=np.float64)) / np.mean(noise ** 2))
    assert measured == pytest.approx(snr_db, abs=0.5)
    assert abs(np.mean(noise) / np.std(noise)) < 0.05  # zero-mean, white: no DC offset added


def test_add_noise_is_deterministic_from_a_seed(tone: np.ndarray) -> None:
    a = add_noise(tone, 10.0, np.random.default_rng(7))
    b = add_noise(tone, 10.0, np.random.default_rng(7))
    c = add_noise(tone, 10.0, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(add_noise(tone, 10.0, 7), a)  # an int seeds the same generator


def test_huge_but_finite_samples_are_not_mistaken_for_overflow(tone: np.ndarray) -> None:
    # Samples of 5e19: their float32 squares overflow, the checks and powers must not care.
    y = tone * np.float32(1e20)
    out = add_noise(y, 20.0, 0)
    _check_output(out)
    noise = out.astype(np.float64) - y
    assert 10 * np.log10(np.mean(y.astype(np.float64) ** 2) / np.mean(noise ** 2)) == pytest.approx(20.0, abs=0.01)
    _check_output(gain(y, 3.0))
    _check_output(random_crop(y, 100, 0))


def test_add_noise_keeps_silence_silent() -> None:
    out = add_noise(np.zeros(100, np.float32), 0.0, 0)
    _check_output(out)
    assert not out.any()


def test_random_crop_is_a_slice_of_y(rng: np.random.Generator) -> None:
    y = rng.standard_normal(1000).astype(np.float32)
    for seed in range(5):
        out = random_crop(y, 300, np.random.default_rng(seed))
        _check_output(out)
        assert len(out) == 300
        starts = [s for s in range(len(y) - 300 + 1) if np.array_equal(y[s:s + 300], out)]
        assert len(starts) == 1
        assert not np.shares_memory(out, y)  # a copy: in-place work on it cannot touch the source
    np.testing.assert_array_equal(random_crop(y, 300, np.random.default_rng(3)),
                                  random_crop(y, 300, np.random.default_rng(3)))
    crops = {random_crop(y, 300, np.random.default_rng(s))[0] for s in range(20)}
    assert len(crops) > 1  # different seeds, different starts
    np.testing.assert_array_equal(random_crop(y, 1000, 0), y)  # exactly the length: all of it


def test_random_crop_of_a_short_track_returns_it_whole() -> None:
    y = np.arange(10, dtype=np.float32)
    out = random_crop(y, 50, np.random.default_rng(0))
    np.testing.assert_array_equal(out, y)
    _check_output(out)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call,name", [
    (lambda y: time_stretch(y, SR, 0.0), "rate"),
    (lambda y: time_stretch(y, SR, -1.2), "rate"),
    (lambda y: time_stretch(y, SR, float("nan")), "rate"),
    (lambda y: time_stretch(y, SR, float("inf")), "rate"),
    (lambda y: time_stretch(y, SR, 1e9), "rate"),
    (lambda y: time_stretch(y, 0, 1.2), "sr"),
    (lambda y: pitch_shift(y, SR, 24.5), "semitones"),
    (lambda y: pitch_shift(y, SR, -25), "semitones"),
    (lambda y: pitch_shift(y, SR, float("nan")), "semitones"),
    (lambda y: gain(y, float("inf")), "db"),
    (lambda y: add_noise(y, float("nan"), 0), "snr_db"),
    (lambda y: add_noise(y, float("-inf"), 0), "snr_db"),
    (lambda y: random_crop(y, 0, 0), "n_samples"),
    (lambda y: random_crop(y, 2.5, 0), "n_samples"),
    (lambda y: time_stretch(y[:0], SR, 1.2), "y"),
    (lambda y: pitch_shift(y[:0], SR, 2), "y"),
    (lambda y: gain(y[:0], 3.0), "y"),
    (lambda y: add_noise(y[:0], 10.0, 0), "y"),
    (lambda y: random_crop(y[:0], 10, 0), "y"),
    (lambda y: gain(np.stack([y, y]), 3.0), "y"),
    (lambda y: gain(np.full(4, np.nan, np.float32), 3.0), "y"),
    (lambda y: gain(y, 1e5), "db"),
    (lambda y: gain(np.full(4, 1e38, np.float32), 40.0), "db"),
    (lambda y: add_noise(np.array([0.1, np.inf], np.float32), 10.0, 0), "y"),
    (lambda y: random_crop(np.array([np.nan] * 8, np.float32), 4, 0), "y"),
    (lambda y: time_stretch(np.array([0.1, np.nan] * 600, np.float32), SR, 1.2), "y"),
    (lambda y: pitch_shift(y, SR, True), "semitones"),
    (lambda y: time_stretch(y, SR, 1.2, backend="sox"), "backend"),
])
def test_bad_input_is_one_line_naming_the_parameter(tone: np.ndarray, call, name: str) -> None:
    # Checked before any library is called, so this holds without librosa or pedalboard.
    with pytest.raises(ConfigError) as err:
        call(tone)
    msg = str(err.value)
    assert msg.startswith(f"{name}:") and "\n" not in msg


def test_semitone_limit_is_inclusive(tone: np.ndarray, backend: str) -> None:
    out = pitch_shift(tone[:4096], SR, -24, backend=backend)
    assert len(out) == 4096 and np.isfinite(out).all()


# --------------------------------------------------------------------------- backends


def test_check_backend_known_and_installed() -> None:
    for name in BACKENDS:
        try:
            check_backend(name)
        except ConfigError as err:  # not installed here: then the message names the extra
            assert "pip install" in str(err)


def test_check_backend_unknown_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"^backend: unknown augmentation backend 'sox'; "
                                          r"choose one of librosa, rubberband$"):
        check_backend("sox")


@pytest.mark.parametrize("name,module,extra", [("librosa", "librosa", "augment"),
                                               ("rubberband", "pedalboard", "rubberband")])
def test_check_backend_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                       name: str, module: str, extra: str) -> None:
    real = audio.importlib.util.find_spec
    monkeypatch.setattr(audio.importlib.util, "find_spec", lambda m, *a: None if m == module else real(m, *a))
    with pytest.raises(ConfigError) as err:
        check_backend(name)
    assert str(err.value) == (f"backend: {name!r} needs the {module} package, which is not installed: "
                              f'pip install "mirlearn[{extra}]"')
    with pytest.raises(ConfigError, match="pip install"):
        time_stretch(np.ones(100, np.float32), SR, 1.5, backend=name)


def test_importing_the_package_imports_no_backend() -> None:
    import subprocess
    import sys

    code = ("import sys, mirlearn.features.augment; "
            "print('librosa' in sys.modules, 'pedalboard' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]

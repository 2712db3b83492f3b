"""Tests of mirlearn.audio: decoding, resampling, seeking, header reading and bad files."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mirlearn import audio
from mirlearn.audio import AudioInfo, info, load
from mirlearn.errors import AudioError

SR = 44100


# --------------------------------------------------------------------------- helpers


def _sine(freq: float, seconds: float, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _stereo(rng: np.random.Generator, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    """(frames, 2): a sine on the left, quieter noise on the right."""
    left = _sine(440.0, seconds, sr)
    right = (0.2 * rng.standard_normal(left.shape[0])).astype(np.float32)
    return np.stack([left, right], axis=1)


def _write(path: Path, data: np.ndarray, sr: int = SR, **kwargs) -> Path:
    sf.write(path, data, sr, **kwargs)
    return path


def _peak_hz(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.shape[0])))
    return float(np.argmax(spectrum) * sr / y.shape[0])


def _write_av(path: Path, data: np.ndarray, sr: int, layout: str, codec: str = "aac") -> Path:
    """Encode ``data`` [shape=(channels, frames)] with FFmpeg (container from the suffix)."""
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=sr, layout=layout)
        step = 1024
        for i in range(0, data.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[:, i:i + step]), format="fltp",
                                               layout=layout)
            frame.sample_rate = sr
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _strip_first_mp3_frame(data: bytes) -> bytes:
    """Remove the first frame of an MPEG-1 layer III stream (the Xing/Info header frame)."""
    assert data[0] == 0xFF and data[1] & 0xE0 == 0xE0, "stream must start with a frame"
    kbps = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320][data[2] >> 4]
    rate = [44100, 48000, 32000][(data[2] >> 2) & 3]
    size = 144000 * kbps // rate + ((data[2] >> 1) & 1)
    assert b"Xing" in data[:size] or b"Info" in data[:size]
    return data[size:]


def _assert_audio_error(exc_info: pytest.ExceptionInfo, path: Path, *causes: str) -> None:
    message = str(exc_info.value)
    assert path.name in message
    assert any(cause in message for cause in causes), message


# --------------------------------------------------------------------------- lossless formats


LOSSLESS = [
    ("WAV", "PCM_16", "wav", 2.0**-15),
    ("WAV", "PCM_24", "wav", 2.0**-23),
    ("WAV", "PCM_32", "wav", 2.0**-30),
    ("WAV", "FLOAT", "wav", 0.0),
    ("FLAC", "PCM_16", "flac", 2.0**-15),
    ("FLAC", "PCM_24", "flac", 2.0**-23),
    ("AU", "PCM_16", "au", 2.0**-15),
]


@pytest.mark.parametrize(("fmt", "subtype", "ext", "atol"), LOSSLESS)
@pytest.mark.parametrize("channels", [1, 2])
def test_lossless_round_trip(tmp_path, rng, fmt, subtype, ext, atol, channels):
    data = _stereo(rng, 0.5)[:, :channels]
    path = _write(tmp_path / f"x.{ext}", data, format=fmt, subtype=subtype)
    y = load(path, sr=None, mono=False)
    assert y.dtype == np.float32
    assert y.shape == (channels, data.shape[0])
    assert y.flags.c_contiguous
    np.testing.assert_allclose(y, data.T, atol=atol + 1e-7, rtol=0)


@pytest.mark.parametrize(("fmt", "subtype", "ext", "atol"), LOSSLESS)
def test_info_of_lossless_files(tmp_path, rng, fmt, subtype, ext, atol):
    data = _stereo(rng, 0.5)
    path = _write(tmp_path / f"x.{ext}", data, format=fmt, subtype=subtype)
    i = info(path)
    assert i == AudioInfo(SR, 2, data.shape[0], data.shape[0] / SR, f"{fmt}/{subtype}")


def test_stereo_is_averaged_to_mono(tmp_path, rng):
    data = _stereo(rng)
    path = _write(tmp_path / "s.wav", data, subtype="FLOAT")
    y = load(path, sr=None)
    assert y.shape == (data.shape[0],) and y.dtype == np.float32
    np.testing.assert_allclose(y, data.mean(axis=1), atol=1e-7)


def test_mono_file_loads_as_1d_and_as_one_channel(tmp_path):
    data = _sine(440.0, 0.5)
    path = _write(tmp_path / "m.wav", data, subtype="FLOAT")
    assert load(path, sr=None).shape == data.shape
    assert load(path, sr=None, mono=False).shape == (1, data.shape[0])


# --------------------------------------------------------------------------- resampling


def test_resampling_keeps_frequency_and_length(tmp_path):
    data = _sine(1000.0, 2.0)
    path = _write(tmp_path / "sine.wav", data, subtype="PCM_16")
    y = load(path, sr=22050)
    assert y.dtype == np.float32
    assert y.shape == (data.shape[0] // 2,)
    assert abs(_peak_hz(y, 22050) - 1000.0) < 1.0
    np.testing.assert_allclose(np.sqrt(np.mean(y[2000:-2000] ** 2)), 0.5 / np.sqrt(2), rtol=0.01)


def test_default_rate_is_22050(tmp_path):
    path = _write(tmp_path / "sine.wav", _sine(1000.0, 1.0))
    assert load(path).shape == (22050,)


def test_resampling_upwards_and_multichannel(tmp_path, rng):
    data = _stereo(rng, 1.0, sr=22050)
    path = _write(tmp_path / "s.flac", data, sr=22050)
    y = load(path, sr=44100, mono=False)
    assert y.shape == (2, 44100) and y.dtype == np.float32
    assert abs(_peak_hz(y[0], 44100) - 440.0) < 1.0


def test_sr_none_keeps_native_rate(tmp_path):
    data = _sine(440.0, 1.0, sr=16000)
    path = _write(tmp_path / "n.wav", data, sr=16000, subtype="FLOAT")
    np.testing.assert_array_equal(load(path, sr=None), data)


def test_same_rate_is_not_resampled(tmp_path):
    data = _sine(440.0, 1.0, sr=22050)
    path = _write(tmp_path / "n.wav", data, sr=22050, subtype="FLOAT")
    np.testing.assert_array_equal(load(path), data)


# --------------------------------------------------------------------------- offset / duration


@pytest.mark.parametrize(("fmt", "subtype", "ext"), [
    ("WAV", "PCM_16", "wav"), ("FLAC", "PCM_16", "flac"), ("OGG", "VORBIS", "ogg"),
    ("MP3", "MPEG_LAYER_III", "mp3"),
])
def test_offset_and_duration_read_the_same_samples_as_a_full_read(tmp_path, rng, fmt, subtype, ext):
    path = _write(tmp_path / f"x.{ext}", _stereo(rng, 3.0), format=fmt, subtype=subtype)
    full = load(path, sr=None, mono=False)
    part = load(path, sr=None, mono=False, offset=1.25, duration=0.5)
    start = round(1.25 * SR)
    assert part.shape == (2, round(0.5 * SR))
    np.testing.assert_array_equal(part, full[:, start:start + part.shape[1]])


def test_offset_alone_reads_to_the_end(tmp_path):
    data = _sine(440.0, 2.0)
    path = _write(tmp_path / "x.wav", data, subtype="FLOAT")
    np.testing.assert_array_equal(load(path, sr=None, offset=0.5), data[SR // 2:])


def test_duration_past_the_end_is_cut_at_the_end(tmp_path):
    data = _sine(440.0, 1.0)
    path = _write(tmp_path / "x.wav", data, subtype="FLOAT")
    np.testing.assert_array_equal(load(path, sr=None, duration=30.0), data)
    assert load(path, duration=30.0).shape == (22050,)


def test_offset_past_the_end_raises(tmp_path):
    path = _write(tmp_path / "short.wav", _sine(440.0, 1.0))
    with pytest.raises(AudioError) as exc_info:
        load(path, offset=5.0)
    _assert_audio_error(exc_info, path, "no audio samples after offset 5 s")


@pytest.mark.parametrize("kwargs", [
    {"sr": 0}, {"sr": -22050}, {"sr": 22050.5}, {"offset": -1.0}, {"offset": float("nan")},
    {"duration": 0.0}, {"duration": -2.0}, {"duration": float("inf")},
])
def test_bad_arguments_raise_value_error(tmp_path, kwargs):
    path = _write(tmp_path / "x.wav", _sine(440.0, 0.1))
    with pytest.raises(ValueError):
        load(path, **kwargs)


# --------------------------------------------------------------------------- lossy formats


def test_ogg_vorbis_decodes_to_the_same_sine(tmp_path):
    path = _write(tmp_path / "x.ogg", _sine(1000.0, 1.0), format="OGG", subtype="VORBIS")
    y = load(path)
    assert y.dtype == np.float32 and abs(y.shape[0] - 22050) < 100
    assert abs(_peak_hz(y, 22050) - 1000.0) < 2.0
    assert info(path).format == "OGG/VORBIS"


def test_vbr_mp3_without_xing_header_is_read_whole(tmp_path, rng):
    """libsndfile estimates such a file's length from its first frame and stops there;
    load must read it all (through FFmpeg)."""
    pytest.importorskip("av")
    t = np.arange(10 * SR) / SR
    data = np.where(t < 5, 0.3 * np.sin(2 * np.pi * 440 * t), 0.3 * rng.standard_normal(t.shape[0]))
    vbr = _write(tmp_path / "vbr.mp3", data.astype(np.float32), format="MP3", subtype="MPEG_LAYER_III",
                 bitrate_mode="VARIABLE", compression_level=0.9)
    bare = tmp_path / "bare.mp3"
    bare.write_bytes(_strip_first_mp3_frame(vbr.read_bytes()))
    with sf.SoundFile(bare) as snd:
        assert snd.frames < 5 * SR  # libsndfile's (wrong) estimate: the premise of the test
    y = load(bare, sr=None)
    assert abs(y.shape[0] - 10 * SR) < 0.05 * SR
    np.testing.assert_allclose(load(vbr, sr=None).shape[0], 10 * SR, atol=0.05 * SR)
    assert abs(info(bare).duration - 10.0) < 1.0


# --------------------------------------------------------------------------- FFmpeg (PyAV) formats


@pytest.mark.parametrize(("layout", "channels"), [("mono", 1), ("stereo", 2), ("5.1", 6)])
def test_aac_in_m4a_through_pyav_with_channel_layouts(tmp_path, layout, channels):
    sine = _sine(1000.0, 1.0, amp=0.4)
    gains = np.ones(channels, np.float32)
    if channels == 6:
        gains[3] = 0.0  # the LFE channel stays silent (encoders low-pass it)
    data = gains[:, None] * sine[None, :]
    path = _write_av(tmp_path / f"{layout}.m4a", data, SR, layout)
    i = info(path)
    assert (i.samplerate, i.channels) == (SR, channels)
    assert i.format.endswith("/AAC")
    assert abs(i.duration - 1.0) < 0.1
    y = load(path, sr=None, mono=False)
    assert y.dtype == np.float32 and y.shape[0] == channels
    m = load(path)
    assert m.dtype == np.float32 and m.ndim == 1 and abs(m.shape[0] - 22050) < 0.05 * 22050
    assert abs(_peak_hz(m, 22050) - 1000.0) < 2.0
    rms = np.sqrt(np.mean(m[2000:-2000] ** 2))
    expected = 0.4 / np.sqrt(2) * gains.mean()  # the silent LFE channel counts in the average
    np.testing.assert_allclose(rms, expected, rtol=0.05)


def test_pyav_offset_and_duration_match_a_full_read(tmp_path):
    # Tonal, not noise: the AAC encoder codes noise bands as "noise here" (PNS) and the decoder
    # fills them with random noise, which differs between two decodes.
    t = np.arange(4 * SR) / SR
    chirp = 0.3 * np.sin(2 * np.pi * (200 * t + 100 * t**2))
    data = np.stack([chirp, 0.5 * chirp + 0.2 * np.sin(2 * np.pi * 330 * t)]).astype(np.float32)
    path = _write_av(tmp_path / "noise.m4a", data, SR, "stereo")
    full = load(path, sr=None, mono=False)
    part = load(path, sr=None, mono=False, offset=2.5, duration=1.0)
    start = round(2.5 * SR)
    assert part.shape == (2, SR)
    np.testing.assert_allclose(part, full[:, start:start + SR], atol=1e-4)  # decoder rounding


def test_missing_pyav_gives_a_clear_error(tmp_path, monkeypatch):
    path = _write_av(tmp_path / "x.m4a", _sine(440.0, 0.5)[None, :], SR, "mono")
    monkeypatch.setitem(sys.modules, "av", None)  # makes `import av` raise ImportError
    for func in (load, info):
        with pytest.raises(AudioError) as exc_info:
            func(path)
        _assert_audio_error(exc_info, path, "cannot decode")
        assert "PyAV" in str(exc_info.value) and "pip install av" in str(exc_info.value)


# --------------------------------------------------------------------------- bad files


def _truncate(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    cut = path.with_name("cut_" + path.name)
    cut.write_bytes(data[: int(len(data) * keep)])
    return cut


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.wav"
    for func in (load, info):
        with pytest.raises(AudioError) as exc_info:
            func(path)
        _assert_audio_error(exc_info, path, "file not found")
        assert exc_info.value.path == path


def test_directory(tmp_path):
    path = tmp_path / "folder.wav"
    path.mkdir()
    for func in (load, info):
        with pytest.raises(AudioError) as exc_info:
            func(path)
        _assert_audio_error(exc_info, path, "is a directory")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()
    for func in (load, info):
        with pytest.raises(AudioError) as exc_info:
            func(path)
        _assert_audio_error(exc_info, path, "empty file (0 bytes)")


def test_file_without_samples(tmp_path):
    path = _write(tmp_path / "nothing.wav", np.zeros((0, 1), np.float32))
    assert info(path).frames == 0
    with pytest.raises(AudioError) as exc_info:
        load(path)
    _assert_audio_error(exc_info, path, "no audio samples")


@pytest.mark.parametrize(("fmt", "subtype", "ext"), [
    ("WAV", "PCM_16", "wav"), ("WAV", "FLOAT", "wav"), ("AU", "PCM_16", "au"),
    ("AIFF", "PCM_16", "aiff"), ("W64", "PCM_16", "w64"), ("CAF", "PCM_16", "caf"),
])
def test_truncated_file_whose_header_promises_more(tmp_path, rng, fmt, subtype, ext):
    path = _truncate(_write(tmp_path / f"x.{ext}", _stereo(rng), format=fmt, subtype=subtype), 0.6)
    for func in (load, info):
        with pytest.raises(AudioError) as exc_info:
            func(path)
        _assert_audio_error(exc_info, path, "truncated")


@pytest.mark.parametrize(("fmt", "subtype", "ext"), [
    ("FLAC", "PCM_16", "flac"), ("OGG", "VORBIS", "ogg"), ("MP3", "MPEG_LAYER_III", "mp3"),
])
def test_truncated_compressed_file(tmp_path, rng, fmt, subtype, ext):
    kwargs = {"bitrate_mode": "VARIABLE"} if fmt == "MP3" else {}
    path = _truncate(_write(tmp_path / f"x.{ext}", _stereo(rng, 2.0), format=fmt, subtype=subtype,
                            **kwargs), 0.6)
    with pytest.raises(AudioError) as exc_info:
        load(path)
    _assert_audio_error(exc_info, path, "truncated")


def test_unfinished_wav_with_placeholder_size_is_read(tmp_path):
    """Streaming writers leave 0xFFFFFFFF as the data size; the audio is whole."""
    data = _sine(440.0, 0.1)
    raw = bytearray(_write(tmp_path / "x.wav", data, subtype="PCM_16").read_bytes())
    at = raw.find(b"data")
    raw[4:8] = raw[at + 4:at + 8] = struct.pack("<I", 0xFFFFFFFF)
    path = tmp_path / "streamed.wav"
    path.write_bytes(bytes(raw))
    np.testing.assert_allclose(load(path, sr=None), data, atol=2.0**-15)


def test_random_bytes(tmp_path, rng):
    path = tmp_path / "noise.wav"
    path.write_bytes(rng.bytes(4096))
    for func in (load, info):
        with pytest.raises(AudioError) as exc_info:
            func(path)
        _assert_audio_error(exc_info, path, "cannot decode")


def test_text_file(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("not audio at all\n" * 50)
    with pytest.raises(AudioError) as exc_info:
        load(path)
    _assert_audio_error(exc_info, path, "cannot decode")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("mono", [True, False])
def test_non_finite_samples(tmp_path, bad, mono):
    data = np.stack([_sine(440.0, 0.5), _sine(220.0, 0.5)], axis=1)
    data[1000, 1] = bad
    path = _write(tmp_path / "bad.wav", data, subtype="FLOAT")
    for sr in (None, 22050):
        with pytest.raises(AudioError) as exc_info:
            load(path, sr=sr, mono=mono)
        _assert_audio_error(exc_info, path, "contains non-finite samples (NaN or inf)")


def test_non_finite_samples_outside_the_part_read_do_not_matter(tmp_path):
    data = _sine(440.0, 1.0)
    data[-10] = np.nan
    path = _write(tmp_path / "bad_end.wav", data, subtype="FLOAT")
    assert np.isfinite(load(path, duration=0.5)).all()


def test_module_does_not_import_librosa_and_names_its_resampler():
    code = "import sys, mirlearn.audio; assert 'librosa' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert "'HQ'" in audio.load.__doc__ and audio.RESAMPLER == "soxr HQ"


# --------------------------------------------------------------------------- real files


_FORMAT_INFO = {  # name: (samplerate, channels, duration in s)
    "Kevin_MacLeod_-_Vibe_Ace.hq.ogg": (44100, 2, 61.459),
    "Kevin_MacLeod_-_Vibe_Ace.ogg": (22050, 1, 61.459),
    "cat_purrrr24bit.wav": (44100, 2, 4.974),
    "cat_purrrr32bit.wav": (44100, 2, 4.974),
    "dubstep.aac": (44100, 2, 6.85),
    "dubstep.flac": (44100, 2, 6.85),
    "dubstep.mp3": (44100, 2, 6.85),
    "dubstep.ogg": (44100, 2, 6.85),
    "dubstep.wav": (44100, 2, 6.85),
    "flamenco.mp3": (44100, 2, 14.229),
    "jazz_music.mp3": (44100, 2, 84.703),
}


def _audio_files(shared_data: Path) -> list[Path]:
    files = sorted(p for p in (shared_data / "formats").iterdir() if p.suffix != ".txt")
    assert files, "no audio in shared_data/formats"
    return files


@pytest.mark.shared_data
def test_every_real_file_decodes_to_finite_mono_22050(shared_data):
    for path in _audio_files(shared_data):
        y = load(path)
        assert y.dtype == np.float32 and y.ndim == 1, path.name
        assert np.isfinite(y).all(), path.name
        assert 0.01 < np.abs(y).max() < 2.0, path.name
        expected = info(path).duration * 22050
        assert abs(y.shape[0] - expected) < 0.01 * expected + 1200, path.name


@pytest.mark.shared_data
def test_info_of_real_files(shared_data):
    for path in _audio_files(shared_data):
        if path.name not in _FORMAT_INFO:
            continue
        samplerate, channels, duration = _FORMAT_INFO[path.name]
        i = info(path)
        assert (i.samplerate, i.channels) == (samplerate, channels), path.name
        # lossy encodings add encoder delay and padding (up to ~35 ms here)
        assert abs(i.duration - duration) < 0.05, (path.name, i.duration)
        assert i.frames == round(i.duration * i.samplerate)
    assert info(shared_data / "formats" / "dubstep.aac").format == "AAC/AAC"
    assert info(shared_data / "formats" / "dubstep.wav").format == "WAV/PCM_16"


def _aligned_correlation(ref: np.ndarray, y: np.ndarray, max_lag: int = 2048) -> tuple[int, float]:
    """Lag of ``y`` behind ``ref`` (samples, found on seconds 1-4) and their correlation there after."""
    seg = ref[22050:4 * 22050]
    scores = [np.dot(seg, y[22050 + lag:4 * 22050 + lag]) for lag in range(-max_lag, max_lag + 1)]
    lag = int(np.argmax(scores)) - max_lag
    a, b = ref[max(-lag, 0):], y[max(lag, 0):]
    n = min(a.shape[0], b.shape[0])
    return lag, float(np.corrcoef(a[:n], b[:n])[0, 1])


@pytest.mark.shared_data
@pytest.mark.parametrize(("ext", "min_corr"), [
    # measured: flac 1.0 (lag 0), ogg 0.9955 (lag 0), mp3 0.9990 (lag 288 = the encoder's
    # 576-sample delay at 44.1 kHz), aac 0.9932 (lag 512 = 1024 priming samples, kept in ADTS)
    ("flac", 0.9999), ("ogg", 0.97), ("mp3", 0.97), ("aac", 0.97),
])
def test_dubstep_encodings_give_the_same_music(shared_data, ext, min_corr):
    formats = shared_data / "formats"
    ref = load(formats / "dubstep.wav")
    y = load(formats / f"dubstep.{ext}")
    lag, corr = _aligned_correlation(ref, y)
    assert 0 <= lag <= 1024, lag
    assert corr > min_corr, (ext, lag, corr)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["dubstep.wav", "cat_purrrr24bit.wav", "dubstep.flac"])
def test_matches_librosa_load(shared_data, name):
    librosa = pytest.importorskip("librosa")
    path = shared_data / "formats" / name
    expected, sr = librosa.load(path, sr=22050)  # soxr_hq, mono by averaging
    y = load(path)
    assert sr == 22050 and y.shape == expected.shape
    np.testing.assert_allclose(y, expected, atol=1e-5)


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "offset", "duration"), [
    ("jazz_music.mp3", 30.0, 10.0), ("dubstep.aac", 3.0, 2.0),
    ("Kevin_MacLeod_-_Vibe_Ace.hq.ogg", 20.3, 2.0), ("dubstep.flac", 1.7, 3.0),
])
def test_offset_on_real_files_matches_a_full_read(shared_data, name, offset, duration):
    path = shared_data / "formats" / name
    full = load(path, sr=None, mono=False)
    part = load(path, sr=None, mono=False, offset=offset, duration=duration)
    rate = info(path).samplerate
    start = round(offset * rate)
    assert part.shape == (full.shape[0], round(duration * rate))
    np.testing.assert_allclose(part, full[:, start:start + part.shape[1]], atol=1e-4)

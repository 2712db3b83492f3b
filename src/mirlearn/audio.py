"""Decode audio files to float32 samples at a chosen rate; read their headers.

Two decoders, tried in this order:

- **libsndfile** (through ``soundfile``): WAV (8/16/24/32-bit integer, 32/64-bit float),
  WAVEX, AIFF, AU, W64, RF64, CAF, FLAC, Ogg Vorbis/Opus and MP3. Fast, and it seeks.
- **FFmpeg** (through PyAV, ``av``): everything libsndfile cannot open (AAC in ADTS or M4A/MP4,
  ALAC, WMA, ...), and MP3 files whose length libsndfile can only estimate (no Xing/Info
  header: libsndfile stops at its estimate, which for a VBR file can drop most of the music).

Resampling uses soxr at quality ``'HQ'`` (the same resampler as ``librosa.load``'s default
``soxr_hq``), and only when the native rate differs from the one asked for. Stereo and
multichannel audio is averaged to mono *before* resampling.

Every problem with a file (missing, empty, truncated, undecodable, non-finite samples) raises
:class:`mirlearn.errors.AudioError`, whose message names the file and the cause.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
import soxr

from mirlearn.errors import AudioError

if TYPE_CHECKING:  # pragma: no cover
    import av

__all__ = ["AudioInfo", "RESAMPLER", "info", "load"]

#: The resampler used by :func:`load`, as recorded beside results.
RESAMPLER = "soxr HQ"

_SOXR_QUALITY = "HQ"
# Seek this far (seconds) before the wanted offset in FFmpeg streams: the first frames after a
# seek are decoded without their predecessors (AAC overlap-add, MP3 bit reservoir) and are wrong.
_PREROLL_S = 0.5
# Sizes that writers of unfinished (streamed) files put in headers; they do not mean truncation.
_PLACEHOLDER_SIZES = frozenset({0, 0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF})
# Lines of libsndfile's header log that state a size, with the size the file actually allows.
_SIZE_LINE = re.compile(
    r"^\s*(?P<label>[A-Za-z][\w ]*?)\s*:\s*(?P<stated>\d+)\s*\(should be (?P<actual>\d+)\)", re.M
)
_DATA_LABELS = frozenset({"data", "SSND", "Data Size"})
_CONTAINER_LABELS = frozenset({"RIFF", "riff", "RIFX", "FORM", "Riff size", "RF64"})
# Subtypes whose samples are integers, hence always finite.
_INTEGER_SUBTYPES = ("PCM_", "ULAW", "ALAW")
# FFmpeg demuxers whose seeking is not sample-accurate (MP3 without an index seeks by bytes).
_INEXACT_SEEK_FORMATS = frozenset({"mp3"})
_MP3_ESTIMATED = "libsndfile can only estimate the length of this MP3 (no Xing/Info header)"


@dataclass(frozen=True)
class AudioInfo:
    """What the header of an audio file says.

    Attributes
    ----------
    samplerate : int
        Native sampling rate in Hz.
    channels : int
        Number of channels.
    frames : int
        Number of samples per channel. Exact for uncompressed formats, FLAC, Ogg and MP3 with a
        Xing/Info header; an estimate from the bit rate for raw AAC (ADTS) and other MP3s.
    duration : float
        ``frames / samplerate``, in seconds.
    format : str
        ``'CONTAINER/CODEC'``, e.g. ``'WAV/PCM_16'``, ``'FLAC/PCM_24'``, ``'OGG/VORBIS'``,
        ``'MP3/MPEG_LAYER_III'`` (libsndfile) or ``'AAC/AAC'``, ``'MOV/AAC'`` (FFmpeg).
    """

    samplerate: int
    channels: int
    frames: int
    duration: float
    format: str


def info(path: str | os.PathLike[str]) -> AudioInfo:
    """Read the header of an audio file without decoding its samples.

    Parameters
    ----------
    path : str or path-like
        The audio file.

    Returns
    -------
    AudioInfo
        Rate (Hz), channels, frames, duration (s) and format.

    Raises
    ------
    AudioError
        The file is missing, empty, a directory, a WAV/AIFF/AU whose header promises more audio
        than the file holds, an Ogg file cut short, or a format no decoder can read.

    Examples
    --------
    >>> info("blues.00000.au")  # doctest: +SKIP
    AudioInfo(samplerate=22050, channels=1, frames=661794, duration=30.013..., format='AU/PCM_16')
    """
    path = _check_file(path)
    snd, reason = _open_sndfile(path)
    if snd is None:
        return _info_av(path, reason)
    with snd:
        _check_complete(snd, path)
        if _mp3_length_estimated(snd) and _have_av():
            # FFmpeg's estimate uses the file's average bit rate, libsndfile's the first frame's
            return _info_av(path, _MP3_ESTIMATED)
        return AudioInfo(snd.samplerate, snd.channels, snd.frames, snd.frames / snd.samplerate,
                         f"{snd.format}/{snd.subtype}")


def load(
    path: str | os.PathLike[str],
    *,
    sr: int | None = 22050,
    mono: bool = True,
    offset: float = 0.0,
    duration: float | None = None,
) -> np.ndarray:
    """Decode an audio file to float32 samples, optionally mono and resampled.

    Only the part from ``offset`` to ``offset + duration`` is read (libsndfile seeks; FFmpeg
    seeks where its seeking is sample-accurate and stops decoding at the end of the part).
    Channels are averaged before resampling; resampling uses soxr at quality ``'HQ'``.

    Parameters
    ----------
    path : str or path-like
        The audio file.
    sr : int or None
        Output sampling rate in Hz; ``None`` keeps the file's native rate.
    mono : bool
        Average all channels into one.
    offset : float
        Start of the part to read, in seconds from the beginning of the file (>= 0).
    duration : float or None
        Length of the part to read, in seconds (> 0); ``None`` reads to the end. A part that
        runs past the end of the file is cut there (a 25 s file read with ``duration=30`` gives
        25 s).

    Returns
    -------
    np.ndarray [shape=(n_samples,) if mono else (n_channels, n_samples), dtype=float32]
        The samples, nominally in [-1, 1]; C-contiguous.

    Raises
    ------
    AudioError
        The file is missing, a directory, empty, truncated or corrupt, cannot be decoded, holds
        no samples (or none after ``offset``), or holds NaN or infinite samples.
    ValueError
        ``sr``, ``offset`` or ``duration`` is out of range.

    Examples
    --------
    >>> y = load("blues.00000.au")  # doctest: +SKIP
    >>> y.shape, y.dtype  # doctest: +SKIP
    ((661794,), dtype('float32'))
    >>> load("song.mp3", sr=None, mono=False, duration=30).shape  # doctest: +SKIP
    (2, 1323000)
    """
    _check_arguments(sr, offset, duration)
    path = _check_file(path)
    samples, native_sr, maybe_nonfinite = _decode(path, offset, duration)
    if samples.shape[0] == 0:
        raise AudioError(path, "no audio samples" + (f" after offset {offset:g} s" if offset else ""))
    if mono:
        samples = _downmix(samples)
    if sr is not None and sr != native_sr:
        samples = resample(samples, native_sr, sr)
    if maybe_nonfinite and not np.isfinite(samples).all():
        raise AudioError(path, "contains non-finite samples (NaN or inf)")
    return samples if mono else np.ascontiguousarray(samples.T)


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """``y`` (samples, or samples × channels) resampled from ``orig_sr`` to ``target_sr`` Hz
    with soxr at quality ``'HQ'``, the resampler of :func:`load`; float32 out."""
    if int(orig_sr) == int(target_sr):
        return np.asarray(y, dtype=np.float32)
    return soxr.resample(y, int(orig_sr), int(target_sr), quality=_SOXR_QUALITY).astype(np.float32, copy=False)


# --------------------------------------------------------------------------- checks


def _check_arguments(sr: int | None, offset: float, duration: float | None) -> None:
    """Raise ValueError for a rate, offset or duration that no file could satisfy."""
    if sr is not None and (isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0):
        raise ValueError(f"sr must be a positive integer (Hz) or None, got {sr!r}")
    if not (math.isfinite(offset) and offset >= 0):
        raise ValueError(f"offset must be a finite number of seconds >= 0, got {offset!r}")
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be a finite number of seconds > 0 or None, got {duration!r}")


def _check_file(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path after checking that it is a non-empty regular file."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AudioError(path, "file not found") from None
    except OSError as exc:
        raise AudioError(path, f"cannot read: {exc.strerror or exc}") from None
    if path.is_dir():
        raise AudioError(path, "is a directory, not an audio file")
    if st.st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    return path


def _check_complete(snd: sf.SoundFile, path: Path) -> None:
    """Raise AudioError when libsndfile's header log shows that the file was cut short.

    libsndfile trims the frame count of a WAV/AIFF/AU/CAF whose header promises more bytes than
    the file holds, and reads a truncated Ogg up to its last page, both silently; its log says
    so ("data : 176400 (should be 88178)", "Last page lacks an end-of-stream bit").
    """
    log = snd.extra_info
    if "lacks an end-of-stream bit" in log:
        raise AudioError(path, "truncated: the Ogg stream ends without its end-of-stream mark")
    shortfall = _header_shortfall(log, snd.format)
    if shortfall is not None:
        stated, actual = shortfall
        raise AudioError(path, f"truncated: the header promises {stated} bytes of audio "
                               f"but the file holds {actual}")


def _header_shortfall(log: str, fmt: str) -> tuple[int, int] | None:
    """``(stated, actual)`` sizes in bytes when a header promises more than is present, else None.

    The data chunk's size decides (WAV, AIFF, AU, CAF); the container's size only for W64 and
    RF64, whose data size libsndfile does not check. A container size that alone is too large
    (a WAV whose RIFF size is wrong but whose data are whole) is no truncation. Placeholder sizes
    of streamed files (0, 0xFFFFFFFF) are ignored.
    """
    labels = _DATA_LABELS | _CONTAINER_LABELS if fmt in {"W64", "RF64"} else _DATA_LABELS
    for m in _SIZE_LINE.finditer(log):
        stated, actual = int(m["stated"]), int(m["actual"])
        # One byte of slack: a missing pad byte after an odd-sized chunk loses no audio.
        if m["label"] in labels and stated not in _PLACEHOLDER_SIZES and stated > actual + 1:
            return stated, actual
    return None


# --------------------------------------------------------------------------- decoding


def _decode(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int, bool]:
    """Decode the wanted part of ``path``.

    Returns
    -------
    samples : np.ndarray [shape=(n_frames, n_channels), dtype=float32]
    samplerate : int
        Native rate in Hz.
    maybe_nonfinite : bool
        False when the samples are integers at the source and so certainly finite.
    """
    snd, reason = _open_sndfile(path)
    if snd is None:
        return _read_av(path, offset, duration, reason)
    with snd:
        if _mp3_length_estimated(snd) and _have_av():
            reason = _MP3_ESTIMATED
        else:
            samples = _read_sndfile(snd, path, offset, duration)
            return samples, snd.samplerate, not snd.subtype.startswith(_INTEGER_SUBTYPES)
    return _read_av(path, offset, duration, reason)


def _open_sndfile(path: Path) -> tuple[sf.SoundFile | None, str]:
    """Open ``path`` with libsndfile; when it cannot, return ``(None, libsndfile's reason)``.

    Raises AudioError when libsndfile knows the format but finds the file malformed (a header
    cut short, say): FFmpeg would often decode such a file partially, without complaint.
    """
    try:
        return sf.SoundFile(path), ""
    except RuntimeError as exc:  # LibsndfileError is a RuntimeError
        reason = _sf_reason(exc)
    if "malformed" in reason:
        raise AudioError(path, f"cannot decode: {reason.rstrip('.')} (file truncated or corrupt)")
    if reason.startswith("File does not exist"):  # libsndfile's words for some unknown data
        reason = "format not recognised"
    return None, f"libsndfile: {reason}"


def _mp3_length_estimated(snd: sf.SoundFile) -> bool:
    """True for an MP3 without Xing/Info header: libsndfile guesses its length from the bit rate
    of the first frame, and stops reading there."""
    return snd.format == "MP3" and re.search(r"bitrate mode\s*:\s*variable", snd.extra_info) is None


def _read_sndfile(snd: sf.SoundFile, path: Path, offset: float, duration: float | None) -> np.ndarray:
    """Read ``[offset, offset + duration)`` from an open libsndfile file, as (frames, channels).

    Raises AudioError when the file is truncated (fewer frames than the header promises) or
    corrupt.
    """
    _check_complete(snd, path)
    total = snd.frames
    start = round(offset * snd.samplerate)
    if start >= total:
        return np.empty((0, snd.channels), np.float32)
    count = total - start if duration is None else min(round(duration * snd.samplerate), total - start)
    try:
        if start:
            snd.seek(start)
        samples = snd.read(count, dtype="float32", always_2d=True)
    except RuntimeError as exc:  # LibsndfileError is a RuntimeError
        raise AudioError(path, f"cannot decode: {_sf_reason(exc)} (file truncated or corrupt)") from None
    if samples.shape[0] < count and not _mp3_length_estimated(snd):
        raise AudioError(path, f"truncated: the header promises {total} samples per channel, "
                               f"only {start + samples.shape[0]} could be read")
    return samples


def _sf_reason(exc: RuntimeError) -> str:
    return getattr(exc, "error_string", None) or str(exc)


def _have_av() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def _import_av(path: Path, reason: str):
    """Import PyAV, or raise AudioError saying that it is needed for this file."""
    try:
        import av
    except ImportError:
        raise AudioError(path, f"cannot decode ({reason}); reading this format needs PyAV "
                               "(pip install av)") from None
    return av


def _open_av(path: Path, reason: str) -> tuple["av.container.InputContainer", "av.AudioStream"]:
    """Open ``path`` with FFmpeg and return the container and its first audio stream."""
    av = _import_av(path, reason)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise AudioError(path, f"cannot decode: not a format libsndfile or FFmpeg can read "
                               f"({reason}; FFmpeg: {_av_reason(exc)})") from None
    if not container.streams.audio:
        container.close()
        raise AudioError(path, "cannot decode: the file has no audio stream")
    return container, container.streams.audio[0]


def _av_reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _info_av(path: Path, reason: str) -> AudioInfo:
    """Header information from FFmpeg (the duration of raw AAC is estimated from its bit rate)."""
    container, stream = _open_av(path, reason)
    import av  # imported by _open_av

    with container:
        cc = stream.codec_context
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            seconds = container.duration / av.time_base
        else:
            seconds = 0.0
        frames = round(seconds * cc.sample_rate)
        codec = cc.name.upper()
        fmt = container.format.name.split(",")[0].upper()
        return AudioInfo(cc.sample_rate, cc.layout.nb_channels, frames,
                         frames / cc.sample_rate if cc.sample_rate else 0.0, f"{fmt}/{codec}")


def _read_av(path: Path, offset: float, duration: float | None, reason: str) -> tuple[np.ndarray, int, bool]:
    """Decode ``[offset, offset + duration)`` with FFmpeg, as (frames, channels) float32."""
    container, stream = _open_av(path, reason)
    import av  # imported by _open_av

    with container:
        seek = offset > _PREROLL_S and container.format.name not in _INEXACT_SEEK_FORMATS
        try:
            decoded = _decode_av_stream(container, stream, offset, duration, seek)
            if decoded is None:  # frames after the seek had no timestamps: decode from the start
                container.seek(0)
                decoded = _decode_av_stream(container, stream, offset, duration, False)
        except (av.FFmpegError, ValueError) as exc:
            raise AudioError(path, f"cannot decode: FFmpeg: {_av_reason(exc)} "
                                   "(file truncated or corrupt)") from None
    samples, sr = decoded
    return samples, sr, True


def _decode_av_stream(container, stream, offset: float, duration: float | None,
                      seek: bool) -> tuple[np.ndarray, int] | None:
    """Decode one audio stream from ``offset`` for ``duration`` seconds.

    Positions are counted in samples from the first decoded frame; after a seek, the first
    frame's timestamp gives its position. The rate and channel layout of the first frame hold
    for the whole output (later frames are converted to them).

    Returns None when a seek was made but the decoded frames carry no timestamp.
    """
    import av

    if seek:
        container.seek(int((offset - _PREROLL_S) * av.time_base), backward=True)
    resampler = av.AudioResampler(format="flt")  # packed float32; keeps rate and layout
    start_time = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    pieces: list[np.ndarray] = []
    sr = start = stop = pos = None
    for frame in container.decode(stream):
        if sr is None:
            sr = frame.sample_rate
            start = round(offset * sr)
            stop = None if duration is None else start + round(duration * sr)
            if seek:
                if frame.pts is None or frame.time_base is None:
                    return None
                pos = round((float(frame.pts * frame.time_base) - start_time) * sr)
            else:
                pos = 0
        for out in resampler.resample(frame):
            pos = _keep(out, pos, start, stop, pieces)
        if stop is not None and pos >= stop:
            break
    else:
        if sr is not None:
            for out in resampler.resample(None):
                pos = _keep(out, pos, start, stop, pieces)
    if not pieces:
        channels = stream.codec_context.layout.nb_channels or 1
        return np.empty((0, channels), np.float32), sr or stream.codec_context.sample_rate
    return np.concatenate(pieces), sr


def _keep(frame, pos: int, start: int, stop: int | None, pieces: list[np.ndarray]) -> int:
    """Append the part of ``frame`` (at sample ``pos``) inside ``[start, stop)``; return the next pos."""
    channels = frame.layout.nb_channels
    data = frame.to_ndarray().reshape(-1, channels)
    end = pos + data.shape[0]
    lo = max(start - pos, 0)
    hi = data.shape[0] if stop is None else min(stop - pos, data.shape[0])
    if hi > lo:
        pieces.append(data[lo:hi])
    return end


def _downmix(samples: np.ndarray) -> np.ndarray:
    """Average the channels of ``samples`` [shape=(n_frames, n_channels)] into shape (n_frames,)."""
    n_channels = samples.shape[1]
    if n_channels == 1:
        return np.ascontiguousarray(samples[:, 0])
    mono = samples[:, 0] + samples[:, 1]
    for c in range(2, n_channels):
        mono += samples[:, c]
    mono /= np.float32(n_channels)
    return mono

"""Offline augmentation: one audio transform applied to every track, cached as frames.

An :class:`AudioTransform` is one *variant* of the data set — every track time-stretched by
1.2, or pitch-shifted by −5 semitones, or with noise at 20 dB SNR — optionally cut to a random
segment (``crop_seconds``; ``segment`` numbers the draws, as Schindler & Lidy's tutorial takes
3 random segments of each stretched file). :func:`extract_augmented` frames each variant of
every track through the frame cache (:func:`mirlearn.features.cache.extract_frames` with
``transform=``): a variant is keyed by the tracks, the frame settings and the transform's
:meth:`~AudioTransform.key`, computed once in worker threads behind a progress bar and reused
by every later run; a killed extraction loses at most the variant in progress.

Variants are made for *every* track, not only the training tracks of one split: across the
protocol's 4 random splits a track is in training about twice, so augmenting all tracks once
costs less than augmenting each split's training part, and every split reuses the cache. Which
copies a learner sees is decided later, per split, from the copies' source tracks
(:func:`copy_id`, :func:`source_id`): only the training tracks' copies, never a validation or
test track's.

Random draws (noise, segment start) come from a generator seeded by ``(seed, segment, track
id)``: a track's copy is the same whatever the order or the number of threads.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from mirlearn.datasets.tracks import TrackTable
from mirlearn.errors import ConfigError
from mirlearn.features.frameset import FrameSet
from mirlearn.features.settings import FrameSettings

__all__ = ["AudioTransform", "KINDS", "COPY_MARK", "copy_id", "source_id", "offline_transforms", "extract_augmented"]

#: Transform kinds and the unit of their value.
KINDS = {"time_stretch": "rate", "pitch_shift": "semitones", "gain": "dB", "noise": "dB SNR"}
#: Separates a source track id from a copy's tag: ``blues.00029~stretch1.2``.
COPY_MARK = "~"
#: Shorter than this many samples, a track is not stretched or shifted (used as it is, named in
#: a warning): the phase vocoder's 2048-sample frame would be mostly padding.
MIN_SAMPLES = 2048


def _num(v: float) -> str:
    return f"{v:g}"


@dataclass(frozen=True)
class AudioTransform:
    """One augmented variant of a data set's audio.

    Parameters
    ----------
    kind : {'time_stretch', 'pitch_shift', 'gain', 'noise'}
    value : float
        Stretch rate (> 1 faster and shorter, librosa's convention), semitones, gain in dB, or
        signal-to-noise ratio in dB (white Gaussian noise).
    backend : {'librosa', 'rubberband'}
        Library of time stretch and pitch shift (:data:`mirlearn.features.augment.audio.BACKENDS`).
    crop_seconds : float or None
        Keep a random segment of this many seconds of the transformed track (a shorter track is
        kept whole and named in a warning); ``None`` keeps it all.
    segment : int
        Which random segment (0, 1, …): each is another variant with its own draws.
    seed : int
        Seeds the noise and the segment starts (with ``segment`` and the track id).
    """

    kind: str
    value: float
    backend: str = "librosa"
    crop_seconds: float | None = None
    segment: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        from mirlearn.features.augment import audio

        if self.kind not in KINDS:
            raise ConfigError(f"unknown augmentation {self.kind!r}; known: {', '.join(KINDS)}")
        v = float(self.value)
        if not np.isfinite(v):
            raise ConfigError(f"augmentation {self.kind}: value {self.value!r} is not a finite number")
        if self.kind == "time_stretch" and v <= 0:
            raise ConfigError(f"augmentation time_stretch: rate {self.value!r} must be > 0 (1.2: 20 % faster)")
        if self.kind == "pitch_shift" and abs(v) > 24:
            raise ConfigError(f"augmentation pitch_shift: {self.value!r} semitones is beyond ±24")
        if self.kind in ("time_stretch", "pitch_shift"):
            audio.check_backend(self.backend)
        if self.crop_seconds is not None and not (np.isfinite(self.crop_seconds) and self.crop_seconds > 0):
            raise ConfigError(f"augmentation crop_seconds={self.crop_seconds!r} must be > 0 seconds (or unset)")
        if self.segment < 0 or self.seed < 0:
            raise ConfigError("augmentation segment and seed must be >= 0")

    # -- identity -------------------------------------------------------------------------------
    @property
    def tag(self) -> str:
        """Short name used in copies' track ids: ``stretch1.2``, ``shift-5``, ``gain+6dB``,
        ``noise20dB``, plus ``-seg0`` when cropped."""
        base = {"time_stretch": f"stretch{_num(self.value)}", "pitch_shift": f"shift{self.value:+g}",
                "gain": f"gain{self.value:+g}dB", "noise": f"noise{_num(self.value)}dB"}[self.kind]
        return base + (f"-seg{self.segment}" if self.crop_seconds is not None else "")

    def describe(self) -> str:
        """A few words, e.g. ``time stretch ×1.2 (librosa), segment 0 of 10 s``."""
        what = {"time_stretch": f"time stretch ×{_num(self.value)}", "pitch_shift": f"pitch shift {self.value:+g} st",
                "gain": f"gain {self.value:+g} dB", "noise": f"noise at {_num(self.value)} dB SNR"}[self.kind]
        if self.kind in ("time_stretch", "pitch_shift"):
            what += f" ({self.backend})"
        if self.crop_seconds is not None:
            what += f", segment {self.segment} of {_num(self.crop_seconds)} s"
        return what

    def key(self) -> dict:
        """Everything that changes the output, for the cache key (with the library's version)."""
        k: dict = {"name": self.describe(), "kind": self.kind, "value": float(self.value),
                   "crop_seconds": self.crop_seconds, "segment": self.segment if self.crop_seconds else 0,
                   "seed": self.seed if (self.kind == "noise" or self.crop_seconds) else 0}
        if self.kind in ("time_stretch", "pitch_shift"):
            k["backend"], k["version"] = self.backend, _backend_version(self.backend)
            if self.kind == "pitch_shift" and self.backend == "librosa":
                k["soxr"] = _backend_version("soxr")  # librosa resamples the shifted audio with soxr
        return k

    # -- the transform -------------------------------------------------------------------------
    def rng(self, track_id: str) -> np.random.Generator:
        """The generator of one track's draws (independent of order and threads)."""
        return np.random.default_rng([self.seed, self.segment, zlib.crc32(track_id.encode("utf-8"))])

    def __call__(self, y: np.ndarray, sr: int, track_id: str) -> tuple[np.ndarray, str | None]:
        """The transformed samples of one track (mono float32 at ``sr`` Hz), and a note when
        the track was (partly) used as it is."""
        from mirlearn.features.augment import audio

        rng = self.rng(track_id)
        note = None
        if self.kind in ("time_stretch", "pitch_shift") and len(y) < MIN_SAMPLES:
            note = f"too short to {self.kind.replace('_', ' ')} ({len(y)} samples < {MIN_SAMPLES})"
        elif self.kind == "time_stretch":
            y = audio.time_stretch(y, sr, float(self.value), backend=self.backend)
        elif self.kind == "pitch_shift":
            y = audio.pitch_shift(y, sr, float(self.value), backend=self.backend)
        elif self.kind == "gain":
            y = audio.gain(y, float(self.value))
        else:
            y = audio.add_noise(y, float(self.value), rng)
        if self.crop_seconds is not None:
            n = int(round(self.crop_seconds * sr))
            if len(y) < n:
                note = (note + "; " if note else "") + f"shorter than the {_num(self.crop_seconds)} s segment, kept whole"
            else:
                y = audio.random_crop(y, n, rng)
        return np.ascontiguousarray(y, dtype=np.float32), note


def _backend_version(backend: str) -> str:
    """The installed version of a backend's package (``"rubberband"``: pedalboard), or ``"absent"``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version({"rubberband": "pedalboard"}.get(backend, backend))
    except PackageNotFoundError:
        return "absent"


# -- copies and their sources --------------------------------------------------------------------
def copy_id(track_id: str, transform: AudioTransform) -> str:
    """The id of ``track_id``'s copy made by ``transform``: ``<track_id>~<tag>``."""
    return f"{track_id}{COPY_MARK}{transform.tag}"


def source_id(track_id: str) -> str:
    """The source track of a copy's id (an original id is its own source)."""
    return track_id.split(COPY_MARK, 1)[0]


def offline_transforms(*, time_stretch: Sequence[float] = (), pitch_shift: Sequence[float] = (),
                       gain_db: Sequence[float] = (), noise_snr_db: Sequence[float] = (),
                       backend: str = "librosa", crop_seconds: float | None = None, segments: int = 1,
                       seed: int = 0) -> list[AudioTransform]:
    """Every variant of a configuration: one per value of each list, × ``segments`` random
    segments when ``crop_seconds`` is set. Raises ConfigError on a bad value (before work)."""
    if segments < 1:
        raise ConfigError(f"augmentation segments={segments!r} must be >= 1")
    if crop_seconds is None and segments != 1:
        raise ConfigError("augmentation segments > 1 needs crop_seconds (the length of each random segment)")
    out = []
    for kind, values in (("time_stretch", time_stretch), ("pitch_shift", pitch_shift), ("gain", gain_db),
                         ("noise", noise_snr_db)):
        if len(set(map(float, values))) != len(values):
            raise ConfigError(f"augmentation {kind}: a value is listed twice in {list(values)}")
        for v in values:
            for seg in range(segments):
                out.append(AudioTransform(kind, float(v), backend=backend, crop_seconds=crop_seconds,
                                          segment=seg, seed=seed))
    return out


def extract_augmented(tracks: TrackTable, settings: FrameSettings, transforms: Sequence[AudioTransform], *,
                      cache_dir: str | Path, n_jobs: int = 2, skip_bad: bool = False, progress: bool = True,
                      log=print) -> list[tuple[AudioTransform, FrameSet]]:
    """Frames of every variant of ``tracks``, from the frame cache (computed on a miss).

    Returns one ``(transform, frames)`` per transform, the frames' tracks renamed to their copy
    ids (:func:`copy_id`; label, path and artist of the source). A track the plain extraction
    found unusable is unusable here too: pass the tracks the plain frames kept.
    """
    from dataclasses import replace

    from mirlearn.features.cache import extract_frames

    out = []
    for i, t in enumerate(transforms):
        log(f"augmentation {i + 1}/{len(transforms)}: {t.describe()}")
        fs = extract_frames(tracks, settings, cache_dir=cache_dir, n_jobs=n_jobs, skip_bad=skip_bad,
                            progress=progress, transform=t)
        renamed = TrackTable([replace(tr, track_id=copy_id(tr.track_id, t)) for tr in fs.tracks],
                             classes=fs.tracks.classes)
        out.append((t, FrameSet(fs.X, fs.offsets, renamed, fs.time_base)))
    return out

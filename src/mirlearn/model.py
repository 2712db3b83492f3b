"""A trained genre model: feature net + forest on one feature choice, for new audio.

Saved as a folder::

    model.json        classes, feature choice, frame settings, provenance
    featurenet.pt     standardiser + MLP (see :class:`mirlearn.learner.FeatureLearner`)
    forest.joblib     the Random Forest over those features
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import AudioError, MirlearnError
from mirlearn.features.frameset import FrameSet
from mirlearn.io import atomic_path, atomic_write_json
from mirlearn.learner import FeatureLearner, FeatureSpec

AUDIO_SUFFIXES = (".wav", ".au", ".flac", ".ogg", ".oga", ".mp3", ".aac", ".m4a", ".aiff", ".aif", ".opus")


def frames_of_files(paths: Sequence[str | Path], frame_settings: Any, *, max_seconds: float | None = None,
                    skip_bad: bool = False) -> tuple[FrameSet, list[tuple[Path, str]]]:
    """Decode files and compute their |FFT| frames in memory (no labels, no cache).

    Returns the FrameSet (labels are empty strings) and the files that failed with causes.
    """
    from mirlearn.audio import load
    from mirlearn.features.spectral import frames as compute_frames

    mats, tracks, bad = [], [], []
    for p in paths:
        p = Path(p)
        try:
            y = load(p, sr=frame_settings.sr, duration=max_seconds)
            F = compute_frames(y, frame_settings)
            if len(F) == 0:
                raise AudioError(p, f"shorter than one frame ({len(y)} samples < {frame_settings.n_fft})")
        except (AudioError, ValueError) as e:
            if not skip_bad:
                raise AudioError(p, getattr(e, "cause", str(e))) from None
            bad.append((p, getattr(e, "cause", str(e))))
            continue
        mats.append(F)
        tracks.append(Track(str(p), p.resolve(), ""))
    lengths = [len(m) for m in mats]
    X = np.concatenate(mats) if mats else np.zeros((0, frame_settings.n_fft // 2 + 1), np.float32)
    return FrameSet(X, np.concatenate([[0], np.cumsum(lengths)]), TrackTable(tracks)), bad


def expand_audio_paths(items: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders expanded to the audio files below them (sorted)."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in AUDIO_SUFFIXES and q.is_file()))
        elif p.exists():
            out.append(p)
        else:
            raise AudioError(p, "file not found")
    return out


@dataclass
class GenreModel:
    """Everything needed to name the genre of a new recording.

    Attributes
    ----------
    learner : the trained feature network
    forest : a fitted :class:`mirlearn.classify.TrackForestClassifier`
    spec : which features the forest was trained on
    frame_settings : :class:`mirlearn.features.spectral.FrameSettings` of the training frames
    info : provenance (config name, dataset, split, accuracy on that split's test part)
    """

    learner: FeatureLearner
    forest: Any
    spec: FeatureSpec
    frame_settings: Any
    info: dict[str, Any]

    @property
    def classes(self) -> list[str]:
        return list(self.learner.classes_)

    def features(self, frames: FrameSet, spec: FeatureSpec | None = None) -> FrameSet:
        """Features of raw frames for ``spec`` (default: the model's own)."""
        from mirlearn.features.aggregate import aggregate_frameset

        spec = spec or self.spec
        fs = self.learner.transform(frames, layers=spec.layers)
        if spec.aggregate:
            fs = aggregate_frameset(fs, window_seconds=spec.window_seconds, hop_seconds=spec.hop_seconds,
                                    sr=self.frame_settings.sr, hop_length=self.frame_settings.hop_length)
        return fs

    def predict_files(self, paths: Sequence[str | Path], *, skip_bad: bool = False
                      ) -> tuple[list[dict[str, Any]], list[tuple[Path, str]]]:
        """Genre and class probabilities (mean over frames/windows, and vote shares) per file."""
        from mirlearn.classify import vote

        frames, bad = frames_of_files(paths, self.frame_settings, skip_bad=skip_bad,
                                      max_seconds=self.info.get("max_seconds"))
        if frames.n_tracks == 0:
            return [], bad
        fs = self.features(frames)
        proba = self.forest.predict_frames(fs)
        pred, _ = vote(proba, fs.offsets, len(self.classes))
        out = []
        for i, t in enumerate(frames.tracks):
            p = proba[fs.offsets[i]:fs.offsets[i + 1]].mean(0)
            out.append({"path": str(t.path), "genre": self.classes[int(pred[i])],
                        "probabilities": {c: float(v) for c, v in zip(self.classes, p)}})
        return out, bad

    def save(self, path: str | Path) -> Path:
        import joblib

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.learner.save(path)
        with atomic_path(path / "forest.joblib") as tmp:
            joblib.dump(self.forest, tmp, compress=3)
        atomic_write_json(path / "model.json", {
            "format": 1, "classes": self.classes, "features": asdict(self.spec),
            "frames": self.frame_settings.to_dict(), "info": self.info})
        return path

    @classmethod
    def load(cls, path: str | Path) -> "GenreModel":
        import joblib

        from mirlearn.features.spectral import FrameSettings

        path = Path(path)
        if not (path / "model.json").is_file():
            raise MirlearnError(f"{path} is not a mirlearn model folder (no model.json); "
                                "`mirlearn train` writes one into its run directory under model/")
        meta = json.loads((path / "model.json").read_text())
        learner = FeatureLearner.load(path)
        forest = joblib.load(path / "forest.joblib")
        return cls(learner, forest, FeatureSpec(**meta["features"]), FrameSettings(**meta["frames"]), meta["info"])

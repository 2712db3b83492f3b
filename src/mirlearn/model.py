"""A genre model: a feature learner + a forest on one feature choice, fit once, used on new audio.

>>> model = GenreModel.from_config(load_config("demo")).fit(frames, split)   # doctest: +SKIP
>>> model.save("runs/x/model"); GenreModel.load("runs/x/model").predict_files(["song.wav"])  # doctest: +SKIP

Saved as a folder::

    model.json        classes, feature choice, frame settings, provenance
    featurenet.pt     the learner (see :mod:`mirlearn.learners`)
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
from mirlearn.learners import FeatureSpec, Learner, learner_from_config, load_learner

AUDIO_SUFFIXES = (".wav", ".au", ".flac", ".ogg", ".oga", ".mp3", ".aac", ".m4a", ".aiff", ".aif", ".opus")


def frames_of_files(paths: Sequence[str | Path], frame_settings: Any, *, max_seconds: float | None = None,
                    skip_bad: bool = False, n_jobs: int = 1) -> tuple[FrameSet, list[tuple[Path, str]]]:
    """Decode files and compute their frames (of ``frame_settings.kind``) in memory, no labels, no cache.

    ``n_jobs`` worker threads decode and transform files at once (the decoders and the FFT
    release the GIL; ``-1``: one per CPU); the order of the files is kept. Returns the
    FrameSet (labels are empty strings; its time base is that of the settings) and the files
    that failed with their causes.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    from mirlearn.audio import load
    from mirlearn.features.representations import frames as compute_frames

    def one(p: Path) -> np.ndarray | Exception:
        try:
            y = load(p, sr=frame_settings.sr, duration=max_seconds)
            F = compute_frames(y, frame_settings)
            if len(F) == 0:
                raise AudioError(p, f"shorter than one frame ({len(y)} samples < {frame_settings.n_fft})")
            return F
        except (AudioError, ValueError) as e:
            return e

    paths = [Path(p) for p in paths]
    workers = (os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs))
    if workers > 1 and len(paths) > 1:
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, paths))
    else:
        results = [one(p) for p in paths]
    mats, tracks, bad = [], [], []
    for p, F in zip(paths, results):
        if isinstance(F, Exception):
            if not skip_bad:
                raise AudioError(p, getattr(F, "cause", str(F))) from None
            bad.append((p, getattr(F, "cause", str(F))))
            continue
        mats.append(F)
        tracks.append(Track(str(p), p.resolve(), ""))
    lengths = [len(m) for m in mats]
    X = np.concatenate(mats) if mats else np.zeros((0, frame_settings.dim), np.float32)
    return FrameSet(X, np.concatenate([[0], np.cumsum(lengths)]), TrackTable(tracks),
                    time_base=frame_settings.time_base), bad


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
    learner : the feature learner (fitted by :meth:`fit`, or loaded)
    forest : a :class:`mirlearn.classify.TrackForestClassifier`
    spec : which features the forest is trained on
    frame_settings : :class:`mirlearn.features.settings.FrameSettings` of the training frames
    info : provenance (config name, dataset, split, accuracy on that split's test part)
    """

    learner: Learner
    forest: Any
    spec: FeatureSpec
    frame_settings: Any
    info: dict[str, Any]

    @classmethod
    def from_config(cls, cfg: Any, **learner_options: Any) -> "GenreModel":
        """An unfitted model of a configuration: its learner, its forest, its predict features.

        ``learner_options`` are runtime options of the learner (``run_dir``, ``device``, ``progress``).
        """
        from mirlearn.pipeline import make_forest

        f = cfg.features
        return cls(learner_from_config(cfg, **learner_options), make_forest(cfg),
                   FeatureSpec(f.predict_layers, f.predict_aggregate, f.window_seconds, f.hop_seconds),
                   cfg.frames, {"config": cfg.name, "max_seconds": cfg.frames.max_seconds})

    def fit(self, frames: FrameSet, split: Any, *, work_dir: str | Path | None = None) -> "GenreModel":
        """Train the learner on ``split``'s training tracks (early stopping on its validation
        tracks), then the forest on the features of training + validation tracks.

        Parameters
        ----------
        frames : raw frames of (at least) the split's tracks, in RAM or memory-mapped
        split : a :class:`mirlearn.datasets.splits.Split`; its test tracks are scored and the
            track accuracy is kept in ``info["test_track_accuracy"]`` (``metrics_`` holds all)
        work_dir : where large temporaries go (memory maps in a scratch folder removed
            afterwards; default: a system temporary folder)
        """
        import tempfile

        from mirlearn.pipeline import fit_model

        if work_dir is None:
            with tempfile.TemporaryDirectory(prefix="mirlearn-") as tmp:
                self.metrics_ = fit_model(self, frames, split, Path(tmp))
        else:
            self.metrics_ = fit_model(self, frames, split, Path(work_dir))
        self.info = {**self.info, "split": split.name, "test_track_accuracy": self.metrics_.accuracy}
        return self

    @property
    def classes(self) -> list[str]:
        return list(self.learner.classes_)

    def features(self, frames: FrameSet, spec: FeatureSpec | None = None) -> FrameSet:
        """Features of raw frames for ``spec`` (default: the model's own); windows use the
        frames' own time base."""
        from mirlearn.features.aggregate import aggregate_frameset

        spec = spec or self.spec
        fs = self.learner.transform(frames, layers=spec.layers)
        if spec.aggregate:
            fs = aggregate_frameset(fs, window_seconds=spec.window_seconds, hop_seconds=spec.hop_seconds)
        return fs

    def predict_files(self, paths: Sequence[str | Path], *, skip_bad: bool = False, n_jobs: int = 1
                      ) -> tuple[list[dict[str, Any]], list[tuple[Path, str]]]:
        """Genre and class probabilities (mean over frames/windows, and vote shares) per file."""
        from mirlearn.classify import vote

        frames, bad = frames_of_files(paths, self.frame_settings, skip_bad=skip_bad, n_jobs=n_jobs,
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

        from mirlearn.features.settings import FrameSettings

        path = Path(path)
        if not (path / "model.json").is_file():
            raise MirlearnError(f"{path} is not a mirlearn model folder (no model.json); "
                                "`mirlearn train` writes one into its run directory under model/")
        meta = json.loads((path / "model.json").read_text())
        learner = load_learner(path)
        forest = joblib.load(path / "forest.joblib")
        return cls(learner, forest, FeatureSpec(**meta["features"]), FrameSettings(**meta["frames"]), meta["info"])

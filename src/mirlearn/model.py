"""A genre model: a feature learner + a forest on one feature choice, fit once, used on new audio.

>>> model = GenreModel.from_config(load_config("demo")).fit(frames, split)   # doctest: +SKIP
>>> model.save("runs/x/model")                                              # doctest: +SKIP
>>> model = GenreModel.load("runs/x")       # a run folder holding model/    # doctest: +SKIP
>>> y, sr = soundfile.read("song.wav", always_2d=True)                      # doctest: +SKIP
>>> model.predict(y.T, sr)        # label, votes, mean probabilities        # doctest: +SKIP
>>> model.transform(y.T, sr, layers="all", aggregate=True)  # .X, .start_s, .end_s, .columns  # doctest: +SKIP

On arrays: :meth:`GenreModel.predict` returns a :class:`Prediction`, :meth:`GenreModel.transform`
a :class:`mirlearn.export.Features`; on files, :meth:`GenreModel.predict_files` and
:meth:`GenreModel.transform_files` do the same for a batch and return the bad files with their
causes.

Saved as a folder::

    model.json        classes, feature choice, frame settings, provenance
    featurenet.pt     the learner (see :mod:`mirlearn.learners`)
    forest.joblib     the Random Forest over those features
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import AudioError, MirlearnError
from mirlearn.export import Features, feature_columns, row_times
from mirlearn.features.frameset import FrameSet
from mirlearn.io import atomic_path, atomic_write_json
from mirlearn.learners import FeatureSpec, Learner, learner_from_config, load_learner
from mirlearn.learners.layers import LayerSpec
from mirlearn.progress import Progress

#: Files decoded at a time by the batch helpers of the command line (bounds memory: the
#: frames of 16 tracks of 30 s are ≈ 40 MB).
BATCH_FILES = 16


def frames_of_files(paths: Sequence[str | Path], frame_settings: Any, *, max_seconds: float | None = None,
                    skip_bad: bool = False, n_jobs: int = 1, progress: Progress | None = None
                    ) -> tuple[FrameSet, list[tuple[Path, str]]]:
    """Decode files and compute their frames (of ``frame_settings.kind``) in memory, no labels, no cache.

    ``n_jobs`` worker threads decode and transform files at once (the decoders and the FFT
    release the GIL; ``-1``: one per CPU); the order of the files is kept. ``progress`` counts
    the files done. Returns the FrameSet (labels are empty strings; track ids are the paths,
    made unique; each track's ``duration`` is the decoded length in s; its time base is that of
    the settings) and the files that failed with their causes. With ``skip_bad=False`` the
    first failure raises :class:`~mirlearn.errors.AudioError` instead.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    from mirlearn.audio import load

    def one(p: Path) -> tuple[np.ndarray, float] | Exception:
        try:
            y = load(p, sr=frame_settings.sr, duration=max_seconds)
            return _frames_of_signal(y, frame_settings, p), len(y) / frame_settings.sr
        except (AudioError, ValueError) as e:
            return e

    paths = [Path(p) for p in paths]
    workers = (os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs))
    if workers > 1 and len(paths) > 1:
        with ThreadPoolExecutor(workers) as pool:
            results = list(_counted(pool.map(one, paths), progress))
    else:
        results = list(_counted(map(one, paths), progress))
    mats, tracks, bad = [], [], []
    for p, res in zip(paths, results):
        if isinstance(res, Exception):
            if not skip_bad:
                raise AudioError(p, getattr(res, "cause", str(res))) from None
            bad.append((p, getattr(res, "cause", str(res))))
            continue
        F, seconds = res
        mats.append(F)
        tracks.append(Track(f"{len(tracks)}:{p}", p, "", duration=seconds))
    return _frameset(mats, tracks, frame_settings), bad


def _counted(results: Iterable[Any], progress: Progress | None) -> Iterator[Any]:
    for r in results:
        if progress is not None:
            progress.update(1)
        yield r


def _frames_of_signal(y: np.ndarray, frame_settings: Any, name: str | Path) -> np.ndarray:
    """Frames of mono samples at the settings' rate; an :class:`AudioError` when there are none."""
    from mirlearn.features.representations import frames as compute_frames

    padded = len(y) + (2 * (frame_settings.n_fft // 2) if frame_settings.center else 0)
    F = compute_frames(y, frame_settings) if padded >= frame_settings.n_fft else y[:0]
    if len(F) == 0:
        raise AudioError(name, f"shorter than one frame ({len(y)} samples < {frame_settings.n_fft})")
    return F


def _frameset(mats: list[np.ndarray], tracks: list[Track], frame_settings: Any) -> FrameSet:
    lengths = [len(m) for m in mats]
    X = np.concatenate(mats) if mats else np.zeros((0, frame_settings.dim), np.float32)
    return FrameSet(X, np.concatenate([[0], np.cumsum(lengths)]), TrackTable(tracks),
                    time_base=frame_settings.time_base)


def expand_audio_paths(items: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders expanded to the audio files below them (sorted); see
    :func:`mirlearn.inputs.find_audio`, which also reports broken links."""
    from mirlearn.inputs import find_audio

    found = find_audio(items)
    return found.files + [p for p, _ in found.bad]


def mono_at(y: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    """``y`` as float32 mono samples at ``target_sr`` Hz.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,) or (n_channels, n_samples)]
        Samples, nominally in [-1, 1]; channels are averaged (as :func:`mirlearn.audio.load`
        does, before resampling).
    sr : sampling rate of ``y``, Hz
    target_sr : wanted rate, Hz; resampled with soxr at quality ``'HQ'``, the resampler of
        :func:`mirlearn.audio.load` (:data:`mirlearn.audio.RESAMPLER`)

    Raises
    ------
    MirlearnError
        ``y`` is not 1-D or 2-D, looks like ``(n_samples, n_channels)``, is empty or not finite,
        or ``sr`` is not a positive integer.
    """
    from mirlearn.audio import resample

    y = np.asarray(y)
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise MirlearnError(f"sr must be a positive integer (Hz), got {sr!r}")
    if y.ndim not in (1, 2) or y.size == 0:
        raise MirlearnError(f"y must hold samples, shape (n_samples,) or (n_channels, n_samples); got {y.shape}")
    if y.ndim == 2:
        if y.shape[0] > y.shape[1]:
            raise MirlearnError(f"y has shape {y.shape}: more channels than samples; channels go first, "
                                "(n_channels, n_samples): pass y.T")
        y = y.mean(axis=0)
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        raise MirlearnError("y holds non-finite samples (NaN or inf)")
    if sr != target_sr:
        y = resample(y, int(sr), int(target_sr))
    return y


@dataclass(frozen=True)
class Prediction:
    """The label of one recording and the numbers behind it.

    Attributes
    ----------
    label : the class chosen by majority vote of the recording's frames (or windows)
    votes : class → share of the frames (windows) whose most probable class it is; sums to 1;
        the label has the largest share
    probabilities : class → forest probability averaged over the frames (windows); sums to 1;
        its arg-max may differ from the label
    n_votes : frames (windows) that voted
    path : the audio file, or None for an array
    """

    label: str
    votes: dict[str, float]
    probabilities: dict[str, float]
    n_votes: int
    path: Path | None = None

    def top(self, k: int) -> list[str]:
        """The ``k`` classes with the most votes (ties: higher mean probability first)."""
        order = sorted(self.votes, key=lambda c: (-self.votes[c], -self.probabilities[c]))
        return order[:k]

    def to_dict(self, decimals: int = 4) -> dict[str, Any]:
        """JSON-ready: ``path``, ``label``, ``votes`` and ``mean_probabilities`` (rounded), ``n_votes``."""
        return {"path": None if self.path is None else str(self.path), "label": self.label,
                "votes": {c: round(v, decimals) for c, v in self.votes.items()},
                "mean_probabilities": {c: round(v, decimals) for c, v in self.probabilities.items()},
                "n_votes": self.n_votes}


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
        from mirlearn.pipeline import make_forest, predict_spec

        return cls(learner_from_config(cfg, **learner_options), make_forest(cfg), predict_spec(cfg),
                   cfg.frames, {"config": cfg.name, "max_seconds": cfg.frames.max_seconds})

    def fit(self, frames: FrameSet, split: Any, *, work_dir: str | Path | None = None,
            augmented: Any = ()) -> "GenreModel":
        """Train the learner on ``split``'s training tracks (early stopping on its validation
        tracks), then the forest on the features of training + validation tracks.

        Parameters
        ----------
        frames : raw frames of (at least) the split's tracks, in RAM or memory-mapped
        split : a :class:`mirlearn.datasets.splits.Split`; its test tracks are scored and the
            track accuracy is kept in ``info["test_track_accuracy"]`` (``metrics_`` holds all)
        work_dir : where large temporaries go (memory maps in a scratch folder removed
            afterwards; default: a system temporary folder)
        augmented : ``(transform, copies)`` pairs of an offline augmentation
            (:func:`mirlearn.features.augment.transforms.extract_augmented`): the learner also
            trains on the copies of the training tracks
        """
        import tempfile

        from mirlearn.pipeline import fit_model

        if work_dir is None:
            with tempfile.TemporaryDirectory(prefix="mirlearn-") as tmp:
                self.metrics_ = fit_model(self, frames, split, Path(tmp), augmented=augmented)
        else:
            self.metrics_ = fit_model(self, frames, split, Path(work_dir), augmented=augmented)
        if self.metrics_ is not None:  # None: a rank other than 0, which only helped to train
            self.info = {**self.info, "split": split.name, "test_track_accuracy": self.metrics_.accuracy}
        return self

    @property
    def classes(self) -> list[str]:
        return list(self.learner.classes_)

    def features(self, frames: FrameSet, spec: FeatureSpec | None = None) -> FrameSet:
        """Features of raw frames for ``spec`` (default: the model's own); windows use the
        frames' own time base."""
        spec = spec or self.spec
        return self._rows(self.learner.transform(frames, layers=self._layers_of(spec)), spec)

    @staticmethod
    def _rows(raw: FrameSet, spec: FeatureSpec) -> FrameSet:
        """The rows ``spec`` asks for from frame-level features: windows when it aggregates
        (pooled over the spec's time scales and statistics when it has them)."""
        return spec.rows(raw)

    # -- feature choice -------------------------------------------------------------------
    def layer_selection(self, layers: LayerSpec | None = None) -> tuple[str, ...]:
        """The feature layers a selection names, checked against this model's learner.

        ``layers``: ``None`` (the model's own choice), ``"all"``, a name (``"2"`` or ``2``),
        names joined by commas (``"1,2"``) or a sequence of names.

        Raises
        ------
        MirlearnError
            A layer this model does not have (one line naming its layers).
        """
        if layers is None:
            layers = self.spec.layers
        if isinstance(layers, str) and "," in layers:
            layers = tuple(x.strip() for x in layers.split(","))
        try:
            return self.learner.select(layers)
        except MirlearnError:
            names = self.learner.layer_names()
            raise MirlearnError(f"layer {layers if isinstance(layers, (str, int)) else ','.join(map(str, layers))} "
                                f"is not a feature layer of this model; its layers are {', '.join(names)} "
                                f"or all (several: {names[0]},{names[-1]})") from None

    def feature_spec(self, layers: LayerSpec | None = None, aggregate: bool | None = None,
                     window_seconds: float | None = None, hop_seconds: float | None = None) -> FeatureSpec:
        """A feature choice; every ``None`` takes the model's own (the one its forest was trained on).

        Parameters
        ----------
        layers : see :meth:`layer_selection`
        aggregate : mean and variance over windows instead of frames (the model's pooling
            statistics and time scales when it has them)
        window_seconds, hop_seconds : aggregation window and hop, s (default: the model's,
            e.g. 2 s and 1 s for the ``demo`` config, 5 s and 2.5 s for the paper's); a window
            given for a model pooled over several time scales replaces them by that one window
        """
        sel = self.layer_selection(layers)
        timescales = self.spec.timescales if window_seconds is None else None
        return FeatureSpec(",".join(sel) if len(sel) > 1 else sel[0],
                           self.spec.aggregate if aggregate is None else bool(aggregate),
                           self.spec.window_seconds if window_seconds is None else float(window_seconds),
                           self.spec.hop_seconds if hop_seconds is None else float(hop_seconds),
                           timescales=timescales, pool=self.spec.pool)

    def _layers_of(self, spec: FeatureSpec) -> tuple[str, ...]:
        return self.layer_selection(spec.layers)

    # -- on frames ------------------------------------------------------------------------
    def transform_frames(self, frames: FrameSet, spec: FeatureSpec | None = None, *,
                         vectors: bool = False) -> list[Features]:
        """Named, time-stamped features of every track of raw ``frames`` (see :meth:`transform`).

        ``vectors``: also set each item's track vector (:attr:`Features.vector`, the mean and
        variance of all the track's frame features, see :meth:`embed`)."""
        from mirlearn.features.aggregate import track_statistics

        spec = spec or self.spec
        layers = self._layers_of(spec)
        raw = self.learner.transform(frames, layers=layers)  # one row per frame (patch, for a CNN)
        fs = self._rows(raw, spec)
        columns = feature_columns(self.learner.feature_layers_, layers, spec.aggregate, pool=spec.pool,
                                  timescales=spec.timescales)
        V = track_statistics(raw.X, raw.offsets) if vectors else None
        vector_columns = feature_columns(self.learner.feature_layers_, layers, True) if vectors else None
        out = []
        for i, t in enumerate(fs.tracks):
            X = fs.track_frames(i)
            start, end = row_times(fs.time_base, len(X), t.duration)
            out.append(Features(X, start, end, columns, layers, fs.time_base, t.path,
                                vector=None if V is None else V[i], vector_columns=vector_columns))
        return out

    def predict_frames(self, frames: FrameSet) -> list[Prediction]:
        """The label of every track of raw ``frames``: features of the model's own choice,
        forest, majority vote (see :class:`Prediction`)."""
        fs = self.features(frames)
        tp = self.forest.predict_tracks(fs)
        classes = self.classes
        return [Prediction(classes[int(tp.pred[i])],
                           {c: float(v) for c, v in zip(classes, tp.votes[i])},
                           {c: float(v) for c, v in zip(classes, tp.proba[i])},
                           int(fs.lengths[i]), t.path)
                for i, t in enumerate(fs.tracks)]

    # -- on arrays --------------------------------------------------------------------------
    def _frames_of_array(self, y: np.ndarray, sr: int) -> FrameSet:
        fset = self.frame_settings
        y = mono_at(y, sr, fset.sr)
        limit = self.info.get("max_seconds")
        if limit:  # the model saw only the first max_seconds of each track
            y = y[:int(round(limit * fset.sr))]
        F = _frames_of_signal(y, fset, "y")
        return _frameset([F], [Track("y", Path("y"), "", duration=len(y) / fset.sr)], fset)

    def predict(self, y: np.ndarray, sr: int) -> Prediction:
        """The label of a recording given as samples, and the numbers behind it.

        Parameters
        ----------
        y : np.ndarray [shape=(n_samples,) or (n_channels, n_samples)]
            Samples, nominally in [-1, 1]; channels are averaged, then resampled to the
            model's rate with :data:`mirlearn.audio.RESAMPLER`; only the first
            ``info["max_seconds"]`` s are used when the model was trained so.
        sr : sampling rate of ``y``, Hz

        Returns
        -------
        Prediction
            ``label`` (majority vote of the frames or windows), ``votes`` (class → share of
            the votes), ``probabilities`` (class → mean forest probability), ``n_votes``;
            ``path`` is None.

        Examples
        --------
        >>> y, sr = soundfile.read("song.wav", always_2d=True)  # doctest: +SKIP
        >>> model.predict(y.T, sr).label                         # doctest: +SKIP
        'blues'
        """
        pred = self.predict_frames(self._frames_of_array(y, sr))[0]
        return Prediction(pred.label, pred.votes, pred.probabilities, pred.n_votes)

    def transform(self, y: np.ndarray, sr: int, *, layers: LayerSpec | None = None,
                  aggregate: bool | None = None, window_seconds: float | None = None,
                  hop_seconds: float | None = None) -> Features:
        """Learned features of a recording given as samples, with the time of every row.

        Parameters
        ----------
        y : np.ndarray [shape=(n_samples,) or (n_channels, n_samples)]
            Samples (see :meth:`predict`).
        sr : sampling rate of ``y``, Hz
        layers : ``"all"``, ``"2"``, ``"1,2"``, ``("1", "3")``…; None: the model's own choice
        aggregate : mean and variance over windows (True) or one row per frame (False);
            None: the model's own choice
        window_seconds, hop_seconds : aggregation window and hop, s; None: the model's

        Returns
        -------
        Features
            ``X`` (n_rows × n_columns, float32), ``start_s`` / ``end_s`` (n_rows, s),
            ``columns`` (``layer1_unit007`` or ``..._mean`` / ``..._var``), ``window_s`` and
            ``hop_s`` (what a row spans and the hop between rows, s).

        Examples
        --------
        >>> f = model.transform(y, 44100, layers="all", aggregate=True)  # doctest: +SKIP
        >>> f.X.shape, f.start_s[:2], f.columns[0]                      # doctest: +SKIP
        ((9, 384), array([0., 1.]), 'layer1_unit000_mean')
        """
        spec = self.feature_spec(layers, aggregate, window_seconds, hop_seconds)
        f = self.transform_frames(self._frames_of_array(y, sr), spec)[0]
        f.path = None
        return f

    def embed(self, y: np.ndarray, sr: int, *, layers: LayerSpec | None = None, aggregate: bool = True,
              window_seconds: float | None = None, hop_seconds: float | None = None) -> Features:
        """An embedding of a recording given as samples: time-stamped rows and one track vector.

        What openl3 and musicnn users expect: :meth:`transform`'s rows (by default aggregation
        windows: mean and variance of the frames over the model's window and hop), plus
        ``vector``, the mean and variance of *all* the recording's frame features, for
        similarity search and for classifiers of whole tracks.

        Parameters
        ----------
        y : np.ndarray [shape=(n_samples,) or (n_channels, n_samples)]
            Samples (see :meth:`predict`).
        sr : sampling rate of ``y``, Hz
        layers, window_seconds, hop_seconds : see :meth:`transform`
        aggregate : rows are windows (default) or frames

        Returns
        -------
        Features
            ``X``, ``start_s``, ``end_s``, ``columns`` as :meth:`transform`; ``vector``
            (``2 * width``, float32: means then variances) named by ``vector_columns``.

        Examples
        --------
        >>> e = model.embed(y, 22050, layers="all")  # doctest: +SKIP
        >>> e.vector.shape, e.vector_columns[0]     # doctest: +SKIP
        ((384,), 'layer1_unit000_mean')
        """
        spec = self.feature_spec(layers, aggregate, window_seconds, hop_seconds)
        f = self.transform_frames(self._frames_of_array(y, sr), spec, vectors=True)[0]
        f.path = None
        return f

    # -- on files ---------------------------------------------------------------------------
    def _frames_of(self, paths: Sequence[str | Path], skip_bad: bool, n_jobs: int,
                   progress: Progress | None) -> tuple[FrameSet, list[tuple[Path, str]]]:
        return frames_of_files(paths, self.frame_settings, skip_bad=skip_bad, n_jobs=n_jobs,
                               max_seconds=self.info.get("max_seconds"), progress=progress)

    def predict_files(self, paths: Sequence[str | Path], *, skip_bad: bool = False, n_jobs: int = 1,
                      progress: Progress | None = None) -> tuple[list[Prediction], list[tuple[Path, str]]]:
        """The :class:`Prediction` of every decodable file (``path`` set), and the bad files with
        their causes (with ``skip_bad=False`` the first bad file raises an AudioError instead).
        All files are decoded at once: call it on batches of files to bound memory."""
        frames, bad = self._frames_of(paths, skip_bad, n_jobs, progress)
        if frames.n_tracks == 0:
            return [], bad
        return self.predict_frames(frames), bad

    def transform_files(self, paths: Sequence[str | Path], spec: FeatureSpec | None = None, *,
                        skip_bad: bool = False, n_jobs: int = 1, progress: Progress | None = None,
                        vectors: bool = False) -> tuple[list[Features], list[tuple[Path, str]]]:
        """The :class:`~mirlearn.export.Features` of every decodable file (see :meth:`transform`;
        ``spec`` from :meth:`feature_spec`; ``vectors``: with track vectors, see :meth:`embed`),
        and the bad files with their causes."""
        frames, bad = self._frames_of(paths, skip_bad, n_jobs, progress)
        if frames.n_tracks == 0:
            return [], bad
        return self.transform_frames(frames, spec, vectors=vectors), bad

    def save(self, path: str | Path) -> Path:
        import joblib

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.learner.save(path)
        with atomic_path(path / "forest.joblib") as tmp:
            joblib.dump(self.forest, tmp, compress=3)
        atomic_write_json(path / "model.json", {
            "format": 1, "classes": self.classes, "features": self.spec.to_dict(),
            "frames": self.frame_settings.to_dict(), "info": self.info})
        return path

    @classmethod
    def load(cls, path: str | Path) -> "GenreModel":
        """Load a model folder written by :meth:`save`, or the run folder holding it in ``model/``.

        Raises
        ------
        MirlearnError
            Neither the folder nor its ``model/`` holds a ``model.json``, or that file is not
            one written by :meth:`save`.
        """
        import joblib

        from mirlearn.features.settings import FrameSettings

        path = model_folder(path)
        try:
            meta = json.loads((path / "model.json").read_text())
            spec = FeatureSpec(**meta["features"])
            frames = FrameSettings(**meta["frames"])
            info = meta["info"]
        except (ValueError, KeyError, TypeError) as e:
            raise MirlearnError(f"{path / 'model.json'}: not a model description written by mirlearn "
                                f"({type(e).__name__}: {e})") from None
        learner = load_learner(path)
        forest = joblib.load(path / "forest.joblib")
        return cls(learner, forest, spec, frames, info)


def model_folder(path: str | Path) -> Path:
    """The model folder ``path`` names: itself when it holds ``model.json``, else its ``model/``
    (a run folder of ``train``, ``run`` or ``demo``)."""
    path = Path(path).expanduser()
    for candidate in (path, path / "model"):
        if (candidate / "model.json").is_file():
            return candidate
    raise MirlearnError(f"{path}: not a mirlearn model or run folder (no model.json, no model/model.json); "
                        "`mirlearn run`, `demo` and `train` write one under OUT/model/")

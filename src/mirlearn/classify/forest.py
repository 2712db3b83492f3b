"""A classifier of frames (or windows) whose predictions are voted into one class per track.

scikit-learn is imported lazily (on :meth:`TrackForestClassifier.fit`), so importing this
module stays cheap.
"""

from __future__ import annotations

import inspect
import math
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mirlearn.classify.voting import check_offsets, mean_per_track, vote
from mirlearn.errors import ConfigError
from mirlearn.progress import Progress, format_seconds

if TYPE_CHECKING:
    from mirlearn.features.frameset import FrameSet

#: Backend names accepted by ``TrackForestClassifier(backend=...)``.
BACKENDS = ("sklearn", "random_forest", "extra_trees", "hist_gradient_boosting")

#: Input bytes per prediction chunk when ``chunk_rows`` is ``None``.
CHUNK_BYTES = 64 << 20

#: Backends whose trees can be grown in chunks (``warm_start``) with the same trees as one fit.
_CHUNKABLE = ("sklearn", "random_forest", "extra_trees")


def _rng(random_state: Any) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**32 - 1, dtype=np.uint64))
    return np.random.default_rng(random_state)


def stratified_subsample(offsets: np.ndarray, max_frames: int, random_state: Any = 0) -> np.ndarray:
    """Seeded subsample of at most ``max_frames`` rows, an equal share from every track.

    Every track with frames contributes: each gets ``max_frames / n_tracks`` rows, tracks
    shorter than that give all their rows and their unused share is split among the others
    (water-filling); shares differ by at most one row between tracks that are not exhausted.
    Within a track the rows are drawn uniformly without replacement.

    Parameters
    ----------
    offsets : np.ndarray [shape=(n_tracks + 1,)], int
        Rows of track ``i`` are ``offsets[i]:offsets[i + 1]``; empty tracks are allowed.
    max_frames : int
        Number of rows to keep; all rows are kept when there are not more than this.
    random_state : int, None, np.random.Generator or np.random.RandomState
        Seed of the draw; the same int gives the same rows.

    Returns
    -------
    rows : np.ndarray [shape=(min(max_frames, n_frames),)], int64
        Sorted row indices (so reads from a memory map stay sequential).

    Raises
    ------
    ValueError
        ``max_frames`` is smaller than the number of non-empty tracks.
    """
    offsets = np.asarray(offsets)
    offsets = check_offsets(offsets, int(offsets[-1]) if offsets.size else 0, allow_empty=True)
    n_total = int(offsets[-1])
    max_frames = int(max_frames)
    if max_frames >= n_total:
        return np.arange(n_total, dtype=np.int64)
    lengths = np.diff(offsets)
    n_tracks = len(lengths)
    nonempty = np.flatnonzero(lengths > 0)
    if max_frames < len(nonempty):
        raise ValueError(f"max_train_frames={max_frames} is fewer than the {len(nonempty)} tracks with "
                         "frames; every track must contribute at least one frame")
    rng = _rng(random_state)

    # Water-filling: short tracks give everything, the rest share what is left equally.
    quota = np.zeros(n_tracks, dtype=np.int64)
    order = nonempty[np.argsort(lengths[nonempty], kind="stable")]
    remaining, left, k = max_frames, len(order), 0
    while k < len(order) and lengths[order[k]] <= remaining // left:
        quota[order[k]] = lengths[order[k]]
        remaining -= int(lengths[order[k]])
        left -= 1
        k += 1
    rest = order[k:]
    if len(rest):
        base, extra = divmod(remaining, len(rest))
        quota[rest] = base
        quota[rng.choice(rest, size=extra, replace=False)] += 1

    # Uniform draw within each track: rank rows of a track by random keys, keep the first quota.
    track = np.repeat(np.arange(n_tracks, dtype=np.int64), lengths)
    keys = rng.random(n_total)
    by_track_then_key = np.lexsort((keys, track))  # groups stay in track order
    rank = np.arange(n_total, dtype=np.int64) - offsets[track]
    rows = by_track_then_key[rank < quota[track]]
    rows.sort()
    return rows.astype(np.int64, copy=False)


@dataclass
class TrackPrediction:
    """Everything one pass of the frame classifier over a FrameSet yields.

    Attributes
    ----------
    pred : np.ndarray [shape=(n_tracks,)], int64
        Majority-vote class of every track (see :func:`~mirlearn.classify.vote`).
    votes : np.ndarray [shape=(n_tracks, n_classes)], float64
        Share of the track's frames that voted for each class.
    proba : np.ndarray [shape=(n_tracks, n_classes)], float64
        Mean frame probabilities of every track.
    frame_pred : np.ndarray [shape=(n_frames,)], int64
        Arg-max class of every frame.
    """

    pred: np.ndarray
    votes: np.ndarray
    proba: np.ndarray
    frame_pred: np.ndarray


class TrackForestClassifier:
    """Random Forest on the frames (or windows) of tracks; one class per track by majority vote.

    Follows the scikit-learn contract: hyper-parameters are stored as given, learned state
    ends in ``_``; ``get_params`` / ``set_params`` make it work with ``sklearn.base.clone``.
    ``fit`` and the predictors take a :class:`~mirlearn.features.FrameSet` instead of
    ``(X, y)``: each frame's label is the label of its track.

    Parameters
    ----------
    n_estimators : int
        Trees (boosting iterations for ``'hist_gradient_boosting'``).
    max_features : {'sqrt', 'log2'}, int, float or None
        Features tried per split (as in scikit-learn).
    min_samples_leaf : int or float
        Least frames in a leaf. Larger values make trees smaller and faster to grow.
    max_samples : int, float or None
        Bootstrap sample size per tree: a share of the training frames (float in (0, 1]), a
        number of frames (int; capped at the frames there are, so one setting serves frame
        and window cells) or ``None`` (as many as there are training frames). Every tree sees
        a different sample, so the forest as a whole still learns from every frame while the
        cost of a tree grows with the sample, not with the data set.
    max_train_frames : int or None
        Optional seeded subsample of the training frames, an equal share from every track
        (see :func:`stratified_subsample`) — a named reduction of the paper's setting.
    n_jobs : int
        Parallel jobs of the forest (``-1``: all cores).
    random_state : int, None or np.random.RandomState
        Seed of the subsample and the forest; an int makes ``fit`` deterministic.
    backend : {'sklearn', 'random_forest', 'extra_trees', 'hist_gradient_boosting'}
        Which scikit-learn estimator to build from the parameters above; ``'sklearn'`` is
        ``RandomForestClassifier``. ``ExtraTreesClassifier`` bootstraps only when
        ``max_samples`` is set. ``HistGradientBoostingClassifier`` gets
        ``max_iter=n_estimators``, ``min_samples_leaf``, ``max_features`` (when a float) and
        ``random_state``, with early stopping off.
    estimator : str, scikit-learn classifier or None
        Overrides ``backend``: a backend name, or an unfitted classifier with
        ``predict_proba``, cloned at ``fit`` and used with its own parameters.
    chunk_rows : int or None
        Rows per prediction chunk; ``None`` picks about 64 MiB of float32 input per chunk.
    verbose : int
        Passed to the forest.

    Attributes
    ----------
    classes_ : np.ndarray [shape=(n_classes,)], str
        Class names, from the training FrameSet's ``tracks.classes`` (including classes
        without training tracks, whose probability is then 0).
    n_classes_ : int
    n_features_in_ : int
    n_train_frames_ : int
        Frames the estimator was trained on (after ``max_train_frames``).
    forest_ : the fitted scikit-learn estimator
    """

    def __init__(self, n_estimators: int = 500, *, max_features: str | int | float | None = "sqrt",
                 min_samples_leaf: int | float = 1, max_samples: int | float | None = None,
                 max_train_frames: int | None = None, n_jobs: int | None = -1,
                 random_state: Any = 0, backend: str = "sklearn", estimator: Any = None,
                 chunk_rows: int | None = None, verbose: int = 0) -> None:
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.max_samples = max_samples
        self.max_train_frames = max_train_frames
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.backend = backend
        self.estimator = estimator
        self.chunk_rows = chunk_rows
        self.verbose = verbose

    # -- scikit-learn parameter protocol (without importing scikit-learn) ---------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyper-parameters as a dict (``deep`` adds ``estimator__*`` of a plugged estimator)."""
        out = {name: getattr(self, name) for name in self._get_param_names()}
        if deep and hasattr(self.estimator, "get_params") and not isinstance(self.estimator, type):
            out.update({f"estimator__{k}": v for k, v in self.estimator.get_params(deep=True).items()})
        return out

    def set_params(self, **params: Any) -> "TrackForestClassifier":
        """Set hyper-parameters; unknown names raise ``ValueError``."""
        names = set(self._get_param_names())
        nested: dict[str, Any] = {}
        for key, value in params.items():
            head, sep, sub = key.partition("__")
            if head not in names:
                raise ValueError(f"invalid parameter {head!r} for {type(self).__name__}; "
                                 f"valid: {sorted(names)}")
            if sep:
                nested[sub] = value
            else:
                setattr(self, key, value)
        if nested:
            self.estimator.set_params(**nested)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params(deep=False).items()
                   if not (v is defaults.get(k) or (type(v) is type(defaults.get(k)) and v == defaults.get(k)))]
        return f"{type(self).__name__}({', '.join(changed)})"

    # -- building the estimator ----------------------------------------------------------
    def _make_estimator(self) -> Any:
        spec = self.backend if self.estimator is None else self.estimator
        if not isinstance(spec, str):
            if not hasattr(spec, "fit") or not hasattr(spec, "predict_proba"):
                raise ConfigError(f"estimator {spec!r} has no fit/predict_proba")
            from sklearn.base import clone

            return clone(spec)
        if spec in ("sklearn", "random_forest"):
            from sklearn.ensemble import RandomForestClassifier

            return RandomForestClassifier(
                n_estimators=self.n_estimators, max_features=self.max_features,
                min_samples_leaf=self.min_samples_leaf, max_samples=self.max_samples,
                n_jobs=self.n_jobs, random_state=self.random_state, verbose=self.verbose)
        if spec == "extra_trees":
            from sklearn.ensemble import ExtraTreesClassifier

            return ExtraTreesClassifier(
                n_estimators=self.n_estimators, max_features=self.max_features,
                min_samples_leaf=self.min_samples_leaf, bootstrap=self.max_samples is not None,
                max_samples=self.max_samples, n_jobs=self.n_jobs, random_state=self.random_state,
                verbose=self.verbose)
        if spec == "hist_gradient_boosting":
            from sklearn.ensemble import HistGradientBoostingClassifier

            kw: dict[str, Any] = {}
            if isinstance(self.max_features, float):
                kw["max_features"] = self.max_features
            return HistGradientBoostingClassifier(
                max_iter=self.n_estimators, min_samples_leaf=int(self.min_samples_leaf),
                early_stopping=False, random_state=self.random_state, verbose=self.verbose, **kw)
        raise ConfigError(f"unknown classifier backend {spec!r}; choose one of {', '.join(BACKENDS)} "
                          "or pass a scikit-learn classifier instance as estimator")

    # -- fitting ---------------------------------------------------------------------------
    def _rows_per_tree(self, n_rows: int) -> int | float | None:
        """``max_samples`` as scikit-learn accepts it for ``n_rows`` training rows."""
        m = self.max_samples
        if m is None or isinstance(m, float):
            return m
        if isinstance(m, (int, np.integer)) and not isinstance(m, bool):
            if m < 1:
                raise ValueError(f"max_samples must be >= 1 row, got {m}")
            return None if m >= n_rows else int(m)
        raise ValueError(f"max_samples must be an int, a float or None, got {m!r}")

    def fit(self, fs: "FrameSet", y: None = None, *, progress: bool = False) -> "TrackForestClassifier":
        """Train on every frame (or the ``max_train_frames`` subsample) of the tracks of ``fs``.

        Parameters
        ----------
        fs : FrameSet
            ``fs.X`` [shape=(n_frames, dim)], float32 (a memory map is read, not copied,
            unless subsampled); each frame's label is its track's label, as an index into
            ``fs.tracks.classes``.
        y : None
            Ignored; present for the scikit-learn signature.
        progress : bool
            Show progress on stderr (:class:`mirlearn.progress.Progress`: a bar on a terminal,
            a line now and then elsewhere). A random forest or extra-trees with an int (or no)
            ``random_state`` then grows its trees in chunks (scikit-learn's ``warm_start``):
            the same trees as one fit, since each tree's seed is drawn in the same sequence.
            Other estimators get a start line and an end line with the time.

        Returns
        -------
        self
        """
        if y is not None:
            raise ValueError("labels come from fs.tracks; call fit(fs) without y")
        classes = [str(c) for c in fs.tracks.classes]
        if not classes:
            raise ValueError("the FrameSet's track table has no classes")
        n_frames = len(fs.X)
        if n_frames == 0:
            raise ValueError("cannot fit on a FrameSet without frames")
        labels = fs.frame_labels()
        if self.max_train_frames is not None and self.max_train_frames < n_frames:
            rows = stratified_subsample(fs.offsets, self.max_train_frames, self.random_state)
            X = np.ascontiguousarray(fs.X[rows], dtype=np.float32)
            labels = labels[rows]
        else:
            X = fs.X if (fs.X.dtype == np.float32 and fs.X.flags.c_contiguous) \
                else np.ascontiguousarray(fs.X, dtype=np.float32)
        est = self._make_estimator()
        if self.estimator is None and hasattr(est, "max_samples"):
            est.set_params(max_samples=self._rows_per_tree(len(X)))
        self._grow(est, X, labels, progress)
        cols = np.asarray(est.classes_).astype(np.int64)

        self.forest_ = est
        self.classes_ = np.array(classes)
        self.n_classes_ = len(classes)
        self.n_features_in_ = int(X.shape[1])
        self.n_train_frames_ = int(len(X))
        self._columns_ = cols
        return self

    def _grow(self, est: Any, X: np.ndarray, labels: np.ndarray, progress: bool) -> None:
        """``est.fit(X, labels)``, showing progress when asked (see :meth:`fit`)."""
        if not progress:
            est.fit(X, labels)
            return
        n_trees = int(getattr(est, "n_estimators", 0) or 0)
        chunkable = (self.estimator is None and self.backend in _CHUNKABLE and n_trees > 1
                     and (self.random_state is None or isinstance(self.random_state, (int, np.integer))))
        if not chunkable:
            # A RandomState instance would be consumed differently by several fits; boosting and
            # plugged estimators have no per-tree seeds to replay: one fit, timed.
            what = f"{n_trees} trees" if n_trees else type(est).__name__
            print(f"forest: fitting {what} on {len(X):,} rows × {X.shape[1]}", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            est.fit(X, labels)
            print(f"forest: fitted in {format_seconds(time.perf_counter() - t0)}", file=sys.stderr, flush=True)
            return
        from joblib import effective_n_jobs

        # Chunks of at least one tree per worker keep every core busy; about ten chunks in all.
        step = max(int(effective_n_jobs(self.n_jobs)), math.ceil(n_trees / 10))
        est.set_params(warm_start=True)
        try:
            with Progress(n_trees, "forest", "tree") as bar:
                for k in range(min(step, n_trees), n_trees + step, step):
                    k = min(k, n_trees)
                    if k <= bar.n:
                        break
                    est.set_params(n_estimators=k)
                    est.fit(X, labels)
                    bar.update(k - bar.n)
        finally:
            # The fitted estimator reads as a one-shot fit (a later fit starts afresh).
            est.set_params(warm_start=False, n_estimators=n_trees)

    # -- prediction ------------------------------------------------------------------------
    def _check_fitted(self, fs: "FrameSet") -> None:
        if not hasattr(self, "forest_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(fs) first")
        if fs.X.ndim != 2 or fs.X.shape[1] != self.n_features_in_:
            raise ValueError(f"FrameSet has {fs.X.shape[1:]} features per frame, the classifier was "
                             f"fitted on {self.n_features_in_}")

    def predict_frames(self, fs: "FrameSet", *, chunk_rows: int | None = None) -> np.ndarray:
        """Class probabilities of every frame, computed chunk by chunk.

        Only one chunk of ``fs.X`` is held as float32 at a time, so a memory-mapped matrix is
        streamed.

        Parameters
        ----------
        fs : FrameSet
        chunk_rows : int, optional
            Rows per chunk; defaults to ``self.chunk_rows`` (``None``: about 64 MiB of input).

        Returns
        -------
        proba : np.ndarray [shape=(n_frames, n_classes)], float64
            Columns follow ``classes_``; classes absent from training have probability 0.
        """
        self._check_fitted(fs)
        n, dim = fs.X.shape
        rows = chunk_rows if chunk_rows is not None else self.chunk_rows
        rows = int(rows) if rows is not None else max(1024, CHUNK_BYTES // (4 * max(dim, 1)))
        if rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {rows}")
        full = np.array_equal(self._columns_, np.arange(self.n_classes_))
        out = np.zeros((n, self.n_classes_), dtype=np.float64)
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            p = self.forest_.predict_proba(np.ascontiguousarray(fs.X[start:stop], dtype=np.float32))
            if full:
                out[start:stop] = p
            else:
                out[start:stop, self._columns_] = p
        return out

    def predict_tracks(self, fs: "FrameSet", *, chunk_rows: int | None = None) -> TrackPrediction:
        """Votes, mean probabilities and frame predictions from one pass over ``fs``.

        Raises
        ------
        ValueError
            A track of ``fs`` has no frames (named).
        """
        proba = self.predict_frames(fs, chunk_rows=chunk_rows)
        ids = fs.tracks.ids
        pred, votes = vote(proba, fs.offsets, self.n_classes_, track_ids=ids)
        return TrackPrediction(pred=pred, votes=votes, proba=mean_per_track(proba, fs.offsets, track_ids=ids),
                               frame_pred=np.argmax(proba, axis=1).astype(np.int64))

    def predict(self, fs: "FrameSet") -> np.ndarray:
        """Majority-vote class index of every track, shape ``(n_tracks,)``, int64.

        Indices refer to ``classes_``; ties as in :func:`~mirlearn.classify.vote`.
        """
        proba = self.predict_frames(fs)
        return vote(proba, fs.offsets, self.n_classes_, track_ids=fs.tracks.ids)[0]

    def predict_proba(self, fs: "FrameSet") -> np.ndarray:
        """Mean frame probabilities of every track, shape ``(n_tracks, n_classes)``, float64.

        Its arg-max may differ from :meth:`predict`, which is the majority vote.
        """
        proba = self.predict_frames(fs)
        return mean_per_track(proba, fs.offsets, track_ids=fs.tracks.ids)

    def track_targets(self, fs: "FrameSet") -> np.ndarray:
        """True class index (into ``classes_``) of every track of ``fs``, matched by name.

        ``fs.tracks.classes`` may differ from ``classes_`` (e.g. a test set missing a class);
        a label unknown to the classifier raises ``ValueError``.
        """
        lookup = {c: k for k, c in enumerate(self.classes_.tolist())}
        unknown = sorted({lab for lab in fs.tracks.labels if lab not in lookup})
        if unknown:
            raise ValueError(f"labels {unknown} were not among the classifier's classes {self.classes_.tolist()}")
        return np.array([lookup[lab] for lab in fs.tracks.labels], dtype=np.int64)

    def score(self, fs: "FrameSet") -> float:
        """Track accuracy of the majority vote on ``fs`` (labels matched by class name)."""
        y = self.track_targets(fs)
        return float(np.mean(self.predict(fs) == y)) if len(y) else float("nan")

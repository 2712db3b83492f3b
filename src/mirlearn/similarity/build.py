"""Make a :class:`TrackIndex` of a collection, and the vectors of query files for it.

The vectors come from a trained model (its learner's features, mean and variance over each
track) or, as the baseline every similarity study reports, from MFCC frames (``"mfcc"``:
mirlearn's MFCC, 20 coefficients and their deltas, at 22050 Hz with 1024/512 frames). The
collection's frames come from the frame cache, so a second index of the same data (another
metric, another model on the same frames) decodes nothing.

An index remembers what made it (``index.source``), so that :func:`query_vectors` makes the
vectors of new audio files the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mirlearn.datasets.tracks import TrackTable
from mirlearn.errors import MirlearnError
from mirlearn.features.settings import FrameSettings
from mirlearn.progress import Progress
from mirlearn.similarity.index import TrackIndex
from mirlearn.similarity.vectors import frame_track_vectors, model_track_vectors

__all__ = ["MFCC", "build_index", "query_vectors", "mfcc_settings", "with_learned_distance"]

#: The source name of the MFCC baseline (instead of a model folder).
MFCC = "mfcc"


def mfcc_settings() -> FrameSettings:
    """The frames of the MFCC baseline: mirlearn's defaults with ``kind="mfcc"``."""
    return FrameSettings(kind="mfcc")


def _load_model(folder: str | Path, device: str = "cpu"):
    from mirlearn.model import GenreModel, model_folder

    model = GenreModel.load(model_folder(folder))
    model.learner.set_params(device=device)
    return model


def build_index(tracks: TrackTable, source: str | Path, *, cache_dir: str | Path, metric: str = "cosine",
                layers: Any = None, n_jobs: int = 2, skip_bad: bool = False, progress: bool = True,
                device: str = "cpu", model: Any = None) -> TrackIndex:
    """The index of every track of ``tracks``.

    Parameters
    ----------
    tracks : the collection (labels and artists are kept in the index)
    source : ``"mfcc"``, or a model folder (or a run folder holding one)
    cache_dir : the frame cache (see :func:`mirlearn.features.cache.extract_frames`)
    metric : ``"cosine"`` or ``"euclidean"``
    layers : a model's feature layers (None: the model's own choice); not for ``"mfcc"``
    n_jobs, skip_bad, progress : as :func:`~mirlearn.features.cache.extract_frames`
    device : torch device of the model's network
    model : the model of ``source`` when the caller has loaded it already (read once)

    Returns
    -------
    TrackIndex
        Tracks that could not be decoded (``skip_bad=True``) are left out.
    """
    from mirlearn.features.cache import extract_frames

    if str(source) == MFCC:
        if layers is not None:
            raise MirlearnError("layers choose a model's features; the MFCC baseline has none")
        settings = mfcc_settings()
        fs = extract_frames(tracks, settings, cache_dir=cache_dir, n_jobs=n_jobs, skip_bad=skip_bad,
                            progress=progress)
        V, columns = frame_track_vectors(fs, "mfcc")
        src: dict[str, Any] = {"kind": MFCC, "frames": settings.to_dict()}
    else:
        if model is None:
            model = _load_model(source, device)
        else:
            model.learner.set_params(device=device)
        sel = model.layer_selection(layers)
        fs = extract_frames(tracks, model.frame_settings, cache_dir=cache_dir, n_jobs=n_jobs, skip_bad=skip_bad,
                            progress=progress, max_seconds=model.info.get("max_seconds"))
        with Progress(fs.n_tracks, "track vectors", "track", enabled=progress) as bar:
            V, columns = model_track_vectors(model, fs, layers=sel, progress=bar)
        src = {"kind": "model", "model": str(Path(source).resolve()), "layers": list(sel),
               "frames": model.frame_settings.to_dict()}
    kept = fs.tracks
    return TrackIndex(V, list(kept.ids), [str(t.path) for t in kept], [t.label for t in kept],
                      [t.artist or None for t in kept], metric=metric, columns=columns, source=src)


def query_vectors(index: TrackIndex, paths: Sequence[str | Path], *, n_jobs: int = 1, skip_bad: bool = False,
                  progress: Progress | None = None, device: str = "cpu"
                  ) -> tuple[np.ndarray, list[Path], list[tuple[Path, str]]]:
    """Track vectors of audio files, made as the index's own were.

    Returns
    -------
    vectors : np.ndarray [shape=(n_good, dim)], float32
    good : the files the vectors belong to, in the given order
    bad : the files that could not be decoded, with the cause (``skip_bad=False`` raises on
        the first instead)
    """
    from mirlearn.model import frames_of_files

    src = index.source
    if src.get("kind") == MFCC:
        settings = FrameSettings.from_dict(src["frames"])
        fs, bad = frames_of_files(paths, settings, skip_bad=skip_bad, n_jobs=n_jobs, progress=progress)
        V = frame_track_vectors(fs, "mfcc")[0] if fs.n_tracks else np.zeros((0, index.dim), np.float32)
    elif src.get("kind") == "model":
        folder = Path(src["model"])
        if not folder.exists():
            raise MirlearnError(f"{folder}: the model this index was made with is gone; make the index again")
        model = _load_model(folder, device)
        spec = model.feature_spec(tuple(src["layers"]), aggregate=False)
        feats, bad = model.transform_files(paths, spec, skip_bad=skip_bad, n_jobs=n_jobs, progress=progress,
                                           vectors=True)
        V = np.stack([f.vector for f in feats]) if feats else np.zeros((0, index.dim), np.float32)
    else:
        raise MirlearnError(f"this index's source {src.get('kind')!r} cannot embed new audio")
    bad_paths = {Path(p) for p, _ in bad}
    good = [Path(p) for p in paths if Path(p) not in bad_paths]
    return V.astype(np.float32), good, bad


def with_learned_distance(full: TrackIndex, train: Sequence[str], valid: Sequence[str], indexed: Sequence[str],
                          learner: Any) -> TrackIndex:
    """An index of the ``indexed`` tracks whose distance a siamese net learned on ``train``.

    Parameters
    ----------
    full : an index holding every track named below
    train : tracks the net learns from (their labels make the pairs); their statistics also
        standardise every vector, so the net sees new tracks as it saw its training ones
    valid : tracks whose pairs decide early stopping (may be empty)
    indexed : the tracks of the returned index (disjoint from ``train`` for an honest evaluation)
    learner : an unfitted :class:`~mirlearn.similarity.siamese.DistanceLearner`

    Returns
    -------
    TrackIndex
        Euclidean distance between the learner's embeddings; ``source["learned_distance"]``
        names the training and validation tracks' count.
    """
    from sklearn.preprocessing import StandardScaler

    overlap = set(train) & set(indexed)
    if overlap:
        raise MirlearnError(f"{len(overlap)} track(s) both train the distance and are indexed, e.g. "
                            f"{sorted(overlap)[0]}; index other tracks than the distance learns from")
    rows = {name: [full.position(t) for t in ids] for name, ids in
            (("train", train), ("valid", valid), ("indexed", indexed))}
    sc = StandardScaler().fit(full.vectors[rows["train"]].astype(np.float64))
    mean, scale = sc.mean_.astype(np.float32), sc.scale_.astype(np.float32)

    def std(r: list[int]) -> np.ndarray:
        return ((full.vectors[r] - mean) / scale).astype(np.float32)

    labels = np.asarray(full.labels)
    learner.fit(std(rows["train"]), labels[rows["train"]],
                std(rows["valid"]) if rows["valid"] else None, labels[rows["valid"]] if rows["valid"] else None)
    out = full.rows(rows["indexed"])
    return TrackIndex(out.vectors, out.ids, out.paths, out.labels, out.artists, metric="euclidean",
                      columns=out.columns, mean=mean, scale=scale, learned=learner, search=full.search,
                      source={**full.source, "learned_distance": {"train_tracks": len(train),
                                                                  "valid_tracks": len(valid)}})


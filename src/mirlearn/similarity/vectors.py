"""Track vectors of a whole collection: from a trained model's features, or from frames (MFCC).

A track vector is the mean and variance of all of a track's frame features
(:func:`mirlearn.features.aggregate.track_statistics`), the vector :meth:`GenreModel.embed`
gives one recording. Here the frames come from the frame cache and the learner runs on a
bounded number of tracks at a time, so memory stays flat however large the collection is
(the learned features of all GTZAN frames would take gigabytes; one batch takes megabytes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mirlearn.export import feature_columns
from mirlearn.features.aggregate import track_statistics
from mirlearn.features.frameset import FrameSet

if TYPE_CHECKING:
    from mirlearn.model import GenreModel
    from mirlearn.progress import Progress

__all__ = ["model_track_vectors", "frame_track_vectors", "BATCH_TRACKS"]

#: Tracks the learner transforms at a time.
BATCH_TRACKS = 64


def model_track_vectors(model: "GenreModel", frames: FrameSet, *, layers: Any = None,
                        batch_tracks: int = BATCH_TRACKS, progress: "Progress | None" = None
                        ) -> tuple[np.ndarray, list[str]]:
    """The track vector of every track of raw ``frames`` through ``model``'s learner.

    Parameters
    ----------
    model : a trained model (its learner makes the features)
    frames : raw frames of the collection, as the model was trained on (the model's
        ``frame_settings``), e.g. memory-mapped from the cache
    layers : feature layers (see :meth:`GenreModel.layer_selection`); None: the model's own
    batch_tracks : tracks transformed at a time
    progress : advanced by the number of tracks done

    Returns
    -------
    vectors : np.ndarray [shape=(n_tracks, 2 * width)], float32 (means, then variances)
    columns : names of the values (``layer2_unit007_mean``)
    """
    sel = model.layer_selection(layers)
    ids = frames.tracks.ids
    parts = []
    for a in range(0, len(ids), max(1, batch_tracks)):
        chunk = frames.subset(ids[a:a + batch_tracks], copy=False)  # consecutive tracks: a view
        F = model.learner.transform(chunk, layers=sel)
        parts.append(track_statistics(F.X, F.offsets))
        if progress is not None:
            progress.update(chunk.n_tracks)
    width = sum(int(model.learner.feature_layers_[str(name)]) for name in sel)
    V = np.concatenate(parts) if parts else np.zeros((0, 2 * width), dtype=np.float32)
    return V, feature_columns(model.learner.feature_layers_, sel, True)


def frame_track_vectors(frames: FrameSet, name: str) -> tuple[np.ndarray, list[str]]:
    """The track vector of every track of ``frames`` themselves (MFCC: the classic baseline).

    Parameters
    ----------
    frames : frames of the collection (any kind: ``mfcc``, ``logmel``, ...)
    name : prefix of the column names (``mfcc`` → ``mfcc03_mean``)

    Returns
    -------
    vectors : np.ndarray [shape=(n_tracks, 2 * dim)], float32; columns : their names
    """
    digits = max(2, len(str(frames.dim - 1)))
    names = [f"{name}{j:0{digits}d}" for j in range(frames.dim)]
    return track_statistics(frames.X, frames.offsets), [f"{n}_mean" for n in names] + [f"{n}_var" for n in names]

"""The paper's forest recipe for tags and numeric targets: a forest on windows, averaged per track.

For single labels the pipeline lets every window vote (:class:`TrackForestClassifier`). Tags and
targets have no vote, so every window of a track carries the track's tags (or target), one
scikit-learn forest learns them all at once (forests take multi-output targets natively), and a
track's score is the mean over its windows: the share of trees and windows that give it the tag,
or the mean predicted target.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mirlearn.classify.voting import check_offsets, mean_per_track

__all__ = ["fit_task_forest", "predict_task_forest"]


def fit_task_forest(task: str, X: np.ndarray, offsets: np.ndarray, Y_tracks: np.ndarray, *,
                    forest_params: dict[str, Any]) -> Any:
    """Fit a forest on windows whose targets are their tracks' tags or target.

    Parameters
    ----------
    task : "tags" or "target"
    X : np.ndarray [shape=(n_windows, dim)], the windows of the training tracks
    offsets : np.ndarray [shape=(n_tracks + 1,)], windows of track ``i`` are ``offsets[i]:offsets[i+1]``
        (every track has at least one)
    Y_tracks : 0/1 indicators (n_tracks, n_tags) for ``tags``, floats (n_tracks,) for ``target``
    forest_params : ``n_estimators``, ``max_features``, ``min_samples_leaf``, ``max_samples``
        (int = windows per tree, capped at the windows there are), ``n_jobs``, ``random_state``;
        other keys are ignored, so a :class:`TrackForestClassifier`'s ``get_params()`` serves

    Returns
    -------
    The fitted ``RandomForestClassifier`` (tags) or ``RandomForestRegressor`` (target).
    """
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    offsets = check_offsets(np.asarray(offsets), len(X))
    Y_tracks = np.asarray(Y_tracks)
    if len(Y_tracks) != len(offsets) - 1:
        raise ValueError(f"{len(Y_tracks)} track targets for {len(offsets) - 1} tracks")
    Y = np.repeat(Y_tracks, np.diff(offsets), axis=0)
    m = forest_params.get("max_samples")
    if isinstance(m, (int, np.integer)) and not isinstance(m, bool):
        m = min(int(m), len(X))
    kw = dict(n_estimators=forest_params.get("n_estimators", 100),
              max_features=forest_params.get("max_features", "sqrt"),
              min_samples_leaf=forest_params.get("min_samples_leaf", 1), max_samples=m,
              n_jobs=forest_params.get("n_jobs", -1), random_state=forest_params.get("random_state", 0))
    if task == "tags":
        return RandomForestClassifier(**kw).fit(X, Y)
    if task == "target":
        return RandomForestRegressor(**kw).fit(X, Y.astype(np.float64))
    raise ValueError(f"task must be 'tags' or 'target', got {task!r}")


def predict_task_forest(forest: Any, X: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-track scores: tag probabilities (n_tracks, n_tags) or targets (n_tracks,).

    A tag that no training window had (or every one had) gets probability 0 (or 1) for all.
    """
    offsets = check_offsets(np.asarray(offsets), len(X))
    if hasattr(forest, "predict_proba"):
        probas = forest.predict_proba(X)
        if not isinstance(probas, list):  # one tag: scikit-learn returns a single array
            probas = [probas]
        cols = []
        for p, classes in zip(probas, forest.classes_ if isinstance(forest.classes_, list) else [forest.classes_]):
            hit = np.flatnonzero(np.asarray(classes) == 1)
            cols.append(p[:, hit[0]] if len(hit) else np.zeros(len(X)))
        return mean_per_track(np.stack(cols, axis=1), offsets)
    return mean_per_track(np.asarray(forest.predict(X), dtype=np.float64), offsets)

"""Transfer's evaluation of one feature source on one split: test tracks never choose anything."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mirlearn.classify import TrackForestClassifier
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.experiments.transfer import FeatureSource, evaluate_source, source_of_frames
from mirlearn.features.frameset import FrameSet
from mirlearn.features.timebase import TimeBase


def _source(rng, n_per=8, frames=40, dim=5):
    n = 3 * n_per
    tracks = TrackTable([Track(f"t{i}", Path(f"t{i}.wav"), f"c{i % 3}") for i in range(n)])
    X = (rng.standard_normal((n * frames, dim)) + 2 * np.eye(3, dim)[np.repeat(np.arange(n) % 3, frames)]
         ).astype(np.float32)
    fs = FrameSet(X, np.arange(n + 1) * frames, tracks, TimeBase(22050, 512, "mfcc"))
    return source_of_frames("mfcc", fs, window_s=0.5, hop_s=0.25), tracks


def test_every_classifier_scored_on_test_tracks_and_chosen_without_them(rng):
    src, tracks = _source(rng)
    ids = tracks.ids
    split = Split("s", train=ids[:12], valid=ids[12:18], test=ids[18:])
    forest = TrackForestClassifier(n_estimators=20, random_state=0, n_jobs=1)
    res = evaluate_source(src, split, forest)
    assert set(res) == {"forest", "logreg", "svm"} and all(res[c]["accuracy"] >= 0.8 for c in res)
    # the windows: mean and variance of 22-frame windows every 11 frames, per track
    assert src.windows.dim == 10 and src.vectors.shape == (24, 10)
    # spoil the test tracks' vectors: accuracy falls, what validation chose does not move
    spoiled = src.vectors.copy()
    spoiled[18:] = rng.standard_normal((6, 10)) * 50
    res2 = evaluate_source(FeatureSource("mfcc", src.windows, spoiled), split, forest)
    for c in ("logreg", "svm"):
        assert res2[c]["params"] == res[c]["params"] and res2[c]["valid_score"] == res[c]["valid_score"]


def _tagged_source(rng, n=36, frames=40, dim=5):
    """Tracks whose tags and target follow their frames' mean: tag 'hi0' when feature 0 is high."""
    centre = rng.standard_normal((n, dim))
    tags = [tuple(g for g, on in (("hi0", centre[i, 0] > 0), ("hi1", centre[i, 1] > 0)) if on) for i in range(n)]
    tracks = TrackTable([Track(f"t{i}", Path(f"t{i}.wav"), "", tags=tags[i], target=float(2 * centre[i, 2]))
                         for i in range(n)])
    X = (np.repeat(centre, frames, axis=0) + 0.3 * rng.standard_normal((n * frames, dim))).astype(np.float32)
    fs = FrameSet(X, np.arange(n + 1) * frames, tracks, TimeBase(22050, 512, "mfcc"))
    ids = tracks.ids
    return source_of_frames("mfcc", fs, window_s=0.5, hop_s=0.25), Split("s", ids[:18], ids[18:27], ids[27:])


def test_tags_scored_per_tag_and_macro(rng):
    src, split = _tagged_source(rng)
    res = evaluate_source(src, split, TrackForestClassifier(n_estimators=30, random_state=0, n_jobs=1), task="tags")
    assert set(res) == {"forest", "logreg", "svm"}
    for c in res:
        assert set(res[c]["per_tag"]) == {"hi0", "hi1"} and res[c]["roc_auc"] > 0.8
        assert 0 < res[c]["pr_auc"] <= 1
    assert "C" in res["logreg"]["params"] and 0.5 < res["logreg"]["valid_score"] <= 1


def test_target_scored_by_r2(rng):
    src, split = _tagged_source(rng)
    res = evaluate_source(src, split, TrackForestClassifier(n_estimators=30, random_state=0, n_jobs=1), task="target")
    assert set(res) == {"forest", "ridge", "svr"}
    assert res["ridge"]["r2"] > 0.9 and res["forest"]["r2"] > 0.5 and res["ridge"]["mae"] > 0

"""Indexes of a small synthetic collection: MFCC and a trained model; queries made the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mirlearn.config import load_config
from mirlearn.datasets import load_dataset
from mirlearn.datasets.splits import Split
from mirlearn.datasets.synthetic import make_synthetic
from mirlearn.errors import MirlearnError
from mirlearn.model import GenreModel, frames_of_files
from mirlearn.similarity.build import build_index, query_vectors
from mirlearn.similarity.index import TrackIndex


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Path:
    return make_synthetic(tmp_path_factory.mktemp("coll") / "data", n_classes=3, clips_per_class=4, seconds=2.0,
                          seed=3)


@pytest.fixture(scope="module")
def model_dir(collection, tmp_path_factory) -> Path:
    tracks, _ = load_dataset(collection, "auto")
    cfg = load_config("demo", {"network": {"hidden": [8, 8, 8]}, "training": {"max_epochs": 2},
                               "forest": {"n_estimators": 5, "n_jobs": 1}})
    raw, _ = frames_of_files([t.path for t in tracks], cfg.frames)
    from mirlearn.features.frameset import FrameSet

    fs = FrameSet(raw.X, raw.offsets, tracks, time_base=raw.time_base)
    ids = tracks.ids
    split = Split("s0", train=ids[0::2], valid=ids[1::4], test=ids[3::4])
    tmp = tmp_path_factory.mktemp("m")
    return GenreModel.from_config(cfg, progress=False).fit(fs, split, work_dir=tmp).save(tmp / "model")


def test_mfcc_index_and_queries_agree(collection, tmp_path):
    tracks, _ = load_dataset(collection, "auto")
    idx = build_index(tracks, "mfcc", cache_dir=tmp_path / "cache", progress=False)
    assert len(idx) == 12 and idx.dim == 80 and idx.columns[0] == "mfcc00_mean" and idx.source["kind"] == "mfcc"
    assert idx.labels == [t.label for t in tracks] and idx.paths == [str(t.path) for t in tracks]
    V, good, bad = query_vectors(idx, [tracks[4].path, tracks[7].path])
    np.testing.assert_allclose(V, idx.vectors[[4, 7]], rtol=1e-5, atol=1e-5)
    assert good == [tracks[4].path, tracks[7].path] and bad == []
    rows, dist = idx.query(V[:1], k=1)
    assert rows[0, 0] == 4 and dist[0, 0] == pytest.approx(0, abs=1e-5)   # a track finds itself first
    with pytest.raises(MirlearnError, match="the MFCC baseline has none"):
        build_index(tracks, "mfcc", cache_dir=tmp_path / "cache", layers="2", progress=False)


def test_model_index_saved_loaded_and_queried(collection, model_dir, tmp_path):
    tracks, _ = load_dataset(collection, "auto")
    idx = build_index(tracks, model_dir, cache_dir=tmp_path / "cache", layers="2", progress=False)
    assert idx.dim == 16 and idx.columns[0] == "layer2_unit000_mean" and idx.source["layers"] == ["2"]
    back = TrackIndex.load(idx.save(tmp_path / "ix"))
    bad_file = tmp_path / "bad.wav"
    bad_file.write_bytes(b"not audio")
    V, good, bad = query_vectors(back, [tracks[2].path, bad_file], skip_bad=True)
    assert good == [tracks[2].path] and bad[0][0] == bad_file
    np.testing.assert_allclose(V[0], idx.vectors[2], rtol=1e-4, atol=1e-5)
    assert back.evaluate(k=3).precision_at_k.shape == (12,)

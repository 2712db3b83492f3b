"""Search backends: scikit-learn's exact search and the FAISS HNSW graph give the same answers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import pairwise_distances

from mirlearn.errors import MirlearnError
from mirlearn.similarity import search as search_mod
from mirlearn.similarity.index import GRAPH_NAME, TrackIndex
from mirlearn.similarity.search import HNSW_MIN_TRACKS, ExactSearch, HNSWSearch, resolve_search


def _lowrank(rng, n, dim=24):
    return (rng.standard_normal((n, 6)) @ rng.standard_normal((6, dim)) + 0.3 * rng.standard_normal((n, dim))
            ).astype(np.float32)


def test_auto_is_exact_below_the_threshold_and_hnsw_needs_faiss(monkeypatch):
    assert resolve_search("auto", 1000) == "exact" and resolve_search("exact", 10**6) == "exact"
    monkeypatch.setattr(search_mod, "faiss_available", lambda: False)
    assert resolve_search("auto", HNSW_MIN_TRACKS) == "exact"
    with pytest.raises(MirlearnError, match="search 'hnsw' needs FAISS: pip install faiss-cpu"):
        resolve_search("hnsw", 10)
    with pytest.raises(MirlearnError, match="search 'kd'"):
        resolve_search("kd", 10)
    monkeypatch.setattr(search_mod, "faiss_available", lambda: True)
    assert resolve_search("auto", HNSW_MIN_TRACKS) == "hnsw" and resolve_search("auto", HNSW_MIN_TRACKS - 1) == "exact"


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_hnsw_finds_the_exact_neighbours_with_the_metrics_distances(rng, metric):
    pytest.importorskip("faiss")
    Z, Q = _lowrank(rng, 2000), _lowrank(rng, 50)
    d_exact, r_exact = ExactSearch(Z, metric).kneighbors(Q, 10)
    d_hnsw, r_hnsw = HNSWSearch(Z, metric).kneighbors(Q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(r_exact, r_hnsw)])
    assert recall > 0.95
    # the distances are the metric's own (cosine distance 1 - cos; Euclidean, not squared)
    truth = pairwise_distances(Q, Z, metric=metric)
    np.testing.assert_allclose(d_hnsw, np.take_along_axis(truth, r_hnsw, axis=1), rtol=1e-4, atol=1e-4)
    assert np.all(np.diff(d_hnsw, axis=1) >= -1e-6)


def test_an_hnsw_index_saves_its_graph_and_loads_it_without_rebuilding(rng, tmp_path, monkeypatch):
    faiss = pytest.importorskip("faiss")
    n = 300
    V = _lowrank(rng, n)
    index = TrackIndex(V, [f"t{i}" for i in range(n)], [f"t{i}.wav" for i in range(n)], ["ab"[i % 2] for i in range(n)],
                       [None] * n, search="hnsw")
    rows, dist = index.query(V[:5], k=4, exclude=[[i] for i in range(5)])
    assert rows.shape == (5, 4) and not np.isin(np.arange(5)[:, None], rows).any(axis=1).any()
    index.save(tmp_path / "ix")
    assert (tmp_path / "ix" / GRAPH_NAME).is_file()

    monkeypatch.setattr(faiss, "IndexHNSWFlat", lambda *a: pytest.fail("the graph was built again"))
    back = TrackIndex.load(tmp_path / "ix")
    assert back.search == "hnsw" and isinstance(back._nn, HNSWSearch)
    rows2, dist2 = back.query(V[:5], k=4, exclude=[[i] for i in range(5)])
    np.testing.assert_array_equal(rows2, rows)
    np.testing.assert_allclose(dist2, dist, rtol=1e-5)
    monkeypatch.undo()
    # the same folder saved again with exact search loses its stale graph
    back.search = "exact"
    back._nn = None
    back.save(tmp_path / "ix")
    assert not (tmp_path / "ix" / GRAPH_NAME).exists() and TrackIndex.load(tmp_path / "ix").search_kind == "exact"

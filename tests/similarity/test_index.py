"""TrackIndex: standardised vectors, exact neighbours, exclusions, evaluation, save and load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mirlearn.errors import MirlearnError
from mirlearn.similarity import pairwise_distances, retrieval_scores
from mirlearn.similarity.index import TrackIndex


def _index(rng, n=40, dim=5, metric="cosine") -> TrackIndex:
    # value 0 on a scale 1000 times the others: standardising keeps it from deciding alone
    X = rng.standard_normal((n, dim)).astype(np.float32) * np.array([1000, 1, 1, 1, 1], np.float32)[:dim]
    return TrackIndex(X, [f"t{i}" for i in range(n)], [f"/m/t{i}.wav" for i in range(n)],
                      [str(i % 3) for i in range(n)], [f"a{i // 4}" if i % 5 else None for i in range(n)],
                      metric=metric, columns=[f"c{j}" for j in range(dim)], source={"kind": "test"})


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_neighbours_are_the_exact_nearest_of_the_standardised_vectors(rng, metric):
    idx = _index(rng, metric=metric)
    Z = idx.standardized()
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(0), 1, rtol=1e-4)
    q = rng.standard_normal((3, 5)).astype(np.float32)
    rows, dist = idx.query(q, k=4)
    D = pairwise_distances(idx.standardized(q), Z, metric=metric)
    for i in range(3):
        np.testing.assert_array_equal(rows[i], np.argsort(D[i], kind="stable")[:4])
        np.testing.assert_allclose(dist[i], np.sort(D[i])[:4], rtol=1e-4, atol=1e-5)


def test_exclusions_and_padding(rng):
    idx = _index(rng, n=6)
    rows, dist = idx.query(idx.vectors[[0]], k=6, exclude=[[0, 1]])
    assert rows[0, 0] not in (0, 1) and set(rows[0, :4]) == {2, 3, 4, 5}
    assert list(rows[0, 4:]) == [-1, -1] and np.isinf(dist[0, 4:]).all()
    assert idx.same_artist(1) == [1, 2, 3] and idx.same_artist(0) == [0]   # track 0's artist is unknown


def test_evaluate_is_retrieval_scores_on_the_standardised_vectors(rng):
    idx = _index(rng)
    s = idx.evaluate(k=5, artist_filter=True)
    ref = retrieval_scores(idx.standardized(), idx.labels, k=5, metric="cosine", artists=idx.artists)
    np.testing.assert_array_equal(s.precision_at_k, ref.precision_at_k)


def test_save_load_round_trip_and_bad_folders(rng, tmp_path):
    idx = _index(rng)
    idx.save(tmp_path / "ix")
    back = TrackIndex.load(tmp_path / "ix")
    assert back.ids == idx.ids and back.artists == idx.artists and back.metric == "cosine"
    np.testing.assert_array_equal(back.standardized(), idx.standardized())
    np.testing.assert_array_equal(back.query(idx.vectors[:2], k=3)[0], idx.query(idx.vectors[:2], k=3)[0])
    with pytest.raises(MirlearnError, match="not an index folder"):
        TrackIndex.load(tmp_path)
    meta = json.loads((tmp_path / "ix" / "index.json").read_text())
    (tmp_path / "ix" / "index.json").write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(MirlearnError, match="newer than this mirlearn reads"):
        TrackIndex.load(tmp_path / "ix")
    (tmp_path / "ix" / "index.json").write_text(json.dumps({**meta, "ids": meta["ids"][:3]}))
    with pytest.raises(MirlearnError, match="inconsistent with index.npz"):
        TrackIndex.load(tmp_path / "ix")
    with pytest.raises(MirlearnError, match="query vectors have 4 values; this index's have 5"):
        idx.query(np.zeros((1, 4)), k=2)


def test_an_index_with_a_learned_distance_searches_its_embeddings_and_round_trips(rng, tmp_path):
    from mirlearn.similarity.build import with_learned_distance
    from mirlearn.similarity.siamese import DistanceLearner

    full = _index(rng, n=60)
    ids = full.ids
    learner = DistanceLearner(hidden=(8,), n_out=4, epochs=3, pairs_per_epoch=64, seed=1)
    idx = with_learned_distance(full, ids[:30], ids[30:40], ids[40:], learner)
    assert idx.ids == ids[40:] and idx.metric == "euclidean" and idx.learned is learner
    np.testing.assert_allclose(idx.mean, full.vectors[:30].mean(0), rtol=1e-4, atol=1e-2)   # the train tracks'
    E = learner.transform(idx.standardized())
    rows, dist = idx.query(idx.vectors[:2], k=3)
    D = pairwise_distances(E[:2], E, metric="euclidean")
    np.testing.assert_array_equal(rows[0], np.argsort(D[0], kind="stable")[:3])
    back = TrackIndex.load(idx.save(tmp_path / "ix"))
    np.testing.assert_array_equal(back.space(), idx.space())
    assert json.loads((tmp_path / "ix" / "index.json").read_text())["learned_distance"]["n_out"] == 4
    full.save(tmp_path / "ix")          # replaced by an index without one: the weights go
    assert not (tmp_path / "ix" / "distance.pt").exists() and TrackIndex.load(tmp_path / "ix").learned is None
    with pytest.raises(MirlearnError, match="both train the distance and are indexed"):
        with_learned_distance(full, ids[:30], [], ids[29:], DistanceLearner())

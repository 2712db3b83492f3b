"""Precision at k and average precision against rankings worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mirlearn.errors import MirlearnError
from mirlearn.similarity import pairwise_distances, retrieval_scores

# Points on a line: Euclidean rankings are easy to follow by hand.
LINE = np.array([[0.0], [1.0], [3.0], [6.0], [10.0]], dtype=np.float32)
LABELS = ["a", "a", "b", "a", "b"]


def test_precision_and_average_precision_by_hand():
    s = retrieval_scores(LINE, LABELS, k=2, metric="euclidean")
    # query 0 (a): ranking 1(a) 2(b) 3(a) 4(b) → P@2 = 1/2; AP = (1/1 + 2/3) / 2
    assert s.precision_at_k[0] == 0.5
    assert s.average_precision[0] == pytest.approx((1 + 2 / 3) / 2)
    # query 2 (b): distances 3, 2, 3, 7 → ranking 1(a), then 0 and 3 tie (collection order: 0, 3), 4(b)
    assert s.precision_at_k[2] == 0.0 and s.average_precision[2] == pytest.approx(1 / 4)
    # query 4 (b): ranking 3(a) 2(b) 1(a) 0(a) → AP = 1/2
    assert s.average_precision[4] == pytest.approx(1 / 2)
    assert s.mean_precision_at_k == pytest.approx(np.mean(s.precision_at_k))
    per = s.per_class()
    assert set(per) == {"a", "b"} and per["b"][2] == 2


def test_blocks_do_not_change_the_result(rng):
    X = rng.standard_normal((57, 6)).astype(np.float32)
    y = rng.integers(0, 4, 57).astype(str)
    full = retrieval_scores(X, y, k=5, block=1000)
    small = retrieval_scores(X, y, k=5, block=7)
    np.testing.assert_array_equal(full.precision_at_k, small.precision_at_k)
    np.testing.assert_array_equal(full.average_precision, small.average_precision)


def test_artist_filter_leaves_out_the_querys_artist():
    artists = ["x", "x", "y", "z", None]
    s = retrieval_scores(LINE, LABELS, k=1, metric="euclidean", artists=artists)
    # query 0: track 1 (same artist x) is skipped; nearest left is 2 (b), then 3 (a), 4
    assert s.precision_at_k[0] == 0.0 and s.average_precision[0] == pytest.approx(1 / 2)
    # an unknown artist filters nothing: query 4's ranking is 3, 2, 1, 0
    assert s.average_precision[4] == pytest.approx(1 / 2)


def test_a_query_without_relevant_tracks_is_left_out_of_map():
    s = retrieval_scores(LINE[:3], ["a", "a", "c"], k=1, metric="euclidean")
    assert np.isnan(s.average_precision[2]) and s.precision_at_k[2] == 0.0
    assert s.mean_average_precision == pytest.approx(1.0)


def test_cosine_distances_and_bad_arguments():
    D = pairwise_distances(np.array([[1, 0], [0, 2], [0, 0]]), np.array([[3, 0], [-1, 0]]), metric="cosine")
    np.testing.assert_allclose(D, [[0, 2], [1, 1], [1, 1]], atol=1e-6)
    with pytest.raises(MirlearnError, match="metric 'manhattan': must be one of cosine, euclidean"):
        pairwise_distances(LINE, LINE, metric="manhattan")
    with pytest.raises(ValueError, match="k must be >= 1"):
        retrieval_scores(LINE, LABELS, k=0)
    with pytest.raises(ValueError, match="4 labels for 5 vectors"):
        retrieval_scores(LINE, LABELS[:4])

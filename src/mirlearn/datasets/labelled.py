"""Few labels: a seeded, stratified share of a split's tracks whose labels may be used.

Hamel & Eck's question — does unsupervised pre-training help when few examples are
labelled? — needs every stage that reads labels to read the same few: the network's supervised
fine-tuning and early stopping, and the classifier trained on its features (the forest of a
feature cell). :func:`labelled_ids` picks whole tracks, per class ``max(1, round(fraction ·
n_class))`` of them, so that every class keeps at least one; the pick depends only on the set
of (track, label) pairs, the fraction and the seed — not on the order the tracks come in — so
the learner (which sees its training tracks) and the pipeline (which sees the split) pick the
same tracks. :func:`labelled_split` applies it to a split's training and validation parts
separately; its test part is kept whole (it is scored, never learned from).

>>> labelled_ids(["a1", "a2", "a3", "a4", "b1", "b2"], ["a", "a", "a", "a", "b", "b"], 0.5, seed=0)
['a1', 'a3', 'b2']
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import TrackTable

__all__ = ["labelled_ids", "labelled_split", "per_class_count"]

#: The random stream of the label pick (``default_rng([seed, LABEL_STREAM])``).
LABEL_STREAM = 16


def per_class_count(n: int, fraction: float) -> int:
    """Tracks kept of a class of ``n``: ``round(fraction · n)`` (halves up), at least 1, at most ``n``."""
    return min(n, max(1, math.floor(fraction * n + 0.5)))


def labelled_ids(ids: Sequence[str], labels: Sequence[str], fraction: float, *, seed: int = 0) -> list[str]:
    """The ids of the tracks whose labels are kept, in the order of ``ids``.

    Parameters
    ----------
    ids, labels : one label per track id (ids distinct)
    fraction : float in (0, 1]
        Share of each class's tracks kept (1: all).
    seed : int
        Seeds the pick: per class (in sorted order), a permutation of its sorted ids.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} ids but {len(labels)} labels")
    if fraction == 1:
        return list(ids)
    by_class: dict[str, list[str]] = {}
    for t, c in zip(ids, labels):
        by_class.setdefault(c, []).append(t)
    rng = np.random.default_rng([int(seed), LABEL_STREAM])
    keep: set[str] = set()
    for c in sorted(by_class):
        members = sorted(by_class[c])
        order = rng.permutation(len(members))
        keep.update(members[i] for i in order[:per_class_count(len(members), fraction)])
    return [t for t in ids if t in keep]


def labelled_split(split: Split, tracks: TrackTable, fraction: float | None, *, seed: int = 0) -> Split:
    """``split`` with only the labelled tracks of its training and validation parts (each part
    picked by :func:`labelled_ids` on its own); the test part whole. ``fraction`` ``None`` or 1:
    ``split`` itself."""
    if fraction is None or fraction == 1:
        return split

    def pick(part: Sequence[str]) -> list[str]:
        return labelled_ids(part, [tracks[tracks.position(t)].label for t in part], fraction, seed=seed)

    return Split(split.name, pick(split.train), pick(split.valid), list(split.test), source=split.source)

"""What the explorer page shows, as plain JSON: the map, the tracks, neighbours, precision at k.

Everything the page needs comes from a :class:`~mirlearn.similarity.index.TrackIndex`: each
track's position on a 2-D map of the vectors the index compares, its name, label and artist;
its nearest neighbours with distances (computed on request by the server, all at once for a
static export); and precision at k per label (every track a query).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from mirlearn.explore.map2d import map_2d
from mirlearn.similarity.index import TrackIndex

__all__ = ["explorer_data", "neighbors_of", "collection_root"]


def collection_root(index: TrackIndex) -> Path:
    """The folder the collection's audio lives in: the index's recorded ``root``, else the
    deepest folder holding every track. Only audio inside it is ever served."""
    root = index.source.get("root")
    if root:
        return Path(root)
    parents = [os.path.dirname(os.path.abspath(p)) for p in index.paths] or ["."]
    return Path(os.path.commonpath(parents))


def explorer_data(index: TrackIndex, *, k: int = 10, method: str = "auto", seed: int = 0,
                  title: str | None = None) -> dict[str, Any]:
    """The page's data: tracks with map coordinates, labels, and precision at ``k`` per label."""
    xy, used = map_2d(index.space(), method=method, seed=seed)
    scores = index.evaluate(k=min(k, max(1, len(index) - 1)))
    per = scores.per_class()
    labels = sorted(set(index.labels))
    tracks = [{"i": i, "id": index.ids[i], "name": Path(index.paths[i]).name, "label": index.labels[i],
               "artist": index.artists[i], "x": round(float(xy[i, 0]), 5), "y": round(float(xy[i, 1]), 5)}
              for i in range(len(index))]
    return {"title": title or f"mirlearn explorer: {len(index)} tracks", "k": int(k), "metric": index.metric,
            "learned_distance": index.learned is not None, "map": used, "labels": labels, "tracks": tracks,
            "precision": {"k": scores.k,
                          "per_label": {c: {"precision": p, "map": None if np.isnan(m) else m, "n": n}
                                        for c, (p, m, n) in per.items()},
                          "all": {"precision": scores.mean_precision_at_k, "map": scores.mean_average_precision,
                                  "n": len(index)}}}


def neighbors_of(index: TrackIndex, rows: list[int], k: int) -> list[list[dict[str, Any]]]:
    """The ``k`` nearest tracks of collection rows (never themselves), with distances."""
    k = max(1, min(k, len(index) - 1))
    got, dist = index.query(index.vectors[rows], k=k, exclude=[[r] for r in rows])
    return [[{"i": int(j), "distance": round(float(d), 6)} for j, d in zip(g, dd) if j >= 0]
            for g, dd in zip(got, dist)]

"""A 2-D map of track vectors for the explorer: UMAP where installed, else t-SNE, else PCA.

UMAP (``umap-learn``) keeps local neighbourhoods and the global layout best but is an optional
package; scikit-learn's t-SNE keeps neighbourhoods and is exact enough for a few thousand
tracks; beyond :data:`TSNE_MAX` tracks (t-SNE's cost grows as n log n with a large constant)
PCA's two leading components are used. Coordinates are scaled into [0, 1].
"""

from __future__ import annotations

import numpy as np

__all__ = ["map_2d", "METHODS", "TSNE_MAX"]

#: Map methods, ``auto`` choosing the best one available for the collection's size.
METHODS = ("auto", "umap", "tsne", "pca")
#: Above this many tracks ``auto`` uses PCA instead of t-SNE (when UMAP is absent).
TSNE_MAX = 5000


def _umap_available() -> bool:
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def map_2d(Z: np.ndarray, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """Two coordinates per row of ``Z`` (n × d, the vectors the index compares).

    Returns
    -------
    xy : np.ndarray [shape=(n, 2)], float64 in [0, 1]
    method : the method used ("umap", "tsne", "pca"; "none" for fewer than 3 rows)
    """
    if method not in METHODS:
        raise ValueError(f"map method must be one of {', '.join(METHODS)}, got {method!r}")
    Z = np.asarray(Z, dtype=np.float64)
    n = len(Z)
    if n < 3:
        xy, used = np.column_stack([np.arange(n, dtype=np.float64), np.zeros(n)]), "none"
    else:
        if method == "auto":
            method = "umap" if _umap_available() else ("tsne" if n <= TSNE_MAX else "pca")
        if method == "umap":
            import umap

            xy = umap.UMAP(n_components=2, random_state=seed, n_neighbors=min(15, n - 1)).fit_transform(Z)
        elif method == "tsne":
            from sklearn.manifold import TSNE

            xy = TSNE(n_components=2, perplexity=min(30.0, (n - 1) / 3), init="pca", random_state=seed
                      ).fit_transform(Z)
        else:
            from sklearn.decomposition import PCA

            xy = PCA(n_components=min(2, Z.shape[1]), random_state=seed).fit_transform(Z)
            if xy.shape[1] == 1:
                xy = np.column_stack([xy[:, 0], np.zeros(n)])
        used = method
    lo, hi = xy.min(0), xy.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (xy - lo) / span, used

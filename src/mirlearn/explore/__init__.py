"""The explorer page: see and hear what the learned features put together.

- :mod:`~mirlearn.explore.map2d`: a 2-D map of the index's vectors (UMAP, t-SNE or PCA);
- :mod:`~mirlearn.explore.data`: the page's data (tracks, map, precision at k, neighbours);
- :mod:`~mirlearn.explore.server`: the read-only HTTP server (page, data, audio by track row);
- :mod:`~mirlearn.explore.export`: a static copy that opens from disk;
- ``static/``: the page itself (HTML, CSS, plain JavaScript; nothing from a CDN).
"""

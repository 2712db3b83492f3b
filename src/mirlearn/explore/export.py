"""A static copy of the explorer page: one folder that opens from disk, with no server.

``OUT/index.html`` holds the data and every track's neighbours (computed once, here) inline;
``explorer.js`` and ``explorer.css`` beside it; the collection's audio copied into ``OUT/audio/``
(only files inside the collection's folder, as the server would serve them).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from mirlearn.explore.data import collection_root, explorer_data, neighbors_of
from mirlearn.explore.server import static_text
from mirlearn.io import atomic_write_text
from mirlearn.similarity.index import TrackIndex

__all__ = ["export_static"]

_MARK = "<!--STATIC-DATA-->"


def export_static(index: TrackIndex, out: str | Path, *, k: int = 10, method: str = "auto",
                  title: str | None = None, audio: bool = True) -> Path:
    """Write the static explorer of ``index`` into ``out``; returns ``out/index.html``.

    ``audio=False`` leaves the audio out (the page then shows the map and neighbours only).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = explorer_data(index, k=k, method=method, title=title)
    rows = list(range(len(index)))
    neighbors = neighbors_of(index, rows, k) if len(index) > 1 else [[] for _ in rows]
    root = collection_root(index).resolve()
    urls: list[str | None] = []
    if audio:
        (out / "audio").mkdir(exist_ok=True)
    for i, p in enumerate(index.paths):
        real = Path(os.path.realpath(p))
        inside = real.is_file() and root in real.parents
        if audio and inside:
            name = f"audio/{i}{real.suffix.lower()}"
            shutil.copyfile(real, out / name)
            urls.append(name)
        else:
            urls.append(None)
    blob = json.dumps({"data": data, "neighbors": neighbors, "audio": urls}).replace("</", "<\\/")
    html = static_text("explorer.html").replace(_MARK, f"<script>window.EXPLORER_STATIC = {blob};</script>")
    atomic_write_text(out / "index.html", html)
    atomic_write_text(out / "explorer.js", static_text("explorer.js"))
    atomic_write_text(out / "explorer.css", static_text("explorer.css"))
    return out / "index.html"

"""The explorer's server over HTTP: the page, its data, neighbours, audio with ranges — and
nothing else (path traversal, encoded traversal, symlinks out of the collection, bad parameters)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from mirlearn.explore.export import export_static
from mirlearn.explore.server import ExplorerServer
from mirlearn.similarity.index import TrackIndex


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    root = tmp_path_factory.mktemp("coll") / "music"
    root.mkdir()
    paths = []
    for i in range(6):
        p = root / f"song {i}.wav"
        p.write_bytes(bytes(range(256)) * (i + 1))
        paths.append(p)
    outside = tmp_path_factory.mktemp("outside") / "secret.wav"
    outside.write_bytes(b"secret")
    link = root / "link.wav"
    os.symlink(outside, link)   # inside the collection's folder, pointing out of it
    paths.append(link)
    rng = np.random.default_rng(0)
    index = TrackIndex(rng.standard_normal((7, 4)).astype(np.float32), [f"t{i}" for i in range(7)],
                       [str(p) for p in paths], ["a", "b", "a", "b", "a", "b", "a"], [None] * 7,
                       source={"kind": "test", "root": str(root)})
    return index, root, paths


@pytest.fixture(scope="module")
def server(collection):
    s = ExplorerServer(collection[0], port=0, k=3, method="pca").start()
    yield s
    s.shutdown()


def _get(server, path, headers=None):
    req = urllib.request.Request(server.url.rstrip("/") + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_page_data_and_neighbours(server, collection):
    index = collection[0]
    status, headers, body = _get(server, "/")
    assert status == 200 and b'<script src="explorer.js">' in body and headers["Content-Type"].startswith("text/html")
    assert _get(server, "/explorer.js")[0] == 200 and _get(server, "/explorer.css")[0] == 200
    data = json.loads(_get(server, "/api/data")[2])
    assert len(data["tracks"]) == 7 and data["labels"] == ["a", "b"] and data["map"] == "pca"
    assert all(0 <= t["x"] <= 1 and 0 <= t["y"] <= 1 for t in data["tracks"])
    assert data["tracks"][0]["name"] == "song 0.wav" and data["precision"]["k"] == 3
    hits = json.loads(_get(server, "/api/neighbors?i=2&k=3")[2])["neighbors"]
    assert len(hits) == 3 and 2 not in [h["i"] for h in hits]
    assert [h["i"] for h in hits] == list(index.query(index.vectors[[2]], k=3, exclude=[[2]])[0][0])


def test_audio_whole_and_by_range(server, collection):
    _, _, paths = collection
    whole = paths[1].read_bytes()
    status, headers, body = _get(server, "/audio/1")
    assert status == 200 and body == whole and headers["Accept-Ranges"] == "bytes"
    status, headers, body = _get(server, "/audio/1", {"Range": "bytes=10-19"})
    assert status == 206 and body == whole[10:20] and headers["Content-Range"] == f"bytes 10-19/{len(whole)}"
    status, _, body = _get(server, "/audio/1", {"Range": "bytes=-5"})
    assert status == 206 and body == whole[-5:]
    status, _, body = _get(server, "/audio/1", {"Range": "bytes=500-"})
    assert status == 206 and body == whole[500:]
    assert _get(server, "/audio/1", {"Range": f"bytes={len(whole)}-"})[0] == 416
    assert _get(server, "/audio/1", {"Range": "pages=1-2"})[0] == 416


@pytest.mark.parametrize("path", ["/audio/6",                       # a symlink out of the collection
                                  "/audio/7", "/audio/-1", "/audio/1.0", "/audio/../audio/1",
                                  "/audio/%2e%2e/%2e%2e/etc/passwd", "/../../etc/passwd", "/etc/passwd",
                                  "//etc/passwd", "/%2e%2e/README.md", "/static/explorer.js", "/api",
                                  "/audio/1/", "/audio/", "/explorer.html"])
def test_nothing_but_the_collection_is_served(server, path):
    status, _, body = _get(server, path)
    assert status == 404 and b"secret" not in body


@pytest.mark.parametrize("query", ["", "i=abc", "i=7", "i=-1", "i=1&k=0", "i=1&k=101", "i=1&i=2", "i=1&x=2",
                                   "i=1&k=2.5", "i=%00"])
def test_bad_parameters_are_400(server, query):
    status, _, body = _get(server, f"/api/neighbors?{query}")
    assert status == 400 and "error" in json.loads(body)


def test_read_only(server):
    req = urllib.request.Request(server.url + "api/data", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 405


def test_static_export(collection, tmp_path):
    index, _, paths = collection
    page = export_static(index, tmp_path / "site", k=2, method="pca")
    html = page.read_text()
    assert "window.EXPLORER_STATIC = " in html and '<script src="explorer.js">' in html
    blob = json.loads(html.split("window.EXPLORER_STATIC = ", 1)[1].split(";</script>", 1)[0])
    assert len(blob["data"]["tracks"]) == 7 and all(len(n) == 2 for n in blob["neighbors"])
    assert blob["audio"][6] is None                      # the symlink out of the collection is not copied
    assert (tmp_path / "site" / blob["audio"][3]).read_bytes() == paths[3].read_bytes()
    assert (tmp_path / "site" / "explorer.js").is_file() and not any(Path(tmp_path / "site").rglob("secret*"))

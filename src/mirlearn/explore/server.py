"""The explorer's HTTP server: the page, its data, and the collection's audio — nothing else.

Read-only, standard library only (``http.server``), bound to 127.0.0.1 unless told otherwise.
Routes::

    GET /                    the page (static/explorer.html)
    GET /explorer.js  /explorer.css
    GET /api/data            tracks, map, labels, precision at k (explorer_data)
    GET /api/neighbors?i=N&k=K   the K nearest tracks of track N
    GET /audio/N             the audio file of track N; Range requests answered with 206

Audio is addressed by the track's row in the index, never by a path, so no request names a
file; and a track's file is served only when its real path (symlinks resolved) lies inside the
collection's folder. Every other path is 404; a malformed or out-of-range parameter is 400.
"""

from __future__ import annotations

import collections
import json
import mimetypes
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mirlearn.explore.data import collection_root, explorer_data, neighbors_of
from mirlearn.similarity.index import TrackIndex

__all__ = ["ExplorerServer", "STATIC_FILES", "static_text"]

#: The page's files, served by name, from the installed package.
STATIC_FILES = {"/": ("explorer.html", "text/html; charset=utf-8"),
                "/explorer.js": ("explorer.js", "text/javascript; charset=utf-8"),
                "/explorer.css": ("explorer.css", "text/css; charset=utf-8")}
_AUDIO = re.compile(r"/audio/(\d{1,9})")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_CHUNK = 1 << 16
MAX_K = 100


def static_text(name: str) -> str:
    """A file of the page, as installed with mirlearn."""
    return (resources.files("mirlearn.explore") / "static" / name).read_text(encoding="utf-8")


class _BadRequest(Exception):
    pass


class ExplorerServer:
    """Serve an index's explorer page.

    Parameters
    ----------
    index : the collection
    host, port : where to listen (port 0: any free port; see :attr:`url`)
    k : neighbours listed per track, and the k of precision at k
    method : map method (see :func:`~mirlearn.explore.map2d.map_2d`)
    """

    def __init__(self, index: TrackIndex, *, host: str = "127.0.0.1", port: int = 8050, k: int = 10,
                 method: str = "auto", title: str | None = None) -> None:
        self.index = index
        self.k = int(k)
        self.root = collection_root(index).resolve()
        self.data = json.dumps(explorer_data(index, k=k, method=method, title=title)).encode("utf-8")
        server = self

        class Handler(_Handler):
            explorer = server

        #: the latest requests answered: (path, status, Range header or None), for tests and debugging
        self.requests: collections.deque[tuple[str, int, str | None]] = collections.deque(maxlen=1000)
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def audio_path(self, row: int) -> Path | None:
        """The real path of track ``row``'s audio when it is a file inside the collection, else None."""
        if not 0 <= row < len(self.index):
            return None
        real = Path(os.path.realpath(self.index.paths[row]))
        if not real.is_file() or (real != self.root and self.root not in real.parents):
            return None
        return real

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C) or :meth:`shutdown`."""
        self.httpd.serve_forever()

    def start(self) -> "ExplorerServer":
        """Serve from a background thread (tests, notebooks)."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    explorer: ExplorerServer
    server_version = "mirlearn-explorer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: the terminal is the user's
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        self.explorer.requests.append((self.path, int(code), self.headers.get("Range")))
        super().send_response(code, message)

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._send(status, json.dumps({"error": message}).encode(), "application/json")

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        path = parts.path
        try:
            if path in STATIC_FILES:
                name, ctype = STATIC_FILES[path]
                self._send(200, static_text(name).encode("utf-8"), ctype)
            elif path == "/api/data":
                self._send(200, self.explorer.data, "application/json")
            elif path == "/api/neighbors":
                self._neighbors(parse_qs(parts.query, keep_blank_values=True))
            elif (m := _AUDIO.fullmatch(path)) is not None:
                self._audio(int(m.group(1)))
            else:
                self._error(404, "not found")
        except _BadRequest as e:
            self._error(400, str(e))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser stopped reading (seeking audio does)

    def do_POST(self) -> None:  # noqa: N802 - read-only
        self._error(405, "read-only")

    do_PUT = do_DELETE = do_PATCH = do_POST  # noqa: N815

    def _int(self, q: dict[str, list[str]], name: str, default: int | None = None) -> int:
        values = q.get(name)
        if not values:
            if default is None:
                raise _BadRequest(f"missing parameter {name}")
            return default
        if len(values) != 1 or not re.fullmatch(r"\d{1,9}", values[0]):
            raise _BadRequest(f"parameter {name} must be one non-negative integer")
        return int(values[0])

    def _neighbors(self, q: dict[str, list[str]]) -> None:
        unknown = set(q) - {"i", "k"}
        if unknown:
            raise _BadRequest(f"unknown parameter {sorted(unknown)[0]}")
        i = self._int(q, "i")
        k = self._int(q, "k", self.explorer.k)
        if i >= len(self.explorer.index):
            raise _BadRequest(f"i must be below {len(self.explorer.index)}")
        if not 1 <= k <= MAX_K:
            raise _BadRequest(f"k must be within 1..{MAX_K}")
        hits = neighbors_of(self.explorer.index, [i], k)[0]
        self._send(200, json.dumps({"i": i, "k": k, "neighbors": hits}).encode(), "application/json")

    def _audio(self, row: int) -> None:
        path = self.explorer.audio_path(row)
        if path is None:
            self._error(404, "not found")
            return
        size = path.stat().st_size
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        start, end, status = 0, size - 1, 200
        header = self.headers.get("Range")
        if header:
            m = _RANGE.fullmatch(header.strip())
            if m is None or (not m.group(1) and not m.group(2)):
                self._send(416, b"", ctype, {"Content-Range": f"bytes */{size}"})
                return
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:  # the last N bytes
                start = max(0, size - int(m.group(2)))
            if start > end or start >= size:
                self._send(416, b"", ctype, {"Content-Range": f"bytes */{size}"})
                return
            status = 206
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(path, "rb") as fh:
            fh.seek(start)
            left = length
            while left > 0:
                chunk = fh.read(min(_CHUNK, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)

"""The ``explore`` command: serve (or export) the page that shows an index's tracks."""

from __future__ import annotations

import argparse
from typing import Any

from mirlearn.cli import checks, options


def cmd_explore(args: argparse.Namespace) -> int:
    """Serve the explorer of an index until Ctrl-C, or write its static copy with --export."""
    from mirlearn.explore.server import MAX_K
    from mirlearn.similarity.index import TrackIndex

    if not 1 <= args.k <= MAX_K:
        checks.fail(f"-k {args.k}: must be within 1..{MAX_K}")
    if not 0 <= args.port <= 65535:
        checks.fail(f"--port {args.port}: must be within 0..65535")
    out = checks.check_out_dir(args.export, "--export") if args.export else None
    index = TrackIndex.load(args.index)
    if out is not None:
        from mirlearn.explore.export import export_static

        page = export_static(index, out, k=args.k, method=args.map, audio=not args.no_audio)
        print(f"explorer of {len(index)} tracks: {page} (open it in a browser; no server needed)")
        return 0
    from mirlearn.explore.server import ExplorerServer

    try:
        server = ExplorerServer(index, host=args.host, port=args.port, k=args.k, method=args.map)
    except OSError as e:
        checks.fail(f"--host {args.host} --port {args.port}: cannot listen there ({e.strerror or e})")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {args.host}: other machines can reach this page and the collection's audio")
    print(f"explorer of {len(index)} tracks at {server.url} (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


def register(sub: Any) -> None:
    """Add ``explore`` to the subcommands."""
    e = options.add_command(
        sub, "explore", help="a page to see and hear an index: map, neighbours, audio, precision",
        description="Serve a page showing every track of an index on a 2-D map (UMAP where installed, else "
        "t-SNE, or PCA for large collections) coloured by label; hovering names a track, clicking plays it "
        "and lists its nearest neighbours (each playable, with distances); a search box finds tracks by "
        "name; a panel shows precision at k per label. Read-only; serves only the page and the audio of the "
        "index's tracks. --export DIR writes a static copy instead (data, neighbours and audio inside).",
        example="mirlearn explore idx/gtzan\nmirlearn explore idx/gtzan --export gtzan-explorer/")
    e.add_argument("index", help="an index folder of `mirlearn index`")
    e.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; another than 127.0.0.1 opens the page to the network "
                   "(default: %(default)s)")
    e.add_argument("--port", type=int, default=8050, help="port, 0 for any free one (default: %(default)s)")
    e.add_argument("-k", type=int, default=10, help="neighbours per track, and the k of precision at k "
                   "(default: %(default)s)")
    e.add_argument("--map", default="auto", choices=["auto", "umap", "tsne", "pca"],
                   help="how the 2-D map is made (default: %(default)s: UMAP if installed, else t-SNE, PCA above "
                   "5000 tracks)")
    e.add_argument("--export", default=None, metavar="DIR",
                   help="write a static copy of the page into DIR instead of serving it (default: serve)")
    e.add_argument("--no-audio", action="store_true", help="with --export: leave the audio out (default: copy it)")
    e.set_defaults(func=cmd_explore)

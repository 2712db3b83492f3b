"""Learned features as named arrays with timestamps, and the files they are exported to.

A :class:`Features` is what :meth:`mirlearn.model.GenreModel.transform` returns for one
recording: the matrix (one row per frame, or per aggregation window), the start and end of
every row in seconds, a name for every column, and the time base the rows were made with.
:func:`write_features` writes one or many of them, as users of openl3 or musicnn expect:

``npz``
    One file holding everything: ``features`` (rows × columns, float32), ``start_s`` and
    ``end_s`` (rows, float64, seconds from the start of the file; ``timestamps`` is
    ``start_s``), ``columns`` (names), ``paths`` and ``offsets`` (the rows of file ``i`` are
    ``features[offsets[i]:offsets[i + 1]]``), ``window_s`` and ``hop_s`` (what one row spans and
    how far apart rows start, s), ``layers``, ``aggregate`` and ``meta`` (all settings, JSON).
``npy``
    The matrix alone (``np.load`` gives rows × columns), and beside it ``NAME.json`` with the
    columns, paths, offsets, start and end times and the settings.
``csv``
    One line per row, ``path,start_s,end_s,<columns>`` with a header line, and beside it
    ``NAME.json`` with the settings.

Column names are ``layer<L>_unit<K>`` (``K`` counts from 0 within layer ``L``, zero-padded)
for frame features; aggregated rows hold the means of those columns, then their variances,
named ``..._mean`` and ``..._var`` (a model pooled with other statistics or over several time
scales: ``..._max``, ``..._mean_2.5s``, see :mod:`mirlearn.features.pooling`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from mirlearn.features.timebase import TimeBase
from mirlearn.io import atomic_path, atomic_write_json

__all__ = ["FORMATS", "Features", "feature_columns", "row_times", "write_features", "output_names",
           "sidecar_path", "vectors_path"]

#: Export formats, in the order ``--format`` lists them.
FORMATS = ("npz", "npy", "csv")


def feature_columns(widths: Mapping[str, int], layers: Sequence[str], aggregate: bool, *,
                    pool: Sequence[str] | None = None, timescales: Sequence[float] | None = None) -> list[str]:
    """Names of the feature columns of ``layers`` (in that order), e.g. ``layer2_unit007``.

    Parameters
    ----------
    widths : feature layer name → width (units), as ``learner.feature_layers_``
    layers : the chosen layer names, in the order of the columns
    aggregate : the rows are windows: every unit gives ``_mean`` then (after all means)
        ``_var`` columns, as :func:`mirlearn.features.aggregate.aggregate` lays them out
    pool, timescales : the windows' statistics and lengths (s) when pooled otherwise
        (:func:`mirlearn.features.pooling.pooled_columns`: ``..._max``, or with several time
        scales ``..._max_2.5s``); ignored for frames
    """
    names = []
    for layer in layers:
        w = int(widths[str(layer)])
        digits = max(3, len(str(w - 1)))
        prefix = f"layer{layer}" if str(layer).isdigit() else str(layer)  # MLP: layer2_…; CNN: conv1_…
        names += [f"{prefix}_unit{k:0{digits}d}" for k in range(w)]
    if aggregate and (pool is not None or timescales is not None):
        from mirlearn.features.pooling import DEFAULT_POOL, pooled_columns

        return pooled_columns(names, pool=DEFAULT_POOL if pool is None else pool, timescales=timescales)
    if aggregate:
        return [f"{n}_mean" for n in names] + [f"{n}_var" for n in names]
    return names


def row_times(time_base: TimeBase, n_rows: int, duration_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of each of ``n_rows`` rows of one recording, s from its start.

    A row spans its frame (``n_fft`` samples), or for a window, from the start of its first
    frame to the end of its last. Times are clipped to ``[0, duration_s]`` when the duration is
    known (centred frames start in the zero padding; a recording shorter than one window has
    one window, over what there is).

    Returns
    -------
    start_s, end_s : np.ndarray [shape=(n_rows,)], float64, seconds
    """
    start = time_base.times(n_rows, "start")
    end = time_base.times(n_rows, "end") if time_base.n_fft is not None else start + time_base.row_hop_samples / time_base.sr
    hi = np.inf if duration_s is None else float(duration_s)
    return np.clip(start, 0.0, hi), np.clip(end, 0.0, hi)


@dataclass
class Features:
    """Learned features of one recording, with the time of every row and a name for every column.

    Attributes
    ----------
    X : np.ndarray [shape=(n_rows, n_columns)], float32
        One row per frame, or per aggregation window (means then variances).
    start_s, end_s : np.ndarray [shape=(n_rows,)], float64
        Start and end of every row, s from the start of the recording.
    columns : list of str, one per column of ``X`` (see :func:`feature_columns`)
    layers : the feature layers, in column order
    time_base : how the rows were made (sample rate, frame hop and length; the window and
        hop asked for when aggregated)
    path : the audio file, or None for an array
    vector : np.ndarray [shape=(2 * width,)], float32, or None
        The track vector (:meth:`mirlearn.model.GenreModel.embed`): means then variances of
        all the recording's frame features, whatever the rows are.
    vector_columns : names of ``vector``'s entries, or None
    """

    X: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    columns: list[str]
    layers: tuple[str, ...]
    time_base: TimeBase
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: the track vector: mean then variance of all the recording's frame features (or None)
    vector: np.ndarray | None = None
    vector_columns: list[str] | None = None  #: names of ``vector``'s entries (``..._mean``, ``..._var``)

    @property
    def timestamps(self) -> np.ndarray:
        """Start of every row, s (openl3's name); the same array as :attr:`start_s`."""
        return self.start_s

    @property
    def aggregate(self) -> bool:
        """Whether the rows are aggregation windows (mean and variance of frames)."""
        return self.time_base.is_windows

    @property
    def window_s(self) -> float:
        """What one full row spans, s: a frame's length, or a window's (rounded to whole frames)."""
        tb = self.time_base
        n = tb.row_length_samples
        return (n if n is not None else tb.row_hop_samples) / tb.sr

    @property
    def hop_s(self) -> float:
        """Seconds between the starts of consecutive rows."""
        return self.time_base.row_hop_samples / self.time_base.sr

    def metadata(self) -> dict[str, Any]:
        """The settings that made these rows, plain JSON (written beside every export)."""
        tb = self.time_base
        return {"layers": list(self.layers), "aggregate": self.aggregate,
                "window_s": self.window_s, "hop_s": self.hop_s,
                "aggregate_window_s": tb.window_seconds, "aggregate_hop_s": tb.window_hop_seconds,
                "sr": tb.sr, "time_base": tb.to_dict(),
                "times": "start_s, end_s: seconds from the start of each file", **self.extra}


def sidecar_path(path: Path) -> Path:
    """The JSON file written beside an ``.npy`` or ``.csv`` export: ``NAME.json``."""
    return path.with_suffix(".json")


def write_features(path: str | Path, items: Sequence[Features], fmt: str) -> list[Path]:
    """Write the features of one or more recordings to one file of format ``fmt``.

    Every item must have the same columns. Files are replaced atomically. See the module
    docstring for what each format holds.

    Returns
    -------
    The files written (the export, and its ``.json`` sidecar for ``npy`` and ``csv``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if not items:
        raise ValueError("no features to write")
    path = Path(path)
    columns = items[0].columns
    if any(it.columns != columns for it in items):
        raise ValueError("every item of one export must have the same columns")
    lengths = [len(it.X) for it in items]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    paths = [str(it.path) if it.path is not None else "" for it in items]
    meta = items[0].metadata()
    X = np.concatenate([np.asarray(it.X, dtype=np.float32) for it in items]) if len(items) > 1 \
        else np.asarray(items[0].X, dtype=np.float32)
    start = np.concatenate([it.start_s for it in items])
    end = np.concatenate([it.end_s for it in items])
    V, vcols = _vectors(items)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "npz":
        extra = {} if V is None else {"vectors": V, "vector_columns": np.array(vcols)}
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, features=X, start_s=start, end_s=end, timestamps=start, columns=np.array(columns),
                     offsets=offsets, paths=np.array(paths), window_s=meta["window_s"], hop_s=meta["hop_s"],
                     layers=np.array(meta["layers"]), aggregate=meta["aggregate"], meta=json.dumps(meta), **extra)
        return [path]
    side = sidecar_path(path)
    vpath = vectors_path(path)
    written = [path, side]
    if V is not None:
        meta = {**meta, "vectors": vpath.name, "vector_columns": vcols}
        written.append(vpath)
    if fmt == "npy":
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, X)
        if V is not None:
            with atomic_path(vpath) as tmp, open(tmp, "wb") as fh:
                np.save(fh, V)
        atomic_write_json(side, {"features": path.name, "shape": list(X.shape), **meta, "columns": columns,
                                 "paths": paths, "offsets": offsets.tolist(),
                                 "start_s": start.tolist(), "end_s": end.tolist()})
        return written
    _write_csv_rows(path, ["path", "start_s", "end_s", *columns], paths,
                    [np.column_stack([it.start_s, it.end_s, it.X]) for it in items])
    if V is not None:
        _write_csv_rows(vpath, ["path", *vcols], paths, [v[None] for v in V])
    atomic_write_json(side, {"features": path.name, **meta, "columns": columns, "paths": paths})
    return written


def vectors_path(path: Path) -> Path:
    """The track vectors written beside an ``.npy`` or ``.csv`` export: ``NAME.vectors.npy|csv``."""
    return path.with_name(f"{path.stem}.vectors{path.suffix}")


def _vectors(items: Sequence[Features]) -> tuple[np.ndarray | None, list[str] | None]:
    """The items' track vectors as one (n_items × D) matrix, or None when they have none."""
    if all(it.vector is None for it in items):
        return None, None
    if any(it.vector is None or it.vector_columns != items[0].vector_columns for it in items):
        raise ValueError("every item of one export must have a track vector with the same columns")
    return np.stack([np.asarray(it.vector, dtype=np.float32) for it in items]), list(items[0].vector_columns or [])


def _write_csv_rows(path: Path, header: Sequence[str], paths: Sequence[str], blocks: Sequence[np.ndarray]) -> None:
    """A CSV file: ``header``, then for each path its block's rows, each led by the quoted path."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow(header)
        for p, block in zip(paths, blocks):
            field_ = io.StringIO()
            csv.writer(field_).writerow([p])
            prefix = field_.getvalue().rstrip("\r\n") + ","
            body = io.StringIO()
            # numpy formats the numbers (fast); only the quoted path is added per line
            np.savetxt(body, block, fmt="%.7g", delimiter=",")
            fh.writelines(prefix + line + "\n" for line in body.getvalue().splitlines())


def output_names(paths: Sequence[Path], roots: Sequence[Path | None], fmt: str) -> list[Path]:
    """Relative output names of per-file exports: unique, named after the inputs.

    A file given by itself is named after its stem (``song.wav`` → ``song.npz``); a file found
    in a folder argument keeps its path below that folder (``album/cd1/01.flac`` →
    ``cd1/01.npz``). A name taken twice keeps the audio suffix (``song.mp3.npz``), then gets
    a number (``song-2.npz``).

    Parameters
    ----------
    paths : the audio files
    roots : for each file, the folder argument it was found in, or None
    fmt : the export format (the suffix)
    """
    taken: set[str] = set()
    out: list[Path] = []
    for p, root in zip(paths, roots):
        rel = p.relative_to(root) if root is not None else Path(p.name)
        candidates = [rel.with_suffix(f".{fmt}"), rel.with_name(f"{rel.name}.{fmt}")]
        k = 2
        while all(str(c).lower() in taken for c in candidates):
            candidates.append(rel.with_name(f"{rel.stem}-{k}.{fmt}"))
            k += 1
        name = next(c for c in candidates if str(c).lower() not in taken)
        # case-insensitive: two names differing in case would be one file on macOS and Windows
        taken.add(str(name).lower())
        out.append(name)
    return out

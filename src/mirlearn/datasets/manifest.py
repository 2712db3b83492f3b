"""CSV manifests: ``path,label[,split][,artist]`` rows naming the user's audio files.

A manifest is the most explicit way to describe a dataset: one row per file, with its label,
optionally the part of a fixed split it belongs to and its artist. Example::

    path,label,split,artist
    audio/blues/song1.wav,blues,train,Muddy Waters
    /data/other/song2.flac,rock,test,

Relative paths are taken relative to the manifest's own folder.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from mirlearn.datasets.folder import dangling_symlink
from mirlearn.datasets.splits import PARTS, Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import DatasetError, SplitError

REQUIRED_COLUMNS: tuple[str, ...] = ("path", "label")
OPTIONAL_COLUMNS: tuple[str, ...] = ("split", "artist", "track_id")
_MAX_LISTED = 20


def load_manifest(csv_path: str | Path) -> tuple[TrackTable, Split | None]:
    """Read a CSV manifest into a track table (and its split, when it has one).

    Parameters
    ----------
    csv_path : str or Path
        UTF-8 CSV file with a header row. Columns: ``path`` and ``label`` (required);
        ``split`` (``train``, ``valid`` or ``test``), ``artist`` (empty = unknown) and
        ``track_id`` (optional). Blank rows are skipped; column names are case-sensitive;
        trailing empty cells may be left out.

    Returns
    -------
    tracks : TrackTable
        One track per row, in file order. ``track_id`` is the ``track_id`` column if given,
        else the path as written without its extension (with '/' separators); ``path`` is
        absolute (relative paths are resolved against the manifest's folder).
    split : Split or None
        With a ``split`` column: the split named after the manifest (its file stem), checked
        (no empty part, every class in train); else ``None``.

    Raises
    ------
    DatasetError
        naming the manifest and the line numbers of every problem found: missing or unknown
        columns, empty path or label, unknown split value, duplicate path or track id,
        missing audio file, fewer than 2 classes, a split with an empty part.

    Examples
    --------
    >>> tracks, split = load_manifest("my_songs.csv")   # doctest: +SKIP
    """
    csv_path = Path(csv_path).expanduser()
    if not csv_path.is_file():
        raise DatasetError(f"{csv_path}: manifest not found")
    base = csv_path.absolute().parent
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            rows = list(enumerate(csv.reader(f), start=1))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{csv_path}: cannot read manifest ({e})") from None

    # header: the first non-blank row
    while rows and not any(c.strip() for c in rows[0][1]):
        rows.pop(0)
    if not rows:
        raise DatasetError(f"{csv_path}: empty manifest (expected a header row "
                           f"'path,label[,split][,artist]')")
    header_line, header = rows.pop(0)
    cols = [c.strip() for c in header]
    problems: list[str] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    unknown = [c for c in cols if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    repeated = sorted({c for c in cols if cols.count(c) > 1})
    if missing or unknown or repeated:
        what = []
        if missing:
            what.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            what.append(f"unknown column(s) {', '.join(repr(c) for c in unknown)}")
        if repeated:
            what.append(f"repeated column(s) {', '.join(repeated)}")
        raise DatasetError(f"{csv_path}, line {header_line}: {'; '.join(what)} (the header must "
                           f"name path, label and optionally split, artist, track_id)")
    col = {c: k for k, c in enumerate(cols)}

    tracks: list[Track] = []
    parts: dict[str, list[str]] = {p: [] for p in PARTS}
    path_line: dict[str, int] = {}
    id_line: dict[str, int] = {}
    for line, row in rows:
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(cols):
            problems.append(f"line {line}: {len(row)} fields, the header has {len(cols)}")
            continue
        row = row + [""] * (len(cols) - len(row))  # trailing empty cells may be left out
        cell = {c: row[k].strip() for c, k in col.items()}
        if not cell["path"]:
            problems.append(f"line {line}: empty path")
            continue
        if not cell["label"]:
            problems.append(f"line {line}: empty label")
        p = Path(os.path.expanduser(cell["path"]))
        full = p if p.is_absolute() else base / p
        key = os.path.normcase(os.path.normpath(full))
        if key in path_line:
            problems.append(f"line {line}: duplicate path {cell['path']!r} "
                            f"(first on line {path_line[key]})")
            continue
        path_line[key] = line
        if not full.is_file():
            why = dangling_symlink(full)
            problems.append(f"line {line}: {why}: {cell['path']}" if why
                            else f"line {line}: audio file not found: {cell['path']}")
        tid = cell.get("track_id") or Path(cell["path"].replace("\\", "/")).with_suffix("").as_posix()
        if tid in id_line:
            problems.append(f"line {line}: duplicate track id {tid!r} (first on line {id_line[tid]})")
            continue
        id_line[tid] = line
        if "split" in cell:
            part = cell["split"].lower()
            if part not in PARTS:
                what = f"unknown split {cell['split']!r}" if part else "empty split"
                problems.append(f"line {line}: {what} (expected train, valid or test)")
            else:
                parts[part].append(tid)
        tracks.append(Track(tid, Path(os.path.normpath(full)), cell["label"],
                            cell.get("artist") or None))

    if problems:
        listed = problems[:_MAX_LISTED]
        more = f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        raise DatasetError(f"{csv_path}: {len(problems)} problem{'s' if len(problems) > 1 else ''} "
                           f"in the manifest:\n  " + "\n  ".join(listed) + more)
    if not tracks:
        raise DatasetError(f"{csv_path}: the manifest lists no files")
    table = TrackTable(tracks)
    if len(table.classes) < 2:
        raise DatasetError(f"{csv_path}: a dataset needs at least 2 classes, found "
                           f"{len(table.classes)}: {', '.join(map(repr, table.classes))}")
    split = None
    if "split" in col:
        split = Split(csv_path.stem, parts["train"], parts["valid"], parts["test"], source=str(csv_path))
        try:
            split.check(table)
        except SplitError as e:
            raise DatasetError(f"{csv_path}: the split column gives an unusable split: {e}") from None
    return table, split

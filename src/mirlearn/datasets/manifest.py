"""CSV manifests: ``path,label[,split][,artist]`` rows naming the user's audio files.

A manifest is the most explicit way to describe a dataset: one row per file, with its label,
optionally the part of a fixed split it belongs to and its artist. Example::

    path,label,split,artist
    audio/blues/song1.wav,blues,train,Muddy Waters
    /data/other/song2.flac,rock,test,

Relative paths are taken relative to the manifest's own folder.

Tasks beyond one label per track are columns too: ``tags`` holds a track's tags separated by
``;`` (multi-label auto-tagging, as MagnaTagATune is used; an empty cell is a track without
tags) and ``target`` a number (regression, e.g. valence or tempo). With either of them the
``label`` column may be left out::

    path,tags,target
    clips/0001.mp3,guitar;slow;female vocal,0.62
    clips/0002.mp3,techno;fast,0.15
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from mirlearn.datasets.folder import dangling_symlink
from mirlearn.datasets.splits import PARTS, Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import DatasetError, SplitError

REQUIRED_COLUMNS: tuple[str, ...] = ("path",)
OPTIONAL_COLUMNS: tuple[str, ...] = ("label", "tags", "target", "split", "artist", "track_id")
#: Columns that say what a track is; a manifest needs at least one.
TASK_COLUMNS: tuple[str, ...] = ("label", "tags", "target")
#: Separator of the tags in a ``tags`` cell.
TAG_SEPARATOR = ";"
_MAX_LISTED = 20


def load_manifest(csv_path: str | Path) -> tuple[TrackTable, Split | None]:
    """Read a CSV manifest into a track table (and its split, when it has one).

    Parameters
    ----------
    csv_path : str or Path
        UTF-8 CSV file with a header row. Columns: ``path`` (required) and at least one of
        ``label`` (a class name), ``tags`` (tags separated by ``;``, may be empty) and ``target``
        (a finite number); ``split`` (``train``, ``valid`` or ``test``), ``artist`` (empty =
        unknown) and ``track_id`` (optional). Blank rows are skipped; column names are
        case-sensitive; trailing empty cells may be left out. Without a ``label`` column every
        track's label is ``""`` (one class), so random splits are plain random splits.

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
        columns, empty path or label, a target that is not a finite number, unknown split value,
        duplicate path or track id, missing audio file, fewer than 2 classes (with a ``label``
        column), no tag at all (with a ``tags`` column), a split with an empty part.

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
    if not any(c in cols for c in TASK_COLUMNS):
        missing.append("label (or tags, or target)")
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
                           f"name path, label and optionally tags, target, split, artist, track_id)")
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
        if "label" in cell and not cell["label"]:
            problems.append(f"line {line}: empty label")
        tags: tuple[str, ...] = ()
        if "tags" in cell:
            tags = tuple(sorted({g.strip() for g in cell["tags"].split(TAG_SEPARATOR) if g.strip()}))
        target = None
        if "target" in cell:
            try:
                target = float(cell["target"])
            except ValueError:
                target = float("nan")
            if not math.isfinite(target):
                what = repr(cell["target"]) if cell["target"] else "an empty cell"
                problems.append(f"line {line}: target {what} is not a finite number")
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
        tracks.append(Track(tid, Path(os.path.normpath(full)), cell.get("label", ""),
                            cell.get("artist") or None, tags=tags, target=target))

    if problems:
        listed = problems[:_MAX_LISTED]
        more = f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        raise DatasetError(f"{csv_path}: {len(problems)} problem{'s' if len(problems) > 1 else ''} "
                           f"in the manifest:\n  " + "\n  ".join(listed) + more)
    if not tracks:
        raise DatasetError(f"{csv_path}: the manifest lists no files")
    table = TrackTable(tracks)
    if "tags" in col and not table.tag_names:
        raise DatasetError(f"{csv_path}: the tags column names no tag (tags are separated by "
                           f"{TAG_SEPARATOR!r})")
    if "label" in col and len(table.classes) < 2:
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

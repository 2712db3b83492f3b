"""ISMIR 2004 genre (the Audio Description Contest's genre task, Magnatune MP3s): loader.

The collection as distributed by the MTG (``ismir04_genre``) holds three parts of 729 tracks
each, in six classes::

    root/audio/training/<class>/<artist>/<album>/<n>-<title>.mp3
    root/audio/development/artist_<i>_album_<j>_track_<k>.mp3      (anonymised, flat)
    root/audio/evaluation/<class>/<artist>/<album>/...
    root/metadata/<part>/tracklist.csv       class, artist, album, track, track number,
                                             file path (evaluation: + Magnatune id)
    root/metadata/development/ground_truth.csv   file, class

Training and development both hold classical 320, electronic 115, jazz_blues 26,
metal_punk 45, rock_pop 101, world 122 tracks. Sigtia & Dixon (2014, Table 2) train the
classifier on the training part and report accuracy on the development part:
:func:`ismir2004_split` builds that split.

Where the labels come from, in order: the ``labels`` file given; for development
``metadata/development/ground_truth.csv``, then its ``tracklist.csv``; for the other parts
``tracklist.csv``, then ``ground_truth.csv``; else the class folders (first folder level
under ``audio/<part>/``, original genre names such as ``jazz`` or ``punk`` are mapped to the
six classes; the next level is taken as the artist, as in the MTG layout). Listing never
decodes audio; ``check="quick"`` also reads a tenth of a second of every file.

Metadata files are read robustly, since their exact layout is not documented: UTF-8 or
Latin-1, comma, semicolon or tab separated, quoted or not, with or without a header row, any
column order. The file column is the one whose cells look like audio file names, the class
column the one whose cells name a class (``jazz_blues``, ``Jazz & Blues``, ``jazz-blues``
... all count); a header naming ``artist`` gives the artist column, and so does the
six-column MTG tracklist without header (column 2). Rows are matched to files by relative
path, then by file name (so a ground truth listing bare names or other prefixes works), then
with ``'`` read as ``_`` and by a normalised name in the same folder (known renamings in the
distributed copy); what was matched under another name is reported.

Track ids are the audio file's path relative to ``audio/``, without extension, e.g.
``training/classical/<artist>/<album>/01-<title>`` and
``development/artist_1_album_1_track_1``, so ids of the parts never clash. Artists are
known for training and evaluation from the tracklist (or folders); the development
metadata is anonymised (``artist_<i>``), so its tracks get ``artist=None``. The dataset does
**not** guarantee that training and development share no artist, and with development
anonymised it cannot be checked: accuracies on it may be flattered by the artist effect.

A CSV manifest (``path,label[,split][,artist]``) is an alternative for any other copy or
subset: :func:`mirlearn.datasets.manifest.load_manifest` reads it, its ``split`` column
gives the train / test partition.

Examples
--------
>>> report = validate_ismir2004("~/data/ismir04_genre", part="development")  # doctest: +SKIP
>>> print(report)                                                        # doctest: +SKIP
>>> both = ("training", "development")
>>> tracks = load_ismir2004("~/data/ismir04_genre", part=both)          # doctest: +SKIP
>>> split = ismir2004_split(tracks)                                      # doctest: +SKIP
>>> split.check(tracks)                                                  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import os
import re
import unicodedata
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from mirlearn.datasets.folder import AUDIO_EXTENSIONS, iter_audio_files
from mirlearn.datasets.splits import Split
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import AudioError, DatasetError

CLASSES: tuple[str, ...] = ("classical", "electronic", "jazz_blues", "metal_punk", "rock_pop",
                            "world")
"""The six classes of the contest, in the order of their class indices."""

PARTS: tuple[str, ...] = ("training", "development", "evaluation")
"""The three parts of the collection (folders under ``audio/`` and ``metadata/``)."""

TRACKS_PER_PART = 729
"""Tracks in each part."""

_SHARED_COUNTS = {"classical": 320, "electronic": 115, "jazz_blues": 26, "metal_punk": 45,
                  "rock_pop": 101, "world": 122}
EXPECTED_COUNTS: dict[str, dict[str, int] | None] = {
    "training": dict(_SHARED_COUNTS),
    "development": dict(_SHARED_COUNTS),
    "evaluation": None,  # "a similar distribution": only the total (729) is checked
}
"""Tracks per class in each part, as distributed (``None``: not published per class)."""

Check = Literal["none", "quick"]

# Class names as token sets, including the eight original Magnatune genres.
_CLASS_TOKENS: dict[frozenset[str], str] = {
    **{frozenset(c.split("_")): c for c in CLASSES},
    frozenset({"jazz"}): "jazz_blues", frozenset({"blues"}): "jazz_blues",
    frozenset({"metal"}): "metal_punk", frozenset({"punk"}): "metal_punk",
    frozenset({"rock"}): "rock_pop", frozenset({"pop"}): "rock_pop",
}
_ANON_ARTIST = re.compile(r"^artist[ _-]?\d+$", re.IGNORECASE)
_ANON_FILE = re.compile(r"artist_\d+_album_\d+_track_\d+", re.IGNORECASE)
_HEADER_NAMES = {
    "class": {"class", "genre", "label", "classname", "genrename"},
    "path": {"filepath", "path", "file", "filename", "audio", "audiofile", "audiopath"},
    "artist": {"artist", "artistname"},
}
_EXTS = frozenset(e.lower() for e in AUDIO_EXTENSIONS)
_MAX_LISTED = 20


def class_of(name: str) -> str | None:
    """The class a genre name stands for, or ``None``.

    Parameters
    ----------
    name : str
        A class as written in a metadata file or folder name, in any case and spelling:
        ``"jazz_blues"``, ``"Jazz & Blues"``, ``"jazz-blues"``, ``"blues"``, ``"Punk"``.

    Returns
    -------
    str or None
        One of :data:`CLASSES`.
    """
    tokens = frozenset(t for t in re.findall(r"[a-z]+", name.lower()) if t != "and")
    return _CLASS_TOKENS.get(tokens)


def _norm_key(name: str) -> str:
    """Lower-case ASCII letters and digits of a name (for fuzzy file matching)."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_.lower())


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------
@dataclass
class Ismir2004Report:
    """What :func:`validate_ismir2004` found for one part of ISMIR 2004 genre.

    Attributes
    ----------
    root : Path
        The folder given.
    part : str
        ``"training"``, ``"development"`` or ``"evaluation"``.
    audio_dir : Path
        The folder of the part's audio, ``root/audio/<part>``.
    source : str
        Where the labels came from: ``"tracklist"``, ``"ground truth"``, ``"labels file"``
        or ``"class folders"``.
    metadata : Path or None
        The metadata file read (None for class folders).
    check : str
        How far audio was checked: ``"none"`` (file names only) or ``"quick"``.
    tracks : list of Track
        The labelled tracks found, in metadata (or sorted path) order.
    expected : dict of str to int, or None
        Expected tracks per class (None: only the total, :data:`TRACKS_PER_PART`).
    missing : list of str
        Metadata entries whose audio file is not found (``"line N: <file>"``).
    extra : list of Path
        Audio files of the part that no metadata row (or class folder) labels.
    problems : list of str
        Metadata rows that cannot be used: unknown class, no file name, a file listed twice.
    renamed : dict of str to Path
        Entries found under another name than listed (``'`` read as ``_``, accents,
        punctuation).
    bad : dict of Path to str
        Files that could not be decoded (``check="quick"``), with the cause.
    """

    root: Path
    part: str
    audio_dir: Path
    source: str
    metadata: Path | None
    check: str = "none"
    tracks: list[Track] = field(default_factory=list)
    expected: dict[str, int] | None = None
    missing: list[str] = field(default_factory=list)
    extra: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    renamed: dict[str, Path] = field(default_factory=dict)
    bad: dict[Path, str] = field(default_factory=dict)

    @property
    def found(self) -> dict[str, int]:
        """Tracks found per class (all six classes as keys)."""
        counts = Counter(t.label for t in self.tracks)
        return {c: counts.get(c, 0) for c in CLASSES}

    @property
    def count_errors(self) -> dict[str, tuple[int, int]]:
        """``{class: (found, expected)}`` for every class whose count is off; key
        ``"total"`` when only the total is known and it is off."""
        found = self.found
        if self.expected is None:
            n = sum(found.values())
            return {} if n == TRACKS_PER_PART else {"total": (n, TRACKS_PER_PART)}
        return {c: (found[c], e) for c, e in self.expected.items() if found[c] != e}

    @property
    def ok(self) -> bool:
        """True for a complete, clean part: expected counts, nothing missing, extra or bad."""
        return not (self.missing or self.extra or self.problems or self.bad
                    or self.count_errors)

    def _rel(self, p: Path) -> str:
        try:
            return p.relative_to(self.audio_dir).as_posix()
        except ValueError:
            return str(p)

    def summary(self) -> str:
        """One line: tracks found, and counts of each kind of problem."""
        return (f"{len(self.tracks)} of {TRACKS_PER_PART} tracks found, "
                f"{len(self.missing)} listed but missing, {len(self.extra)} unlabelled files, "
                f"{len(self.problems)} unusable metadata rows, {len(self.bad)} undecodable, "
                f"{len(self.count_errors)} class count(s) off")

    def __str__(self) -> str:
        where = f"{self.source} {self.metadata}" if self.metadata else self.source
        lines = [f"ISMIR 2004 genre, {self.part} part at {self.audio_dir} (labels: {where}; "
                 f"audio check: {self.check})",
                 f"  {self.summary()}" + ("  -- OK" if self.ok else ""),
                 f"  {'class':<11} {'found':>5} {'expected':>8}"]
        for c, n in self.found.items():
            e = "?" if self.expected is None else str(self.expected[c])
            flag = "" if self.expected is None or self.expected[c] == n else "  <--"
            lines.append(f"  {c:<11} {n:>5} {e:>8}{flag}")
        if self.expected is None:
            lines.append(f"  {'total':<11} {len(self.tracks):>5} {TRACKS_PER_PART:>8}")

        def block(title: str, items: list[str]) -> None:
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines.extend(f"    {s}" for s in items[:_MAX_LISTED])
                if len(items) > _MAX_LISTED:
                    lines.append(f"    ... ({len(items) - _MAX_LISTED} more)")

        block("listed but missing", self.missing)
        block("unlabelled audio files", [self._rel(p) for p in self.extra])
        block("unusable metadata rows", self.problems)
        block("found under another name", [f"{k} -> {self._rel(p)}"
                                           for k, p in self.renamed.items()])
        block("undecodable", [f"{self._rel(p)}: {c}" for p, c in self.bad.items()])
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# Layout
# ------------------------------------------------------------------------------------------
def find_ismir2004_dirs(root: str | Path) -> tuple[Path, Path]:
    """Locate the ``audio/`` and ``metadata/`` folders of an ISMIR 2004 genre copy.

    Parameters
    ----------
    root : str or Path
        The dataset folder (holding ``audio/`` and ``metadata/``), or its ``audio/``
        folder (metadata is then looked for beside it).

    Returns
    -------
    audio_root, metadata_root : Path
        Absolute paths; ``metadata_root`` need not exist.

    Raises
    ------
    DatasetError
        if ``root`` is not a folder or holds neither ``audio/`` nor a part folder.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: ISMIR 2004 folder not found" if not root.exists()
                           else f"{root}: not a folder")
    root = root.absolute()
    if (root / "audio").is_dir():
        return root / "audio", root / "metadata"
    if any((root / p).is_dir() for p in PARTS):
        meta = root.parent / "metadata" if root.name == "audio" else root / "metadata"
        return root, meta
    raise DatasetError(f"{root}: no ISMIR 2004 layout found (expected {root / 'audio'}/ "
                       f"holding {', '.join(PARTS)}/)")


def _metadata_candidates(meta_dir: Path, part: str) -> list[tuple[str, Path]]:
    gt = ("ground truth", meta_dir / "ground_truth.csv")
    tl = ("tracklist", meta_dir / "tracklist.csv")
    return [gt, tl] if part == "development" else [tl, gt]


# ------------------------------------------------------------------------------------------
# Metadata parsing
# ------------------------------------------------------------------------------------------
@dataclass
class _Row:
    line: int
    path: str
    label: str
    artist: str | None


def _read_csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[tuple[int, list[str]]] = []
    try:
        reader = csv.reader(text.splitlines(), dialect)
        for row in reader:
            cells = [c.strip().strip('"').strip("'").strip() for c in row]
            if any(cells):
                rows.append((reader.line_num, cells))
    except csv.Error as e:
        raise DatasetError(f"{path}: not a readable CSV file ({e})") from None
    return rows


def _looks_like_path(cell: str) -> bool:
    return (os.path.splitext(cell)[1].lower() in _EXTS or bool(_ANON_FILE.search(cell))
            or "/" in cell.replace("\\", "/"))


def _parse_label_file(path: Path) -> tuple[list[_Row], list[str]]:
    """Rows (file, class, artist) of a tracklist or ground-truth file, and its problems."""
    rows = _read_csv_rows(path)
    if not rows:
        return [], [f"{path.name}: empty file"]
    # A recognised header names the columns.
    header = [re.sub(r"[^a-z]", "", c.lower()) for c in rows[0][1]]
    named = {role: next((k for k, h in enumerate(header) if h in names), None)
             for role, names in _HEADER_NAMES.items()}
    has_header = named["class"] is not None and named["path"] is not None
    data = rows[1:] if has_header else rows
    width = max(len(r) for _, r in data) if data else 0
    if has_header:
        path_col, class_col, artist_col = named["path"], named["class"], named["artist"]
    else:
        # Vote: the column of audio-looking names, the column of class names.
        path_votes = Counter(k for _, r in data for k, c in enumerate(r) if _looks_like_path(c))
        class_votes = Counter(k for _, r in data for k, c in enumerate(r) if class_of(c))
        path_col = max(path_votes, key=lambda k: (path_votes[k], k)) if path_votes else None
        class_votes.pop(path_col, None)
        class_col = max(class_votes, key=lambda k: (class_votes[k], -k)) if class_votes else None
        artist_col = 1 if (width >= 6 and class_col == 0 and path_col == 5) else None
        if data and path_col is not None and class_col is not None:
            first = data[0][1]
            if (len(first) > max(path_col, class_col) and not _looks_like_path(first[path_col])
                    and class_of(first[class_col]) is None):
                data = data[1:]  # an unrecognised header row
    if path_col is None or class_col is None:
        what = "file names" if path_col is None else "class names"
        return [], [f"{path.name}: no column of {what} found (expected rows naming an audio "
                    f"file and one of the classes {', '.join(CLASSES)})"]
    out: list[_Row] = []
    problems: list[str] = []
    for line, r in data:
        if len(r) <= max(path_col, class_col):
            problems.append(f"line {line}: {len(r)} fields, too few")
            continue
        label = class_of(r[class_col])
        if label is None:
            problems.append(f"line {line}: unknown class {r[class_col]!r}")
            continue
        if not r[path_col]:
            problems.append(f"line {line}: empty file name")
            continue
        artist = r[artist_col] if artist_col is not None and artist_col < len(r) else None
        if not artist or _ANON_ARTIST.match(artist):
            artist = None
        out.append(_Row(line, r[path_col].replace("\\", "/"), label, artist))
    return out, problems


class _FileIndex:
    """The audio files of one part, looked up by relative path, name, stem, fuzzy key."""

    def __init__(self, audio_dir: Path) -> None:
        self.files = iter_audio_files(audio_dir)
        self.rel = {p.relative_to(audio_dir).as_posix(): p for p in self.files}
        self.by_rel = {r.lower(): p for r, p in self.rel.items()}
        self.by_name: dict[str, list[Path]] = {}
        self.by_stem: dict[str, list[Path]] = {}
        self.by_key: dict[tuple[str, str], list[Path]] = {}
        for r, p in self.rel.items():
            self.by_name.setdefault(p.name.lower(), []).append(p)
            self.by_stem.setdefault(p.stem.lower(), []).append(p)
            folder = os.path.dirname(r).lower()
            self.by_key.setdefault((folder, _norm_key(p.stem)), []).append(p)

    def find(self, listed: str, part: str) -> tuple[Path | None, bool]:
        """The file a metadata entry names, and whether it was found under another name."""
        rel = listed.strip()
        while rel.startswith(("./", "/")):
            rel = rel[1:] if rel.startswith("/") else rel[2:]
        for prefix in (f"audio/{part}/", f"{part}/"):
            if rel.lower().startswith(prefix):
                rel = rel[len(prefix):]
        name = rel.rsplit("/", 1)[-1]
        stem = os.path.splitext(name)[0]
        exact = (self.by_rel.get(rel.lower()), self._unique(self.by_name, name),
                 self._unique(self.by_stem, stem))
        for hit in exact:
            if hit is not None:
                return hit, False
        # Known renamings of the distributed copy: ' written as _, accents, punctuation.
        fuzzy = (self.by_rel.get(rel.replace("'", "_").lower()),
                 self._unique(self.by_name, name.replace("'", "_")),
                 self._unique(self.by_key, (os.path.dirname(rel).lower(), _norm_key(stem))))
        for hit in fuzzy:
            if hit is not None:
                return hit, True
        return None, False

    @staticmethod
    def _unique(table: dict, key) -> Path | None:
        hits = table.get(key.lower() if isinstance(key, str) else key, [])
        return hits[0] if len(hits) == 1 else None


# ------------------------------------------------------------------------------------------
# Validation and loading
# ------------------------------------------------------------------------------------------
def _probe(path: Path) -> str | None:
    from mirlearn import audio

    try:
        audio.info(path)
        if len(audio.load(path, sr=None, duration=0.1)) == 0:
            return "no audio samples"
    except AudioError as e:
        return e.cause
    except (OSError, RuntimeError, ValueError, EOFError) as e:
        return f"{type(e).__name__}: {e}"
    return None


def _check_part(part: str) -> None:
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")


def validate_ismir2004(root: str | Path, *, part: str = "training",
                       labels: str | Path | None = None, check: Check = "none",
                       n_jobs: int = 4) -> Ismir2004Report:
    """List one part of ISMIR 2004 genre and check it against the published counts.

    Parameters
    ----------
    root : str or Path
        The dataset folder (holding ``audio/`` and ``metadata/``) or its ``audio/`` folder.
    part : {"training", "development", "evaluation"}
        Which part.
    labels : str or Path, optional
        A tracklist or ground-truth CSV to take the labels from instead of the one under
        ``metadata/<part>/`` (relative file names are matched under ``audio/<part>/``).
    check : {"none", "quick"}
        ``"none"``: file names only, nothing is decoded. ``"quick"``: also read every
        file's header and first 0.1 s.
    n_jobs : int
        Threads for the audio check.

    Returns
    -------
    Ismir2004Report
        ``print(report)`` shows counts per class against the expected ones, missing,
        unlabelled and renamed files; ``report.ok`` is True for a complete, clean part.

    Raises
    ------
    DatasetError
        if no ISMIR 2004 layout is found, the part's audio folder is absent, a given
        ``labels`` file does not exist, or a development copy has no labels at all.
    """
    _check_part(part)
    if check not in ("none", "quick"):
        raise ValueError(f"check must be 'none' or 'quick', got {check!r}")
    audio_root, meta_root = find_ismir2004_dirs(root)
    audio_dir = audio_root / part
    if not audio_dir.is_dir():
        raise DatasetError(f"{audio_dir}: the {part} part's audio folder is missing")
    index = _FileIndex(audio_dir)

    if labels is not None:
        labels = Path(labels).expanduser()
        if not labels.is_file():
            raise DatasetError(f"{labels}: labels file not found")
        source: tuple[str, Path] | None = ("labels file", labels)
    else:
        source = next(((s, p) for s, p in _metadata_candidates(meta_root / part, part)
                       if p.is_file()), None)

    report = Ismir2004Report(root=Path(root), part=part, audio_dir=audio_dir,
                             source=source[0] if source else "class folders",
                             metadata=source[1] if source else None, check=check,
                             expected=EXPECTED_COUNTS[part])
    tracks: list[Track] = []
    claimed: dict[Path, int] = {}
    if source is not None:
        rows, report.problems = _parse_label_file(source[1])
        for row in rows:
            found, renamed = index.find(row.path, part)
            if found is None:
                report.missing.append(f"line {row.line}: {row.path}")
                continue
            if found in claimed:
                report.problems.append(f"line {row.line}: {row.path} is the file of line "
                                       f"{claimed[found]} again")
                continue
            claimed[found] = row.line
            if renamed:
                report.renamed[row.path] = found
            artist = row.artist or _folder_artist(found.relative_to(audio_dir).as_posix())
            tracks.append(_track(found, audio_root, row.label, artist))
        report.extra = [p for p in index.files if p not in claimed]
    else:
        for rel, p in index.rel.items():
            pieces = rel.split("/")
            label = class_of(pieces[0]) if len(pieces) > 1 else None
            if label is None:
                report.extra.append(p)
                continue
            tracks.append(_track(p, audio_root, label, _folder_artist(rel)))
        if not tracks and index.files:
            cands = " or ".join(str(p) for _, p in _metadata_candidates(meta_root / part, part))
            raise DatasetError(f"{audio_dir}: {len(index.files)} audio files but no labels: "
                               f"neither {cands} exists, nor class folders (pass labels=... "
                               f"or use a CSV manifest)")
    report.tracks = tracks
    if check == "quick" and tracks:
        files = [t.path for t in tracks]
        with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
            causes = list(pool.map(_probe, files))
        report.bad = {p: c for p, c in zip(files, causes) if c is not None}
    return report


def _folder_artist(rel: str) -> str | None:
    """Artist folder of ``<class>/<artist>/.../<file>`` (relative to the part), else None."""
    pieces = rel.split("/")
    if len(pieces) > 2 and class_of(pieces[0]) and not _ANON_ARTIST.match(pieces[1]):
        return pieces[1]
    return None


def _track(path: Path, audio_root: Path, label: str, artist: str | None) -> Track:
    tid = path.relative_to(audio_root).with_suffix("").as_posix()
    return Track(tid, path, label, artist)


def load_ismir2004(root: str | Path, *, part: str | Sequence[str] = "training",
                   strict: bool = False, labels: str | Path | None = None,
                   check: Check = "none") -> TrackTable:
    """Load one or more parts of ISMIR 2004 genre as a track table.

    Parameters
    ----------
    root : str or Path
        The dataset folder (holding ``audio/`` and ``metadata/``) or its ``audio/`` folder.
    part : str or sequence of str
        ``"training"``, ``"development"``, ``"evaluation"``, or several of them (e.g.
        ``("training", "development")`` for :func:`ismir2004_split`), in that order.
    strict : bool
        Raise unless every part is complete and clean (published class counts, every
        listed file present, no unlabelled file, every metadata row usable). By default a
        :class:`UserWarning` summarises what is off and the labelled tracks found are
        returned.
    labels : str or Path, optional
        Labels file for a single part (see :func:`validate_ismir2004`).
    check : {"none", "quick"}
        ``"quick"`` leaves out files whose first 0.1 s cannot be decoded.

    Returns
    -------
    TrackTable
        Tracks in metadata order (or sorted path order for class folders), part after
        part; ``classes`` is always :data:`CLASSES`. ``track_id`` is the path below
        ``audio/`` without extension, ``artist`` is known for training and evaluation,
        ``None`` for the anonymised development part.

    Raises
    ------
    DatasetError
        if a part cannot be found or has no usable track, or (``strict``) a part is not
        complete and clean; the message holds the report.

    Examples
    --------
    >>> tracks = load_ismir2004("~/data/ismir04_genre", part="training")  # doctest: +SKIP
    >>> len(tracks), tracks.classes[:2]                                    # doctest: +SKIP
    (729, ['classical', 'electronic'])
    """
    parts = [part] if isinstance(part, str) else list(part)
    if not parts:
        raise ValueError("part must name at least one part")
    for p in parts:
        _check_part(p)
    if len(set(parts)) != len(parts):
        raise ValueError(f"part names a part twice: {parts}")
    if labels is not None and len(parts) != 1:
        raise ValueError("labels= applies to a single part")
    tracks: list[Track] = []
    for p in parts:
        report = validate_ismir2004(root, part=p, labels=labels, check=check)
        if not report.ok:
            if strict:
                raise DatasetError(f"{report.audio_dir}: incomplete or damaged ISMIR 2004 "
                                   f"{p} part\n{report}")
            warnings.warn(f"{report.audio_dir}: ISMIR 2004 {p} part is not as distributed: "
                          f"{report.summary()} (validate_ismir2004(root, part={p!r}) gives the "
                          f"details)", UserWarning, stacklevel=2)
        usable = [t for t in report.tracks if t.path not in report.bad]
        if not usable:
            raise DatasetError(f"{report.audio_dir}: no usable ISMIR 2004 track\n{report}")
        tracks.extend(usable)
    return TrackTable(tracks, classes=CLASSES)


def ismir2004_split(source: str | Path | TrackTable, *, valid_fraction: float = 0.25,
                    seed: int = 0) -> Split:
    """The paper's ISMIR 2004 partition: train on training, test on development.

    Parameters
    ----------
    source : str, Path or TrackTable
        The dataset folder (training and development are loaded, with warnings for an
        incomplete copy), or a table from :func:`load_ismir2004` holding both parts.
    valid_fraction : float
        Share of every class of the training part set aside as validation, drawn with
        ``seed``; ``0`` leaves the valid part empty. Sigtia & Dixon train the forest on
        the whole training part and the mirlearn classifier trains on train + valid, so
        the forest's data is the same whatever this fraction; a non-empty valid part keeps
        :meth:`Split.check` (which refuses empty parts) and early stopping usable. With
        ``valid_fraction=0`` use :meth:`Split.tables` without ``check``.
    seed : int
        Seed of the validation draw.

    Returns
    -------
    Split
        Named ``"ismir2004-dev"`` (no valid part) or
        ``"ismir2004-dev-valid<percent>-seed<seed>"``; ``train`` + ``valid`` are the
        training tracks, ``test`` the development tracks, each in table order. Every class
        with at least 2 training tracks keeps at least one in train and, when
        ``valid_fraction > 0``, puts at least one in valid.

    Raises
    ------
    DatasetError
        if the table holds no training or no development track.
    ValueError
        if ``valid_fraction`` is not in ``[0, 1)``.

    Notes
    -----
    Training and development are not artist-disjoint by construction, and development's
    artists are anonymised, so ``Split.check(tracks, artist_disjoint=True)`` cannot prove
    the absence of an artist effect here.
    """
    if not 0.0 <= valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    if isinstance(source, TrackTable):
        tracks = source
    else:
        tracks = load_ismir2004(source, part=("training", "development"))
    train_all = [t for t in tracks if t.track_id.startswith("training/")]
    test = [t.track_id for t in tracks if t.track_id.startswith("development/")]
    if not train_all or not test:
        raise DatasetError(f"the ISMIR 2004 split needs training and development tracks (ids "
                           f"'training/...' and 'development/...'), the table has "
                           f"{len(train_all)} and {len(test)}")
    valid_ids: set[str] = set()
    if valid_fraction > 0:
        rng = np.random.default_rng(seed)
        for c in tracks.classes:
            ids = [t.track_id for t in train_all if t.label == c]
            if len(ids) < 2:
                continue
            n_valid = min(len(ids) - 1, max(1, int(round(valid_fraction * len(ids)))))
            valid_ids.update(ids[i] for i in rng.permutation(len(ids))[:n_valid])
    train = [t.track_id for t in train_all if t.track_id not in valid_ids]
    valid = [t.track_id for t in train_all if t.track_id in valid_ids]
    name = ("ismir2004-dev" if not valid_ids
            else f"ismir2004-dev-valid{round(100 * valid_fraction)}-seed{seed}")
    return Split(name, train, valid, test)


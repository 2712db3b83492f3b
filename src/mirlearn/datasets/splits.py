"""Train / validation / test splits of a track table: the paper's random protocol, files.

The protocol of Sigtia & Dixon (2014) is K independent random splits of GTZAN, each
stratified 50 / 25 / 25 % per genre; the reported number is the mean ± standard deviation of
the test accuracy over the K splits. :func:`make_splits` draws such splits reproducibly from a
seed; :func:`save_splits` / :func:`load_splits` keep them in one JSON file so that the
splits behind a result are a file, not a seed in someone's head. :func:`load_split_dir`
reads the ``train.txt`` / ``valid.txt`` / ``test.txt`` folders in which published partitions
(e.g. the artist-filtered "fault-filtered" GTZAN partition) are distributed.

Examples
--------
>>> splits = make_splits(tracks, n_splits=4, seed=0)            # doctest: +SKIP
>>> for s in splits:                                             # doctest: +SKIP
...     s.check(tracks)
>>> save_splits(splits, "runs/gtzan/splits.json")                # doctest: +SKIP
>>> ff = load_split_dir("data/gtzan_splits/fault_filtered").restrict(tracks)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal, Sequence

import numpy as np

from mirlearn.datasets.tracks import TrackTable
from mirlearn.errors import DatasetError, SplitError
from mirlearn.io import atomic_write_json

PARTS: tuple[str, str, str] = ("train", "valid", "test")
"""Names of the three parts of a split, in order."""

SPLITS_FORMAT = "mirlearn.splits"
SPLITS_VERSION = 1


class UnknownTracksError(SplitError, DatasetError):
    """A split names track ids that the dataset does not have (a split file of another
    dataset, a typo, a renamed file). Both a :class:`SplitError` and a :class:`DatasetError`."""


def _examples(ids: Iterable[str], n: int = 5) -> str:
    ids = list(ids)
    head = ", ".join(ids[:n])
    return head + (f", ... ({len(ids)} in all)" if len(ids) > n else "")


@dataclass
class Split:
    """One partition of tracks into training, validation and test parts.

    Attributes
    ----------
    name : str
        Identifies the split in results, e.g. ``"random-seed0-2"`` or ``"fault_filtered"``.
    train, valid, test : list of str
        Track ids of each part (ids of a :class:`~mirlearn.datasets.tracks.TrackTable`).
    source : str or None
        The file (or folder) the split was read from, named in its error messages; not part
        of its identity (two splits with the same parts are equal wherever they come from).
    """

    name: str
    train: list[str] = field(default_factory=list)
    valid: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    source: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        self.train, self.valid, self.test = list(self.train), list(self.valid), list(self.test)

    # -- views -----------------------------------------------------------------------------
    @property
    def parts(self) -> dict[str, list[str]]:
        """``{"train": [...], "valid": [...], "test": [...]}``."""
        return {"train": self.train, "valid": self.valid, "test": self.test}

    @property
    def ids(self) -> list[str]:
        """All ids of the split: train, then valid, then test."""
        return self.train + self.valid + self.test

    def __len__(self) -> int:
        return len(self.train) + len(self.valid) + len(self.test)

    def _where(self) -> str:
        """``split 'name'``, and the file it came from when known: the head of its errors."""
        return f"split {self.name!r}" + (f" (from {self.source})" if self.source else "")

    def __repr__(self) -> str:
        return (f"Split({self.name!r}: train {len(self.train)}, valid {len(self.valid)}, "
                f"test {len(self.test)})")

    def tables(self, tracks: TrackTable) -> tuple[TrackTable, TrackTable, TrackTable]:
        """The three parts as track tables (keeping ``tracks.classes``).

        Raises
        ------
        SplitError
            when an id of the split is not in ``tracks``.
        """
        self._check_known(tracks)
        return tracks.subset(self.train), tracks.subset(self.valid), tracks.subset(self.test)

    # -- checks ----------------------------------------------------------------------------
    def check_structure(self) -> None:
        """Check what needs no track table: no empty part, no id twice.

        Raises
        ------
        SplitError
            naming the split, the part(s) and example ids.
        """
        for part, ids in self.parts.items():
            if not ids:
                raise SplitError(f"{self._where()}: the {part} part is empty")
            dups = sorted(i for i, n in Counter(ids).items() if n > 1)
            if dups:
                raise SplitError(f"{self._where()}: {len(dups)} ids appear more than once "
                                 f"in {part}: {_examples(dups)}")
        for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
            both = sorted(set(self.parts[a]) & set(self.parts[b]))
            if both:
                raise SplitError(f"{self._where()}: {len(both)} tracks are in both {a} and "
                                 f"{b}: {_examples(both)}")

    def _check_known(self, tracks: TrackTable) -> None:
        for part, ids in self.parts.items():
            unknown = [i for i in ids if i not in tracks]
            if unknown:
                raise UnknownTracksError(
                    f"{self._where()}: {len(unknown)} {part} ids are not in the track table: "
                    f"{_examples(unknown)} (Split.restrict(tracks) drops the tracks left out "
                    f"of the table)")

    def check(self, tracks: TrackTable, min_per_class: int = 1, *,
              artist_disjoint: bool = False) -> "Split":
        """Check that this split is usable with ``tracks``; return it unchanged.

        Parameters
        ----------
        tracks : TrackTable
            The tracks the split refers to.
        min_per_class : int
            Least number of training tracks of every class that occurs in the split.
        artist_disjoint : bool
            Also require that no artist has tracks in two parts. Tracks of unknown artist
            (``None``) are not compared; at least one artist must be known.

        Raises
        ------
        SplitError
            if a part is empty, a track is in two parts (or twice in one), an id is not in
            ``tracks``, a class has fewer than ``min_per_class`` training tracks, or (with
            ``artist_disjoint``) an artist is in two parts.
        """
        self.check_structure()
        self._check_known(tracks)
        label = {t.track_id: t.label for t in tracks}
        train_counts = Counter(label[i] for i in self.train)
        used = {label[i] for i in self.ids}
        short = [c for c in tracks.classes if c in used and train_counts[c] < min_per_class]
        if short:
            desc = ", ".join(f"{c!r} ({train_counts[c]})" for c in short)
            raise SplitError(f"{self._where()}: classes with fewer than {min_per_class} "
                             f"training tracks: {desc}")
        if artist_disjoint:
            artist = {t.track_id: t.artist for t in tracks}
            if not any(artist[i] is not None for i in self.ids):
                raise SplitError(f"{self._where()}: cannot check artist disjointness, no "
                                 f"artist is known for its tracks")
            seen: dict[str, str] = {}
            for part, ids in self.parts.items():
                for i in ids:
                    a = artist[i]
                    if a is None:
                        continue
                    if seen.setdefault(a, part) != part:
                        raise SplitError(f"{self._where()}: artist {a!r} has tracks in both "
                                         f"{seen[a]} and {part} (e.g. {i})")
        return self

    # -- adapting to a partial copy of a dataset -----------------------------------------
    def missing(self, tracks: TrackTable) -> list[str]:
        """Ids of the split that are not in ``tracks``, in split order."""
        return [i for i in self.ids if i not in tracks]

    def restrict(self, tracks: TrackTable, *, warn: bool = True,
                 unknown: Literal["error", "drop"] = "error") -> "Split":
        """This split less the tracks that ``tracks`` left out (e.g. files that did not decode).

        A table made by :meth:`TrackTable.without` (as the frame cache does for the files
        that ``--skip-bad`` leaves out) remembers the ids it dropped; those are dropped from
        the split too. An id that is neither in ``tracks`` nor among those left out is not in
        the dataset at all (a split file of another dataset, a typo): an error that names it.

        Parameters
        ----------
        tracks : TrackTable
            The tracks at hand.
        warn : bool
            Emit a :class:`UserWarning` naming the ids dropped (the first few, and how many
            of each part).
        unknown : {"error", "drop"}
            What to do with ids not in the dataset at all: raise, or drop them like the
            left-out ones (for a published partition applied on purpose to an incomplete
            copy of its dataset).

        Returns
        -------
        Split
            Same name, source and order; parts may become empty (:meth:`check` then fails).

        Raises
        ------
        UnknownTracksError
            (a :class:`~mirlearn.errors.DatasetError` and a :class:`SplitError`) naming the
            unknown ids (the first few and their count) and the split file, when
            ``unknown="error"``.
        """
        if unknown not in ("error", "drop"):
            raise ValueError(f"unknown must be 'error' or 'drop', got {unknown!r}")
        absent = [i for i in self.ids if i not in tracks]
        if unknown == "error":
            stray = [i for i in absent if i not in tracks.left_out]
            if stray:
                raise UnknownTracksError(
                    f"{self._where()}: {len(stray)} of its {len(self)} track ids are not in the "
                    f"dataset: {_examples(stray)}")
        kept = {p: [i for i in ids if i in tracks] for p, ids in self.parts.items()}
        dropped = {p: len(self.parts[p]) - len(kept[p]) for p in PARTS}
        n = sum(dropped.values())
        if n and warn:
            warnings.warn(
                f"{self._where()}: dropped {n} of {len(self)} ids not in the track table "
                f"(train {dropped['train']}, valid {dropped['valid']}, test {dropped['test']}): "
                f"{_examples(absent)}",
                UserWarning, stacklevel=2)
        return Split(self.name, kept["train"], kept["valid"], kept["test"], source=self.source)

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """``{"name", "train", "valid", "test"}`` (JSON-ready)."""
        return {"name": self.name, "train": list(self.train), "valid": list(self.valid),
                "test": list(self.test)}


# ------------------------------------------------------------------------------------------
# The paper's protocol: K random stratified splits
# ------------------------------------------------------------------------------------------
def _check_fractions(fractions: Sequence[float]) -> np.ndarray:
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,) or not np.all(np.isfinite(f)) or np.any(f <= 0) or abs(f.sum() - 1) > 1e-6:
        raise SplitError(f"fractions must be three positive numbers summing to 1 "
                         f"(train, valid, test), got {tuple(fractions)}")
    return f / f.sum()


def part_sizes(n: int, fractions: Sequence[float] = (0.5, 0.25, 0.25)) -> tuple[int, int, int]:
    """Sizes of the three parts of a class of ``n`` tracks.

    Largest-remainder rounding of ``n * fractions`` (ties go to the earlier part), then
    every part that rounded to 0 takes one track from the largest part, so that each part
    holds at least one track.

    Parameters
    ----------
    n : int
        Number of tracks of the class, at least 3.
    fractions : (float, float, float)
        Train, valid, test fractions, positive, summing to 1.

    Returns
    -------
    (int, int, int)
        Sizes summing to ``n``, e.g. ``part_sizes(100) == (50, 25, 25)``,
        ``part_sizes(5) == (3, 1, 1)``.

    Raises
    ------
    SplitError
        if ``n < 3`` or the fractions are invalid.
    """
    f = _check_fractions(fractions)
    if n < 3:
        raise SplitError(f"{n} tracks cannot fill three parts")
    exact = n * f
    sizes = np.floor(exact + 1e-9).astype(np.int64)
    rest = n - int(sizes.sum())
    order = sorted(range(3), key=lambda k: (-(exact[k] - sizes[k]), k))
    for k in order[:rest]:
        sizes[k] += 1
    for k in range(3):
        if sizes[k] == 0:
            sizes[int(np.argmax(sizes))] -= 1
            sizes[k] = 1
    return int(sizes[0]), int(sizes[1]), int(sizes[2])


def make_splits(tracks: TrackTable, *, n_splits: int = 4,
                fractions: Sequence[float] = (0.5, 0.25, 0.25), seed: int = 0) -> list[Split]:
    """K independent random splits, stratified per class (the paper's protocol).

    Split ``k`` is drawn by its own generator, ``SeedSequence(seed).spawn(...)[k]``, so it
    does not depend on ``n_splits``: the first 4 of 10 splits are the 4 splits of
    ``n_splits=4``. Within a split, every class is shuffled and cut into parts of
    :func:`part_sizes` tracks; each part lists its ids in table order.

    Parameters
    ----------
    tracks : TrackTable
        The tracks to split (ids unique, as a table guarantees).
    n_splits : int
        Number of splits K, at least 1.
    fractions : (float, float, float)
        Train, valid, test fractions, e.g. ``(0.5, 0.25, 0.25)``.
    seed : int
        Seed of the whole set of splits.

    Returns
    -------
    list of Split
        Named ``"random-seed{seed}-{k}"``, ``k = 0 .. n_splits - 1``.

    Raises
    ------
    SplitError
        if a class has fewer than 3 tracks (naming the class and its count), or the
        fractions or ``n_splits`` are invalid.
    """
    if n_splits < 1:
        raise SplitError(f"n_splits must be >= 1, got {n_splits}")
    _check_fractions(fractions)
    if len(tracks) == 0:
        raise SplitError("cannot split an empty track table")
    labels = np.array(tracks.labels, dtype=object)
    by_class: list[tuple[str, np.ndarray, tuple[int, int, int]]] = []
    for c in tracks.classes:
        rows = np.flatnonzero(labels == c)
        if len(rows) == 0:
            continue
        try:
            sizes = part_sizes(len(rows), fractions)
        except SplitError:
            raise SplitError(f"class {c!r} has {len(rows)} track{'s' if len(rows) != 1 else ''}: "
                             f"too few to put at least one in each of train, valid and test "
                             f"with fractions {tuple(fractions)}") from None
        by_class.append((c, rows, sizes))

    ids = tracks.ids
    children = np.random.SeedSequence(seed).spawn(n_splits)
    splits = []
    for k, child in enumerate(children):
        rng = np.random.default_rng(child)
        part_of = np.empty(len(tracks), dtype=np.int64)
        part_of.fill(-1)
        for _, rows, (n_train, n_valid, _) in by_class:
            perm = rows[rng.permutation(len(rows))]
            part_of[perm[:n_train]] = 0
            part_of[perm[n_train:n_train + n_valid]] = 1
            part_of[perm[n_train + n_valid:]] = 2
        parts = [[ids[i] for i in np.flatnonzero(part_of == p)] for p in range(3)]
        splits.append(Split(f"random-seed{seed}-{k}", *parts))
    return splits


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------
def save_splits(splits: Sequence[Split], path: str | Path) -> Path:
    """Write all splits to one JSON file (atomically).

    Parameters
    ----------
    splits : sequence of Split
        Splits with distinct names (each passes :meth:`Split.check_structure`).
    path : str or Path
        Destination, conventionally ``splits.json``.

    Returns
    -------
    Path
        ``path``.
    """
    names = [s.name for s in splits]
    dups = sorted(n for n, c in Counter(names).items() if c > 1)
    if dups:
        raise SplitError(f"split names must be distinct, repeated: {dups}")
    for s in splits:
        s.check_structure()
    atomic_write_json(path, {"format": SPLITS_FORMAT, "version": SPLITS_VERSION,
                             "splits": [s.to_dict() for s in splits]})
    return Path(path)


def load_splits(path: str | Path, tracks: TrackTable | None = None) -> list[Split]:
    """Read the splits written by :func:`save_splits`.

    Parameters
    ----------
    path : str or Path
        The JSON file.
    tracks : TrackTable, optional
        When given, every split is :meth:`checked <Split.check>` against it.

    Returns
    -------
    list of Split
        Equal to the saved ones, in the same order; their ``source`` is ``path``.

    Raises
    ------
    SplitError
        naming the file, when it is missing, not JSON, or not a splits file, or a split
        is malformed; :class:`UnknownTracksError` when ``tracks`` lacks ids of a split.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SplitError(f"{path}: splits file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SplitError(f"{path}: not a readable JSON splits file ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != SPLITS_FORMAT:
        raise SplitError(f"{path}: not a mirlearn splits file (no \"format\": \"{SPLITS_FORMAT}\")")
    if doc.get("version") != SPLITS_VERSION:
        raise SplitError(f"{path}: unsupported splits file version {doc.get('version')!r}")
    raw = doc.get("splits")
    if not isinstance(raw, list) or not raw:
        raise SplitError(f"{path}: \"splits\" must be a non-empty list")
    splits = []
    for k, d in enumerate(raw):
        ok = (isinstance(d, dict) and isinstance(d.get("name"), str)
              and all(isinstance(d.get(p), list) and all(isinstance(i, str) for i in d[p])
                      for p in PARTS))
        if not ok:
            raise SplitError(f"{path}: split #{k} must have a string \"name\" and string lists "
                             f"\"train\", \"valid\", \"test\"")
        s = Split(d["name"], d["train"], d["valid"], d["test"], source=str(path))
        s.check_structure()  # its errors name the file
        if tracks is not None:
            s.check(tracks)
        splits.append(s)
    names = [s.name for s in splits]
    if len(set(names)) != len(names):
        raise SplitError(f"{path}: split names must be distinct")
    return splits


def _read_id_list(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SplitError(f"{path}: split file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SplitError(f"{path}: cannot read split file ({e})") from None
    ids: list[str] = []
    first_line: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if len(s.split()) != 1:
            raise SplitError(f"{path}, line {n}: expected one track id per line, got {s!r}")
        if s in first_line:
            raise SplitError(f"{path}, line {n}: {s!r} already listed on line {first_line[s]}")
        first_line[s] = n
        ids.append(s)
    if not ids:
        raise SplitError(f"{path}: no track ids")
    return ids


def load_split_dir(directory: str | Path) -> Split:
    """Read a split from a folder of ``train.txt``, ``valid.txt`` and ``test.txt``.

    Each file holds one track id per line (blank lines and ``#`` comments are skipped), as
    in the fault-filtered GTZAN partition (``gtzan_splits/fault_filtered/``).

    Parameters
    ----------
    directory : str or Path
        The folder; its name becomes the split's name.

    Returns
    -------
    Split
        Ids in file order. When your copy of the dataset lacks some of them on purpose,
        ``split.restrict(tracks, unknown="drop")`` drops them.

    Raises
    ------
    SplitError
        naming the file (and line) that is missing or malformed, or the overlap of parts.
    """
    d = Path(directory)
    if not d.is_dir():
        raise SplitError(f"{d}: split folder not found (expected train.txt, valid.txt, test.txt)")
    parts = [_read_id_list(d / f"{p}.txt") for p in PARTS]
    split = Split(d.resolve().name, *parts, source=str(d))
    split.check_structure()  # its errors name the folder
    return split

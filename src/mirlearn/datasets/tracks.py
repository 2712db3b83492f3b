"""The track table: one row per audio file, with its label and (when known) its artist."""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from mirlearn.errors import DatasetError


@dataclass(frozen=True)
class Track:
    """One labelled audio file.

    Attributes
    ----------
    track_id : unique id within its dataset, e.g. ``"blues.00029"``
    path : absolute path of the audio file
    label : class name, e.g. ``"blues"``
    artist : artist name when the dataset gives it, else ``None``
    duration : length in seconds when known, else ``None``
    tags : the track's tags for multi-label tasks (auto-tagging), sorted; ``()`` when none
    target : a number for regression tasks (e.g. valence, tempo), else ``None``
    """

    track_id: str
    path: Path
    label: str
    artist: str | None = None
    duration: float | None = None
    tags: tuple[str, ...] = ()
    target: float | None = None


class TrackTable(Sequence[Track]):
    """An ordered, immutable list of :class:`Track` with unique ids.

    The order is the order of the frames in a :class:`~mirlearn.features.FrameSet` built
    from it. ``classes`` is the sorted list of labels; ``y`` maps each track to its index
    in ``classes``. ``left_out`` holds the ids of the same dataset that :meth:`without`
    dropped (e.g. files that could not be decoded), so that a split naming them can tell
    them from ids the dataset never had.
    """

    def __init__(self, tracks: Iterable[Track], classes: Sequence[str] | None = None, *,
                 left_out: Iterable[str] = ()) -> None:
        self._tracks: tuple[Track, ...] = tuple(tracks)
        ids = [t.track_id for t in self._tracks]
        if len(set(ids)) != len(ids):
            from collections import Counter

            dups = sorted(i for i, n in Counter(ids).items() if n > 1)
            raise DatasetError(f"duplicate track ids: {', '.join(dups[:10])}")
        self._index = {tid: i for i, tid in enumerate(ids)}
        #: Ids of the dataset that this table left out (see :meth:`without`); never in it.
        self.left_out: frozenset[str] = frozenset(left_out) - self._index.keys()
        own = sorted({t.label for t in self._tracks})
        if classes is None:
            self.classes: list[str] = own
        else:
            self.classes = list(classes)
            unknown = sorted(set(own) - set(self.classes))
            if unknown:
                raise DatasetError(f"labels not among the classes {self.classes}: {unknown}")

    # -- sequence protocol --------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._tracks)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return TrackTable(self._tracks[i], self.classes)
        return self._tracks[i]

    def __iter__(self) -> Iterator[Track]:
        return iter(self._tracks)

    def __repr__(self) -> str:
        return f"TrackTable({len(self)} tracks, classes={self.classes})"

    # -- lookups --------------------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        return [t.track_id for t in self._tracks]

    @property
    def labels(self) -> list[str]:
        return [t.label for t in self._tracks]

    @property
    def y(self) -> np.ndarray:
        """Class index of every track, shape ``(n_tracks,)``, int64."""
        lookup = {c: k for k, c in enumerate(self.classes)}
        return np.array([lookup[t.label] for t in self._tracks], dtype=np.int64)

    @property
    def tag_names(self) -> list[str]:
        """Every tag any track carries, sorted (``[]`` for single-label data)."""
        return sorted({g for t in self._tracks for g in t.tags})

    @property
    def has_targets(self) -> bool:
        """True when every track carries a regression target."""
        return bool(self._tracks) and all(t.target is not None for t in self._tracks)

    def tag_matrix(self, tag_names: Sequence[str] | None = None) -> np.ndarray:
        """Tag indicators, shape ``(n_tracks, n_tags)``, uint8: 1 where the track has the tag.

        Columns follow ``tag_names`` (default :attr:`tag_names`); tags not listed are ignored.
        """
        names = self.tag_names if tag_names is None else list(tag_names)
        col = {g: k for k, g in enumerate(names)}
        Y = np.zeros((len(self._tracks), len(names)), dtype=np.uint8)
        for i, t in enumerate(self._tracks):
            for g in t.tags:
                if g in col:
                    Y[i, col[g]] = 1
        return Y

    @property
    def targets(self) -> np.ndarray:
        """Regression target of every track, shape ``(n_tracks,)``, float64 (NaN where none)."""
        return np.array([np.nan if t.target is None else t.target for t in self._tracks], dtype=np.float64)

    def position(self, track_id: str) -> int:
        """Row of ``track_id`` in this table (KeyError when absent)."""
        return self._index[track_id]

    def __contains__(self, track_id: object) -> bool:  # type: ignore[override]
        return track_id in self._index

    def subset(self, track_ids: Iterable[str]) -> "TrackTable":
        """The tracks with these ids, in the given order, keeping this table's classes."""
        missing = [t for t in track_ids if t not in self._index]
        if missing:
            raise DatasetError(f"{len(missing)} track ids not in the table, e.g. {missing[:5]}")
        return TrackTable((self._tracks[self._index[t]] for t in track_ids), self.classes)

    def without(self, track_ids: Iterable[str]) -> "TrackTable":
        """This table less the given ids, keeping its classes.

        The dropped ids (those of this table) join :attr:`left_out`: they belong to the
        dataset but not to the result.
        """
        drop = set(track_ids)
        return TrackTable((t for t in self._tracks if t.track_id not in drop), self.classes,
                          left_out=self.left_out | (drop & self._index.keys()))

    def with_durations(self, durations: Sequence[float]) -> "TrackTable":
        """A copy whose tracks carry the given durations (seconds)."""
        return TrackTable(
            (replace(t, duration=float(d)) for t, d in zip(self._tracks, durations, strict=True)),
            self.classes, left_out=self.left_out,
        )

    # -- files ----------------------------------------------------------------------------
    def to_csv(self, path: str | Path) -> None:
        """Write ``track_id,path,label,artist,duration,tags,target`` rows (atomic; tags ';'-joined)."""
        import io

        from mirlearn.io import atomic_write_text

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["track_id", "path", "label", "artist", "duration", "tags", "target"])
        for t in self._tracks:
            w.writerow([t.track_id, str(t.path), t.label, t.artist or "",
                        "" if t.duration is None else f"{t.duration:.6f}", ";".join(t.tags),
                        "" if t.target is None else repr(t.target)])
        atomic_write_text(path, buf.getvalue())

    @classmethod
    def from_csv(cls, path: str | Path, classes: Sequence[str] | None = None) -> "TrackTable":
        """Read a table written by :meth:`to_csv` (also older files without tags and target)."""
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        return cls(
            (Track(r["track_id"], Path(r["path"]), r["label"], r["artist"] or None,
                   float(r["duration"]) if r.get("duration") else None,
                   tuple(g for g in (r.get("tags") or "").split(";") if g),
                   float(r["target"]) if r.get("target") else None) for r in rows),
            classes,
        )

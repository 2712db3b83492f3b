"""GTZAN genre collection (Tzanetakis & Cook, 2002): loader and validator.

1000 clips of 30 s, 100 for each of 10 genres, ids ``<genre>.000NN`` (``NN`` = 00..99).
Three layouts are recognised, looked for in this order:

* the original tarball, ``root/genres/<genre>/<genre>.000NN.au`` (``root`` may also be the
  ``genres/`` folder itself);
* the common Kaggle re-packaging, ``root/genres_original/<genre>/<genre>.000NN.wav`` (also
  found as ``root/Data/genres_original/...``);
* genre folders directly in ``root``, with clips in any audio format.

GTZAN gives no artists, so :attr:`Track.artist` is ``None``. The collection is known to hold
repeated clips, mislabellings and distortions, and many of its artists have several clips
(Sturm 2013): random splits therefore put one artist on both sides and flatter every system.
Artist-filtered partitions exist — the "fault-filtered" split (Kereliuk, Sturm & Larsen 2015;
443 / 197 / 290 clips, no artist shared between parts, faulty clips removed); read it with
:func:`~mirlearn.datasets.splits.load_split_dir`. The paper reproduced here (Sigtia & Dixon
2014) used random stratified splits.

The Kaggle copy is known to hold one undecodable file, ``jazz/jazz.00054.wav``:
:func:`validate_gtzan` reports such files and :func:`load_gtzan` leaves them out.
"""

from __future__ import annotations

import os
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mirlearn.datasets.folder import AUDIO_EXTENSIONS, dangling_symlink, is_hidden
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import AudioError, DatasetError

GENRES: tuple[str, ...] = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal",
                           "pop", "reggae", "rock")
"""The 10 GTZAN genres, in the order of their class indices."""

CLIPS_PER_GENRE = 100

_CLIP_RE = re.compile(r"^(?P<genre>[a-z]+)\.(?P<num>\d{5})(?P<ext>\.[A-Za-z0-9]+)$")
_LAYOUTS: tuple[tuple[str, str], ...] = (
    ("genres", "original (genres/)"),
    ("genres_original", "Kaggle (genres_original/)"),
    ("Data/genres_original", "Kaggle (Data/genres_original/)"),
    (".", "genre folders at the root"),
)

Check = Literal["none", "quick", "full"]


def gtzan_ids() -> list[str]:
    """The 1000 GTZAN track ids, ``["blues.00000", ..., "rock.00099"]``."""
    return [f"{g}.{i:05d}" for g in GENRES for i in range(CLIPS_PER_GENRE)]


@dataclass
class GtzanReport:
    """What :func:`validate_gtzan` found in a GTZAN folder.

    Attributes
    ----------
    root : Path
        The folder given.
    data_dir : Path
        The folder holding the genre folders.
    layout : str
        Which layout was recognised.
    check : str
        How far the audio was checked: ``"none"``, ``"quick"`` (header and a short read)
        or ``"full"`` (every file decoded entirely).
    found : dict of str to int
        Number of expected clips present, per genre (all 10 genres as keys).
    paths : dict of str to Path
        Path of every expected clip present, by track id, in GTZAN order.
    missing : list of str
        Ids of the expected clips not found.
    extra : list of Path
        Files in the genre folders that are not expected clips (other names, ids beyond
        ``.00099``, a clip in the wrong genre folder, a second copy of a clip).
    bad : dict of Path to str
        Clips that could not be decoded, with the cause (in GTZAN order); a clip that is a
        dangling symbolic link is here at every check level ("dangling symlink to <target>").
    """

    root: Path
    data_dir: Path
    layout: str
    check: str
    found: dict[str, int] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    extra: list[Path] = field(default_factory=list)
    bad: dict[Path, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when all 1000 clips are present and decodable and nothing else is there."""
        return not (self.missing or self.extra or self.bad)

    @property
    def n_found(self) -> int:
        """Number of expected clips present (decodable or not)."""
        return len(self.paths)

    def _rel(self, p: Path) -> str:
        try:
            return p.relative_to(self.data_dir).as_posix()
        except ValueError:
            return str(p)

    def summary(self) -> str:
        """One line: counts of found, missing, extra and undecodable files."""
        return (f"{self.n_found} of {len(GENRES) * CLIPS_PER_GENRE} clips found, "
                f"{len(self.missing)} missing, {len(self.extra)} extra files, "
                f"{len(self.bad)} undecodable")

    def __str__(self) -> str:
        lines = [f"GTZAN at {self.data_dir} (layout: {self.layout}; audio check: {self.check})",
                 f"  {self.summary()}" + ("  -- OK" if self.ok else ""),
                 f"  {'genre':<10} {'found':>5} {'missing':>7}"]
        missing_by = {g: 0 for g in GENRES}
        for tid in self.missing:
            missing_by[tid.split(".")[0]] += 1
        for g in GENRES:
            lines.append(f"  {g:<10} {self.found.get(g, 0):>5} {missing_by[g]:>7}")
        if self.missing:
            shown = ", ".join(self.missing[:10])
            more = f", ... ({len(self.missing) - 10} more)" if len(self.missing) > 10 else ""
            lines.append(f"  missing: {shown}{more}")
        if self.extra:
            lines.append(f"  extra files ({len(self.extra)}):")
            lines += [f"    {self._rel(p)}" for p in self.extra[:20]]
            if len(self.extra) > 20:
                lines.append(f"    ... ({len(self.extra) - 20} more)")
        if self.bad:
            lines.append(f"  undecodable files ({len(self.bad)}):")
            lines += [f"    {self._rel(p)}: {cause}" for p, cause in self.bad.items()]
        return "\n".join(lines)


def find_gtzan_dir(root: str | Path) -> tuple[Path, str]:
    """Locate the folder that holds the GTZAN genre folders.

    Parameters
    ----------
    root : str or Path
        A folder containing ``genres/``, ``genres_original/`` or
        ``Data/genres_original/``, or the genre folders themselves.

    Returns
    -------
    data_dir : Path
        Absolute path of the folder holding the genre folders.
    layout : str
        Description of the layout found.

    Raises
    ------
    DatasetError
        if ``root`` is not a folder or none of the candidates holds a genre folder.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: GTZAN folder not found" if not root.exists()
                           else f"{root}: not a folder")
    root = root.absolute()
    for sub, layout in _LAYOUTS:
        d = root if sub == "." else root / sub
        if d.is_dir() and any((d / g).is_dir() for g in GENRES):
            return d, layout
    tried = ", ".join(str(root / s) if s != "." else str(root) for s, _ in _LAYOUTS)
    raise DatasetError(f"{root}: no GTZAN genre folders ({', '.join(GENRES)}) found; looked in "
                       f"{tried}")


def _probe(path: Path, check: Check) -> str | None:
    """Decode ``path`` as far as ``check`` asks; the cause of failure, or None when fine."""
    from mirlearn import audio

    try:
        info = audio.info(path)
        if check == "quick":
            y = audio.load(path, sr=None, duration=0.1)
            if len(y) == 0:
                return "no audio samples"
        else:
            y = audio.load(path, sr=None)
            if len(y) == 0:
                return "no audio samples"
            if info.frames and info.frames > 0 and len(y) < 0.99 * info.frames:
                return f"truncated: header says {info.frames} frames, decoded {len(y)}"
    except AudioError as e:
        return e.cause
    except (OSError, RuntimeError, ValueError, EOFError) as e:  # a decoder that slipped through
        return f"{type(e).__name__}: {e}"
    return None


def validate_gtzan(root: str | Path, *, check: Check = "quick", n_jobs: int = 4) -> GtzanReport:
    """Check a GTZAN folder: which clips are there, missing, extra or undecodable.

    Parameters
    ----------
    root : str or Path
        The dataset folder (see the module docstring for the layouts).
    check : {"quick", "full", "none"}
        ``"quick"``: read each clip's header and its first 0.1 s (about a millisecond per
        file; finds unreadable and mislabelled-format files such as Kaggle's
        ``jazz.00054.wav``). ``"full"``: decode every clip entirely (finds truncated files;
        seconds per hundred clips). ``"none"``: look at file names only.
    n_jobs : int
        Threads used for the audio checks.

    Returns
    -------
    GtzanReport
        ``print(report)`` gives a readable summary; ``report.ok`` is True for a complete,
        clean copy.

    Raises
    ------
    DatasetError
        if no GTZAN layout is found under ``root``.
    """
    if check not in ("none", "quick", "full"):
        raise ValueError(f"check must be 'none', 'quick' or 'full', got {check!r}")
    data_dir, layout = find_gtzan_dir(root)
    expected = set(gtzan_ids())
    exts = {e.lower() for e in AUDIO_EXTENSIONS}
    paths: dict[str, Path] = {}
    extra: list[Path] = []
    dangling: dict[Path, str] = {}  # clips that are links to nothing: bad at any check level
    for g in GENRES:
        gdir = data_dir / g
        if not gdir.is_dir():
            continue
        for name in sorted(os.listdir(gdir)):
            if is_hidden(name):
                continue
            p = gdir / name
            m = _CLIP_RE.match(name)
            broken = dangling_symlink(p)
            if (m is None or not (p.is_file() or broken) or m["genre"] != g or m["ext"].lower() not in exts):
                extra.append(p)
                continue
            tid = f"{m['genre']}.{m['num']}"
            if tid not in expected or tid in paths:
                extra.append(p)
                continue
            paths[tid] = p
            if broken:
                dangling[p] = broken
    ordered = {tid: paths[tid] for tid in gtzan_ids() if tid in paths}
    report = GtzanReport(
        root=Path(root), data_dir=data_dir, layout=layout, check=check,
        found={g: sum(1 for t in ordered if t.split(".")[0] == g) for g in GENRES},
        paths=ordered,
        missing=[t for t in gtzan_ids() if t not in paths],
        extra=extra,
    )
    causes: dict[Path, str | None] = dict.fromkeys(ordered.values())
    causes.update(dangling)
    if check != "none":
        files = [p for p in ordered.values() if p not in dangling]
        with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
            causes.update(zip(files, pool.map(lambda p: _probe(p, check), files)))
    report.bad = {p: c for p, c in causes.items() if c is not None}
    return report


def load_gtzan(root: str | Path, *, strict: bool = False, check: Check = "quick") -> TrackTable:
    """Load the GTZAN genre collection as a track table.

    Parameters
    ----------
    root : str or Path
        The dataset folder (original ``genres/``, Kaggle ``genres_original/``, or genre
        folders directly).
    strict : bool
        Raise unless the copy is complete and clean (1000 decodable clips, no extra file).
        By default a :class:`UserWarning` says what is missing, extra or undecodable, and the
        decodable clips present are returned.
    check : {"quick", "full", "none"}
        How far each clip is decoded before it is trusted (see :func:`validate_gtzan`).

    Returns
    -------
    TrackTable
        The clips present and decodable, in GTZAN order (genre, then number). ``track_id``
        is ``"<genre>.000NN"`` as in published split files, ``label`` the genre, ``artist``
        ``None`` (GTZAN has no artist metadata; for artist-filtered evaluation use the
        fault-filtered split, see the module docstring). ``classes`` is always the 10
        genres, so class indices agree between complete and partial copies.

    Raises
    ------
    DatasetError
        if no GTZAN layout is found, no clip is usable, or (``strict``) the copy is not
        complete and clean; the message lists the problems.

    Examples
    --------
    >>> tracks = load_gtzan("~/data/gtzan")     # doctest: +SKIP
    >>> len(tracks), tracks[0].track_id
    (1000, 'blues.00000')
    """
    report = validate_gtzan(root, check=check)
    tracks = [Track(tid, p, tid.split(".")[0]) for tid, p in report.paths.items()
              if p not in report.bad]
    if not tracks:
        raise DatasetError(f"{report.data_dir}: no usable GTZAN clip\n{report}")
    if not report.ok:
        if strict:
            raise DatasetError(f"{report.data_dir}: incomplete or damaged GTZAN copy\n{report}")
        detail = ""
        if report.bad:
            detail = " Left out: " + "; ".join(f"{report._rel(p)} ({c})" for p, c in report.bad.items())
        warnings.warn(f"{report.data_dir}: GTZAN copy is not complete: {report.summary()}.{detail} "
                      f"(validate_gtzan(root) gives the details)", UserWarning, stacklevel=2)
    return TrackTable(tracks, classes=GENRES)

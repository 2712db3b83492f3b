"""Folder-per-label datasets: ``root/<label>/**/<file>.<audio extension>``.

The first folder level under ``root`` names the label; audio files anywhere below a label
folder belong to it. This is the layout of most hand-made collections, of the GTZAN
music/speech set and of :func:`~mirlearn.datasets.synthetic.make_synthetic`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Iterable

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import DatasetError

AUDIO_EXTENSIONS: tuple[str, ...] = (
    ".wav", ".wave", ".flac", ".au", ".snd", ".aif", ".aiff", ".aifc", ".ogg", ".oga",
    ".opus", ".mp3", ".m4a", ".aac", ".mp4", ".wma", ".caf", ".w64",
)
"""File name extensions taken for audio (compared case-insensitively)."""


def _normalise_extensions(extensions: Iterable[str]) -> frozenset[str]:
    exts = frozenset("." + e.lower().lstrip(".") for e in extensions)
    if not exts:
        raise ValueError("extensions must not be empty")
    return exts


def is_hidden(name: str) -> bool:
    """True for names that are skipped when scanning: dot files (incl. partial writes)."""
    return name.startswith(".")


def dangling_symlink(path: str | os.PathLike[str]) -> str | None:
    """``'dangling symlink to <target>'`` when ``path`` is a symbolic link to nothing, else None.

    The cause of a bad file that a decoder would only call "not found".
    """
    if os.path.islink(path) and not os.path.exists(path):
        try:
            return f"dangling symlink to {os.readlink(path)}"
        except OSError:
            return "dangling symlink"
    return None


def iter_audio_files(directory: Path, extensions: Iterable[str] = AUDIO_EXTENSIONS) -> list[Path]:
    """All audio files below ``directory``, recursively, sorted by relative path.

    Hidden files and folders (name starting with ``.``, which includes the temporary files of
    interrupted atomic writes) are skipped. Symbolic links to folders are followed once.
    Dangling symbolic links with an audio extension are kept (not silently dropped), so that
    decoding reports them as bad files, named with their target (:func:`dangling_symlink`).

    Parameters
    ----------
    directory : Path
        Folder to scan.
    extensions : iterable of str
        Accepted extensions, with or without the dot, any case.

    Returns
    -------
    list of Path
        Paths below ``directory`` (as joined onto it, not resolved), sorted by their
        '/'-joined relative path, so the order is the same on every platform.
    """
    exts = _normalise_extensions(extensions)
    found: list[tuple[str, Path]] = []
    seen_dirs: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:  # a link loop
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(d))
        for name in filenames:
            if is_hidden(name) or os.path.splitext(name)[1].lower() not in exts:
                continue
            p = Path(dirpath, name)
            if p.is_file() or dangling_symlink(p):
                found.append((p.relative_to(directory).as_posix(), p))
    found.sort(key=lambda rp: rp[0])
    return [p for _, p in found]


def load_folder(root: str | Path, *, extensions: Iterable[str] = AUDIO_EXTENSIONS) -> TrackTable:
    """Load a folder-per-label dataset.

    Parameters
    ----------
    root : str or Path
        Folder whose sub-folders are the classes, e.g. ``music_speech/`` holding
        ``music/`` and ``speech/``.
    extensions : iterable of str
        Extensions of the files taken as audio (default :data:`AUDIO_EXTENSIONS`).

    Returns
    -------
    TrackTable
        One track per audio file, in order of label, then relative path. ``track_id`` is the
        path relative to ``root`` without its extension, joined with '/' (e.g.
        ``"music/bagpipe"``); ``path`` is absolute; ``label`` the first folder below
        ``root``; ``artist`` and ``duration`` are ``None``. The files are not decoded:
        an undecodable file or a dangling symbolic link is a track here, and frame
        extraction reports it (stopping unless ``skip_bad``).

    Raises
    ------
    DatasetError
        if ``root`` is missing or not a folder, holds no audio file in a label folder,
        has fewer than 2 classes, or two files differ only by extension (same track id).

    Warns
    -----
    UserWarning
        for audio files lying directly in ``root`` (they have no label and are ignored).

    Examples
    --------
    >>> tracks = load_folder("data/music_speech")   # doctest: +SKIP
    >>> tracks.classes
    ['music', 'speech']
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: dataset folder not found")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder (expected one sub-folder per label)")
    root = root.absolute()
    exts = _normalise_extensions(extensions)

    loose = [e.name for e in sorted(root.iterdir(), key=lambda e: e.name)
             if e.is_file() and not is_hidden(e.name) and e.suffix.lower() in exts]
    if loose:
        warnings.warn(f"{root}: {len(loose)} audio files lie directly in the dataset folder and "
                      f"have no label folder; ignored (e.g. {', '.join(loose[:3])})",
                      UserWarning, stacklevel=2)

    tracks: list[Track] = []
    counts: dict[str, int] = {}
    first_of: dict[str, Path] = {}
    for label_dir in sorted((e for e in root.iterdir() if e.is_dir() and not is_hidden(e.name)),
                            key=lambda e: e.name):
        files = iter_audio_files(label_dir, exts)
        if not files:
            continue
        counts[label_dir.name] = len(files)
        for f in files:
            rel = f.relative_to(root)
            tid = rel.with_suffix("").as_posix()
            if tid in first_of:
                raise DatasetError(f"{root}: {first_of[tid].relative_to(root).as_posix()} and "
                                   f"{rel.as_posix()} would have the same track id {tid!r}; "
                                   f"keep one of them")
            first_of[tid] = f
            tracks.append(Track(tid, f, label_dir.name))
    if not tracks:
        raise DatasetError(f"{root}: no audio files ({', '.join(sorted(exts))}) found in "
                           f"label folders (expected {root}/<label>/<file>)")
    if len(counts) < 2:
        (only, n), = counts.items()
        raise DatasetError(f"{root}: a dataset needs at least 2 classes, found 1: {only!r} "
                           f"({n} files); put each class's files in its own sub-folder")
    return TrackTable(tracks)

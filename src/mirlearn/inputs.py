"""Audio inputs as a user names them: files, and folders searched recursively for audio.

Checked before any decoding, where it is cheap: a path that does not exist stops the command
(:class:`~mirlearn.errors.AudioError`), a folder without a single audio file stops it too (also a
folder named ``x.wav``), and a broken symbolic link is reported as a bad input beside the
decoding failures, so that a batch names every bad file and still uses the good ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from mirlearn.datasets.folder import AUDIO_EXTENSIONS, is_hidden
from mirlearn.errors import AudioError, MirlearnError

__all__ = ["AudioInputs", "find_audio"]


@dataclass
class AudioInputs:
    """The audio files of a batch, and the inputs already known to be bad.

    Attributes
    ----------
    files : the files to decode, in the order given (a folder's files sorted by relative path)
    roots : for each file, the folder argument it was found in, or None when named itself
    bad : ``(path, cause)`` of inputs that cannot be read (broken symbolic links)
    """

    files: list[Path] = field(default_factory=list)
    roots: list[Path | None] = field(default_factory=list)
    bad: list[tuple[Path, str]] = field(default_factory=list)


def _broken_link(p: Path) -> str:
    return f"broken symbolic link (its target {os.readlink(p)} does not exist)"


def _scan(folder: Path) -> tuple[list[Path], list[Path]]:
    """Audio files below ``folder`` (sorted by relative path), and broken links with an audio suffix.

    Hidden files and folders are skipped and links to folders followed once, as
    :func:`mirlearn.datasets.folder.iter_audio_files` does; unlike it, broken links are kept,
    to be named as bad rather than silently dropped.
    """
    exts = {e.lower() for e in AUDIO_EXTENSIONS}
    found: list[tuple[str, Path]] = []
    broken: list[Path] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a link loop
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(d))
        for name in filenames:
            if is_hidden(name) or os.path.splitext(name)[1].lower() not in exts:
                continue
            p = Path(dirpath, name)
            if p.is_file():
                found.append((p.relative_to(folder).as_posix(), p))
            elif p.is_symlink() and not p.exists():
                broken.append(p)
    found.sort(key=lambda rp: rp[0])
    return [p for _, p in found], sorted(broken)


def find_audio(items: Iterable[str | os.PathLike[str]]) -> AudioInputs:
    """The audio files named by ``items``: files as given, folders searched recursively.

    A file named by itself is taken whatever its suffix; in a folder, files with an audio
    suffix (:data:`mirlearn.datasets.folder.AUDIO_EXTENSIONS`) are.

    Raises
    ------
    AudioError
        A path does not exist.
    MirlearnError
        A folder holds no audio file at all.
    """
    out = AudioInputs()
    for item in items:
        p = Path(item).expanduser()
        if p.is_symlink() and not p.exists():
            out.bad.append((p, _broken_link(p)))
        elif not p.exists():
            raise AudioError(p, "file not found")
        elif p.is_dir():
            files, broken = _scan(p)
            if not files and not broken:
                raise MirlearnError(f"{p}: is a folder with no audio files in it (searched recursively for "
                                    f"{', '.join(AUDIO_EXTENSIONS)})")
            out.files += files
            out.roots += [p] * len(files)
            out.bad += [(b, _broken_link(b)) for b in broken]
        else:
            out.files.append(p)
            out.roots.append(None)
    return out

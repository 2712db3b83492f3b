"""Audio inputs as a user names them: files, and folders searched recursively for audio.

Checked before any decoding, where it is cheap: a path that does not exist stops the command
(:class:`~mirlearn.errors.AudioError`), a folder without a single audio file stops it too (also a
folder named ``x.wav``), and a dangling symbolic link is reported as a bad input beside the
decoding failures, so that a batch names every bad file and still uses the good ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from mirlearn.datasets.folder import AUDIO_EXTENSIONS, dangling_symlink, iter_audio_files
from mirlearn.errors import AudioError, MirlearnError

__all__ = ["AudioInputs", "find_audio"]


@dataclass
class AudioInputs:
    """The audio files of a batch, and the inputs already known to be bad.

    Attributes
    ----------
    files : the files to decode, in the order given (a folder's files sorted by relative path)
    roots : for each file, the folder argument it was found in, or None when named itself
    bad : ``(path, cause)`` of inputs that cannot be read (dangling symbolic links)
    """

    files: list[Path] = field(default_factory=list)
    roots: list[Path | None] = field(default_factory=list)
    bad: list[tuple[Path, str]] = field(default_factory=list)


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
        broken = dangling_symlink(p)
        if broken:
            out.bad.append((p, broken))
        elif not p.exists():
            raise AudioError(p, "file not found")
        elif p.is_dir():
            found = iter_audio_files(p)  # dangling links included, to be named as bad
            if not found:
                raise MirlearnError(f"{p}: is a folder with no audio files in it (searched recursively for "
                                    f"{', '.join(AUDIO_EXTENSIONS)})")
            for q in found:
                cause = dangling_symlink(q)
                if cause:
                    out.bad.append((q, cause))
                else:
                    out.files.append(q)
                    out.roots.append(p)
        else:
            out.files.append(p)
            out.roots.append(None)
    return out

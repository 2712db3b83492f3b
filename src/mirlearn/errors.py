"""Error types of mirlearn.

Every error that a user can cause (a bad file, a malformed split, a misspelt config key) is a
:class:`MirlearnError`. The command line prints such errors as one line, without a traceback;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class MirlearnError(Exception):
    """Base class of the errors a user can cause and fix."""


class AudioError(MirlearnError):
    """An audio file is missing, empty, truncated, undecodable or holds non-finite samples.

    Parameters
    ----------
    path : path of the offending file
    cause : what is wrong with it, in a few words
    """

    def __init__(self, path: str | Path, cause: str) -> None:
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")


class DatasetError(MirlearnError):
    """A dataset folder, manifest or track table is unusable (layout, labels, bad files)."""


class SplitError(MirlearnError):
    """A split is malformed: unknown tracks, overlap between parts, too few tracks per class."""


class ConfigError(MirlearnError):
    """A configuration file or option is invalid (unknown key, wrong type, bad value)."""


class TrainingError(MirlearnError):
    """Training cannot go on (non-finite loss or gradient); the last good checkpoint is kept."""

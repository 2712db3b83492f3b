"""Datasets: the track table and loaders for GTZAN, folder-per-label, CSV manifests and the
embedded synthetic set, plus the train / valid / test splits of the protocol."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import DatasetError

if TYPE_CHECKING:
    from mirlearn.datasets.splits import Split

DATASET_KINDS = ("auto", "gtzan", "folder", "manifest", "synthetic")

__all__ = ["Track", "TrackTable", "load_dataset", "detect_kind", "looks_like_gtzan", "DATASET_KINDS"]


def load_dataset(path: str | Path, kind: str = "auto") -> tuple[TrackTable, "Split | None"]:
    """Load a labelled dataset from disk.

    Parameters
    ----------
    path : the dataset folder, or a CSV manifest
    kind : ``"gtzan"``, ``"folder"`` (first folder level is the label), ``"manifest"``
        (CSV ``path,label[,split][,artist]``), ``"synthetic"`` (a folder written by
        :func:`mirlearn.datasets.synthetic.make_synthetic`) or ``"auto"``: a ``.csv`` file is
        a manifest, a folder whose genre folders are GTZAN's is GTZAN, any other folder is
        folder-per-label.

    Returns
    -------
    tracks : TrackTable
    split : the split stored with the dataset (a manifest's ``split`` column), else None
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"dataset path does not exist: {p}")
    if kind == "auto":
        kind = detect_kind(p)
    if kind == "manifest":
        from mirlearn.datasets.manifest import load_manifest

        return load_manifest(p)
    if kind == "gtzan":
        from mirlearn.datasets.gtzan import load_gtzan

        return load_gtzan(p), None
    if kind in ("folder", "synthetic"):
        from mirlearn.datasets.folder import load_folder

        return load_folder(p), None
    raise DatasetError(f"unknown dataset kind {kind!r}; use one of {', '.join(DATASET_KINDS)}")


_GTZAN_GENRES = {"blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"}


def detect_kind(path: str | Path) -> str:
    """The layout ``kind='auto'`` reads ``path`` as: ``'manifest'`` (a ``.csv`` file), ``'gtzan'``
    (genre folders of GTZAN's names, at the top or under ``genres/`` or ``genres_original/``),
    else ``'folder'`` (one folder per label)."""
    p = Path(path)
    if p.is_file() and p.suffix.lower() == ".csv":
        return "manifest"
    return "gtzan" if looks_like_gtzan(p) else "folder"


def looks_like_gtzan(p: Path) -> bool:
    """Whether ``p`` holds GTZAN's genre folders (2 or more of its 10 names, no others), at the
    top or under ``genres/`` (the original archive) or ``genres_original/`` (Kaggle's copy)."""
    for base in (p / "genres", p / "genres_original", p):
        if base.is_dir():
            names = {c.name for c in base.iterdir() if c.is_dir()}
            if len(names & _GTZAN_GENRES) >= 2 and names <= _GTZAN_GENRES | {"__MACOSX"}:
                return True
    return False

"""The published numbers of Sigtia & Dixon (ICASSP 2014), as data with provenance.

Sigtia, S. and Dixon, S., "Improved music feature learning with deep neural networks",
Proc. ICASSP 2014, pp. 6959-6963.

Only the cells listed in :data:`PUBLISHED` are transcribed; every other cell of the paper's
tables is *unknown* and :func:`published_value` returns ``None`` for it. Numbers are never
guessed: to add a cell, copy it from the paper's PDF into :data:`PUBLISHED` (with the table and
the place it was read from in ``source``) and add a test that pins it.

Transcribed so far (all track accuracies in %, from ``DESIGN.md``, which quotes the paper):

- Table 1 (GTZAN, 4 random 50/25/25 splits, mean ± std): ReLU+SGD+Dropout, 500 units,
  all layers, aggregated: 83.0 ± 1.1.
- Table 2 (ISMIR 2004 genre, transfer of the GTZAN nets): ReLU+SGD+Dropout, 500 units,
  all layers, aggregated: 73.46.
- Baselines on ISMIR 2004: MFCC 67.21, PMSC 68.45. The paper gives one number per baseline;
  we compare it with our *aggregated* baseline cell (the setting of the paper's best
  systems) — an assumption, stated in the entry's ``note``.

Keys
----
A cell is ``(table, dataset, method, units, layers, aggregate)``:

- ``table``: ``1``, ``2`` or ``"baseline"``;
- ``dataset``: ``"gtzan"`` or ``"ismir2004"``;
- ``method``: one of :data:`METHODS` or :data:`BASELINES`;
- ``units``: 50 or 500 hidden units per layer (``None`` for baselines);
- ``layers``: ``"1"``, ``"2"``, ``"3"`` or ``"all"``;
- ``aggregate``: ``True`` for mean/variance over 5 s windows, ``False`` for single frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CITATION", "METHODS", "BASELINES", "UNITS", "LAYERS", "Published", "PUBLISHED", "published",
           "published_value", "cell_key", "normalize_method", "normalize_layers"]

CITATION = ('S. Sigtia and S. Dixon, "Improved music feature learning with deep neural networks", '
            "Proc. ICASSP 2014, pp. 6959-6963")

#: The network training methods of the paper, in the order of its Table 1.
METHODS: tuple[str, ...] = ("ReLU+SGD", "ReLU+SGD+Dropout", "Sigmoid+HF")
#: The hand-crafted baselines.
BASELINES: tuple[str, ...] = ("MFCC", "PMSC")
#: Hidden units per layer.
UNITS: tuple[int, ...] = (50, 500)
#: Feature layers: one hidden layer, or all three concatenated.
LAYERS: tuple[str, ...] = ("1", "2", "3", "all")

Key = tuple[Any, str, str, "int | None", str, bool]


@dataclass(frozen=True)
class Published:
    """One published number.

    Attributes
    ----------
    value : float
        Track accuracy in percent.
    std : float or None
        Standard deviation over splits in percent, where the paper gives one.
    source : str
        Where the number was read (table of the paper, and through which document).
    note : str
        Any assumption made when matching it with one of our cells.
    """

    value: float
    std: float | None
    source: str
    note: str = ""


# ----------------------------------------------------------------------------------------------
# THE TRANSCRIBED CELLS — extend from the paper's PDF; never fill a cell from memory or estimate.
# ----------------------------------------------------------------------------------------------
PUBLISHED: dict[Key, Published] = {
    (1, "gtzan", "ReLU+SGD+Dropout", 500, "all", True):
        Published(83.0, 1.1, "Sigtia & Dixon 2014, Table 1 (best cell), via DESIGN.md"),
    (2, "ismir2004", "ReLU+SGD+Dropout", 500, "all", True):
        Published(73.46, None, "Sigtia & Dixon 2014, Table 2 (best cell), via DESIGN.md"),
    ("baseline", "ismir2004", "MFCC", None, "all", True):
        Published(67.21, None, "Sigtia & Dixon 2014, ISMIR 2004 baseline, via DESIGN.md",
                  note="the paper gives one MFCC number; compared with our aggregated MFCC cell"),
    ("baseline", "ismir2004", "PMSC", None, "all", True):
        Published(68.45, None, "Sigtia & Dixon 2014, ISMIR 2004 baseline, via DESIGN.md",
                  note="the paper gives one PMSC number; compared with our aggregated PMSC cell"),
}

_DEFAULT_DATASET = {1: "gtzan", 2: "ismir2004"}


def normalize_method(method: str) -> str:
    """The canonical spelling of a method name (case and spaces ignored).

    Parameters
    ----------
    method : str
        E.g. ``"relu+sgd+dropout"``, ``"ReLU + SGD"``, ``"mfcc"``.

    Returns
    -------
    str
        One of :data:`METHODS` or :data:`BASELINES`, or ``method`` unchanged when unknown.
    """
    squashed = "".join(str(method).split()).lower()
    for m in METHODS + BASELINES:
        if m.lower() == squashed:
            return m
    return str(method)


def normalize_layers(layers: str | int) -> str:
    """``1``, ``"1"``, ``"layer-1"`` → ``"1"``; ``"all"`` → ``"all"``."""
    s = str(layers).strip().lower()
    if s.startswith("layer-"):
        s = s[len("layer-"):]
    return s


def cell_key(table: int | str, method: str, units: int | None, layers: str | int, aggregate: bool,
             dataset: str | None = None) -> Key:
    """The :data:`PUBLISHED` key of a cell, with names normalised.

    Baseline methods (MFCC, PMSC) always map to table ``"baseline"``; ``dataset`` defaults to
    GTZAN for Table 1 and ISMIR 2004 for Table 2 (and for baselines).
    """
    m = normalize_method(method)
    if m in BASELINES:
        table, units = "baseline", None
    elif isinstance(table, str) and table.isdigit():
        table = int(table)
    if dataset is None:
        dataset = _DEFAULT_DATASET.get(table, "ismir2004")  # type: ignore[arg-type]
    return (table, str(dataset).lower(), m, None if units is None else int(units), normalize_layers(layers),
            bool(aggregate))


def published(table: int | str, method: str, units: int | None, layers: str | int, aggregate: bool,
              dataset: str | None = None) -> Published | None:
    """The full published record of a cell (value, std, source), or ``None`` when unknown.

    Parameters are those of :func:`published_value`.
    """
    return PUBLISHED.get(cell_key(table, method, units, layers, aggregate, dataset))


def published_value(table: int | str, method: str, units: int | None, layers: str | int, aggregate: bool,
                    dataset: str | None = None) -> float | None:
    """The paper's track accuracy (%) of one cell, or ``None`` when not transcribed.

    Parameters
    ----------
    table : {1, 2, "baseline"}
        Table 1 (GTZAN grid), Table 2 (transfer to ISMIR 2004) or the baselines.
    method : str
        ``"ReLU+SGD"``, ``"ReLU+SGD+Dropout"``, ``"Sigmoid+HF"``, ``"MFCC"`` or ``"PMSC"``
        (case and spaces ignored).
    units : int or None
        Hidden units per layer (50 or 500); ignored for baselines.
    layers : {"1", "2", "3", "all"} or int
        Feature layer(s).
    aggregate : bool
        Aggregated over 5 s windows (``True``) or single frames (``False``).
    dataset : {"gtzan", "ismir2004"}, optional
        Defaults to GTZAN for Table 1, ISMIR 2004 otherwise.

    Returns
    -------
    float or None
        Percent; the standard deviation, where known, is in :func:`published` ``(...).std``.

    Examples
    --------
    >>> published_value(1, "ReLU+SGD+Dropout", 500, "all", True)
    83.0
    >>> published_value(1, "ReLU+SGD", 50, 1, False) is None
    True
    """
    p = published(table, method, units, layers, aggregate, dataset)
    return None if p is None else p.value

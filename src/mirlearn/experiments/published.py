"""The published numbers of Sigtia & Dixon (ICASSP 2014), as data with provenance.

Sigtia, S. and Dixon, S., "Improved music feature learning with deep neural networks",
Proc. ICASSP 2014, pp. 6959-6963.

Every cell of the paper's Tables 1 and 2 is transcribed here, from ``PUBLISHED.md`` (the
project's transcription of the paper, kept beside the repository in ``shared/``), in the
paper's own layout (:data:`TABLE1_ROWS`, :data:`TABLE2_ROWS`) so that each row can be checked
against the PDF by eye. :data:`PUBLISHED` is built from those rows; a cell the paper does not
have (a Table 2 cell on single frames, any other dataset) is *unknown* and
:func:`published_value` returns ``None`` for it. Numbers are never guessed.

- Table 1 (GTZAN, 4 random 50/25/25 splits, track accuracy %, mean ± std): 3 methods × 2
  feature kinds (single frames, aggregated over 5 s windows with a 2.5 s hop) × 2 widths
  (50, 500 units) × 4 feature layers (1, 2, 3, all) = 48 cells, each with its std. The paper
  prints 77.1 ± 2.36 (Sigmoid+HF, 500 units, layer 3, aggregated) with two decimals.
- Table 2 (ISMIR 2004 genre, train on training, test on development; features of the
  GTZAN-trained nets, aggregated): 3 methods × 2 widths × 4 layers = 24 cells, one number each
  (no std: one split).
- Baselines on ISMIR 2004: MFCC 67.21, PMSC 68.45. The paper gives one number per baseline;
  we compare it with our *aggregated* baseline cell (the setting of the paper's best
  systems) — an assumption, stated in the entry's ``note``.

Figures of *other* papers that a later comparison may use (Hamel & Eck 2010, Schindler et al.
2016, the GTZAN figures the paper cites) are in :data:`OTHER_REFERENCES`, apart: they are never
shown as "the paper's" value of a cell.

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
           "published_value", "cell_key", "normalize_method", "normalize_layers", "TABLE1_ROWS", "TABLE2_ROWS",
           "Reference", "OTHER_REFERENCES", "SCHINDLER2016_CITATION", "SCHINDLER2016_ROWS",
           "SCHINDLER2016_COLUMNS", "SCHINDLER2016_DATASETS", "schindler2016_published"]

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
    decimals, std_decimals : int or None
        Decimals the paper prints the value and the std with (``None``: shortest form).
    """

    value: float
    std: float | None
    source: str
    note: str = ""
    decimals: int | None = None
    std_decimals: int | None = None

    @property
    def value_text(self) -> str:
        """The value as the paper prints it, e.g. ``"75.0"``, ``"70.50"``."""
        return f"{self.value:g}" if self.decimals is None else f"{self.value:.{self.decimals}f}"

    @property
    def text(self) -> str:
        """Value and std as the paper prints them, e.g. ``"77.1 ± 2.36"``, ``"73.46"``."""
        if self.std is None:
            return self.value_text
        std = f"{self.std:g}" if self.std_decimals is None else f"{self.std:.{self.std_decimals}f}"
        return f"{self.value_text} ± {std}"


# ----------------------------------------------------------------------------------------------
# THE TRANSCRIBED TABLES — in the paper's layout; extend or correct from the paper's PDF only.
# ----------------------------------------------------------------------------------------------
_VIA = "via PUBLISHED.md"

#: Table 1 (GTZAN), ``(method, aggregate) -> 8 × (mean, std)`` in the column order
#: 50 units: layer 1, 2, 3, all; then 500 units: layer 1, 2, 3, all. Track accuracy, %.
TABLE1_ROWS: dict[tuple[str, bool], tuple[tuple[float, float], ...]] = {
    ("ReLU+SGD", False): ((75.0, 1.3), (75.4, 1.2), (78.3, 1.1), (79.0, 2.0),
                          (72.7, 2.8), (78.5, 1.9), (80.5, 1.4), (79.0, 1.4)),
    ("ReLU+SGD+Dropout", False): ((75.0, 1.4), (77.5, 2.2), (77.0, 1.2), (78.0, 1.6),
                                  (73.5, 1.9), (78.5, 2.9), (79.5, 2.6), (80.5, 1.8)),
    ("Sigmoid+HF", False): ((71.8, 0.2), (74.3, 2.5), (77.8, 0.7), (77.2, 1.0),
                            (65.6, 1.6), (70.5, 1.2), (73.8, 0.3), (71.6, 1.5)),
    ("ReLU+SGD", True): ((75.0, 1.7), (79.6, 2.7), (81.3, 1.8), (81.5, 1.9),
                         (71.8, 0.7), (79.5, 1.9), (83.0, 1.2), (82.5, 2.3)),
    ("ReLU+SGD+Dropout", True): ((76.5, 1.5), (77.0, 2.2), (78.0, 1.0), (81.5, 1.7),
                                 (75.5, 1.1), (82.5, 1.8), (82.0, 1.4), (83.0, 1.1)),
    ("Sigmoid+HF", True): ((78.5, 2.1), (80.0, 2.6), (80.8, 1.1), (82.1, 1.7),
                           (67.8, 1.5), (74.0, 2.6), (77.1, 2.36), (76.0, 1.0)),
}

#: Table 2 (ISMIR 2004, aggregated features of the GTZAN nets), ``method -> 8 values`` in the
#: column order of :data:`TABLE1_ROWS`. Track accuracy, %, one split (no std).
TABLE2_ROWS: dict[str, tuple[float, ...]] = {
    "ReLU+SGD": (70.50, 70.80, 69.13, 72.42, 68.03, 71.33, 71.46, 72.30),
    "ReLU+SGD+Dropout": (68.03, 66.94, 68.03, 69.68, 70.09, 72.01, 69.41, 73.46),
    "Sigmoid+HF": (68.72, 70.23, 70.50, 71.20, 68.40, 68.32, 70.37, 70.23),
}

#: The column order of :data:`TABLE1_ROWS` and :data:`TABLE2_ROWS`: (units, layers).
_COLUMNS: tuple[tuple[int, str], ...] = tuple((u, layer) for u in UNITS for layer in LAYERS)


def _build() -> dict[Key, Published]:
    out: dict[Key, Published] = {}
    for (method, agg), row in TABLE1_ROWS.items():
        for (units, layers), (value, std) in zip(_COLUMNS, row, strict=True):
            # The paper prints one decimal, except the std 2.36 (Sigmoid+HF 500, layer 3, aggregated).
            two = (value, std) == (77.1, 2.36)
            out[(1, "gtzan", method, units, layers, agg)] = Published(
                value, std, f"Sigtia & Dixon 2014, Table 1 ({'aggregated' if agg else 'frames'}), {_VIA}",
                "std printed with two decimals in the paper" if two else "", decimals=1, std_decimals=2 if two else 1)
    for method, row2 in TABLE2_ROWS.items():
        for (units, layers), value in zip(_COLUMNS, row2, strict=True):
            out[(2, "ismir2004", method, units, layers, True)] = Published(
                value, None, f"Sigtia & Dixon 2014, Table 2, {_VIA}", decimals=2)
    for method, value in (("MFCC", 67.21), ("PMSC", 68.45)):
        out[("baseline", "ismir2004", method, None, "all", True)] = Published(
            value, None, f"Sigtia & Dixon 2014, ISMIR 2004 baseline, {_VIA}",
            note=f"the paper gives one {method} number; compared with our aggregated {method} cell", decimals=2)
    return out


#: Every published cell of the paper: 48 of Table 1, 24 of Table 2, 2 baselines.
PUBLISHED: dict[Key, Published] = _build()


@dataclass(frozen=True)
class Reference:
    """A figure of another paper (or one the paper cites), kept for context, never a cell's value.

    Attributes
    ----------
    paper : str
    dataset : str
        ``"gtzan"``, ``"ismir2004"``, … (the paper's data set, by our names where they match).
    system : str
        What was measured, in the source's words.
    value : float
        Accuracy in percent.
    note : str
    """

    paper: str
    dataset: str
    system: str
    value: float
    note: str = ""


_HAMEL = "Hamel & Eck, ISMIR 2010 (as shown in Hamel's ISMIR 2013 tutorial)"
_SCHINDLER = "Schindler, Lidy & Rauber, FMT 2016 (as shown in the ML Prague 2018 tutorial)"
#: Comparable figures of other papers, from ``PUBLISHED.md``; for later comparisons only.
OTHER_REFERENCES: tuple[Reference, ...] = (
    Reference("Sigtia & Dixon 2014, text", "gtzan", "MFCC features (other authors' result)", 77.0),
    Reference("Sigtia & Dixon 2014, text", "gtzan", "large set of hand-crafted features (other authors' result)",
              83.0),
    Reference(_HAMEL, "gtzan", "MFCC", 79.0),
    Reference(_HAMEL, "gtzan", "DBN on DFT frames, layer 1, aggregated", 80.0),
    Reference(_HAMEL, "gtzan", "DBN on DFT frames, layer 2, aggregated", 83.7),
    Reference(_HAMEL, "gtzan", "DBN on DFT frames, layer 3, aggregated", 83.0),
    Reference(_HAMEL, "gtzan", "DBN on DFT frames, all layers, aggregated", 84.3),
    Reference(_SCHINDLER, "gtzan", "shallow CNN on log-mel, 100 epochs", 78.1, "accuracy by max probability"),
    Reference(_SCHINDLER, "gtzan", "deep CNN on log-mel, 100 epochs", 78.6, "accuracy by max probability"),
    Reference(_SCHINDLER, "gtzan", "shallow CNN on log-mel, 200 epochs", 80.8, "accuracy by max probability"),
    Reference(_SCHINDLER, "gtzan", "deep CNN on log-mel, 200 epochs", 80.6, "accuracy by max probability"),
    Reference(_SCHINDLER, "ismir2004", "shallow CNN on log-mel, 100 epochs", 85.5, "accuracy by max probability"),
    Reference(_SCHINDLER, "ismir2004", "deep CNN on log-mel, 100 epochs", 84.1, "accuracy by max probability"),
    Reference(_SCHINDLER, "ismir2004", "shallow CNN on log-mel, 200 epochs", 84.9, "accuracy by max probability"),
    Reference(_SCHINDLER, "ismir2004", "deep CNN on log-mel, 200 epochs", 85.1, "accuracy by max probability"),
)

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
    """The paper's track accuracy (%) of one cell, or ``None`` when the paper has no such cell.

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
    >>> published_value(1, "Sigmoid+HF", 500, 3, True)
    77.1
    >>> published_value(2, "ReLU+SGD+Dropout", 500, "all", False) is None  # Table 2 is aggregated only
    True
    """
    p = published(table, method, units, layers, aggregate, dataset)
    return None if p is None else p.value


# ----------------------------------------------------------------------------------------------
# Schindler, Lidy & Rauber (FMT 2016) — the second reproduction (``mirlearn reproduce schindler2016``)
# ----------------------------------------------------------------------------------------------
SCHINDLER2016_CITATION = (
    'A. Schindler, T. Lidy and A. Rauber, "Comparing shallow versus deep neural network architectures for '
    'automatic music genre classification", Proc. FMT 2016, as shown in Schindler & Lidy\'s ML Prague 2018 '
    "tutorial")

#: Schindler et al. 2016, accuracy % by max probability (the CNN's own output: the class of the
#: highest mean patch probability), ``dataset -> (shallow 100 epochs, deep 100, shallow 200,
#: deep 200)`` in the column order of ``PUBLISHED.md``; ``None`` where the tutorial shows no
#: figure (MSD at 200 epochs). Datasets by our names: ``gtzan``, ``ismir2004`` (ISMIR 2004
#: genre), ``latin`` (Latin Music Database), ``msd`` (Million Song Dataset subset).
SCHINDLER2016_ROWS: dict[str, tuple[float | None, float | None, float | None, float | None]] = {
    "gtzan": (78.1, 78.6, 80.8, 80.6),
    "ismir2004": (85.5, 84.1, 84.9, 85.1),
    "latin": (92.4, 94.4, 93.5, 95.1),
    "msd": (63.9, 67.2, None, None),
}

#: The column order of :data:`SCHINDLER2016_ROWS`: (net, epochs).
SCHINDLER2016_COLUMNS: tuple[tuple[str, int], ...] = (("shallow", 100), ("deep", 100), ("shallow", 200),
                                                       ("deep", 200))

#: How the datasets of :data:`SCHINDLER2016_ROWS` are named in a report.
SCHINDLER2016_DATASETS: dict[str, str] = {"gtzan": "GTZAN", "ismir2004": "ISMIR 2004 genre",
                                          "latin": "Latin Music Database", "msd": "MSD"}


def schindler2016_published(dataset: str, net: str, epochs: int) -> Published | None:
    """Schindler et al.'s accuracy (max probability) of a net on a dataset, or ``None`` when unknown.

    Parameters
    ----------
    dataset : ``"gtzan"``, ``"ismir2004"``, ``"latin"`` or ``"msd"`` (case ignored); any other
        dataset has no published figure.
    net : ``"shallow"`` or ``"deep"``
    epochs : 100 or 200 (the two training lengths the paper reports)

    Examples
    --------
    >>> schindler2016_published("gtzan", "deep", 200).value
    80.6
    >>> schindler2016_published("msd", "deep", 200) is None
    True
    """
    row = SCHINDLER2016_ROWS.get(str(dataset).lower())
    if row is None or (net, epochs) not in SCHINDLER2016_COLUMNS:
        return None
    value = row[SCHINDLER2016_COLUMNS.index((net, epochs))]
    if value is None:
        return None
    return Published(value, None, f"Schindler et al. 2016, {net} CNN, {epochs} epochs, "
                     f"{SCHINDLER2016_DATASETS[str(dataset).lower()]}, {_VIA}",
                     "accuracy by max probability; the paper's protocol differs (see the report)", decimals=1)

"""Named feature layers: which of a learner's layers become features, and the feature cells.

Every learner declares its feature layers by name, in order, with their widths (the MLP:
``"1"``, ``"2"``, ``"3"``; a CNN may name its blocks). A *layer selection* is ``"all"`` (every
declared layer, concatenated in order), one name (``"2"`` or ``2``) or a sequence of names. A
*feature cell* (:class:`FeatureSpec`) is a layer selection with or without aggregation over
windows; the protocol evaluates every cell of a configuration with a forest and a vote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from mirlearn.errors import MirlearnError
from mirlearn.features.frameset import FrameSet

__all__ = ["LayerSpec", "FeatureSpec", "select_layers", "check_layer_names", "layer_columns",
           "parse_layers", "cell_features"]

#: A layer selection as users write it: ``"all"``, ``"2"``, ``2`` or ``("1", "3")``.
LayerSpec = int | str | Sequence[int | str]


def select_layers(layers: LayerSpec, names: Sequence[str]) -> tuple[str, ...]:
    """Normalise a layer selection to a tuple of declared layer names (in the asked order).

    Parameters
    ----------
    layers : ``"all"``, a name, an int (the name ``str(int)``) or a sequence of those
    names : the learner's feature layers, in order

    Raises
    ------
    MirlearnError
        When the selection is empty or names a layer the learner does not have.
    """
    names = [str(n) for n in names]
    if isinstance(layers, str) and layers == "all":
        return tuple(names)
    items = [layers] if isinstance(layers, (str, int, np.integer)) else list(layers)
    out = tuple(str(int(x)) if isinstance(x, (int, np.integer)) else str(x) for x in items)
    bad = [x for x in out if x not in names]
    if not out or bad:
        raise MirlearnError(f"layers {layers!r} not among the learner's feature layers "
                            f"{', '.join(names)} or 'all'")
    return out


def check_layer_names(selections: Sequence[LayerSpec], names: Sequence[str], key: str = "features.layers") -> None:
    """Check every selection of a configuration against a learner's layer names, before work.

    Raises a :class:`MirlearnError` naming the config key, the bad value and the valid names.
    """
    for sel in selections:
        try:
            select_layers(sel, names)
        except MirlearnError:
            raise MirlearnError(f"config key {key}={sel!r}: is not one of "
                                f"{', '.join(list(names) + ['all'])}") from None


def parse_layers(layers: LayerSpec, n_layers: int) -> tuple[int, ...]:
    """1-based layer numbers of a selection among ``n_layers`` layers named ``"1"``…``"n"``."""
    return tuple(int(n) for n in select_layers(layers, [str(k) for k in range(1, n_layers + 1)]))


def layer_columns(widths: Sequence[int] | Mapping[str, int], layers: Sequence[int | str]) -> np.ndarray:
    """Columns of the all-layer feature matrix that hold ``layers``, int64, in the asked order.

    ``widths`` is either a mapping ``name → width`` in the declared order, or a sequence of
    widths of the layers ``"1"``…``"n"`` (then ``layers`` may be 1-based numbers).
    """
    if not isinstance(widths, Mapping):
        widths = {str(k + 1): int(w) for k, w in enumerate(widths)}
    names = list(widths)
    starts = np.concatenate([[0], np.cumsum([widths[n] for n in names])]).astype(np.int64)
    cols = []
    for layer in layers:
        k = names.index(str(layer))
        cols.append(np.arange(starts[k], starts[k + 1]))
    return np.concatenate(cols).astype(np.int64) if cols else np.zeros(0, np.int64)


@dataclass
class FeatureSpec:
    """One feature cell: a layer selection and optional aggregation over windows.

    Attributes
    ----------
    layers : ``"all"`` or a layer name
    aggregate : pool the frames over windows (mean and variance unless ``pool`` says
        otherwise) instead of single frames
    window_seconds, hop_seconds : the aggregation windows, s (with ``timescales``, the rows'
        window is their longest, and ``window_seconds`` is set to it)
    timescales : window lengths, s, pooled side by side in every row
        (:mod:`mirlearn.features.pooling`); ``None``: the one ``window_seconds``
    pool : the statistics of every window (``"mean"``, ``"var"``, ``"max"``, ``"min"``);
        ``None``: mean and variance
    """

    layers: str = "all"
    aggregate: bool = True
    window_seconds: float = 5.0
    hop_seconds: float = 2.5
    timescales: tuple[float, ...] | None = None
    pool: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.timescales is not None:
            self.timescales = tuple(float(t) for t in self.timescales)
            if self.timescales:
                self.window_seconds = max(self.timescales)  # rows are windows of the longest
        if self.pool is not None:
            self.pool = tuple(str(s) for s in self.pool)

    @property
    def name(self) -> str:
        return f"layer-{self.layers}_{'agg' if self.aggregate else 'frames'}"

    @property
    def pooled(self) -> bool:
        """True when the windows are pooled otherwise than by one mean and variance."""
        return self.aggregate and (self.timescales is not None or self.pool is not None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (a cell's fingerprint, a saved model's ``model.json``): ``timescales`` and
        ``pool`` appear only when set, so cells and models made before they existed stay current."""
        d: dict[str, Any] = {"layers": self.layers, "aggregate": self.aggregate,
                             "window_seconds": self.window_seconds, "hop_seconds": self.hop_seconds}
        if self.timescales is not None:
            d["timescales"] = list(self.timescales)
        if self.pool is not None:
            d["pool"] = list(self.pool)
        return d

    def rows(self, fs: FrameSet) -> FrameSet:
        """The rows of this cell from frame-level features ``fs``: ``fs`` itself, or its windows
        (:func:`mirlearn.features.pooling.pool_frameset`; the frames' own time base)."""
        if not self.aggregate:
            return fs
        from mirlearn.features.pooling import pool_frameset

        return pool_frameset(fs, window_seconds=self.window_seconds, hop_seconds=self.hop_seconds,
                             timescales=self.timescales, pool=self.pool)


def cell_features(all_layers: FrameSet, widths: Mapping[str, int] | Sequence[int] | None, spec: FeatureSpec, *,
                  sr: int | None = None, hop_length: int | None = None) -> FrameSet:
    """The features of one cell: the chosen layers of the all-layer matrix, aggregated if asked.

    Parameters
    ----------
    all_layers : every feature layer concatenated in declared order, ``(n_frames, sum widths)``
    widths : the learner's layer widths (``name → width``), or None for a single feature
        matrix (a baseline), of which only ``layers="all"`` exists
    spec : the cell
    sr, hop_length : time base of the frames (Hz, samples); default: the FrameSet's own
    """
    from mirlearn.features.aggregate import aggregate_frameset

    if widths is None:
        if spec.layers != "all":
            raise MirlearnError(f"a baseline has no hidden layers; cell {spec.name} asks for layer {spec.layers}")
        fs = all_layers
    else:
        if not isinstance(widths, Mapping):
            widths = {str(k + 1): int(w) for k, w in enumerate(widths)}
        sel = select_layers(spec.layers, list(widths))
        if list(sel) == list(widths):
            fs = all_layers
        else:
            cols = layer_columns(widths, sel)
            if np.array_equal(cols, np.arange(cols[0], cols[-1] + 1)):
                X = np.ascontiguousarray(all_layers.X[:, cols[0]:cols[-1] + 1])
            else:
                X = np.ascontiguousarray(all_layers.X[:, cols])
            fs = all_layers.with_rows(X)
    if spec.pooled:
        tb = fs.time_base
        for name, given in (("sr", sr), ("hop_length", hop_length)):
            if tb is not None and given is not None and given != getattr(tb, name):
                raise ValueError(f"{name}={given} contradicts the frames' time base ({name}={getattr(tb, name)})")
        if tb is None and (sr is not None or hop_length is not None):
            from mirlearn.features.timebase import TimeBase

            fs = FrameSet(fs.X, fs.offsets, fs.tracks, TimeBase(sr or 22050, hop_length or 512, "features"))
        return spec.rows(fs)
    if spec.aggregate:
        fs = aggregate_frameset(fs, window_seconds=spec.window_seconds, hop_seconds=spec.hop_seconds,
                                sr=sr, hop_length=hop_length)
    return fs


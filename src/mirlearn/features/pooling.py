"""Multi-timescale pooling: statistics of frame features over windows of several lengths.

Hamel, Lemieux, Bengio & Eck, "Temporal pooling and multiscale learning for automatic
annotation and ranking of music audio" (ISMIR 2011), summarise frame features (PMSC, or learned
ones) over time with several pooling functions at once — mean, variance, maximum and minimum
among them — and show that combining pooling functions, and learning at several time scales,
helps. This module is that summary as an aggregation option beside the paper's mean + variance
(:mod:`mirlearn.features.aggregate`): every row pools the frames of one window per time scale,
with each of the chosen statistics, and concatenates them.

Rows and windows
----------------
Rows are laid out as :func:`~mirlearn.features.aggregate.aggregate` lays out windows of the
*longest* scale ``W``: a track of ``n`` frames has ``n_windows(n, W, hop)`` rows (one per hop
while the longest window fits; one row when the track is shorter than ``W``; none when it is
empty). Row ``k`` stands for the span ``[k * hop, k * hop + L)`` with ``L = min(n, W)``, and its
window of scale ``w`` is the ``m = min(w, L)`` frames centred in that span::

    start = k * hop + (L - m) // 2        (the odd frame, if any, left of the centre goes right)

So every scale gives the same number of rows, all windows of a row share its centre (to half a
frame), a window never leaves its track, and a track shorter than a scale's window pools all its
frames at that scale. The row's time (its :class:`~mirlearn.features.timebase.TimeBase`) is
that of the longest window: kind ``"windows"``, ``window_seconds = max(timescales)``.

Columns: for each scale in the given order, for each statistic in the given order, one column
per feature dimension. With one scale and ``("mean", "var")`` this is exactly
:func:`~mirlearn.features.aggregate.aggregate`'s ``[means, variances]``, bit for bit.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mirlearn.features.aggregate import _checked_offsets, _window_stats, aggregate_frameset, n_windows, window_blocks
from mirlearn.features.frameset import FrameSet
from mirlearn.features.timebase import TimeBase, window_frames

__all__ = ["POOLS", "DEFAULT_POOL", "check_pool", "check_timescales", "pool_windows", "pool_frameset",
           "pooled_columns"]

#: Statistics a window can be pooled with: mean, population variance, maximum, minimum.
POOLS = ("mean", "var", "max", "min")
#: The paper's (Sigtia & Dixon) statistics, and the default.
DEFAULT_POOL = ("mean", "var")


def check_pool(pool: Sequence[str]) -> tuple[str, ...]:
    """``pool`` as a tuple, checked: one or more of :data:`POOLS`, none twice.

    Raises
    ------
    ValueError
        Naming the bad entry and the known statistics.
    """
    if isinstance(pool, str):
        raise ValueError(f"pool must be a list of statistics, got the string {pool!r}")
    out = tuple(pool)
    if not out:
        raise ValueError(f"pool must name at least one statistic of {', '.join(POOLS)}")
    for s in out:
        if s not in POOLS:
            raise ValueError(f"unknown pooling statistic {s!r}; known: {', '.join(POOLS)}")
    if len(set(out)) != len(out):
        raise ValueError(f"pool names a statistic twice: {list(out)}")
    return out


def check_timescales(timescales: Sequence[float], sr: int | None = None,
                     hop_length: int | None = None) -> tuple[float, ...]:
    """``timescales`` (window lengths, s) as a tuple of floats, checked: one or more, each a
    positive finite number, no two equal; with ``sr`` and ``hop_length`` (the rows' rate), also
    each at least one frame long and no two rounded to the same number of frames.

    Raises
    ------
    ValueError
        Naming the bad value.
    """
    if isinstance(timescales, (str, bytes)) or not hasattr(timescales, "__len__"):
        raise ValueError(f"timescales must be a list of window lengths in seconds, got {timescales!r}")
    out = []
    for t in timescales:
        if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)) \
                or not np.isfinite(t) or t <= 0:
            raise ValueError(f"every time scale must be a positive number of seconds, got {t!r}")
        out.append(float(t))
    if not out:
        raise ValueError("timescales must hold at least one window length (s)")
    if len(set(out)) != len(out):
        raise ValueError(f"timescales holds a window length twice: {out}")
    if sr is not None and hop_length is not None:
        frames: dict[int, float] = {}
        for t in out:
            n = window_frames(t, sr, hop_length)  # raises below one frame
            if n in frames:
                raise ValueError(f"time scales {frames[n]:g} s and {t:g} s are both {n} frames "
                                 f"({hop_length / sr * 1000:.1f} ms each): give lengths that differ by a frame")
            frames[n] = t
    return tuple(out)


def pool_windows(X: np.ndarray, offsets: np.ndarray, *, windows: Sequence[int], hop: int,
                 pool: Sequence[str] = DEFAULT_POOL) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of the features over windows of several lengths, one row per hop.

    Parameters
    ----------
    X : np.ndarray [shape=(n_frames, dim)]
        Frame features of all tracks, track after track; may be memory-mapped (one block of a
        track is read at a time, as :func:`~mirlearn.features.aggregate.aggregate` reads it).
    offsets : np.ndarray [shape=(n_tracks + 1,)], int
        The frames of track ``i`` are ``X[offsets[i]:offsets[i + 1]]``.
    windows : sequence of int
        Window lengths, in frames, one per time scale (distinct); rows follow the longest.
    hop : int
        Hop between rows, in frames.
    pool : sequence of str
        Statistics among :data:`POOLS`, in column order (population variance, ``ddof=0``).

    Returns
    -------
    Xp : np.ndarray [shape=(n_rows_total, len(windows) * len(pool) * dim)], float32
        Per row, for each window length in order, each statistic in order: ``dim`` columns.
        Windows as the module docstring states (centred in the row's span, clipped to the
        track).
    offsets_p : np.ndarray [shape=(n_tracks + 1,)], int64
        The rows of track ``i`` are ``Xp[offsets_p[i]:offsets_p[i + 1]]``.

    Examples
    --------
    >>> X = np.arange(6, dtype=np.float32)[:, None]
    >>> pool_windows(X, np.array([0, 6]), windows=[4, 2], hop=2, pool=["mean", "max"])[0]
    array([[1.5, 3. , 1.5, 2. ],
           [3.5, 5. , 3.5, 4. ]], dtype=float32)
    """
    windows = [int(w) for w in windows]
    pool = check_pool(pool)
    if not windows or min(windows) < 1 or hop < 1:
        raise ValueError(f"windows and hop must be at least 1 frame, got {windows} and {hop}")
    if len(set(windows)) != len(windows):
        raise ValueError(f"window lengths must differ, got {windows} frames")
    offsets = _checked_offsets(X, offsets)
    dim = int(X.shape[1])
    counts = n_windows(np.diff(offsets), max(windows), hop)
    offsets_p = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    width = len(pool) * dim
    Xp = np.empty((int(offsets_p[-1]), len(windows) * width), dtype=np.float32)
    # The blocks of aggregate() with the longest window: one scale of mean + var reads the very
    # same blocks and gives the very same bits.
    for i, rows, block, starts, span in window_blocks(X, offsets, counts, max(windows), hop):
        out = Xp[offsets_p[i] + rows.start:offsets_p[i] + rows.stop]
        for s, w in enumerate(windows):
            m = min(w, span)  # centred in the row's span of the longest window
            _block_stats(block, starts + (span - m) // 2, m, pool, out[:, s * width:(s + 1) * width])
    return Xp, offsets_p


def _block_stats(block: np.ndarray, starts: np.ndarray, window: int, pool: tuple[str, ...],
                 out: np.ndarray) -> None:
    """Write ``pool``'s statistics of ``block[s:s + window]`` for each ``s`` in ``starts`` to
    ``out`` [shape=(len(starts), len(pool) * dim)], one ``dim``-wide column block per statistic."""
    dim = block.shape[1]
    col = {s: slice(p * dim, (p + 1) * dim) for p, s in enumerate(pool)}
    if "mean" in col or "var" in col:
        mv = np.empty((len(starts), 2 * dim), dtype=np.float32)
        _window_stats(block, starts, window, mv)  # float64 shifted sums: exact variances
        if "mean" in col:
            out[:, col["mean"]] = mv[:, :dim]
        if "var" in col:
            out[:, col["var"]] = mv[:, dim:]
    extremes = [(s, f) for s, f in (("max", np.maximum), ("min", np.minimum)) if s in col]
    if not extremes:
        return
    # Extremes of the segments between window boundaries (each frame read once), then of
    # the few segments each window covers.
    ends = starts + window
    bounds = np.unique(np.concatenate([starts, ends]))
    ps, pe = np.searchsorted(bounds, starts), np.searchsorted(bounds, ends)
    rows = np.asarray(block[int(bounds[0]):int(bounds[-1])])
    cuts = (bounds[:-1] - bounds[0]).astype(np.intp)
    for name, f in extremes:
        seg = f.reduceat(rows, cuts, axis=0)
        for j in range(len(starts)):
            out[j, col[name]] = f.reduce(seg[ps[j]:pe[j]], axis=0)


def pooled_columns(names: Sequence[str], *, pool: Sequence[str] = DEFAULT_POOL,
                   timescales: Sequence[float] | None = None) -> list[str]:
    """Column names of pooled rows of features named ``names``, in :func:`pool_windows`'s order.

    One scale (``timescales`` None or of one length): ``<name>_<stat>`` (``layer2_unit007_mean``,
    the names of :mod:`mirlearn.features.aggregate`'s columns); several: ``<name>_<stat>_<w>s``
    (``layer2_unit007_max_2.5s``).
    """
    several = timescales is not None and len(timescales) > 1
    scales = list(timescales) if several else [None]
    return [f"{n}_{stat}" + (f"_{w:g}s" if w is not None else "")
            for w in scales for stat in pool for n in names]


def pool_frameset(fs: FrameSet, *, window_seconds: float = 5.0, hop_seconds: float = 2.5,
                  timescales: Sequence[float] | None = None, pool: Sequence[str] | None = None) -> FrameSet:
    """Pool the features of a :class:`FrameSet` over windows of one or several lengths.

    Parameters
    ----------
    fs : FrameSet
        Frame features (not windows), with their time base (22050 Hz, hop 512 assumed without).
    window_seconds : float
        The window, s, when ``timescales`` is None.
    hop_seconds : float
        Hop between rows, s.
    timescales : sequence of float or None
        Window lengths, s, pooled side by side (:func:`pool_windows`); ``None``: the one
        ``window_seconds``.
    pool : sequence of str or None
        Statistics (:data:`POOLS`); ``None``: mean and variance.

    Returns
    -------
    FrameSet
        One row per hop; ``X`` of shape ``(n_rows, n_scales * n_stats * dim)`` float32. With
        ``timescales`` and ``pool`` both None, exactly
        :func:`~mirlearn.features.aggregate.aggregate_frameset`. Its time base has kind
        ``"windows"``, the longest window and the hop.

    Raises
    ------
    ValueError
        A bad statistic or time scale, two scales of the same number of frames, or ``fs``
        holding windows already.
    """
    if timescales is None and pool is None:
        return aggregate_frameset(fs, window_seconds=window_seconds, hop_seconds=hop_seconds)
    tb = fs.time_base
    if tb is not None and tb.is_windows:
        raise ValueError("this FrameSet holds aggregated windows already; pool its frames instead")
    if tb is None:
        tb = TimeBase(22050, 512, "frames")
    scales = (float(window_seconds),) if timescales is None else check_timescales(timescales, tb.sr, tb.hop_length)
    stats = DEFAULT_POOL if pool is None else check_pool(pool)
    windows = [window_frames(t, tb.sr, tb.hop_length) for t in scales]
    hop = window_frames(hop_seconds, tb.sr, tb.hop_length)
    Xp, offsets_p = pool_windows(fs.X, fs.offsets, windows=windows, hop=hop, pool=stats)
    return FrameSet(Xp, offsets_p, fs.tracks, tb.windows(max(scales), hop_seconds))

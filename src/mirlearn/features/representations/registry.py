"""The registry of frame kinds: what :func:`frames` can compute on each frame of a signal.

A frame kind is a name (``"fft"``, ``"logmel"``, ``"mfcc"``) bound to two functions of the
frame settings: one computes the frame matrix of a signal, one says how many values a frame
has (known before any audio is read, so that a cache can be sized and a config checked). Each
kind lives in its own module of :mod:`mirlearn.features.representations`, which registers it
on import; adding a kind (CQT, say) is one new module and one import line in the package's
``__init__``.

Examples
--------
>>> def half_fft(y, s):                                              # doctest: +SKIP
...     return magnitude_frames(y, n_fft=s.n_fft, hop_length=s.hop_length)[:, ::2]
>>> register_kind("halffft", half_fft, lambda s: (s.n_fft // 2 + 2) // 2)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:  # the settings module imports this one; no import at run time
    from mirlearn.features.settings import FrameSettings

#: ``compute(y, settings)``: mono float audio at ``settings.sr`` Hz of shape ``(n_samples,)``
#: -> float32 frames of shape ``(n_frames, dim)``, one row per frame of the settings' framing.
ComputeFn = Callable[[np.ndarray, "FrameSettings"], np.ndarray]
#: ``dim(settings)``: values per frame, an int >= 1.
DimFn = Callable[["FrameSettings"], int]
#: ``check(settings)``: raises :class:`FrameSettingError` when the kind's settings do not go
#: together (e.g. ``fmax`` above ``sr / 2``); called when the settings are made.
CheckFn = Callable[["FrameSettings"], None]


class FrameSettingError(ValueError):
    """A frame setting has a value it cannot have.

    Defined here so that the kinds' checks can raise it; :mod:`mirlearn.features.settings`
    exports it (``from mirlearn.features.settings import FrameSettingError``).

    Attributes
    ----------
    key : str
        The setting, e.g. ``"hop_length"``.
    value : object
        The value given.
    what : str
        What the value must be, e.g. ``"must be a positive integer"``.
    """

    def __init__(self, key: str, value: Any, what: str) -> None:
        self.key, self.value, self.what = key, value, what
        super().__init__(f"{key}={value!r}: {what}")


@dataclass(frozen=True)
class FrameKind:
    """One registered frame kind.

    Attributes
    ----------
    name : str
        The name used in :class:`~mirlearn.features.settings.FrameSettings` ``kind``.
    compute : ComputeFn
        Frames of a signal for given settings.
    dim : DimFn
        Values per frame for given settings.
    description : str
        One line for people (shown by :func:`describe_kinds`).
    params : tuple of str
        The settings beyond the framing that the kind reads (``("n_mels", "fmin", "fmax",
        "top_db")`` for ``"logmel"``): only these enter the settings' ``to_dict()``, hence
        the cache key, and only when they differ from their defaults.
    check : CheckFn or None
        Checks that the kind's settings go together, when the settings are made.
    """

    name: str
    compute: ComputeFn
    dim: DimFn
    description: str = ""
    params: tuple[str, ...] = ()
    check: CheckFn | None = None


_KINDS: dict[str, FrameKind] = {}


def register_kind(name: str, compute_fn: ComputeFn, dim_fn: DimFn, *, description: str = "",
                  params: tuple[str, ...] = (), check: CheckFn | None = None,
                  replace: bool = False) -> FrameKind:
    """Make ``name`` a frame kind that :func:`frames` and the frame cache know.

    Parameters
    ----------
    name : str
        Lower-case identifier, e.g. ``"cqt"``.
    compute_fn : callable ``(y, settings) -> np.ndarray [shape=(n_frames, dim)]``, float32
    dim_fn : callable ``(settings) -> int``
    description : str
        One line saying what a frame holds.
    params : tuple of str
        Settings beyond the framing that ``compute_fn`` and ``dim_fn`` read (names of
        :class:`~mirlearn.features.settings.FrameSettings` fields).
    check : callable ``(settings) -> None``, optional
        Raises :class:`FrameSettingError` for settings the kind cannot use.
    replace : bool
        Allow replacing an existing kind (for tests and experiments); otherwise registering
        a name twice raises, so that two modules cannot silently fight over one name.

    Returns
    -------
    FrameKind
    """
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise ValueError(f"a frame kind name must be a lower-case identifier, got {name!r}")
    if name in _KINDS and not replace:
        raise ValueError(f"frame kind {name!r} is registered already")
    entry = FrameKind(name, compute_fn, dim_fn, description, tuple(params), check)
    _KINDS[name] = entry
    return entry


def unregister_kind(name: str) -> None:
    """Forget the kind ``name`` (a no-op when it is not registered)."""
    _KINDS.pop(name, None)


def kind(name: str) -> FrameKind:
    """The registered kind called ``name``.

    Raises
    ------
    ValueError
        ``unknown frame kind 'x'; known: ...``.
    """
    try:
        return _KINDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown frame kind {name!r}; known: {', '.join(kinds())}") from None


def kinds() -> tuple[str, ...]:
    """Names of the registered kinds, in registration order."""
    return tuple(_KINDS)


def describe_kinds() -> dict[str, str]:
    """``{name: description}`` of every registered kind."""
    return {k.name: k.description for k in _KINDS.values()}


def frames(y: np.ndarray, settings: "FrameSettings") -> np.ndarray:
    """Frames of kind ``settings.kind`` for a mono signal decoded at ``settings.sr``.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio at ``settings.sr`` Hz. ``settings.max_seconds`` is not applied here (it
        is a decoding setting); pass the samples to frame.
    settings : FrameSettings

    Returns
    -------
    np.ndarray [shape=(n_frames, settings.dim)], float32
        ``n_frames`` as :func:`~mirlearn.features.settings.frame_count`.

    Raises
    ------
    ValueError
        If ``y`` is shorter than one frame, or the kind is not registered.
    """
    return kind(settings.kind).compute(y, settings)

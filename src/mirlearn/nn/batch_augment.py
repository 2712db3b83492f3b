"""Cheap augmentations applied to each training batch: gain, SpecAugment masks, mixup.

The training loops call :func:`apply` on every *training* batch, after the batch is drawn and
standardised and before the forward pass (never on validation or test batches). Input is
either a batch of CNN patches ``x`` [shape=(B, bands, frames)] or a batch of MLP frames
``x`` [shape=(B, dim)], float32, standardised per band (``(v - mean) / std``, see
:class:`mirlearn.nn.patches.BandStandardizer` and :class:`mirlearn.features.standardize.Standardizer`).

Three transforms, applied in this order:

1. **Gain** — each example gets its own gain ``g`` drawn uniformly in
   ``[-gain_db, +gain_db]`` dB. It is exact in the *unstandardised* domain ``v``: a dB
   representation (``"logmel"``, ``"cqt"``: ``10 log10`` of a power) becomes ``v + g``; |FFT|
   magnitudes (``"fft"``) become ``v · k`` with ``k = 10**(g / 20)``. For ``"mfcc"`` a gain only
   moves the 0-th coefficient (the DCT of a constant dB offset is non-zero in c0 alone), so it
   is refused rather than faked. Because the batch arrives standardised, ``x = (v - m) / s``
   (per band), the gain is applied there as an affine map per example and band:

   - dB: ``x' = ((v + g) - m) / s = x + g / s``;
   - fft: ``x' = (v·k - m) / s = ((x·s + m)·k - m) / s = k·x + (m / s)·(k - 1)``.

   Without a standardizer, ``x`` is taken as unstandardised (``m = 0``, ``s = 1``). Exactness
   holds above the representations' floors (the -100 dB ``amin`` floor is absolute, so a
   floored value moves where recomputing from louder audio would not), and the zero padding of
   a track shorter than one patch is shifted like real frames.
2. **Masks** (SpecAugment, Park et al. 2019) — per example, ``time_masks`` masks each
   ``w ~ U{0, ..., time_mask_frames}`` frames wide at a start uniform over the ``frames - w + 1``
   places where it fits, and likewise ``freq_masks`` masks up to ``freq_mask_bands`` bands wide.
   Masks may overlap. The masked values are set to **0 in the standardised domain**, i.e. to the
   band's training mean: SpecAugment's choice on normalised input (it masks with the mean,
   which is 0 after normalisation), and the value :func:`mirlearn.nn.patches.gather` already
   pads with. Time masks need a time axis: on (B, dim) frames they are refused; frequency masks
   on frames mask dimensions of the frame.
3. **Mixup** (Zhang et al., ICLR 2018) — ``λ ~ Beta(α, α)`` **once per batch**, the batch mixed
   with a random permutation of itself, ``x' = λ x + (1 - λ) x[perm]``, and the targets become
   soft labels ``λ onehot(y) + (1 - λ) onehot(y[perm])`` [shape=(B, n_classes)], which
   ``torch.nn.functional.cross_entropy`` accepts as class probabilities. One λ per batch is the
   paper's recipe and its reference code's (one draw per minibatch); a per-example λ has the
   same expected mixing but would make every row's loss weight differ in a way the published
   results were not measured with.

Random numbers. Every draw comes from the ``torch.Generator`` the loop owns, which must be a
**CPU** generator (the draws are made on the CPU and moved to ``x``'s device), so that a run
resumed from a checkpoint (which saves the generator's state) is bitwise the same as an
uninterrupted one. The draws are made by :func:`draw` from the batch's *shape* alone, never its
values, and their number is fixed by the configuration and the shape (the Beta variate uses a
fixed budget of candidates, see :func:`beta_sample`), so a batch never advances the generator
by a data-dependent amount.

Examples
--------
>>> aug = BatchAugment(gain_db=6.0, time_masks=2, time_mask_frames=8, mixup_alpha=0.2)
>>> g = torch.Generator().manual_seed(0)
>>> x, y = torch.zeros(4, 16, 32), torch.tensor([0, 1, 2, 1])
>>> xa, t = apply(aug, x, y, 3, g, representation="logmel")
>>> xa.shape, t.shape, bool(torch.allclose(t.sum(1), torch.ones(4, dtype=t.dtype)))
(torch.Size([4, 16, 32]), torch.Size([4, 3]), True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence

import torch

from mirlearn.errors import ConfigError, MirlearnError

__all__ = ["AugmentDraw", "BatchAugment", "DB_REPRESENTATIONS", "GAIN_REPRESENTATIONS", "apply", "apply_draw",
           "apply_padded", "beta_sample", "draw"]

#: Representations in dB (``10 log10`` of a power): a gain of ``g`` dB adds ``g``.
DB_REPRESENTATIONS: frozenset[str] = frozenset({"logmel", "cqt"})
#: Representations a gain is defined on: the dB ones, and |FFT| magnitudes (multiplied).
GAIN_REPRESENTATIONS: frozenset[str] = DB_REPRESENTATIONS | {"fft"}

#: The config section the fields live in, for error messages (``augment.gain_db``).
_SECTION = "augment"
#: Marsaglia–Tsang candidates drawn per Gamma variate. Each is accepted with probability
#: >= 0.95 (shape >= 1), so all 32 fail with probability < 1e-41: a fixed number of draws
#: instead of a loop whose length depends on the values drawn.
_GAMMA_CANDIDATES = 32


@dataclass(frozen=True)
class BatchAugment:
    """Settings of the per-batch augmentations (all off by default).

    Attributes
    ----------
    gain_db : float
        Each example's gain is uniform in ``[-gain_db, +gain_db]`` dB; 0 is off.
    time_masks : int
        SpecAugment time masks per example; 0 is off.
    time_mask_frames : int
        Largest time mask, in frames (each mask's width is uniform in ``0..time_mask_frames``);
        0 is off.
    freq_masks : int
        Frequency masks per example; 0 is off.
    freq_mask_bands : int
        Largest frequency mask, in bands (frame dimensions for MLP frames); 0 is off.
    mixup_alpha : float
        Mixup's ``α``: ``λ ~ Beta(α, α)`` per batch; 0 is off.

    Notes
    -----
    A mask count with a zero width (or the reverse) is off, not an error, so that either
    setting alone turns masking off (``--set augment.time_masks=0``).
    """

    gain_db: float = 0.0
    time_masks: int = 0
    time_mask_frames: int = 0
    freq_masks: int = 0
    freq_mask_bands: int = 0
    mixup_alpha: float = 0.0

    # -- which transforms are on ---------------------------------------------------------------
    @property
    def gain_on(self) -> bool:
        return self.gain_db > 0

    @property
    def time_masks_on(self) -> bool:
        return self.time_masks > 0 and self.time_mask_frames > 0

    @property
    def freq_masks_on(self) -> bool:
        return self.freq_masks > 0 and self.freq_mask_bands > 0

    @property
    def mixup_on(self) -> bool:
        return self.mixup_alpha > 0

    @property
    def enabled(self) -> bool:
        """Whether any transform is on (when not, :func:`apply` returns its input untouched)."""
        return self.gain_on or self.time_masks_on or self.freq_masks_on or self.mixup_on

    # -- checks --------------------------------------------------------------------------------
    def validate(self, shape: Sequence[int] | None = None, *, representation: str | None = None) -> "BatchAugment":
        """Check the settings, and that they fit an input; ``self`` when they do.

        Parameters
        ----------
        shape : sequence of int, or None
            The shape of **one example** (no batch axis): ``(bands, frames)`` for a CNN patch,
            ``(dim,)`` for an MLP frame. When given, masks wider than the input, and time masks
            on frames (no time axis), are refused.
        representation : str or None
            The frame kind (``"fft"``, ``"logmel"``, ``"cqt"``, ``"mfcc"``, ...). When given and
            the gain is on, a kind the gain is not exact on is refused (``"mfcc"``: a gain only
            moves c0).

        Raises
        ------
        ConfigError
            One line naming the field (``augment.<field>``) and the cause.
        """
        for f in ("gain_db", "mixup_alpha"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"{_SECTION}.{f} must be a number, got {v!r}")
            if not math.isfinite(v) or v < 0:
                raise ConfigError(f"{_SECTION}.{f} must be a finite number >= 0 (0 is off), got {v!r}")
        for f in ("time_masks", "time_mask_frames", "freq_masks", "freq_mask_bands"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"{_SECTION}.{f} must be an integer >= 0, got {v!r}")
            if v < 0:
                raise ConfigError(f"{_SECTION}.{f} must be >= 0 (0 is off), got {v}")
        if shape is not None:
            shape = tuple(int(s) for s in shape)
            if len(shape) not in (1, 2):
                raise MirlearnError(f"an example must be (bands, frames) or (dim,), got shape {shape}")
            if self.time_masks_on:
                if len(shape) == 1:
                    raise ConfigError(f"{_SECTION}.time_masks={self.time_masks}: time masks need patches "
                                      f"(bands, frames); this learner sees single frames of {shape[0]} values")
                if self.time_mask_frames > shape[1]:
                    raise ConfigError(f"{_SECTION}.time_mask_frames={self.time_mask_frames} is wider than the "
                                      f"input's {shape[1]} frames")
            if self.freq_masks_on and self.freq_mask_bands > shape[0]:
                raise ConfigError(f"{_SECTION}.freq_mask_bands={self.freq_mask_bands} is wider than the "
                                  f"input's {shape[0]} bands")
        if representation is not None and self.gain_on:
            if representation == "mfcc":
                raise ConfigError(f"{_SECTION}.gain_db={self.gain_db}: a gain on MFCCs only moves c0 (the DCT of "
                                  f"a constant dB offset); set it to 0 for representation 'mfcc'")
            if representation not in GAIN_REPRESENTATIONS:
                raise ConfigError(f"{_SECTION}.gain_db={self.gain_db}: no exact gain for representation "
                                  f"{representation!r} (known: {', '.join(sorted(GAIN_REPRESENTATIONS))})")
        return self

    # -- saving --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-ready settings: every field, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "BatchAugment":
        """Settings from :meth:`to_dict`'s form; missing fields take their defaults.

        Integral floats (``2.0``) are accepted for the integer fields. Unknown keys, wrong types
        and out-of-range values raise :class:`ConfigError` naming the field.
        """
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ConfigError(f"{_SECTION}.{unknown[0]} is not a batch augmentation setting; known: "
                              f"{', '.join(known)}")
        kw: dict[str, Any] = {}
        for name, v in d.items():
            if isinstance(v, bool):
                raise ConfigError(f"{_SECTION}.{name} must be a number, got {v!r}")
            if known[name].type in (int, "int"):
                if isinstance(v, float) and v.is_integer():
                    v = int(v)
            elif isinstance(v, int):
                v = float(v)
            kw[name] = v
        return cls(**kw).validate()


@dataclass(frozen=True)
class AugmentDraw:
    """The random parameters of one batch, all on the CPU (a pure function of the generator
    state, the settings and the batch shape).

    Attributes
    ----------
    gain_db : torch.Tensor [shape=(B,)], float64, or None
        Each example's gain, dB.
    time_start, time_width : torch.Tensor [shape=(B, time_masks)], int64, or None
        First masked frame and width (frames) of every time mask.
    freq_start, freq_width : torch.Tensor [shape=(B, freq_masks)], int64, or None
        First masked band and width (bands) of every frequency mask.
    lam : float or None
        Mixup's λ (weight of the batch itself).
    perm : torch.Tensor [shape=(B,)], int64, or None
        Mixup's partner of every example.
    """

    gain_db: torch.Tensor | None = None
    time_start: torch.Tensor | None = None
    time_width: torch.Tensor | None = None
    freq_start: torch.Tensor | None = None
    freq_width: torch.Tensor | None = None
    lam: float | None = None
    perm: torch.Tensor | None = None


def _check_generator(generator: torch.Generator) -> None:
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise ValueError("batch augmentation draws from a CPU torch.Generator (so that resumed runs are "
                         f"bitwise the same on any device), got {generator!r}")


def _log_gamma_sample(shape_a: float, n: int, generator: torch.Generator) -> torch.Tensor:
    """``log`` of ``n`` Gamma(``shape_a``, 1) variates, float64, from a fixed number of draws.

    Marsaglia & Tsang (2000) on shape ``a + 1 >= 1`` with :data:`_GAMMA_CANDIDATES` candidates
    drawn at once (the first accepted one is taken), then the boost
    ``Gamma(a) = Gamma(a + 1) · U**(1/a)``, in logs so that a small ``a`` cannot underflow.
    """
    a1 = shape_a + 1.0
    d = a1 - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    z = torch.randn((n, _GAMMA_CANDIDATES), generator=generator, dtype=torch.float64)
    # 1 - U lies in (0, 1]: no log(0).
    u = 1.0 - torch.rand((n, _GAMMA_CANDIDATES), generator=generator, dtype=torch.float64)
    boost = 1.0 - torch.rand((n,), generator=generator, dtype=torch.float64)
    v = (1.0 + c * z) ** 3
    ok = v > 0
    log_v = torch.log(torch.where(ok, v, torch.ones_like(v)))
    accept = ok & (torch.log(u) < 0.5 * z * z + d - d * v + d * log_v)
    # First accepted candidate; if none were (p < 1e-41), v = 1, the distribution's mode region.
    first = torch.where(accept.any(1), accept.to(torch.int8).argmax(1), torch.full((n,), -1))
    picked = log_v.gather(1, first.clamp(min=0)[:, None])[:, 0]
    log_dv = torch.where(first >= 0, picked, torch.zeros(n, dtype=torch.float64))
    return math.log(d) + log_dv + torch.log(boost) / shape_a


def beta_sample(alpha: float, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` variates of the symmetric Beta(``alpha``, ``alpha``), float64, on the CPU.

    ``X / (X + Y)`` with ``X, Y ~ Gamma(alpha)`` (computed as ``sigmoid(log X - log Y)``), each
    Gamma from a fixed number of draws of ``generator`` (torch's own Beta sampler takes no
    generator). Draws ``2 · n · (2 · 32 + 1)`` numbers, whatever the values.
    """
    if not alpha > 0 or not math.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha}")
    _check_generator(generator)
    log_x = _log_gamma_sample(float(alpha), n, generator)
    log_y = _log_gamma_sample(float(alpha), n, generator)
    return torch.sigmoid(log_x - log_y)


def _mask_draw(n_examples: int, n_masks: int, max_width: int, length: int,
               generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Widths uniform in ``0..max_width`` and starts uniform over the ``length - w + 1`` places."""
    width = torch.randint(0, max_width + 1, (n_examples, n_masks), generator=generator, dtype=torch.int64)
    u = torch.rand((n_examples, n_masks), generator=generator, dtype=torch.float64)
    room = length - width + 1
    start = torch.minimum((u * room).to(torch.int64), room - 1)
    return start, width


def draw(aug: BatchAugment, shape: Sequence[int], generator: torch.Generator) -> AugmentDraw:
    """The random parameters of one batch of ``shape`` ``(B, bands, frames)`` or ``(B, dim)``.

    Draws in a fixed order (gain, time masks, frequency masks, mixup's λ then its permutation),
    only for the transforms that are on; how many numbers are drawn depends on ``aug`` and
    ``shape`` alone.
    """
    _check_generator(generator)
    shape = tuple(int(s) for s in shape)
    aug.validate(shape[1:])
    B = shape[0]
    gain = t_start = t_width = f_start = f_width = lam = perm = None
    if aug.gain_on:
        u = torch.rand((B,), generator=generator, dtype=torch.float64)
        gain = (2.0 * u - 1.0) * float(aug.gain_db)
    if aug.time_masks_on:
        t_start, t_width = _mask_draw(B, aug.time_masks, aug.time_mask_frames, shape[2], generator)
    if aug.freq_masks_on:
        f_start, f_width = _mask_draw(B, aug.freq_masks, aug.freq_mask_bands, shape[1], generator)
    if aug.mixup_on:
        lam = float(beta_sample(float(aug.mixup_alpha), 1, generator)[0])
        perm = torch.randperm(B, generator=generator, dtype=torch.int64)
    return AugmentDraw(gain_db=gain, time_start=t_start, time_width=t_width, freq_start=f_start,
                       freq_width=f_width, lam=lam, perm=perm)


def _band_stats(standardizer: Any, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-band mean and std (float64, CPU) of a fitted standardizer: ``mean_`` and ``std_`` (or
    ``scale_``, :class:`mirlearn.features.standardize.Standardizer`'s name for it)."""
    mean = getattr(standardizer, "mean_", None)
    std = getattr(standardizer, "std_", None)
    if std is None:
        std = getattr(standardizer, "scale_", None)
    if mean is None or std is None:
        raise MirlearnError("the standardizer given to the batch augmentation is not fitted (no mean_/std_)")
    mean = torch.as_tensor(mean, dtype=torch.float64).reshape(-1)
    std = torch.as_tensor(std, dtype=torch.float64).reshape(-1)
    if mean.shape != (n,) or std.shape != (n,):
        raise MirlearnError(f"the standardizer has {mean.shape[0]} bands, the batch {n}")
    return mean, std


def _gain_affine(gain_db: torch.Tensor, representation: str, standardizer: Any,
                 n_bands: int) -> tuple[torch.Tensor | None, torch.Tensor]:
    """``(scale, offset)`` [shape=(B, bands)] of ``x' = scale · x + offset`` (scale ``None`` = 1),
    in float64 on the CPU; see the module docstring for the algebra."""
    if standardizer is None:
        mean = torch.zeros(n_bands, dtype=torch.float64)
        std = torch.ones(n_bands, dtype=torch.float64)
    else:
        mean, std = _band_stats(standardizer, n_bands)
    g = gain_db[:, None]
    if representation in DB_REPRESENTATIONS:
        return None, g / std[None, :]                       # x + g / s
    k = torch.pow(10.0, g / 20.0)                            # |FFT| amplitude factor
    return k.expand(-1, n_bands), (mean / std)[None, :] * (k - 1.0)  # k·x + (m / s)(k - 1)


def _span_mask(start: torch.Tensor, width: torch.Tensor, length: int) -> torch.Tensor:
    """``(B, length)`` bool: True inside any of the ``(B, n)`` spans ``[start, start + width)``."""
    pos = torch.arange(length, dtype=torch.int64)
    inside = (pos[None, None, :] >= start[:, :, None]) & (pos[None, None, :] < (start + width)[:, :, None])
    return inside.any(1)


def apply_draw(aug: BatchAugment, d: AugmentDraw, x: torch.Tensor, y: torch.Tensor, n_classes: int, *,
               representation: str, standardizer: Any = None,
               inplace: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply the drawn parameters ``d`` to a batch (see :func:`apply`); no random draws."""
    out = x if inplace else x.clone()
    dev, dt = x.device, x.dtype
    if d.gain_db is not None:
        scale, offset = _gain_affine(d.gain_db, representation, standardizer, x.shape[1])
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
        if scale is not None:
            out.mul_(scale.to(dt).reshape(shape).to(dev))
        out.add_(offset.to(dt).reshape(shape).to(dev))
    if d.time_start is not None:
        mask = _span_mask(d.time_start, d.time_width, x.shape[2])
        out.masked_fill_(mask[:, None, :].to(dev), 0.0)
    if d.freq_start is not None:
        mask = _span_mask(d.freq_start, d.freq_width, x.shape[1])
        out.masked_fill_(mask.reshape(mask.shape + (1,) * (x.dim() - 2)).to(dev), 0.0)
    if d.lam is None:
        return out, y
    perm = d.perm.to(dev)
    partner = out[perm]                                      # a copy: safe to scale ``out`` in place
    out.mul_(d.lam).add_(partner, alpha=1.0 - d.lam)
    if y.dim() == 2:  # tag targets (multi-label): mixed as they are
        y = y.to(dt)
        return out, d.lam * y + (1.0 - d.lam) * y[perm]
    target = torch.zeros((x.shape[0], int(n_classes)), dtype=dt, device=dev)
    target.scatter_add_(1, y[:, None], torch.full((x.shape[0], 1), d.lam, dtype=dt, device=dev))
    target.scatter_add_(1, y[perm][:, None], torch.full((x.shape[0], 1), 1.0 - d.lam, dtype=dt, device=dev))
    return out, target


def apply(aug: BatchAugment, x: torch.Tensor, y: torch.Tensor, n_classes: int, generator: torch.Generator, *,
          representation: str, standardizer: Any = None,
          inplace: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment one training batch: gain, then masks, then mixup.

    Parameters
    ----------
    aug : BatchAugment
    x : torch.Tensor [shape=(B, bands, frames) or (B, dim)], float
        The standardised batch (CPU or CUDA).
    y : torch.Tensor [shape=(B,)], int64, or [shape=(B, n_tags)], float
        Class indices in ``0..n_classes-1``, or 0/1 tag targets (mixup mixes them as they
        are), on ``x``'s device.
    n_classes : int
        Columns of the soft targets.
    generator : torch.Generator
        A **CPU** generator owned by the loop (saved in its checkpoints); the only source of
        randomness.
    representation : str
        The frame kind of ``x`` (``"fft"``, ``"logmel"``, ``"cqt"``, ``"mfcc"``): how a gain
        acts on it.
    standardizer : object with ``mean_`` and ``std_`` (or ``scale_``) arrays [shape=(bands,)], or None
        The statistics ``x`` was standardised with (needed for an exact gain; ``None``: ``x`` is
        unstandardised).
    inplace : bool
        Write into ``x`` (saves one copy) instead of a new tensor (the default). With every
        transform off, ``x`` itself is returned either way.

    Returns
    -------
    x_aug : torch.Tensor, same shape, dtype and device as ``x``
    target : torch.Tensor
        ``y`` itself (int64) without mixup; with mixup, float soft labels
        [shape=(B, n_classes)] of ``x``'s dtype whose rows sum to 1.

    Raises
    ------
    ConfigError
        Invalid settings, masks wider than the input, time masks on frames, a gain on MFCCs.
    MirlearnError
        A standardizer of another width.
    """
    if not isinstance(x, torch.Tensor) or x.dim() not in (2, 3) or not x.is_floating_point():
        raise ValueError(f"x must be a float tensor (B, bands, frames) or (B, dim), got "
                         f"{getattr(x, 'dtype', type(x))} {tuple(getattr(x, 'shape', ()))}")
    if y.shape != (x.shape[0],) or y.dtype != torch.int64:
        raise ValueError(f"y must be int64 of shape ({x.shape[0]},), got {y.dtype} {tuple(y.shape)}")
    aug.validate(tuple(x.shape[1:]), representation=representation)
    if not aug.enabled:
        return x, y
    d = draw(aug, x.shape, generator)
    return apply_draw(aug, d, x, y, n_classes, representation=representation, standardizer=standardizer,
                      inplace=inplace)


def apply_padded(aug: BatchAugment, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor, n_classes: int,
                 generator: torch.Generator, *, representation: str, standardizer: Any = None,
                 inplace: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`apply` on patches whose first ``lengths`` frames are real and the rest zero padding
    (for nets that read the lengths, :class:`mirlearn.nn.rnn.PatchRNN`).

    The same draws and the same changes as :func:`apply` on the real frames; then the padding is
    zero again (a gain's offset or a partner's frames do not leak into it), and with mixup a
    patch's real length becomes the longer of its own and its partner's (the mix holds the
    partner's frames there).

    Parameters
    ----------
    x : torch.Tensor [shape=(B, bands, frames)], float
    lengths : torch.Tensor [shape=(B,)], int64
        Real frames of each patch, in ``1..frames``.

    Returns
    -------
    x_aug, target : as :func:`apply`
    lengths : torch.Tensor [shape=(B,)], int64
        The real frames of each augmented patch.
    """
    if x.dim() != 3 or lengths.shape != (x.shape[0],):
        raise ValueError(f"apply_padded takes patches (B, bands, frames) and (B,) lengths, got {tuple(x.shape)} "
                         f"and {tuple(lengths.shape)}")
    aug.validate(tuple(x.shape[1:]), representation=representation)
    if not aug.enabled:
        return x, y, lengths
    d = draw(aug, x.shape, generator)
    out, target = apply_draw(aug, d, x, y, n_classes, representation=representation, standardizer=standardizer,
                             inplace=inplace)
    if d.lam is not None:
        lengths = torch.maximum(lengths, lengths[d.perm.to(lengths.device)])
    pad = torch.arange(x.shape[2], device=out.device)[None, :] >= lengths.to(out.device)[:, None]
    return out.masked_fill_(pad[:, None, :], 0.0), target, lengths

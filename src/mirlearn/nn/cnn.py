"""CNNs on time-frequency patches (bands × frames): the deep-learning-for-MIR tutorials' nets.

Every net is a :class:`PatchCNN` built from a named entry of :data:`ARCHITECTURES`: one or two
parallel *pipelines* of conv blocks (conv → [batch norm] → activation → max-pool), whose
outputs are flattened and concatenated, then an optional hidden dense layer and a linear output
layer (logits; the loss applies the softmax). Input ``x`` is ``(B, n_bands, n_frames)`` or
``(B, 1, n_bands, n_frames)``, low bands first. Kernel and pool sizes below are written
**(bands × frames)**, as ``torch.nn.Conv2d`` takes them on that input. "same" padding pads
``k - 1`` zeros per axis, ``(k - 1) // 2`` before and the rest after (TensorFlow/Keras'
convention, also for even kernels); "valid" pads nothing. Pools have stride = size and drop a
remainder (Keras' default).

Architectures (what is implemented, and where it comes from)
-------------------------------------------------------------
``mirex2015`` — Lidy's MIREX 2015 music/speech CNN, as in the ML Prague 2018 tutorial
(github.com/slychief/mlprague2018_tutorial, Part 2, "MIREX 2015 model"): input 40 mel × 80
frames; conv 15 filters 12 × 8 (valid) → sigmoid → max-pool 2 × 1 (over bands; the tutorial's
choice, kept) → flatten (15 × 14 × 73 = 15 330) → dense 200 → sigmoid → dropout 0.5 → output.
Default activation **sigmoid** (the tutorial's); ``activation='relu'`` etc. also work.

``schindler-shallow`` / ``schindler-deep`` — Schindler, Lidy & Rauber (FMT 2016), 80 log-mel
× 80 frames, LeakyReLU (slope 0.3, Keras' default ``alpha``), two parallel pipelines:
a *spectral* one (wide in frames, pooled over frames) and a *temporal* one (pooled over bands).

- shallow: spec = conv 16 @ 10 × 23 (same) → pool 1 × 20 → 16 × 80 × 4; temp = conv
  16 @ 21 × 20 (same) → pool 20 × 1 → 16 × 4 × 80; concat 10 240 → dropout 0.1 → dense 200
  → LeakyReLU → output.
- deep: spec = 16 @ 10 × 23, 32 @ 5 × 11, 64 @ 3 × 5, 128 @ 2 × 4 (same), pools 2 × 2, 2 × 2,
  2 × 2, 1 × 5; temp = 16 @ 21 × 10, 32 @ 10 × 5, 64 @ 5 × 3, 128 @ 4 × 2 (same), pools 2 × 2,
  2 × 2, 2 × 2, 5 × 1; each 128 × 10 × 2 (resp. 2 × 10) = 2 560, concat 5 120 → dropout 0.25 →
  dense 200 → LeakyReLU → output.

Source: the paper's text could not be read here; the layers are those of two independent
reproductions of it (github.com/lun3x/DeepLearningReimplement ``classify_music.py`` and
github.com/tristanfrench/Deep-Learning), which agree on the shallow net and on the deep spectral
pipeline. Not confirmed against the paper: whether conv layers have biases (the reproductions
have none; we keep biases unless batch norm follows), where dropout sits (on the concatenated
conv output, as both reproductions), the deep temporal pipeline's kernels (one reproduction
only; the other copies the spectral kernels), and the paper's L1 weight penalty (1e-4) and Adam
learning rate (5e-5) as training settings (set them in the training config, not here).

``parallel-dcase2016`` — Lidy & Schindler's parallel CNN (DCASE 2016) on CQT 80 bins × 80
frames, as in the ML Prague 2018 tutorial (Part 2, "parallel" model): one pipeline of
16 filters 10 × 2 (valid; *vertical*: spans 10 bins, 2 frames) → pool 1 × 2 (over frames);
beside it 25 filters 2 × 10 (valid; *horizontal*: 2 bins, 10 frames) → pool 2 × 1 (over bins);
concat (16 × 71 × 39 + 25 × 39 × 71 = 113 529) → dropout 0.25 → dense 200 → LeakyReLU(0.3) →
output. Our choices (not confirmed against the DCASE paper, unread here): the tutorial's dense
has 256 units and no dropout; 200 units, dropout 0.25 and LeakyReLU follow the Schindler nets of
the same authors. The dense layer then holds 22.7 M weights at 80 × 80.

``choi2017`` — Choi, Fazekas, Sandler & Cho (ISMIR 2017), "Transfer learning for music
classification and regression tasks": 96 mel bands; five blocks of conv 32 @ 3 × 3 (same) →
batch norm → ELU → max-pool (2, 4), (3, 4), (2, 5), (2, 4), (4, 4) (bands × frames; the pool
sizes of Choi's compact_cnn for 96 mel bands, also in the ML Prague tutorial, Part 3); the
5th block's output (32 × 1 × 1) → dropout (default 0) → output; no hidden dense layer. The
transfer feature is every block's global average pool: 5 × 32 = 160. The pools need at least
96 bands × 1280 frames (2·3·2·2·4 = 96, 4·4·5·4·4 = 1280). Choi's input was 96 × 1366 frames
(29.1 s at 12 kHz, hop 256); with our hop 512 at 22050 Hz (23.2 ms per frame) the published
29.1 s would be 1255 frames, below the minimum, so the default is **1280 frames** (29.7 s, the
smallest input the pools accept; a 30 s GTZAN clip has ~1292). Choi's input batch norm over
bands is left out: :class:`mirlearn.nn.patches.BandStandardizer` does that job (fixed).

Options across models: ``batch_norm`` (conv blocks only; BN before the activation),
``activation`` (``relu``, ``leaky_relu``, ``elu``, ``selu``, ``sigmoid``), ``dense_activation``
(the hidden dense layer's own: one of those or ``maxout``; unset: ``activation``), ``dropout``
(the architecture's one dropout), ``init`` (``he``: He-normal with the activation's gain;
``glorot``: Glorot-uniform, Keras' default; biases 0), all deterministic from ``seed``.

A ``maxout`` dense layer (Goodfellow et al. 2013; :func:`mirlearn.nn.mlp.maxout`) keeps the
layer's number of units (the architecture's 200, or ``dense_units``) and gives each
``maxout_pieces`` linear pieces (default 2), so it holds that many times the dense weights; its
``dense`` feature has one value per unit. At equal parameter count with the architecture's own
layer it has ``maxout_width(flat_width, (200,), n_classes)`` units (100 for the shallow Schindler
net at 2 pieces).
Its pieces are initialised as linear units (He: gain 1, whose variance the max of two pieces
keeps; Glorot: the bound of a ``flat → units`` layer). The conv blocks keep ``activation``.

Features (:meth:`PatchCNN.features`): ``conv<k>`` (``conv<k>_spec`` / ``conv<k>_temp`` /
``conv<k>_vert`` / ``conv<k>_horz`` for two pipelines) is the global average over bands and
frames of block ``k``'s output (after its pool), one value per filter; ``dense`` is the hidden
dense layer's activation (after the non-linearity — the max, for maxout — before dropout).

Examples
--------
>>> import torch
>>> net = PatchCNN("schindler-shallow", n_bands=80, n_frames=80, n_classes=10, seed=0)
>>> net(torch.zeros(2, 80, 80)).shape
torch.Size([2, 10])
>>> net.feature_layers
{'conv1_spec': 16, 'conv1_temp': 16, 'dense': 200}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mirlearn.errors import ConfigError
from mirlearn.nn.mlp import DEFAULT_MAXOUT_PIECES, maxout
from mirlearn.nn.mlp import dropout as _dropout

__all__ = ["ACTIVATIONS", "ARCHITECTURES", "DENSE_ACTIVATIONS", "INITS", "Arch", "Block", "PatchCNN", "layer_names",
           "min_input_size"]

ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "sigmoid")
#: The hidden dense layer's choices: any of :data:`ACTIVATIONS`, or maxout units.
DENSE_ACTIVATIONS = ACTIVATIONS + ("maxout",)
INITS = ("he", "glorot")


@dataclass(frozen=True)
class Block:
    """One conv block: ``filters`` kernels of ``kernel`` (bands, frames), then max-pool ``pool``."""

    filters: int
    kernel: tuple[int, int]
    pool: tuple[int, int]
    padding: str = "same"  # 'same' or 'valid'


@dataclass(frozen=True)
class Arch:
    """A published architecture and its defaults (see the module docstring for sources)."""

    name: str
    n_bands: int                 # published input size (bands × frames)
    n_frames: int
    pipelines: tuple[tuple[str, tuple[Block, ...]], ...]   # (suffix, blocks); suffix '' for one pipeline
    dense: int | None            # hidden dense units, or None
    activation: str
    batch_norm: bool
    dropout: float
    dropout_at: str              # 'flat': on the concatenated conv output; 'dense': after the dense layer
    leaky_slope: float = 0.3
    source: str = ""


def _same(filters: int, kernel: tuple[int, int], pool: tuple[int, int]) -> Block:
    return Block(filters, kernel, pool, "same")


def _valid(filters: int, kernel: tuple[int, int], pool: tuple[int, int]) -> Block:
    return Block(filters, kernel, pool, "valid")


#: The named architectures (defaults as published; see the module docstring).
ARCHITECTURES: dict[str, Arch] = {
    "mirex2015": Arch(
        "mirex2015", 40, 80, (("", (_valid(15, (12, 8), (2, 1)),)),),
        dense=200, activation="sigmoid", batch_norm=False, dropout=0.5, dropout_at="dense",
        source="Lidy, MIREX 2015 music/speech; ML Prague 2018 tutorial, Part 2"),
    "schindler-shallow": Arch(
        "schindler-shallow", 80, 80,
        (("spec", (_same(16, (10, 23), (1, 20)),)),
         ("temp", (_same(16, (21, 20), (20, 1)),))),
        dense=200, activation="leaky_relu", batch_norm=False, dropout=0.1, dropout_at="flat",
        source="Schindler, Lidy & Rauber, FMT 2016 (shallow)"),
    "schindler-deep": Arch(
        "schindler-deep", 80, 80,
        (("spec", (_same(16, (10, 23), (2, 2)), _same(32, (5, 11), (2, 2)), _same(64, (3, 5), (2, 2)),
                   _same(128, (2, 4), (1, 5)))),
         ("temp", (_same(16, (21, 10), (2, 2)), _same(32, (10, 5), (2, 2)), _same(64, (5, 3), (2, 2)),
                   _same(128, (4, 2), (5, 1))))),
        dense=200, activation="leaky_relu", batch_norm=False, dropout=0.25, dropout_at="flat",
        source="Schindler, Lidy & Rauber, FMT 2016 (deep)"),
    "parallel-dcase2016": Arch(
        "parallel-dcase2016", 80, 80,
        (("vert", (_valid(16, (10, 2), (1, 2)),)),
         ("horz", (_valid(25, (2, 10), (2, 1)),))),
        dense=200, activation="leaky_relu", batch_norm=False, dropout=0.25, dropout_at="flat",
        source="Lidy & Schindler, DCASE 2016; ML Prague 2018 tutorial, Part 2"),
    "choi2017": Arch(
        "choi2017", 96, 1280,
        (("", tuple(_same(32, (3, 3), p) for p in ((2, 4), (3, 4), (2, 5), (2, 4), (4, 4)))),),
        dense=None, activation="elu", batch_norm=True, dropout=0.0, dropout_at="flat",
        source="Choi, Fazekas, Sandler & Cho, ISMIR 2017 (transfer convnet)"),
}


def layer_names(architecture: str) -> tuple[str, ...]:
    """Names of an architecture's feature layers, in network order, without building a net
    (the same keys as :attr:`PatchCNN.feature_layers`, whatever the input size)."""
    if architecture not in ARCHITECTURES:
        raise ConfigError(f"unknown CNN architecture {architecture!r}; known: {sorted(ARCHITECTURES)}")
    arch = ARCHITECTURES[architecture]
    names = [f"conv{k + 1}" + (f"_{suffix}" if suffix else "") for suffix, blocks in arch.pipelines
             for k in range(len(blocks))]
    return tuple(names + (["dense"] if arch.dense else []))


def min_input_size(architecture: str) -> tuple[int, int]:
    """The smallest patch ``(bands, frames)`` an architecture's convolutions and pools accept."""
    if architecture not in ARCHITECTURES:
        raise ConfigError(f"unknown CNN architecture {architecture!r}; known: {sorted(ARCHITECTURES)}")
    arch = ARCHITECTURES[architecture]
    return _min_input(arch, 0), _min_input(arch, 1)


def _block_out(size: int, k: int, pool: int, padding: str) -> int:
    """Output length along one axis of conv (stride 1) then max-pool (stride = size, floor)."""
    conv = size if padding == "same" else size - k + 1
    return conv // pool if conv >= 1 else 0


def _pipeline_out(blocks: Sequence[Block], n_bands: int, n_frames: int) -> tuple[int, int]:
    b, f = n_bands, n_frames
    for blk in blocks:
        b = _block_out(b, blk.kernel[0], blk.pool[0], blk.padding)
        f = _block_out(f, blk.kernel[1], blk.pool[1], blk.padding)
    return b, f


def _min_input(arch: Arch, axis: int) -> int:
    """Smallest input size along ``axis`` (0: bands, 1: frames) that every pipeline accepts."""
    n = 1
    while any(_pipeline_out(blocks, *((n, 10**6) if axis == 0 else (10**6, n)))[axis] < 1 for _, blocks in arch.pipelines):
        n += 1
    return n


class _Activation(nn.Module):
    """The non-linearity, applied in place: its input is always a fresh tensor that no backward
    needs (a pool's, conv's, batch norm's or linear layer's output; their gradients use their
    inputs), and writing over it saved 5 % of the deep Schindler net's training step."""

    def __init__(self, name: str, slope: float) -> None:
        super().__init__()
        self.name, self.slope = name, float(slope)

    def forward(self, x: Tensor) -> Tensor:
        if self.name == "relu":
            return F.relu(x, inplace=True)
        if self.name == "leaky_relu":
            return F.leaky_relu(x, self.slope, inplace=True)
        if self.name == "elu":
            return F.elu(x, inplace=True)
        if self.name == "selu":
            return F.selu(x, inplace=True)
        return torch.sigmoid_(x)

    def extra_repr(self) -> str:
        return self.name + (f", slope={self.slope}" if self.name == "leaky_relu" else "")


class _Maxout(nn.Module):
    """Maxout units over a linear layer's output: the max of each unit's ``pieces`` values."""

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.name, self.pieces = "maxout", int(pieces)

    def forward(self, x: Tensor) -> Tensor:
        return maxout(x, self.pieces)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


class _ConvBlock(nn.Module):
    """[zero pad] → conv → [BN] → activation → max-pool, computed as … → max-pool → activation.

    Every activation of :data:`ACTIVATIONS` is non-decreasing, so max-pooling before it gives
    the same values (and sends the gradient to the same maxima) on a pool-size-times smaller
    tensor: the deep Schindler net trained 1.12× faster so (``benchmarks/bench_cnn.py``).

    ``transposed=True`` makes the block take and return (frames × bands) maps instead: the same
    weights (stored bands × frames) are applied transposed, and so are the padding and the pool.
    """

    def __init__(self, in_ch: int, blk: Block, batch_norm: bool, act: _Activation) -> None:
        super().__init__()
        kb, kf = blk.kernel
        # (frames before, after, bands before, after), ZeroPad2d's (left, right, top, bottom).
        self.same_pad = ((kf - 1) // 2, kf - 1 - (kf - 1) // 2, (kb - 1) // 2, kb - 1 - (kb - 1) // 2) \
            if blk.padding == "same" else (0, 0, 0, 0)
        self.pool_size = blk.pool
        self.conv = nn.Conv2d(in_ch, blk.filters, blk.kernel, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(blk.filters) if batch_norm else nn.Identity()
        self.act = act
        self.transposed = False

    def forward(self, x: Tensor) -> Tensor:
        pad, pool, weight = self.same_pad, self.pool_size, self.conv.weight
        if self.transposed:
            pad, pool, weight = (pad[2], pad[3], pad[0], pad[1]), pool[::-1], weight.transpose(2, 3)
        if any(pad):
            x = F.pad(x, pad)
        h = self.bn(F.conv2d(x, weight, self.conv.bias))
        if pool != (1, 1):
            h = F.max_pool2d(h, pool)
        return self.act(h)

    def extra_repr(self) -> str:
        return f"same_pad={self.same_pad}, pool={self.pool_size}" + (", transposed" if self.transposed else "")


class PatchCNN(nn.Module):
    """A CNN on (bands × frames) patches, from a named architecture.

    Parameters
    ----------
    architecture : str
        A key of :data:`ARCHITECTURES`.
    n_bands, n_frames : int
        Input patch size. Any size the pools accept (else :class:`ConfigError` naming the
        minimum); the published sizes are the architectures' ``n_bands``/``n_frames``.
    n_classes : int
        Output units (logits).
    activation : str or None
        One of :data:`ACTIVATIONS`; ``None``: the architecture's published one.
    batch_norm : bool or None
        Batch norm after every conv (before the activation); ``None``: as published.
    dropout : float in [0, 1) or None
        Rate of the architecture's dropout; ``None``: as published.
    init : {'he', 'glorot'}
        He-normal (fan-in, the activation's gain) or Glorot-uniform weights; biases 0.
    seed : int
        Seeds the initialisation (the global torch generator is not touched).
    leaky_slope : float
        Negative slope of ``leaky_relu`` (0.3, Keras' default, as Schindler et al.).
    dense_activation : str or None
        The hidden dense layer's non-linearity, one of :data:`DENSE_ACTIVATIONS`; ``None``:
        ``activation``. ``'maxout'``: each of the dense layer's units is the max of
        ``maxout_pieces`` linear pieces (the layer keeps its number of units).
    maxout_pieces : int >= 2 or None
        Pieces per maxout unit (``None``: 2); only with ``dense_activation='maxout'``.
    dense_units : int >= 1 or None
        Units of the hidden dense layer (``None``: the architecture's, 200); e.g. a maxout layer
        at a ReLU layer's parameter count (:func:`mirlearn.nn.mlp.maxout_width`).

    Attributes
    ----------
    generator : torch.Generator or None
        Source of dropout masks in training mode (a trainer sets its own, so that it can save
        and restore the random state); ``None`` uses torch's default generator.
    """

    def __init__(self, architecture: str, n_bands: int, n_frames: int, n_classes: int, *,
                 activation: str | None = None, batch_norm: bool | None = None, dropout: float | None = None,
                 init: str = "he", seed: int = 0, leaky_slope: float | None = None,
                 dense_activation: str | None = None, maxout_pieces: int | None = None,
                 dense_units: int | None = None) -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ConfigError(f"unknown CNN architecture {architecture!r}; known: {sorted(ARCHITECTURES)}")
        arch = ARCHITECTURES[architecture]
        activation = arch.activation if activation is None else activation
        batch_norm = arch.batch_norm if batch_norm is None else bool(batch_norm)
        dropout = arch.dropout if dropout is None else float(dropout)
        leaky_slope = arch.leaky_slope if leaky_slope is None else float(leaky_slope)
        if activation == "maxout":
            raise ConfigError("maxout units are for the dense layer (dense_activation='maxout'); the conv blocks' "
                              f"activation is one of {ACTIVATIONS}")
        if activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if init not in INITS:
            raise ConfigError(f"init must be one of {INITS}, got {init!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        if int(n_classes) < 1:
            raise ConfigError(f"n_classes must be positive, got {n_classes}")
        if dense_activation is not None:
            if dense_activation not in DENSE_ACTIVATIONS:
                raise ConfigError(f"dense_activation must be one of {DENSE_ACTIVATIONS}, got {dense_activation!r}")
            if not arch.dense:
                raise ConfigError(f"architecture {architecture!r} has no hidden dense layer: dense_activation does not apply")
        if maxout_pieces is not None:
            if dense_activation != "maxout":
                raise ConfigError(f"maxout_pieces={maxout_pieces!r} is read only with dense_activation='maxout'")
            if isinstance(maxout_pieces, bool) or int(maxout_pieces) != maxout_pieces or maxout_pieces < 2:
                raise ConfigError(f"maxout_pieces must be an integer >= 2, got {maxout_pieces!r}")
        if dense_units is not None:
            if not arch.dense:
                raise ConfigError(f"architecture {architecture!r} has no hidden dense layer: dense_units does not apply")
            if isinstance(dense_units, bool) or int(dense_units) != dense_units or dense_units < 1:
                raise ConfigError(f"dense_units must be a positive integer, got {dense_units!r}")
        min_b, min_f = _min_input(arch, 0), _min_input(arch, 1)
        if int(n_bands) < min_b or int(n_frames) < min_f:
            raise ConfigError(f"architecture {architecture!r} needs patches of at least {min_b} bands × {min_f} frames "
                              f"(its pools), got {n_bands} × {n_frames}")
        self.architecture, self.n_bands, self.n_frames, self.n_classes = architecture, int(n_bands), int(n_frames), int(n_classes)
        self.activation, self.batch_norm, self.dropout, self.init = activation, batch_norm, dropout, init
        self.seed, self.leaky_slope = int(seed), leaky_slope
        self.dense_activation = dense_activation
        self.dense_units_set = None if dense_units is None else int(dense_units)
        self.maxout_pieces = (int(maxout_pieces) if maxout_pieces is not None else DEFAULT_MAXOUT_PIECES) \
            if dense_activation == "maxout" else None
        self.arch = arch
        self.generator: torch.Generator | None = None
        self._channels_last = False
        self._transposed: set[str] = set()   # pipelines run on (frames × bands) maps (to_cpu_layout)

        self.pipelines = nn.ModuleDict()
        self._layer_names: list[tuple[str, str, int, int]] = []   # (feature name, pipeline, block index, width)
        flat = 0
        for suffix, blocks in arch.pipelines:
            mods, in_ch = [], 1
            for k, blk in enumerate(blocks):
                mods.append(_ConvBlock(in_ch, blk, batch_norm, _Activation(activation, leaky_slope)))
                in_ch = blk.filters
                self._layer_names.append((f"conv{k + 1}" + (f"_{suffix}" if suffix else ""), suffix or "main", k, blk.filters))
            self.pipelines[suffix or "main"] = nn.Sequential(*mods)
            b, f = _pipeline_out(blocks, self.n_bands, self.n_frames)
            flat += in_ch * b * f
        self.flat_width = flat
        self.dense_units = self.dense_units_set or arch.dense
        pieces = self.maxout_pieces or 1
        self.dense = nn.Linear(flat, self.dense_units * pieces) if self.dense_units else None
        self.dense_act = _Maxout(pieces) if dense_activation == "maxout" else \
            _Activation(dense_activation or activation, leaky_slope)
        self.out = nn.Linear(self.dense_units or flat, self.n_classes)
        self._init_weights()

    # --- construction ----------------------------------------------------------------------

    def _init_weights(self) -> None:
        g = torch.Generator().manual_seed(self.seed)
        gains = {"relu": "relu", "leaky_relu": "leaky_relu", "selu": "selu", "sigmoid": "sigmoid", "elu": "relu",
                 "maxout": "linear"}
        gain_name = gains[self.activation]
        dense_gain = gains[self.dense_activation or self.activation]
        pieces = self.maxout_pieces or 1
        for name, m in self.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                hidden = m is not self.out
                if self.init == "he":
                    nl, a = (dense_gain if m is self.dense else gain_name, self.leaky_slope) if hidden else ("linear", 0.0)
                    nn.init.kaiming_normal_(m.weight, a=a, nonlinearity=nl, generator=g)
                elif m is self.dense and pieces > 1:
                    # every piece as a Glorot layer flat → units (the fan-out is the units, not the pieces)
                    fan_out, fan_in = m.weight.shape[0] // pieces, m.weight.shape[1]
                    bound = (6.0 / (fan_in + fan_out)) ** 0.5
                    nn.init.uniform_(m.weight, -bound, bound, generator=g)
                else:
                    nn.init.xavier_uniform_(m.weight, generator=g)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def config(self) -> dict[str, Any]:
        """JSON-ready settings; ``PatchCNN(**config)`` rebuilds the same net (same initial weights).

        ``dense_activation``, ``maxout_pieces`` and ``dense_units`` are there only when set, so that the other
        nets' configs (saved with learners and checkpoints, compared on resume) read as before.
        """
        cfg = {"architecture": self.architecture, "n_bands": self.n_bands, "n_frames": self.n_frames,
               "n_classes": self.n_classes, "activation": self.activation, "batch_norm": self.batch_norm,
               "dropout": self.dropout, "init": self.init, "seed": self.seed, "leaky_slope": self.leaky_slope}
        if self.dense_activation is not None:
            cfg["dense_activation"] = self.dense_activation
        if self.maxout_pieces is not None:
            cfg["maxout_pieces"] = self.maxout_pieces
        if self.dense_units_set is not None:
            cfg["dense_units"] = self.dense_units_set
        return cfg

    # --- forward -----------------------------------------------------------------------------

    def to_cpu_layout(self) -> "PatchCNN":
        """Lay the net out for oneDNN on the CPU; the weights' values and the function do not change.

        - Weights and activations channels-last (NHWC): 1.3× faster on the deep Schindler net.
        - A pipeline whose first conv sees the 1-channel input through a kernel long in frames
          (≥ 16 frames and longer than its bands, as the Schindler nets' 10 × 23 spectral one)
          runs on transposed (frames × bands) maps, every kernel and pool transposed with it:
          oneDNN's weight gradient of that first conv was 3.3× slower than of its transpose
          (21 vs 6 ms per batch of 32), and the whole net trained 1.09× faster so.

        Both measured with ``benchmarks/bench_cnn.py`` (torch 2.13, 2-core Xeon and Zen
        machines). Sums run in another order, so outputs differ from the default layout's in the
        last float32 bits; channels-last batch norm in training mode is the least exact (its
        batch mean over 3 × 96 × 1280 positions: 1e-4 relative against float64, 1e-6 in NCHW).
        """
        self.to(memory_format=torch.channels_last)
        self._channels_last = True
        for key, seq in self.pipelines.items():
            first = seq[0].conv
            kb, kf = first.kernel_size
            if first.in_channels == 1 and kf >= 16 and kf > kb:
                self._transposed.add(key)
                for block in seq:
                    block.transposed = True
        return self

    def _input(self, x: Tensor) -> Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4 or x.shape[1] != 1 or tuple(x.shape[2:]) != (self.n_bands, self.n_frames):
            raise ValueError(f"{self.architecture}: expected patches of shape (B, {self.n_bands}, {self.n_frames}) or "
                             f"(B, 1, {self.n_bands}, {self.n_frames}), got {tuple(x.shape)}")
        if self._channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _drop(self, x: Tensor) -> Tensor:
        return _dropout(x, self.dropout, training=self.training, generator=self.generator)

    def _run(self, x: Tensor, want: set[str] | None) -> tuple[Tensor, dict[str, Tensor]]:
        """Logits, and the wanted features (``None``: none; computed on the way)."""
        x = self._input(x)
        feats: dict[str, Tensor] = {}
        flats = []
        names = iter(self._layer_names)
        for key, seq in self.pipelines.items():
            transposed = key in self._transposed
            h = x.transpose(2, 3).contiguous(memory_format=torch.channels_last) if transposed else x
            for block in seq:
                h = block(h)
                name = next(names)[0]
                if want is not None and name in want:
                    feats[name] = h.mean(dim=(2, 3))
            flats.append((h.transpose(2, 3) if transposed else h).flatten(1))
        h = flats[0] if len(flats) == 1 else torch.cat(flats, dim=1)
        if self.arch.dropout_at == "flat":
            h = self._drop(h)
        if self.dense is not None:
            h = self.dense_act(self.dense(h))
            if want is not None and "dense" in want:
                feats["dense"] = h
            if self.arch.dropout_at == "dense":
                h = self._drop(h)
        return self.out(h), feats

    def forward(self, x: Tensor) -> Tensor:
        """Logits [shape=(B, n_classes)] of patches ``x`` [shape=(B, n_bands, n_frames) or (B, 1, n_bands, n_frames)]."""
        return self._run(x, None)[0]

    @property
    def feature_layers(self) -> dict[str, int]:
        """Named feature layers → width, in network order (conv blocks, then ``dense``)."""
        d = {name: width for name, _, _, width in self._layer_names}
        if self.dense is not None:
            d["dense"] = self.dense_units  # a maxout layer's units, not its pieces
        return d

    def features(self, x: Tensor, layers: Sequence[str] | None = None) -> dict[str, Tensor]:
        """Named features of patches ``x``: name → (B, width), in the order of ``layers``.

        ``layers=None``: every layer of :attr:`feature_layers`. The module's mode applies
        (call ``eval()`` first for deterministic features: dropout off, BN running stats).
        """
        known = self.feature_layers
        layers = list(known) if layers is None else list(layers)
        bad = [n for n in layers if n not in known]
        if bad:
            raise ConfigError(f"{self.architecture} has no feature layer(s) {bad}; known: {list(known)}")
        _, feats = self._run(x, set(layers))
        return {n: feats[n] for n in layers}

    def layer_shapes(self) -> dict[str, tuple[int, ...]]:
        """Output shape (channels, bands, frames) of every conv block, then ``flat``, ``dense``
        and ``out`` widths, for one patch (computed, not run)."""
        shapes: dict[str, tuple[int, ...]] = {}
        names = iter(self._layer_names)
        for suffix, blocks in self.arch.pipelines:
            b, f = self.n_bands, self.n_frames
            for blk in blocks:
                b = _block_out(b, blk.kernel[0], blk.pool[0], blk.padding)
                f = _block_out(f, blk.kernel[1], blk.pool[1], blk.padding)
                shapes[next(names)[0]] = (blk.filters, b, f)
        shapes["flat"] = (self.flat_width,)
        if self.dense is not None:
            shapes["dense"] = (self.dense_units,)
        shapes["out"] = (self.n_classes,)
        return shapes

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

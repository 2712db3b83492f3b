"""Recurrent nets on time-frequency patches: a C-RNN (conv front-end, GRUs over time) and a
bidirectional LSTM over frames — architectures of the patch family beside :mod:`mirlearn.nn.cnn`.

A :class:`PatchRNN` takes the same input as a :class:`~mirlearn.nn.cnn.PatchCNN` — patches
``(B, n_bands, n_frames)`` or ``(B, 1, n_bands, n_frames)``, low bands first — and also their
real lengths: a track shorter than one patch gives a zero-padded patch
(:attr:`mirlearn.nn.patches.PatchGrid.length`), and the recurrent layers must not read the
padding. Kernel and pool sizes are written **(bands × frames)** as in :mod:`mirlearn.nn.cnn`.

Architectures (what is implemented, and where it comes from)
-------------------------------------------------------------
``crnn-choi2017`` — Choi, Fazekas, Sandler & Cho (ICASSP 2017), "Convolutional recurrent neural
networks for music classification", the CRNN of their Keras code
(github.com/keunwoochoi/music-auto_tagging-keras, ``music_tagger_crnn.py``, the paper's
0.4 M-parameter net): 96 mel bands; four blocks of conv 3 × 3 (same) with 64, 128, 128, 128
filters → batch norm → ELU → max-pool (2, 2), (3, 3), (4, 4), (4, 4) → dropout 0.1; the
remaining 128 maps × 1 band form one vector per time step; GRU 32 → GRU 32 (the second one's
last state) → dropout 0.3 → output. Choi's input was 96 × 1366 frames zero-padded to 1440
(15 GRU steps); the pools need at least 96 bands × 96 frames. Left out: Choi's input batch
norm (:class:`~mirlearn.nn.patches.BandStandardizer` does its job, as for ``choi2017``). The
GRU is PyTorch's (the reset gate applied after the recurrent matrix product, Keras'
``reset_after=True``; Choi's Keras 1 GRU applied it before).

``crnn-short`` — ours: the same layers with time pools 2, 2, 1, 1 (frequency pools as
published), so that short patches keep their time steps: a 40-frame patch (0.93 s at hop 512,
22050 Hz) gives 10 GRU steps, an 80-frame one 20. Choi's pools would need 96 frames per step.
Needs at least 96 bands × 4 frames.

``bilstm`` — ours: a bidirectional LSTM over the standardised frames of a patch (each frame's
bands are one step's input), two layers of 64 units per direction, dropout 0.3 after each
layer; the output layer reads the second layer's final states (forward after the last real
frame ‖ backward after the first). Any patch of at least 1 band × 1 frame.

Padded frames (``lengths``)
---------------------------
With ``lengths`` (real frames per patch; ``None``: all real), a patch behaves as its first
``length`` frames alone:

- conv front-end: after each block, a step is real when any of its pool window's frames is
  (``ceil(L / pool)``, at most the block's output length); a pool window that straddles the
  end takes the maximum over its real positions only, and every padded position is set to 0
  before the next convolution — the zeros "same" padding puts after a shorter input;
- recurrent layers run on packed sequences (:func:`torch.nn.utils.rnn.pack_padded_sequence`):
  padded steps are never read, and a final state is the state after the last *real* step
  (for the backward direction, after the first step);
- conv features average over real positions only.

So in eval mode, a zero-padded patch of ``L`` real frames gives the output of the first ``L``
frames given alone whenever every pool window is whole (``L`` a multiple of the time pools'
product; always for ``bilstm``). In training mode batch norm's batch statistics still count
the padded positions of the batch (as they do in a CNN).

Options across models: ``activation`` (of the conv blocks; ``None``: the architecture's own,
ELU), ``batch_norm`` (conv blocks), ``dropout`` (the dropout on the recurrent output; the C-RNN's
conv dropout 0.1 is the architecture's), ``init`` (``he`` / ``glorot`` for conv and dense
weights, as :class:`~mirlearn.nn.cnn.PatchCNN`; recurrent weights always Keras' defaults:
Glorot-uniform input matrices, orthogonal recurrent matrices, zero biases, LSTM forget-gate
bias 1), all deterministic from ``seed``. ``activation`` and ``batch_norm`` on ``bilstm``
(no conv layers) are a :class:`ConfigError`.

Features (:meth:`PatchRNN.features`): ``conv<k>`` is the average over bands and real steps of
block ``k``'s output; ``gru<k>`` / ``lstm<k>`` is recurrent layer ``k``'s final state
(both directions concatenated for ``bilstm``). The output layer reads the last one.

Examples
--------
>>> import torch
>>> net = PatchRNN("crnn-short", n_bands=96, n_frames=40, n_classes=10, seed=0).eval()
>>> net(torch.zeros(2, 96, 40), lengths=torch.tensor([40, 17])).shape
torch.Size([2, 10])
>>> net.feature_layers
{'conv1': 64, 'conv2': 128, 'conv3': 128, 'conv4': 128, 'gru1': 32, 'gru2': 32}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from mirlearn.errors import ConfigError
from mirlearn.nn.cnn import ACTIVATIONS, INITS, Block, _Activation
from mirlearn.nn.mlp import dropout as _dropout

__all__ = ["RECURRENT", "CELLS", "PatchRNN", "RecurrentArch", "layer_names", "min_input_size"]

CELLS = ("gru", "lstm")


@dataclass(frozen=True)
class RecurrentArch:
    """A recurrent architecture and its defaults (see the module docstring for sources)."""

    name: str
    n_bands: int                    # the input size it was designed for (bands × frames)
    n_frames: int
    convs: tuple[Block, ...]        # conv front-end, possibly empty
    cell: str                       # 'gru' or 'lstm'
    units: tuple[int, ...]          # units of each recurrent layer (per direction)
    bidirectional: bool
    dropout: float                  # on the recurrent output (and between layers when `between`)
    between: bool                   # dropout after every recurrent layer, not only the last
    activation: str | None = None   # the conv blocks' (None: no conv blocks)
    batch_norm: bool = False
    conv_dropout: float = 0.0       # after every conv block
    source: str = ""


def _choi_blocks(time_pools: Sequence[int]) -> tuple[Block, ...]:
    filters, band_pools = (64, 128, 128, 128), (2, 3, 4, 4)
    return tuple(Block(f, (3, 3), (b, t), "same") for f, b, t in zip(filters, band_pools, time_pools))


#: The named recurrent architectures (see the module docstring).
RECURRENT: dict[str, RecurrentArch] = {
    "crnn-choi2017": RecurrentArch(
        "crnn-choi2017", 96, 1440, _choi_blocks((2, 3, 4, 4)), "gru", (32, 32), bidirectional=False,
        dropout=0.3, between=False, activation="elu", batch_norm=True, conv_dropout=0.1,
        source="Choi, Fazekas, Sandler & Cho, ICASSP 2017 (CRNN); keunwoochoi/music-auto_tagging-keras"),
    "crnn-short": RecurrentArch(
        "crnn-short", 96, 80, _choi_blocks((2, 2, 1, 1)), "gru", (32, 32), bidirectional=False,
        dropout=0.3, between=False, activation="elu", batch_norm=True, conv_dropout=0.1,
        source="ours: Choi et al.'s CRNN with time pools 2, 2, 1, 1 for short patches"),
    "bilstm": RecurrentArch(
        "bilstm", 80, 80, (), "lstm", (64, 64), bidirectional=True, dropout=0.3, between=True,
        source="ours: a 2-layer bidirectional LSTM over the frames of a patch"),
}


def _arch(architecture: str) -> RecurrentArch:
    if architecture not in RECURRENT:
        raise ConfigError(f"unknown recurrent architecture {architecture!r}; known: {sorted(RECURRENT)}")
    return RECURRENT[architecture]


def layer_names(architecture: str) -> tuple[str, ...]:
    """Names of an architecture's feature layers, in network order, without building a net."""
    arch = _arch(architecture)
    return tuple([f"conv{k + 1}" for k in range(len(arch.convs))]
                 + [f"{arch.cell}{k + 1}" for k in range(len(arch.units))])


def min_input_size(architecture: str) -> tuple[int, int]:
    """The smallest patch ``(bands, frames)`` an architecture's pools accept (at least one
    band and one time step left after the last pool)."""
    arch = _arch(architecture)
    return int(np.prod([b.pool[0] for b in arch.convs] or [1])), int(np.prod([b.pool[1] for b in arch.convs] or [1]))


def _same_pad(kernel: tuple[int, int]) -> tuple[int, int, int, int]:
    """(frames before, after, bands before, after): Keras' "same" (see :mod:`mirlearn.nn.cnn`)."""
    kb, kf = kernel
    return (kf - 1) // 2, kf - 1 - (kf - 1) // 2, (kb - 1) // 2, kb - 1 - (kb - 1) // 2


def _real(lengths: Tensor, n: int) -> Tensor:
    """Mask ``(B, 1, 1, n)``: True at the real time positions of each patch."""
    return (torch.arange(n, device=lengths.device)[None, :] < lengths[:, None]).view(len(lengths), 1, 1, n)


class _MaskedConvBlock(nn.Module):
    """conv (same) → [BN] → max-pool → activation → dropout, ignoring padded time positions.

    Pooling before the (non-decreasing) activation gives the values of pooling after it, on a
    smaller tensor (as :class:`mirlearn.nn.cnn._ConvBlock`). With lengths, padded positions are
    pushed down to half the lowest float before the pool (a window's maximum is over its real
    positions) and set to 0 after the block (the next convolution sees "same" padding's zeros
    there).
    """

    def __init__(self, in_ch: int, blk: Block, batch_norm: bool, act: _Activation) -> None:
        super().__init__()
        self.pad = _same_pad(blk.kernel) if blk.padding == "same" else (0, 0, 0, 0)
        self.pool_size = blk.pool
        self.conv = nn.Conv2d(in_ch, blk.filters, blk.kernel, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(blk.filters) if batch_norm else nn.Identity()
        self.act = act

    def out_lengths(self, lengths: Tensor, n_out: int) -> Tensor:
        """Real steps after the pool: a step is real when any frame of its window is."""
        p = self.pool_size[1]
        return torch.clamp((lengths + p - 1) // p, max=n_out)

    def forward(self, x: Tensor, lengths: Tensor | None, drop: Any) -> tuple[Tensor, Tensor | None]:
        h = self.bn(self.conv(F.pad(x, self.pad) if any(self.pad) else x))
        if lengths is not None:
            # Added and multiplied rather than masked_fill: the gradient keeps the maps' memory
            # format (masked_fill's turned channels-last batch norm backward 5x slower).
            padded = (~_real(lengths, h.shape[-1])).to(h.dtype)
            h = h + padded * (torch.finfo(h.dtype).min / 2)
        if self.pool_size != (1, 1):
            h = F.max_pool2d(h, self.pool_size)
        h = drop(self.act(h))
        if lengths is not None:
            lengths = self.out_lengths(lengths, h.shape[-1])
            h = h * _real(lengths, h.shape[-1]).to(h.dtype)
        return h, lengths


class PatchRNN(nn.Module):
    """A recurrent net on (bands × frames) patches, from a named architecture.

    Parameters
    ----------
    architecture : str
        A key of :data:`RECURRENT`.
    n_bands, n_frames : int
        Input patch size: ``n_bands`` is fixed; ``n_frames`` is the training patch length (any
        length the pools accept also runs: the recurrent layers take any number of steps).
    n_classes : int
        Output units (logits).
    activation, batch_norm : str / bool or None
        The conv blocks' (``None``: the architecture's); a :class:`ConfigError` when set on an
        architecture without conv blocks.
    dropout : float in [0, 1) or None
        Rate of the dropout on the recurrent output; ``None``: the architecture's.
    init : {'he', 'glorot'}
        Conv and dense weights (as :class:`~mirlearn.nn.cnn.PatchCNN`); recurrent weights are
        Glorot-uniform (input) and orthogonal (recurrent) either way; biases 0 (LSTM forget 1).
    seed : int
        Seeds the initialisation (the global torch generator is not touched).
    leaky_slope : float or None
        Negative slope of ``leaky_relu`` (0.3 when ``None``).

    Attributes
    ----------
    generator : torch.Generator or None
        Source of dropout masks in training mode (a trainer lends its own).
    takes_lengths : bool
        True: :meth:`forward` and :meth:`features` take the patches' real lengths.
    """

    takes_lengths = True

    def __init__(self, architecture: str, n_bands: int, n_frames: int, n_classes: int, *,
                 activation: str | None = None, batch_norm: bool | None = None, dropout: float | None = None,
                 init: str = "he", seed: int = 0, leaky_slope: float | None = None) -> None:
        super().__init__()
        arch = _arch(architecture)
        if not arch.convs and (activation is not None or batch_norm is not None):
            raise ConfigError(f"architecture {architecture!r} has no conv layers: activation and batch_norm "
                              "do not apply (leave them unset)")
        activation = arch.activation if activation is None else activation
        batch_norm = arch.batch_norm if batch_norm is None else bool(batch_norm)
        dropout = arch.dropout if dropout is None else float(dropout)
        leaky_slope = 0.3 if leaky_slope is None else float(leaky_slope)
        if arch.convs and activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if init not in INITS:
            raise ConfigError(f"init must be one of {INITS}, got {init!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        if int(n_classes) < 1:
            raise ConfigError(f"n_classes must be positive, got {n_classes}")
        min_b, min_f = min_input_size(architecture)
        if int(n_bands) < min_b or int(n_frames) < min_f:
            raise ConfigError(f"architecture {architecture!r} needs patches of at least {min_b} bands × {min_f} frames "
                              f"(its pools), got {n_bands} × {n_frames}")
        self.architecture, self.n_bands, self.n_frames, self.n_classes = architecture, int(n_bands), int(n_frames), int(n_classes)
        self.activation, self.batch_norm, self.dropout, self.init = activation, batch_norm, dropout, init
        self.seed, self.leaky_slope = int(seed), leaky_slope
        self.arch = arch
        self.generator: torch.Generator | None = None
        self._channels_last = False

        self.convs = nn.ModuleList()
        in_ch, bands = 1, self.n_bands
        for blk in arch.convs:
            self.convs.append(_MaskedConvBlock(in_ch, blk, batch_norm, _Activation(activation, leaky_slope)))
            in_ch, bands = blk.filters, bands // blk.pool[0]
        step_width = in_ch * bands if arch.convs else self.n_bands
        rnn_cls = nn.GRU if arch.cell == "gru" else nn.LSTM
        dirs = 2 if arch.bidirectional else 1
        self.rnns = nn.ModuleList()
        for units in arch.units:
            self.rnns.append(rnn_cls(step_width, units, batch_first=True, bidirectional=arch.bidirectional))
            step_width = units * dirs
        self.step_width_in = in_ch * bands if arch.convs else self.n_bands
        self.out = nn.Linear(step_width, self.n_classes)
        self._init_weights()

    # --- construction ----------------------------------------------------------------------

    def _init_weights(self) -> None:
        g = torch.Generator().manual_seed(self.seed)
        gain_name = {"relu": "relu", "leaky_relu": "leaky_relu", "selu": "selu", "sigmoid": "sigmoid",
                     "elu": "relu", None: "linear"}[self.activation]
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                hidden = m is not self.out
                if self.init == "he":
                    nl, a = (gain_name, self.leaky_slope) if hidden else ("linear", 0.0)
                    nn.init.kaiming_normal_(m.weight, a=a, nonlinearity=nl, generator=g)
                else:
                    nn.init.xavier_uniform_(m.weight, generator=g)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.GRU, nn.LSTM)):
                gates = 3 if isinstance(m, nn.GRU) else 4
                for name, p in m.named_parameters():
                    with torch.no_grad():
                        for chunk in p.chunk(gates, 0):   # one matrix (or bias) per gate
                            if name.startswith("weight_ih"):
                                nn.init.xavier_uniform_(chunk, generator=g)
                            elif name.startswith("weight_hh"):
                                nn.init.orthogonal_(chunk, generator=g)
                            else:
                                nn.init.zeros_(chunk)
                        if isinstance(m, nn.LSTM) and name.startswith("bias_ih"):
                            p[m.hidden_size:2 * m.hidden_size] = 1.0   # forget gate (i, f, g, o)

    def config(self) -> dict[str, Any]:
        """JSON-ready settings; ``PatchRNN(**config)`` rebuilds the same net (same initial weights)."""
        return {"architecture": self.architecture, "n_bands": self.n_bands, "n_frames": self.n_frames,
                "n_classes": self.n_classes, "activation": self.activation if self.arch.convs else None,
                "batch_norm": self.batch_norm if self.arch.convs else None, "dropout": self.dropout,
                "init": self.init, "seed": self.seed, "leaky_slope": self.leaky_slope}

    # --- forward -----------------------------------------------------------------------------

    def to_cpu_layout(self) -> "PatchRNN":
        """The conv front-end channels-last (NHWC) for oneDNN on the CPU; the function does not
        change (sums in another order: the last float32 bits differ). The C-RNN of
        ``crnn-short`` trained 1.4× faster so (one thread, batches of 32 patches of 96 × 40:
        0.25 against 0.36 s of CPU per step, torch 2.13 on a 2-core Xeon). Nothing to do for
        ``bilstm``."""
        if self.convs:
            self.convs.to(memory_format=torch.channels_last)
            self._channels_last = True
        return self

    def _input(self, x: Tensor) -> Tensor:
        if x.dim() == 4 and x.shape[1] == 1:
            x = x[:, 0]
        min_f = min_input_size(self.architecture)[1]
        if x.dim() != 3 or x.shape[1] != self.n_bands or x.shape[2] < min_f:
            raise ValueError(f"{self.architecture}: expected patches of shape (B, {self.n_bands}, frames >= {min_f}) "
                             f"or (B, 1, {self.n_bands}, frames), got {tuple(x.shape)}")
        return x

    def _lengths(self, lengths: Tensor | np.ndarray | Sequence[int] | None, x: Tensor) -> Tensor | None:
        """Real frames per patch as int64 on ``x``'s device, or None when every frame is real."""
        if lengths is None:
            return None
        L = torch.as_tensor(np.asarray(lengths) if not isinstance(lengths, Tensor) else lengths, dtype=torch.int64)
        T = x.shape[-1]
        if L.shape != (x.shape[0],) or (len(L) and (int(L.min()) < 1 or int(L.max()) > T)):
            raise ValueError(f"{self.architecture}: lengths must be ({x.shape[0]},) integers in [1, {T}], got "
                             f"{tuple(L.shape)} {L.tolist() if L.numel() <= 8 else ''}")
        if bool((L == T).all()):
            return None
        return L.to(x.device)

    def _drop(self, x: Tensor, p: float) -> Tensor:
        return _dropout(x, p, training=self.training, generator=self.generator)

    def _run(self, x: Tensor, lengths: Any, want: set[str] | None) -> tuple[Tensor, dict[str, Tensor]]:
        """Logits, and the wanted features (``None``: none)."""
        x = self._input(x)
        L = self._lengths(lengths, x)
        feats: dict[str, Tensor] = {}
        if self.convs:
            h = x.unsqueeze(1)
            if self._channels_last:
                h = h.contiguous(memory_format=torch.channels_last)
            conv_drop = lambda t: self._drop(t, self.arch.conv_dropout)  # noqa: E731
            for k, block in enumerate(self.convs):
                h, L = block(h, L, conv_drop)
                name = f"conv{k + 1}"
                if want is not None and name in want:
                    if L is None:
                        feats[name] = h.mean(dim=(2, 3))
                    else:  # padded positions are 0: their sum over real positions only
                        feats[name] = h.sum(dim=(2, 3)) / (L.to(h.dtype) * h.shape[2])[:, None]
            seq = h.permute(0, 3, 1, 2).flatten(2)      # (B, steps, maps × bands)
        else:
            seq = x.transpose(1, 2)                     # (B, frames, bands)
        if L is None:
            run: Tensor | PackedSequence = seq
        else:
            run = pack_padded_sequence(seq, L.cpu(), batch_first=True, enforce_sorted=False)
        last = len(self.rnns) - 1
        for k, rnn in enumerate(self.rnns):
            run, hn = rnn(run)
            if isinstance(hn, tuple):                  # LSTM: (h_n, c_n)
                hn = hn[0]
            state = hn.transpose(0, 1).flatten(1)      # (B, directions × units): forward ‖ backward
            name = f"{self.arch.cell}{k + 1}"
            if want is not None and name in want:
                feats[name] = state
            if self.arch.between and k < last:
                if isinstance(run, PackedSequence):
                    run = PackedSequence(self._drop(run.data, self.dropout), run.batch_sizes, run.sorted_indices,
                                         run.unsorted_indices)
                else:
                    run = self._drop(run, self.dropout)
        return self.out(self._drop(state, self.dropout)), feats

    def forward(self, x: Tensor, lengths: Tensor | np.ndarray | None = None) -> Tensor:
        """Logits [shape=(B, n_classes)] of patches ``x`` [shape=(B, n_bands, frames)] whose first
        ``lengths`` [shape=(B,)] frames are real (``None``: all)."""
        return self._run(x, lengths, None)[0]

    @property
    def feature_layers(self) -> dict[str, int]:
        """Named feature layers → width, in network order (conv blocks, then recurrent layers)."""
        d = {f"conv{k + 1}": blk.filters for k, blk in enumerate(self.arch.convs)}
        dirs = 2 if self.arch.bidirectional else 1
        d.update({f"{self.arch.cell}{k + 1}": units * dirs for k, units in enumerate(self.arch.units)})
        return d

    def features(self, x: Tensor, layers: Sequence[str] | None = None,
                 lengths: Tensor | np.ndarray | None = None) -> dict[str, Tensor]:
        """Named features of patches ``x``: name → (B, width), in the order of ``layers``
        (``None``: every layer of :attr:`feature_layers`); ``lengths`` as in :meth:`forward`."""
        known = self.feature_layers
        layers = list(known) if layers is None else list(layers)
        bad = [n for n in layers if n not in known]
        if bad:
            raise ConfigError(f"{self.architecture} has no feature layer(s) {bad}; known: {list(known)}")
        _, feats = self._run(x, lengths, set(layers))
        return {n: feats[n] for n in layers}

    def layer_shapes(self) -> dict[str, tuple[int, ...]]:
        """Output shape (channels, bands, steps) of every conv block, ``steps`` (time steps ×
        step width the recurrent layers see), every recurrent layer's state width and ``out``,
        for one full patch (computed, not run)."""
        shapes: dict[str, tuple[int, ...]] = {}
        b, f = self.n_bands, self.n_frames
        for k, blk in enumerate(self.arch.convs):
            b, f = b // blk.pool[0], f // blk.pool[1]
            shapes[f"conv{k + 1}"] = (blk.filters, b, f)
        shapes["steps"] = (f, self.step_width_in)
        for name, width in self.feature_layers.items():
            if not name.startswith("conv"):
                shapes[name] = (width,)
        shapes["out"] = (self.n_classes,)
        return shapes

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

"""Spectrogram CNNs as feature learners: patches of log-mel or CQT frames → a CNN → named layers.

>>> learner = CNNLearner(architecture="schindler-shallow").fit(train_frames, valid_frames)  # doctest: +SKIP
>>> feats = learner.transform(test_frames, layers="all")   # one row per patch  # doctest: +SKIP

The frames are the rows of a spectrogram (``[frames] kind = "logmel"`` or ``"cqt"``): a patch
is ``patch_frames`` consecutive frames × every band, taken as a view of the (memory-mapped)
frame matrix. Training draws ``patches_per_track`` random patches from every training track each
epoch; features and predictions use patches every ``patch_hop`` frames. A track shorter than
one patch gives one zero-padded patch (counted in :meth:`training_summary`). Every band is
standardised with the mean and standard deviation of the training tracks only; the statistics
are saved with the network, which therefore takes raw frames.

The recurrent nets of :mod:`mirlearn.nn.rnn` (a C-RNN, a bidirectional LSTM) are architectures
of the same family: the same patches, training, cells and saved form; their feature layers are
their conv blocks and recurrent states (``gru2``, ``lstm2``), and a padded patch's padding is
never read by their recurrent layers.

Rows of :meth:`transform` and :meth:`output` are patches: their time base has a hop of
``patch_hop`` frames and a length of one patch, so aggregation windows in seconds and the
times of exported features work as for frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mirlearn.errors import MirlearnError
from mirlearn.features.frameset import FrameSet
from mirlearn.features.timebase import TimeBase
from mirlearn.learners.base import Learner, feature_matrix
from mirlearn.learners.layers import LayerSpec

__all__ = ["CNNLearner", "patch_time_base"]

SAVE_FORMAT = 1


def patch_time_base(tb: TimeBase | None, patch_frames: int, patch_hop: int) -> TimeBase | None:
    """The time base of patch rows cut from frames of time base ``tb``.

    One row every ``patch_hop`` frames, each covering ``patch_frames`` frames (the span of a
    patch in samples is ``(patch_frames - 1) * hop + n_fft``).
    """
    if tb is None:
        return None
    n_fft = None if tb.n_fft is None else (patch_frames - 1) * tb.hop_length + tb.n_fft
    return TimeBase(tb.sr, tb.hop_length * patch_hop, "patches", n_fft=n_fft, center=tb.center)


class CNNLearner(Learner):
    """A CNN trained on spectrogram patches; its named layers (globally pooled) as features.

    Parameters
    ----------
    architecture : a name of :data:`mirlearn.nn.cnn.ARCHITECTURES` (CNNs) or of
        :data:`mirlearn.nn.rnn.RECURRENT` (``crnn-choi2017``, ``crnn-short``, ``bilstm``)
    patch_frames : frames per patch (the architecture's input width)
    patch_hop : frames between patches for features, predictions and validation
    activation, batch_norm, dropout : ``None`` keeps the architecture's published choice
    dense_activation : the hidden dense layer's non-linearity (``None``: ``activation``), or
        ``"maxout"``: each dense unit the max of ``maxout_pieces`` linear pieces (``None``: 2)
    dense_units : units of the hidden dense layer (``None``: the architecture's)
    init : ``"he"`` or ``"glorot"``
    optimizer : ``"adam"``, ``"nadam"``, ``"sgd"`` (with ``momentum``, ``nesterov``) or ``"adagrad"``
    lr, momentum, nesterov, weight_decay, batch_size (patches), max_epochs, patience : training
    adagrad_initial_accumulator, adagrad_eps : AdaGrad's settings (``None``: torch's 0 and 1e-10)
    patches_per_track : random patches per training track per epoch
    augment : per-batch augmentation of the training patches (the fields of
        :class:`mirlearn.nn.batch_augment.BatchAugment`: gain, SpecAugment masks, mixup), or None
    task : ``None`` / ``"label"``: one softmax over the classes; ``"tags"``: one sigmoid output
        per tag of the training tracks, binary cross-entropy (auto-tagging, as Choi et al. train
        on MagnaTagATune)
    seed : seeds initialisation, patch draws, dropout and the augmentation's draws
    device, run_dir, progress : where it runs, where its log and checkpoints go, progress display

    Attributes
    ----------
    net_ : the trained :class:`mirlearn.nn.cnn.PatchCNN` (or :class:`mirlearn.nn.rnn.PatchRNN`)
    standardizer_ : per-band statistics of the training tracks
    classes_ : class names (tag names for task ``"tags"``), in output order
    n_bands_ : bands per frame the network takes
    train_result_ : what the training loop reported
    padded_tracks_ : training tracks shorter than one patch (padded)
    """

    kind = "cnn"

    def __init__(
        self,
        *,
        architecture: str = "schindler-shallow",
        patch_frames: int = 80,
        patch_hop: int = 40,
        activation: str | None = None,
        dense_activation: str | None = None,
        maxout_pieces: int | None = None,
        dense_units: int | None = None,
        batch_norm: bool | None = None,
        dropout: float | None = None,
        init: str = "he",
        optimizer: str = "adam",
        lr: float = 1e-3,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        adagrad_initial_accumulator: float | None = None,
        adagrad_eps: float | None = None,
        batch_size: int = 32,
        max_epochs: int = 100,
        patience: int = 10,
        patches_per_track: int = 8,
        augment: dict[str, Any] | None = None,
        task: str | None = None,
        seed: int = 0,
        device: str = "cpu",
        run_dir: str | Path | None = None,
        progress: bool = True,
    ) -> None:
        self.architecture = architecture
        self.patch_frames = patch_frames
        self.patch_hop = patch_hop
        self.activation = activation
        self.dense_activation = dense_activation
        self.maxout_pieces = maxout_pieces
        self.dense_units = dense_units
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.init = init
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.adagrad_initial_accumulator = adagrad_initial_accumulator
        self.adagrad_eps = adagrad_eps
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.patches_per_track = patches_per_track
        self.augment = augment
        self.task = task
        self.seed = seed
        self.device = device
        self.run_dir = run_dir
        self.progress = progress

    @classmethod
    def from_config(cls, cfg: Any, **kwargs: Any) -> "CNNLearner":
        """Build from a :class:`mirlearn.config.Config` with ``learner = "cnn"``."""
        c, t = cfg.cnn, cfg.training
        params = dict(architecture=c.architecture, patch_frames=c.patch_frames, patch_hop=c.patch_hop,
                      activation=c.activation, batch_norm=c.batch_norm, dropout=c.dropout, init=c.init,
                      optimizer=t.optimizer, lr=t.lr, momentum=t.momentum, nesterov=t.nesterov,
                      weight_decay=t.weight_decay, batch_size=t.batch_size, max_epochs=t.max_epochs,
                      patience=t.patience, patches_per_track=t.patches_per_track, seed=t.seed)
        for key in ("adagrad_initial_accumulator", "adagrad_eps"):  # unset: absent, as before AdaGrad
            if getattr(t, key, None) is not None:
                params[key] = getattr(t, key)
        dense_activation = getattr(c, "dense_activation", None)
        if dense_activation is not None:
            params["dense_activation"] = dense_activation
        if getattr(c, "dense_units", None) is not None:
            params["dense_units"] = c.dense_units
        if dense_activation == "maxout":  # k recorded as a number, so that unset and 2 are one learner
            from mirlearn.nn.mlp import DEFAULT_MAXOUT_PIECES

            params["maxout_pieces"] = getattr(c, "maxout_pieces", None) or DEFAULT_MAXOUT_PIECES
        augment = cfg.augment.batch() if hasattr(cfg, "augment") else None
        if augment is not None:
            params["augment"] = augment
        if getattr(t, "task", "label") != "label":
            params["task"] = t.task
        params.update(kwargs)
        return cls(**params)

    @classmethod
    def layer_names_for(cls, params: dict[str, Any]) -> list[str]:
        from mirlearn.nn.patchnets import layer_names

        return list(layer_names(params["architecture"]))

    # -- training -------------------------------------------------------------------------
    def _network(self, n_bands: int, n_classes: int):
        from mirlearn.nn.patchnets import build

        return build(self.architecture, n_bands=n_bands, n_frames=self.patch_frames, n_classes=n_classes,
                        activation=self.activation, batch_norm=self.batch_norm, dropout=self.dropout,
                        init=self.init, seed=self.seed, dense_activation=self.dense_activation,
                        maxout_pieces=self.maxout_pieces, dense_units=self.dense_units)

    def fit(self, train: FrameSet, valid: FrameSet) -> "CNNLearner":
        """Standardise bands on ``train``'s tracks and train the CNN on their patches.

        Parameters
        ----------
        train, valid : FrameSet of spectrogram frames ``(n_frames, n_bands)`` with their
            tracks (labels per track); ``valid`` drives early stopping. Their TrackTables must
            share ``classes``.
        """
        from mirlearn.nn.patches import BandStandardizer, padded_tracks
        from mirlearn.nn.train.patches import PatchTrainConfig, train_patches

        self.classes_ = self.output_names(train, valid)
        self.n_bands_ = int(train.dim)
        self.padded_tracks_ = int(len(padded_tracks(train.offsets, self.patch_frames)))
        self.standardizer_ = BandStandardizer().fit(train.X, train.offsets)
        net = self._network(self.n_bands_, len(self.classes_))
        config = PatchTrainConfig(optimizer=self.optimizer, lr=self.lr, momentum=self.momentum,
                                  nesterov=self.nesterov, weight_decay=self.weight_decay,
                                  batch_size=self.batch_size, max_epochs=self.max_epochs, patience=self.patience,
                                  seed=self.seed, patches_per_track=self.patches_per_track,
                                  valid_hop=self.patch_hop, device=self.device, augment=self.augment,
                                  adagrad_initial_accumulator=self.adagrad_initial_accumulator,
                                  adagrad_eps=self.adagrad_eps)
        run_dir = Path(self.run_dir) if self.run_dir is not None else None
        self.train_result_ = train_patches(net, train.X, train.offsets, self.track_targets(train.tracks), valid.X,
                                           valid.offsets, self.track_targets(valid.tracks), config, standardizer=self.standardizer_,
                                           patch_frames=self.patch_frames, run_dir=run_dir, progress=self.progress,
                                           representation=getattr(train.time_base, "kind", None) or "logmel")
        self.net_ = net.to("cpu").eval()
        return self

    def randomized(self, seed: int = 0) -> "CNNLearner":
        """See :meth:`Learner.randomized`: the architecture's own initialisation with ``seed``,
        the band standardiser kept."""
        import copy

        self._check_fitted()
        out = copy.copy(self)
        out.seed = int(seed)
        out.net_ = out._network(self.n_bands_, len(self.classes_)).eval()
        out.train_result_ = None
        return out

    def training_summary(self) -> str:
        """How training ended, and how many training tracks were padded to one patch."""
        line = self.train_result_.summary()
        if getattr(self, "padded_tracks_", 0):
            line += f"; {self.padded_tracks_} training track(s) shorter than one patch were zero-padded"
        return line

    # -- features and outputs -------------------------------------------------------------
    @property
    def feature_layers_(self) -> dict[str, int]:
        self._check_fitted()
        return dict(self.net_.feature_layers)

    def _check_input(self, frames: FrameSet) -> None:
        self._check_fitted()
        if frames.dim != self.n_bands_:
            raise MirlearnError(f"this CNN takes frames of {self.n_bands_} bands, got {frames.dim} "
                                f"(frame kind {getattr(frames.time_base, 'kind', '?')}): extract the frames "
                                "with the settings the network was trained on")

    def _grid(self, frames: FrameSet):
        from mirlearn.nn.patches import even_patches

        return even_patches(frames.offsets, self.patch_frames, self.patch_hop)

    def _patch_frameset(self, frames: FrameSet, grid, Y: np.ndarray) -> FrameSet:
        counts = np.bincount(np.asarray(grid.track, dtype=np.int64), minlength=frames.n_tracks)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return FrameSet(Y, offsets, frames.tracks, patch_time_base(frames.time_base, self.patch_frames,
                                                                    self.patch_hop))

    def transform(self, frames: FrameSet, *, layers: LayerSpec = "all", batch_size: int = 256,
                  out: str | Path | None = None) -> FrameSet:
        """Features of every patch (every ``patch_hop`` frames of every track).

        Parameters
        ----------
        frames : FrameSet of spectrogram frames ``(n_frames, n_bands)``
        layers : ``"all"``, a layer name or a sequence of names (concatenated in order)
        batch_size : patches per forward pass
        out : a raw float32 file (``.npy``: NumPy format) to write the features to; they are
            then returned memory-mapped

        Returns
        -------
        FrameSet with one row per patch, ``(n_patches, sum of the chosen widths)``, float32,
        whose offsets give each track's patches and whose time base is that of the patches
        """
        from mirlearn.nn.train.patches import patch_features

        self._check_input(frames)
        sel = list(self.select(layers))
        widths = self.feature_layers_
        dim = int(sum(widths[name] for name in sel))
        grid = self._grid(frames)
        device = self.device or "cpu"
        Y = feature_matrix(len(grid), dim, lambda Y: patch_features(
            self.net_, frames.X, grid, self.standardizer_, self.patch_frames, sel, out=Y, batch_size=batch_size,
            device=device), out)
        return self._patch_frameset(frames, grid, Y)

    def predict_proba(self, frames: FrameSet, batch_size: int = 256) -> np.ndarray:
        """The CNN's own class probabilities per patch, ``(n_patches, n_classes)``; the patches
        are those of :meth:`transform` (see :meth:`output` for their tracks)."""
        from mirlearn.nn.train.patches import predict_patches

        self._check_input(frames)
        return predict_patches(self.net_, frames.X, self._grid(frames), self.standardizer_, self.patch_frames,
                               batch_size=batch_size, device=self.device or "cpu", sigmoid=self.multilabel)

    def output(self, frames: FrameSet, batch_size: int = 256) -> FrameSet:
        """Class probabilities per patch as a FrameSet (rows: patches of each track)."""
        from mirlearn.nn.train.patches import predict_patches

        self._check_input(frames)
        grid = self._grid(frames)
        P = predict_patches(self.net_, frames.X, grid, self.standardizer_, self.patch_frames,
                            batch_size=batch_size, device=self.device or "cpu", sigmoid=self.multilabel)
        return self._patch_frameset(frames, grid, np.asarray(P, dtype=np.float32))

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``featurenet.pt`` (weights, band statistics, classes, parameters) atomically."""
        import torch

        from mirlearn.io import atomic_path

        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        blob = {"format": SAVE_FORMAT, "kind": self.kind, "config": self.net_.config(),
                "state_dict": self.net_.state_dict(), "standardizer": self.standardizer_.state_dict(),
                "classes": self.classes_, "n_bands": self.n_bands_, "params": self.saved_params(),
                "padded_tracks": getattr(self, "padded_tracks_", 0)}
        with atomic_path(path / "featurenet.pt") as tmp:
            torch.save(blob, tmp)
        return path / "featurenet.pt"

    @classmethod
    def from_saved(cls, blob: dict[str, Any]) -> "CNNLearner":
        """The learner of a blob that :meth:`save` wrote (already read from disk)."""
        from mirlearn.nn.patchnets import from_config
        from mirlearn.nn.patches import BandStandardizer

        params = {k: v for k, v in blob["params"].items() if k not in ("device", "run_dir", "progress")}
        self = cls(**params, progress=False)
        self.net_ = from_config(blob["config"])
        self.net_.load_state_dict(blob["state_dict"])
        self.net_.eval()
        self.standardizer_ = BandStandardizer.from_state_dict(blob["standardizer"])
        self.classes_ = list(blob["classes"])
        self.n_bands_ = int(blob["n_bands"])
        self.padded_tracks_ = int(blob.get("padded_tracks", 0))
        return self

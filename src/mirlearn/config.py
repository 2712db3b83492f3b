"""Typed experiment configuration, read from TOML.

A configuration has one section per pipeline stage. Unknown sections or keys, values of the
wrong type and values out of range raise :class:`~mirlearn.errors.ConfigError` naming the key
and the value, when the configuration is loaded — before any work — so a misspelt key never
silently falls back to a default and a bad value never fails after hours of training. The
resolved configuration is saved beside every run.

The ``[frames]`` section is :class:`mirlearn.features.settings.FrameSettings` itself (the
type the frame cache and the models use; ``FramesConfig`` is another name for it).

The packaged configurations (``mirlearn/configs/*.toml``) hold the paper's settings; they are
addressed by name (``sigtia2014-relu-dropout-500``) or a TOML file can be given by path.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from mirlearn.errors import ConfigError
from mirlearn.features.augment.audio import DEFAULT_SHIFT_SEMITONES, DEFAULT_STRETCH_RATES
from mirlearn.features.settings import FrameSettingError, FrameSettings
from mirlearn.nn.pretrain.settings import PretrainSettings

#: The ``[frames]`` section: sr, n_fft, hop_length, window, center, kind, max_seconds (the old
#: name of :class:`~mirlearn.features.settings.FrameSettings`, kept for old imports).
FramesConfig = FrameSettings


@dataclass
class NetworkConfig:
    """The MLP ``n_in → hidden[0] → … → n_classes``."""

    hidden: list[int] = field(default_factory=lambda: [500, 500, 500])
    #: "relu", "sigmoid" or "maxout" (Goodfellow et al. 2013: each unit the max of
    #: ``maxout_pieces`` linear pieces; ``hidden`` counts units)
    activation: str = "relu"
    dropout: float = 0.0  #: dropout rate on each hidden layer
    input_dropout: float = 0.0  #: dropout rate on the input (off in the paper)
    #: pieces per maxout unit, k >= 2 (unset: 2); read only with activation = "maxout"
    maxout_pieces: int | None = None


@dataclass
class CNNConfig:
    """A CNN on spectrogram patches (``learner = "cnn"``): architecture and patching.

    The frames (``[frames]``, e.g. ``kind = "logmel"``, ``n_mels = 80``) are the patches'
    rows: a patch is ``patch_frames`` consecutive frames × every band.
    """

    #: one of :data:`mirlearn.nn.cnn.ARCHITECTURES` (mirex2015, schindler-shallow,
    #: schindler-deep, parallel-dcase2016, choi2017) or a recurrent net of
    #: :data:`mirlearn.nn.rnn.RECURRENT` (crnn-choi2017, crnn-short, bilstm)
    architecture: str = "schindler-shallow"
    patch_frames: int = 80  #: frames per patch (80 ≈ 1.9 s at hop 512, 22050 Hz)
    patch_hop: int = 40  #: frames between the patches of a track for features and prediction
    activation: str | None = None  #: relu, leaky_relu, elu or selu (unset: the architecture's own)
    #: the hidden dense layer's: one of those or "maxout" (unset: ``activation``)
    dense_activation: str | None = None
    #: pieces per maxout unit, k >= 2 (unset: 2); read only with dense_activation = "maxout"
    maxout_pieces: int | None = None
    #: units of the hidden dense layer (unset: the architecture's, 200)
    dense_units: int | None = None
    batch_norm: bool | None = None  #: unset: the architecture's own
    dropout: float | None = None  #: unset: the architecture's own
    init: str = "he"  #: weight initialisation: "he" or "glorot"


#: Section keys added after configurations were first saved: :meth:`Config.to_dict` (hence the
#: saved ``config.toml`` and settings) leaves them out while unset.
_OMITTED_WHEN_UNSET = {"network": ("maxout_pieces",), "cnn": ("dense_activation", "maxout_pieces", "dense_units"),
                       "features": ("timescales", "pool"),
                       "training": ("adagrad_initial_accumulator", "adagrad_eps")}
#: Pieces per maxout unit when unset (:data:`mirlearn.nn.mlp.DEFAULT_MAXOUT_PIECES`, not
#: imported from there so that reading a configuration does not import torch).
DEFAULT_MAXOUT_PIECES = 2

#: Training keys only one learner family reads; a configuration giving the other family's
#: keys is refused (one line) instead of silently ignoring them.
MLP_TRAINING_KEYS = frozenset({"init_damping", "max_cg_iters", "curvature_fraction", "max_train_frames",
                               "frames_per_epoch", "max_valid_frames", "label_fraction"})
CNN_TRAINING_KEYS = frozenset({"momentum", "nesterov", "weight_decay", "patches_per_track"})
#: Optimisers per learner family.
OPTIMIZERS = {"mlp": ("sgd", "hf", "adagrad"), "cnn": ("sgd", "adam", "nadam", "adagrad")}


@dataclass
class TrainingConfig:
    """Optimiser settings: SGD for ReLU nets, Hessian-Free for sigmoid nets."""

    optimizer: str = "sgd"  #: "sgd", "hf" or "adagrad" (a CNN: "adam", "nadam", "sgd" or "adagrad")
    loss: str = "softmax"  #: "softmax" (cross-entropy) or "sigmoid" (binary CE per output)
    task: str = "label"  #: what the net learns: "label" (the classes) or "tags" (one sigmoid per tag)
    lr: float = 0.01  #: SGD learning rate, no schedule
    batch_size: int = 256  #: SGD minibatch, frames
    max_epochs: int = 200  #: SGD epochs (or HF steps when optimizer = "hf")
    patience: int = 10  #: early stopping on validation loss, epochs (0 = off)
    seed: int = 0
    init_damping: float = 10.0  #: HF: initial Levenberg-Marquardt λ
    max_cg_iters: int = 250  #: HF: conjugate-gradient iterations per step
    curvature_fraction: float = 0.25  #: HF: share of the training set for curvature
    max_train_frames: int | None = None  #: seeded subsample of training frames (a reduction)
    #: SGD: frames drawn afresh from all training frames each epoch (a reduction); None = all
    frames_per_epoch: int | None = None
    #: seeded subsample of the validation frames that early stopping watches (a reduction)
    max_valid_frames: int | None = None
    #: Hamel's question (few labels): the share of the split's training tracks, and separately
    #: of its validation tracks, whose labels are used — by the network's supervised training
    #: and early stopping and by the feature cells' forests (seeded, stratified, whole tracks,
    #: at least one per class; mirlearn.datasets.labelled). Pre-training (``[pretrain]``) and
    #: the standardiser use every training frame, unlabelled. Unset: every label.
    label_fraction: float | None = None
    momentum: float = 0.0  #: CNN, optimizer "sgd": momentum (0 = plain SGD)
    nesterov: bool = False  #: CNN, optimizer "sgd": Nesterov momentum
    weight_decay: float = 0.0  #: CNN: L2 penalty on the weights (torch optimisers' weight_decay)
    patches_per_track: int = 8  #: CNN: random patches drawn from each training track per epoch
    #: optimizer "adagrad": the sum of squared gradients starts at this value (unset: 0, torch's)
    adagrad_initial_accumulator: float | None = None
    #: optimizer "adagrad": added to the root of that sum (unset: 1e-10, torch's)
    adagrad_eps: float | None = None


@dataclass
class FeaturesConfig:
    """Which hidden activations become features, and the optional aggregation."""

    layers: list[str] = field(default_factory=lambda: ["1", "2", "3", "all"])
    aggregate: list[bool] = field(default_factory=lambda: [False, True])
    window_seconds: float = 5.0  #: aggregation window, s
    hop_seconds: float = 2.5  #: aggregation hop, s
    predict_layers: str = "all"  #: features of the forest saved with a model for `predict`
    predict_aggregate: bool = True
    #: also score the learner's own output per track: the mean of its probabilities (the
    #: class of highest mean, "max probability") and the majority vote of its rows
    own_output: bool = False
    #: multi-timescale pooling (Hamel et al. 2011): window lengths, s, pooled side by side in
    #: every aggregated row, one row every hop_seconds (the rows' window is the longest, and
    #: window_seconds is not read); unset: the one window_seconds
    timescales: list[float] | None = None
    #: statistics of every aggregation window: "mean", "var", "max", "min" (unset: mean, var)
    pool: list[str] | None = None


@dataclass
class ForestConfig:
    """The Random Forest on frame (or window) features, then a majority vote per track."""

    n_estimators: int = 500
    #: features tried per split: "sqrt", "log2", a number (int >= 1), a share (float in (0, 1]),
    #: or unset (all)
    max_features: str | int | float | None = "sqrt"
    min_samples_leaf: int = 1
    #: bootstrap sample per tree: a share of the rows (float in (0, 1]), a number of rows (int,
    #: capped at the rows there are) or None (as many as there are rows)
    max_samples: int | float | None = None
    max_train_frames: int | None = None  #: seeded per-track subsample of training rows
    backend: str = "sklearn"  #: "sklearn" (Random Forest), "extra_trees" or "hist_gradient_boosting"
    n_jobs: int = -1
    seed: int = 0


@dataclass
class AugmentConfig:
    """Data augmentation of the training tracks only (never validation or test tracks).

    *Offline* (expensive, cached as frames, :mod:`mirlearn.features.augment`): every value of
    every list makes one augmented copy of each training track (× ``segments`` random segments
    of ``crop_seconds`` when that is set). The defaults are Schindler & Lidy's tutorial's
    (ML Prague 2018): time stretch 0.2, 0.5, 1.2, 1.5 and pitch shift −5, −2, +2, +5 semitones.
    *On the fly* (cheap, per training batch, :mod:`mirlearn.nn.batch_augment`): a random gain,
    SpecAugment time/frequency masks and mixup.
    """

    enabled: bool = False  #: off: none of the below is used (``--set augment.enabled=false``)
    #: stretch rates (> 1 faster and shorter; librosa's convention), one copy each
    time_stretch: list[float] = field(default_factory=lambda: list(DEFAULT_STRETCH_RATES))
    pitch_shift: list[float] = field(default_factory=lambda: list(DEFAULT_SHIFT_SEMITONES))  #: semitones, one copy each
    gain_db: list[float] = field(default_factory=list)  #: gains in dB, one copy each
    noise_snr_db: list[float] = field(default_factory=list)  #: white noise at these SNRs (dB), one copy each
    backend: str = "librosa"  #: time stretch / pitch shift library: "librosa" or "rubberband"
    crop_seconds: float | None = None  #: keep a random segment of this length of each copy (unset: all)
    segments: int = 1  #: random segments per copy (needs crop_seconds)
    seed: int = 0  #: seeds noise and segment starts
    batch_gain_db: float = 0.0  #: per training batch: a gain drawn in ±this many dB per example
    time_masks: int = 0  #: per training batch: SpecAugment time masks per example …
    time_mask_frames: int = 0  #: … each up to this many frames wide
    freq_masks: int = 0  #: per training batch: frequency masks per example …
    freq_mask_bands: int = 0  #: … each up to this many bands wide
    mixup_alpha: float = 0.0  #: per training batch: mixup with λ ~ Beta(α, α) (0: off)

    def transforms(self) -> list:
        """The offline variants (:class:`mirlearn.features.augment.AudioTransform`); none when
        disabled. Raises ConfigError on a bad value."""
        if not self.enabled:
            return []
        from mirlearn.features.augment.transforms import offline_transforms

        return offline_transforms(time_stretch=self.time_stretch, pitch_shift=self.pitch_shift,
                                  gain_db=self.gain_db, noise_snr_db=self.noise_snr_db, backend=self.backend,
                                  crop_seconds=self.crop_seconds, segments=self.segments, seed=self.seed)

    def batch(self) -> dict[str, Any] | None:
        """The on-the-fly settings (:class:`mirlearn.nn.batch_augment.BatchAugment` fields), or
        None when disabled or all off."""
        d = {"gain_db": self.batch_gain_db, "time_masks": self.time_masks, "time_mask_frames": self.time_mask_frames,
             "freq_masks": self.freq_masks, "freq_mask_bands": self.freq_mask_bands, "mixup_alpha": self.mixup_alpha}
        on = self.enabled and (self.batch_gain_db > 0 or self.mixup_alpha > 0
                               or (self.time_masks > 0 and self.time_mask_frames > 0)
                               or (self.freq_masks > 0 and self.freq_mask_bands > 0))
        return d if on else None


@dataclass
class SplitsConfig:
    """The protocol: K random stratified train/valid/test splits."""

    n_splits: int = 4
    fractions: list[float] = field(default_factory=lambda: [0.5, 0.25, 0.25])
    seed: int = 0


@dataclass
class Config:
    """A whole experiment: frames → network → features → forest → vote, over splits."""

    name: str = "custom"
    description: str = ""
    learner: str = "mlp"  #: the learner family: "mlp" (the paper's) or "cnn" (spectrogram patches)
    frames: FrameSettings = field(default_factory=FrameSettings)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    cnn: CNNConfig = field(default_factory=CNNConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    forest: ForestConfig = field(default_factory=ForestConfig)
    splits: SplitsConfig = field(default_factory=SplitsConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    #: unsupervised greedy layer-wise pre-training of the MLP (method "none": off)
    pretrain: PretrainSettings = field(default_factory=PretrainSettings)

    def to_dict(self) -> dict[str, Any]:
        """Every setting, as nested dicts; the other learner family's section is left out, and
        ``[augment]`` unless augmentation is enabled."""
        d = dataclasses.asdict(self)
        if not self.augment.enabled:
            del d["augment"]
        if not (self.pretrain.enabled and self.learner == "mlp"):  # absent while off: older settings read the same
            del d["pretrain"]
        if self.training.label_fraction in (None, 1):  # 1: every label, the same run as unset
            del d["training"]["label_fraction"]
        d["frames"] = self.frames.to_dict()  # a frame kind's own settings only where they are read
        del d["cnn" if self.learner == "mlp" else "network"]
        # Keys added with maxout units: left out while unset, so that other configurations'
        # saved settings read as they always have; a maxout net's k is written resolved.
        net = "network" if self.learner == "mlp" else "cnn"
        if d[net].get("activation" if net == "network" else "dense_activation") == "maxout":
            d[net]["maxout_pieces"] = d[net].get("maxout_pieces") or DEFAULT_MAXOUT_PIECES
        for key in _OMITTED_WHEN_UNSET[net]:
            if d[net].get(key) is None:
                d[net].pop(key, None)
        for name in ("features", "training"):  # multi-timescale pooling, AdaGrad: the same
            for key in _OMITTED_WHEN_UNSET[name]:
                if d[name].get(key) is None:
                    d[name].pop(key, None)
        if self.learner == "mlp":
            del d["learner"]  # an MLP configuration reads as it always has
        other = CNN_TRAINING_KEYS if self.learner == "mlp" else MLP_TRAINING_KEYS
        d["training"] = {k: v for k, v in d["training"].items() if k not in other}
        return d

    def validate(self) -> "Config":
        """Check values that types alone cannot; returns self.

        The ``[frames]`` values are checked when :class:`FrameSettings` is made.

        Raises
        ------
        ConfigError
            ``config key <section>.<key>=<value>: <what it must be>``, for the first bad value.
        """
        n, t, f, fo, s = self.network, self.training, self.features, self.forest, self.splits
        _check(self.learner in OPTIMIZERS, "learner", self.learner, f"must be one of {', '.join(OPTIMIZERS)}")
        _check(t.optimizer in OPTIMIZERS[self.learner], "training.optimizer", t.optimizer,
               f"must be one of {', '.join(OPTIMIZERS[self.learner])} for learner = {self.learner!r}")
        _check(t.task in ("label", "tags"), "training.task", t.task, "must be 'label' or 'tags'")
        _check(not (t.task == "tags" and t.optimizer == "hf"), "training.task", t.task,
               "trains with a gradient optimiser ('sgd', 'adam'); Hessian-Free here learns classes")
        if self.learner == "cnn":
            self._validate_cnn()
        _check(n.activation in ("relu", "sigmoid", "maxout"), "network.activation", n.activation,
               "must be 'relu', 'sigmoid' or 'maxout'")
        _check(n.maxout_pieces is None or n.activation == "maxout", "network.maxout_pieces", n.maxout_pieces,
               f"is read only with network.activation = 'maxout' (it is {n.activation!r})")
        _check(n.maxout_pieces is None or n.maxout_pieces >= 2, "network.maxout_pieces", n.maxout_pieces,
               "must be >= 2 (linear pieces per maxout unit)")
        _check(len(n.hidden) >= 1 and all(h > 0 for h in n.hidden), "network.hidden", n.hidden,
               "must be one or more positive widths")
        _check(0.0 <= n.dropout < 1.0, "network.dropout", n.dropout, "must be in [0, 1)")
        _check(0.0 <= n.input_dropout < 1.0, "network.input_dropout", n.input_dropout, "must be in [0, 1)")
        _check(t.loss in ("softmax", "sigmoid"), "training.loss", t.loss, "must be 'softmax' or 'sigmoid'")
        _check(_finite(t.lr) and t.lr > 0, "training.lr", t.lr, "must be > 0")
        _check(t.batch_size >= 1, "training.batch_size", t.batch_size, "must be >= 1")
        _check(t.max_epochs >= 1, "training.max_epochs", t.max_epochs, "must be >= 1")
        _check(t.patience >= 0, "training.patience", t.patience, "must be >= 0 (0: no early stopping)")
        _check(t.seed >= 0, "training.seed", t.seed, "must be >= 0")
        _check(_finite(t.init_damping) and t.init_damping > 0, "training.init_damping", t.init_damping, "must be > 0")
        _check(t.max_cg_iters >= 1, "training.max_cg_iters", t.max_cg_iters, "must be >= 1")
        _check(0 < t.curvature_fraction <= 1, "training.curvature_fraction", t.curvature_fraction,
               "must be in (0, 1]")
        for key in ("max_train_frames", "frames_per_epoch", "max_valid_frames"):
            value = getattr(t, key)
            _check(value is None or value >= 1, f"training.{key}", value, "must be a positive number of frames (or unset)")
        _check(len(f.layers) >= 1, "features.layers", f.layers, "must name at least one layer")
        _check(len(f.aggregate) >= 1, "features.aggregate", f.aggregate, "must hold true, false or both")
        from mirlearn.learners import check_config_layers  # each learner declares its feature layers

        check_config_layers(self)
        _check(_finite(f.window_seconds) and f.window_seconds > 0, "features.window_seconds", f.window_seconds,
               "must be > 0 (seconds)")
        _check(_finite(f.hop_seconds) and f.hop_seconds > 0, "features.hop_seconds", f.hop_seconds,
               "must be > 0 (seconds)")
        self._validate_pooling()
        self._validate_adagrad()
        _check(fo.n_estimators >= 1, "forest.n_estimators", fo.n_estimators, "must be >= 1")
        _check(_max_features_ok(fo.max_features), "forest.max_features", fo.max_features,
               "must be 'sqrt', 'log2', an integer >= 1, a float in (0, 1] or unset")
        _check(fo.min_samples_leaf >= 1, "forest.min_samples_leaf", fo.min_samples_leaf, "must be >= 1")
        _check(fo.max_samples is None or _share_or_count_ok(fo.max_samples), "forest.max_samples", fo.max_samples,
               "must be an integer >= 1, a float in (0, 1] or unset")
        _check(fo.max_train_frames is None or fo.max_train_frames >= 1, "forest.max_train_frames",
               fo.max_train_frames, "must be a positive number of rows (or unset)")
        _check(fo.backend in ("sklearn", "random_forest", "extra_trees", "hist_gradient_boosting"),
               "forest.backend", fo.backend, "must be sklearn, random_forest, extra_trees or hist_gradient_boosting")
        _check(fo.n_jobs != 0, "forest.n_jobs", fo.n_jobs, "must be a positive number of workers or -1 (all CPUs)")
        _check(fo.seed >= 0, "forest.seed", fo.seed, "must be >= 0")
        _check(len(s.fractions) == 3 and all(_finite(x) and x > 0 for x in s.fractions)
               and abs(sum(s.fractions) - 1) < 1e-9,
               "splits.fractions", s.fractions, "must be three positive numbers summing to 1")
        _check(s.n_splits >= 1, "splits.n_splits", s.n_splits, "must be >= 1")
        _check(s.seed >= 0, "splits.seed", s.seed, "must be >= 0")
        self._validate_augment()
        self._validate_pretrain()
        return self

    def _validate_pretrain(self) -> None:
        """``[pretrain]`` (:class:`~mirlearn.nn.pretrain.settings.PretrainSettings`) and
        ``training.label_fraction``."""
        t, p = self.training, self.pretrain
        lf = t.label_fraction
        _check(lf is None or (_finite(lf) and 0 < lf <= 1), "training.label_fraction", lf,
               "must be a share of the labelled tracks in (0, 1] (or unset: all)")
        _check(lf is None or t.task == "label", "training.label_fraction", lf,
               "keeps a stratified share of labelled tracks: training.task must be 'label'")
        _check(not (p.enabled and self.learner != "mlp"), "pretrain.method", p.method,
               f"pre-trains the MLP's hidden layers; learner = {self.learner!r} has none")
        p.check(activation=self.network.activation if self.learner == "mlp" else None)

    def _validate_pooling(self) -> None:
        """``features.timescales`` and ``features.pool`` (:mod:`mirlearn.features.pooling`)."""
        from mirlearn.features.pooling import check_pool, check_timescales

        f = self.features
        if f.timescales is not None:
            # The rows pooled: frames for the MLP, a CNN's patches every patch_hop frames.
            hop = self.frames.hop_length * (self.cnn.patch_hop if self.learner == "cnn" else 1)
            try:
                check_timescales(f.timescales, self.frames.sr, hop)
            except ValueError as e:
                raise ConfigError(f"config key features.timescales={f.timescales!r}: {e}") from None
        if f.pool is not None:
            try:
                check_pool(f.pool)
            except ValueError as e:
                raise ConfigError(f"config key features.pool={f.pool!r}: {e}") from None
        for key in ("timescales", "pool"):
            _check(getattr(f, key) is None or self.training.task == "label", f"features.{key}", getattr(f, key),
                   "is read by the feature cells of a label task; training.task = 'tags' pools windows by "
                   "mean and variance")

    def _validate_adagrad(self) -> None:
        """``training.adagrad_*``: read only with optimizer "adagrad"."""
        t = self.training
        for key, ok, what in (("adagrad_initial_accumulator", lambda v: _finite(v) and v >= 0, "must be >= 0"),
                              ("adagrad_eps", lambda v: _finite(v) and v > 0, "must be > 0")):
            value = getattr(t, key)
            if value is None:
                continue
            _check(t.optimizer == "adagrad", f"training.{key}", value,
                   f"is read only with training.optimizer = 'adagrad' (it is {t.optimizer!r})")
            _check(ok(value), f"training.{key}", value, what)

    def _validate_augment(self) -> None:
        a = self.augment
        _check(a.backend in ("librosa", "rubberband"), "augment.backend", a.backend, "must be 'librosa' or 'rubberband'")
        _check(a.segments >= 1, "augment.segments", a.segments, "must be >= 1")
        _check(a.seed >= 0, "augment.seed", a.seed, "must be >= 0")
        for key in ("batch_gain_db", "mixup_alpha"):
            v = getattr(a, key)
            _check(_finite(v) and v >= 0, f"augment.{key}", v, "must be >= 0 (0: off)")
        for key in ("time_masks", "time_mask_frames", "freq_masks", "freq_mask_bands"):
            _check(getattr(a, key) >= 0, f"augment.{key}", getattr(a, key), "must be >= 0 (0: off)")
        batch = a.batch()
        if batch is not None:
            if self.learner == "mlp" and self.training.optimizer == "hf":
                raise ConfigError("config key [augment]: per-batch augmentation (batch_gain_db, freq_masks, mixup_alpha) "
                                  "trains with optimizer 'sgd' or 'adagrad'; Hessian-Free takes the offline copies only")
            from mirlearn.nn.batch_augment import BatchAugment

            shape = (self.frames.dim, self.cnn.patch_frames) if self.learner == "cnn" else (self.frames.dim,)
            try:
                BatchAugment.from_dict(batch).validate(shape, representation=self.frames.kind)
            except ConfigError as e:  # the config's name of the per-batch gain
                raise ConfigError(f"config key {str(e).replace('augment.gain_db', 'augment.batch_gain_db')}") from None
        if a.enabled:
            try:
                a.transforms()
            except ConfigError as e:  # name the key: "config key augment...: ..."
                raise ConfigError(f"config key [augment]: {e}") from None

    def _validate_cnn(self) -> None:
        from mirlearn.nn import patchnets
        from mirlearn.nn.cnn import ACTIVATIONS, ARCHITECTURES, DENSE_ACTIVATIONS
        from mirlearn.nn.rnn import RECURRENT

        c, t = self.cnn, self.training
        _check(c.architecture in patchnets.architectures(), "cnn.architecture", c.architecture,
               f"must be one of {', '.join(patchnets.architectures())}")
        _check(c.patch_frames >= 1, "cnn.patch_frames", c.patch_frames, "must be >= 1 (frames)")
        _check(c.patch_hop >= 1, "cnn.patch_hop", c.patch_hop, "must be >= 1 (frames)")
        if c.architecture in patchnets.architectures():
            bands, frames = patchnets.min_input_size(c.architecture)
            band_key = {"logmel": "n_mels", "cqt": "n_bins"}.get(self.frames.kind, "kind")
            _check(self.frames.dim >= bands, f"frames.{band_key}", getattr(self.frames, band_key),
                   f"{self.frames.kind} frames of {self.frames.dim} values; architecture {c.architecture!r} needs "
                   f"at least {bands} bands per frame")
            _check(c.patch_frames >= frames, "cnn.patch_frames", c.patch_frames,
                   f"architecture {c.architecture!r} needs patches of at least {frames} frames")
        if c.architecture in RECURRENT:  # options of layers a recurrent net may not have
            for key in ("activation", "batch_norm"):
                _check(patchnets.has_convs(c.architecture) or getattr(c, key) is None, f"cnn.{key}", getattr(c, key),
                       f"architecture {c.architecture!r} has no conv layers (leave it unset)")
            for key in ("dense_activation", "maxout_pieces", "dense_units"):
                _check(getattr(c, key, None) is None, f"cnn.{key}", getattr(c, key, None),
                       f"architecture {c.architecture!r} has no hidden dense layer (leave it unset)")
        _check(c.activation != "maxout", "cnn.activation", c.activation,
               "maxout units are for the dense layer: set cnn.dense_activation = 'maxout'")
        _check(c.activation is None or c.activation in ACTIVATIONS, "cnn.activation", c.activation,
               f"must be one of {', '.join(ACTIVATIONS)}")
        _check(c.dense_activation is None or c.dense_activation in DENSE_ACTIVATIONS, "cnn.dense_activation",
               c.dense_activation, f"must be one of {', '.join(DENSE_ACTIVATIONS)}")
        _check(c.dense_activation is None or c.architecture not in ARCHITECTURES
               or ARCHITECTURES[c.architecture].dense is not None, "cnn.dense_activation", c.dense_activation,
               f"architecture {c.architecture!r} has no hidden dense layer")
        _check(c.maxout_pieces is None or c.dense_activation == "maxout", "cnn.maxout_pieces", c.maxout_pieces,
               f"is read only with cnn.dense_activation = 'maxout' (it is {c.dense_activation!r})")
        _check(c.maxout_pieces is None or c.maxout_pieces >= 2, "cnn.maxout_pieces", c.maxout_pieces,
               "must be >= 2 (linear pieces per maxout unit)")
        _check(c.dense_units is None or c.architecture not in ARCHITECTURES
               or ARCHITECTURES[c.architecture].dense is not None, "cnn.dense_units", c.dense_units,
               f"architecture {c.architecture!r} has no hidden dense layer")
        _check(c.dense_units is None or (not isinstance(c.dense_units, bool) and c.dense_units >= 1), "cnn.dense_units",
               c.dense_units, "must be a positive number of units")
        _check(c.dropout is None or 0.0 <= c.dropout < 1.0, "cnn.dropout", c.dropout, "must be in [0, 1)")
        _check(c.init in ("he", "glorot"), "cnn.init", c.init, "must be 'he' or 'glorot'")
        _check(_finite(t.momentum) and 0.0 <= t.momentum < 1.0, "training.momentum", t.momentum, "must be in [0, 1)")
        _check(not t.nesterov or (t.optimizer == "sgd" and t.momentum > 0), "training.nesterov", t.nesterov,
               "needs optimizer = 'sgd' and momentum > 0")
        _check(_finite(t.weight_decay) and t.weight_decay >= 0, "training.weight_decay", t.weight_decay,
               "must be >= 0")
        _check(t.patches_per_track >= 1, "training.patches_per_track", t.patches_per_track, "must be >= 1")
        _check(t.loss == "softmax", "training.loss", t.loss, "must be 'softmax' for a CNN")


def _finite(x: float) -> bool:
    return math.isfinite(x)


def _share_or_count_ok(v: int | float) -> bool:
    """An int count >= 1 or a float share in (0, 1] (scikit-learn's convention)."""
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return v >= 1
    return isinstance(v, float) and 0.0 < v <= 1.0


def _max_features_ok(v: str | int | float | None) -> bool:
    return v is None or v in ("sqrt", "log2") or (not isinstance(v, str) and _share_or_count_ok(v))


def _check(ok: bool, key: str, value: Any, what: str) -> None:
    if not ok:
        raise ConfigError(f"config key {key}={value!r}: {what}")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (ints are accepted for floats)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is type(None) and value is None:
                return None
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"config key {key}: {value!r} is not of type {tp}")
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"config key {key}: expected a list, got {value!r}")
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"config key {key}: expected nothing, got {value!r}")
    if isinstance(tp, type) and isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"config key {key}: {value!r} is not of type {getattr(tp, '__name__', tp)}")


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f"section [{prefix}]" if prefix else "top level"
        raise ConfigError(f"unknown config key(s) in {where}: {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    kwargs = {}
    for k, v in data.items():
        tp = hints[k]
        key = f"{prefix}.{k}" if prefix else k
        if dataclasses.is_dataclass(tp):
            if not isinstance(v, dict):
                raise ConfigError(f"config key {key} must be a table [{key}]")
            kwargs[k] = _build(tp, v, key)
        else:
            kwargs[k] = _coerce(v, tp, key)
    try:
        return cls(**kwargs)
    except FrameSettingError as e:  # a section type that checks its own values
        key = f"{prefix}.{e.key}" if prefix else e.key
        raise ConfigError(f"config key {key}={e.value!r}: {e.what}") from None


def config_from_dict(data: dict[str, Any]) -> Config:
    """Build and validate a :class:`Config` from nested dicts (TOML or JSON)."""
    _check_one_family(data)
    return _build(Config, data, "").validate()


def _check_one_family(data: dict[str, Any]) -> None:
    """Refuse a configuration that mixes the MLP's and the CNN's keys (one line, before work)."""
    learner = data.get("learner", "mlp")
    if learner not in OPTIMIZERS:
        return  # validate() names the bad value
    section, other = ("network", "cnn") if learner == "mlp" else ("cnn", "network")
    if other in data:
        raise ConfigError(f"config mixes learner families: [{other}] belongs to learner = "
                          f"{'cnn' if other == 'cnn' else 'mlp'!r}, this configuration has learner = {learner!r} "
                          f"(its settings go in [{section}])")
    if learner != "mlp" and "pretrain" in data:
        raise ConfigError(f"config mixes learner families: [pretrain] pre-trains the MLP's hidden layers, this "
                          f"configuration has learner = {learner!r}")
    foreign = sorted(set(data.get("training") or {}) & (CNN_TRAINING_KEYS if learner == "mlp" else MLP_TRAINING_KEYS))
    if foreign:
        raise ConfigError(f"config mixes learner families: training.{', training.'.join(foreign)} "
                          f"{'is' if len(foreign) == 1 else 'are'} not read by learner = {learner!r}")


def packaged_configs() -> list[str]:
    """Names of the configurations shipped with mirlearn."""
    root = resources.files("mirlearn") / "configs"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def load_config(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read a configuration by packaged name or TOML path, with optional overrides.

    Parameters
    ----------
    name_or_path : a packaged name (see :func:`packaged_configs`) or a path to a TOML file
    overrides : nested dict merged over the file, e.g. ``{"training": {"max_epochs": 5}}``
    """
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        text = path.read_text(encoding="utf-8")
        source = str(path)
    else:
        res = resources.files("mirlearn") / "configs" / f"{name_or_path}.toml"
        if not res.is_file():
            raise ConfigError(f"no config named {name_or_path!r}; packaged: {', '.join(packaged_configs())}")
        text = res.read_text(encoding="utf-8")
        source = f"{name_or_path} (packaged)"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    if overrides:
        data = merge(data, overrides)
    return config_from_dict(data)


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge, ``over`` winning."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def dump_toml(cfg: Config) -> str:
    """The configuration as TOML text (saved beside runs)."""
    d = cfg.to_dict()
    lines = [f"name = {_toml_value(cfg.name)}", f"description = {_toml_value(cfg.description)}"]
    if "learner" in d:
        lines.append(f"learner = {_toml_value(cfg.learner)}")
    for f in dataclasses.fields(cfg):
        if not dataclasses.is_dataclass(getattr(cfg, f.name)) or f.name not in d:
            continue
        lines.append(f"\n[{f.name}]")
        for key, v in d[f.name].items():
            if v is None:
                lines.append(f"# {key} = (unset)")
            else:
                lines.append(f"{key} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(v)

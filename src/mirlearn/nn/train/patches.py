"""Training a :class:`~mirlearn.nn.cnn.PatchCNN` on patches, in the one training loop.

:class:`PatchEpochs` is the epoch runner of :func:`mirlearn.nn.train.loop.train_loop`: each
epoch draws ``patches_per_track`` random patches of every training track (a fresh draw per
epoch, a pure function of ``(seed, epoch)``), shuffles them and takes minibatch steps of Adam,
Nadam, SGD (momentum, Nesterov) or AdaGrad with optional weight decay; validation is the mean
cross-entropy and the patch accuracy over evenly hopped patches of the validation tracks.
:func:`train_patches` is the entry point; :func:`predict_patches` and :func:`patch_features`
run a trained net over a :class:`~mirlearn.nn.patches.PatchGrid`.

Labels are per *track*; every patch takes its track's label. Patches are gathered from the
frame matrix batch by batch (:func:`mirlearn.nn.patches.gather`): no copy of the data set.
A net with ``takes_lengths = True`` (the recurrent nets of :mod:`mirlearn.nn.rnn`) is also
given the real frames of each patch (``lengths=``) whenever a batch holds zero-padded patches
of tracks shorter than one patch; other nets are called as ``model(x)``, as they always were.

Examples
--------
>>> net = PatchCNN("mirex2015", 40, 80, n_classes=2, seed=0)                       # doctest: +SKIP
>>> std = BandStandardizer().fit(X, offsets, tracks=train_tracks)                    # doctest: +SKIP
>>> res = train_patches(net, X, off_tr, y_tr, X, off_va, y_va, PatchTrainConfig(),
...                     standardizer=std, patch_frames=80, run_dir="runs/cnn")       # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mirlearn.distributed import world
from mirlearn.errors import ConfigError, MirlearnError, TrainingError
from mirlearn.nn.patches import BandStandardizer, PatchGrid, check_offsets, even_patches, gather, random_patches
from mirlearn.nn.train.adagrad import check_adagrad, make_adagrad
from mirlearn.nn.train.checkpoint import data_fingerprint
from mirlearn.nn.train.epoch import EpochLoss, OptimizerRunner, lend_generator
from mirlearn.nn.train.loop import LoopSettings, TrainResult, require_device, train_loop
from mirlearn.nn.train.seeds import derive_seed

__all__ = ["OPTIMIZERS", "PatchEpochs", "PatchTrainConfig", "patch_features", "predict_patches", "train_patches"]

OPTIMIZERS = ("adam", "nadam", "sgd", "adagrad")

# Independent random streams of a run (derive_seed(seed, stream, ...)); the model's
# initialisation uses the bare seed (PatchCNN(seed=...)).
_STREAM_PATCHES, _STREAM_ORDER, _STREAM_DROPOUT, _STREAM_AUGMENT = 11, 12, 13, 14


@dataclass
class PatchTrainConfig:
    """Settings of a CNN training run on patches.

    Parameters
    ----------
    optimizer : {'adam', 'nadam', 'sgd', 'adagrad'}
        ``torch.optim.Adam`` / ``NAdam`` (betas 0.9, 0.999, eps 1e-8), ``SGD`` or ``Adagrad``
        (:mod:`mirlearn.nn.train.adagrad`).
    lr : float
        Learning rate.
    momentum, nesterov : float, bool
        SGD only (Nesterov needs momentum > 0).
    weight_decay : float
        L2 penalty added to the gradients (every optimiser), 0 = none.
    adagrad_initial_accumulator, adagrad_eps : float or None
        AdaGrad only: start value of the squared-gradient sums and the term added to their
        root (``None``: torch's 0 and 1e-10).
    batch_size : int
        Patches per step.
    max_epochs, patience : int
        Upper bound on epochs; stop after ``patience`` epochs without a lower validation loss.
    seed : int
        Seeds the patches drawn per epoch, their order and the dropout masks (the weights'
        initialisation is the model's ``seed``).
    patches_per_track : int
        Random patches per training track per epoch (an epoch is ``n_tracks ×`` this many).
    valid_hop : int or None
        Hop (frames) of the validation patches; ``None`` = ``patch_frames // 2``.
    device, num_threads, restore_best, eval_batch_size
        ``device=None`` means ``'cpu'``. As in :class:`mirlearn.nn.train.sgd.TrainConfig` (they do not change the weights of
        an epoch, so they may differ when a run is resumed).
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    batch_size: int = 32
    max_epochs: int = 100
    patience: int = 10
    seed: int = 0
    patches_per_track: int = 8
    valid_hop: int | None = None
    device: str = "cpu"
    num_threads: int | None = None
    restore_best: bool = True
    eval_batch_size: int = 256
    #: per-batch augmentation of training patches (:class:`mirlearn.nn.batch_augment.BatchAugment`
    #: fields), or None
    augment: dict[str, Any] | None = None
    adagrad_initial_accumulator: float | None = None
    adagrad_eps: float | None = None

    #: Fields that may differ when a run is resumed (they stop, place or pace the run).
    RESUME_FREE: ClassVar[frozenset[str]] = frozenset({"max_epochs", "patience", "device", "num_threads",
                                                       "eval_batch_size", "restore_best"})

    def __post_init__(self) -> None:
        if self.device is None:  # "no preference" from a caller's optional setting
            self.device = "cpu"
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive finite number, got {self.lr}")
        if not (0.0 <= self.momentum < 1.0):
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.nesterov and not (self.optimizer == "sgd" and self.momentum > 0):
            raise ConfigError("nesterov needs optimizer 'sgd' with momentum > 0")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        for name in ("batch_size", "max_epochs", "patience", "patches_per_track", "eval_batch_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.valid_hop is not None and int(self.valid_hop) < 1:
            raise ConfigError(f"valid_hop must be a positive number of frames or None, got {self.valid_hop}")
        if self.num_threads is not None and int(self.num_threads) < 1:
            raise ConfigError(f"num_threads must be positive or None, got {self.num_threads}")
        if self.augment is not None:
            from mirlearn.nn.batch_augment import BatchAugment

            BatchAugment.from_dict(self.augment)  # one line naming a bad field, before any work
        check_adagrad(self.optimizer, self.adagrad_initial_accumulator, self.adagrad_eps)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["augment"] is None:  # absent: checkpoints of runs before augmentation still resume
            del d["augment"]
        for key in ("adagrad_initial_accumulator", "adagrad_eps"):  # the same, before AdaGrad
            if d[key] is None:
                del d[key]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PatchTrainConfig":
        """Build from a dict (e.g. a TOML table); an unknown key raises :class:`ConfigError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown CNN training option(s) {unknown}; known: {sorted(known)}")
        return cls(**d)

    def loop_settings(self) -> LoopSettings:
        return LoopSettings(max_epochs=int(self.max_epochs), patience=int(self.patience), device=self.device,
                            num_threads=self.num_threads, restore_best=bool(self.restore_best))


def make_optimizer(params: Sequence[nn.Parameter] | Any, config: PatchTrainConfig) -> torch.optim.Optimizer:
    """The optimiser ``config`` names, on ``params``."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "nadam":
        return torch.optim.NAdam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adagrad":
        return make_adagrad(params, config.lr, initial_accumulator=config.adagrad_initial_accumulator,
                            eps=config.adagrad_eps, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
                           weight_decay=config.weight_decay)


def _to_device(xb: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.from_numpy(xb)
    return t if device.type == "cpu" else t.to(device)


class PatchEpochs(OptimizerRunner):
    """Epoch runner: random patches of every training track, shuffled minibatch steps.

    Parameters
    ----------
    model : PatchCNN, PatchRNN (or any module taking (B, n_bands, patch_frames) → logits; with
        ``takes_lengths = True`` also ``lengths=`` (B,) int64 for batches with padded patches)
    X, offsets, y : training frame matrix (n_rows, n_bands), track offsets (n_tracks + 1,),
        per-track class indices (n_tracks,)
    valid_offsets : np.ndarray or None
        Offsets of the validation tracks in the ``X_valid`` that :meth:`validate` receives.
    config : PatchTrainConfig
    standardizer : BandStandardizer
    patch_frames : int
    representation : str
        The frames' kind (``"logmel"``, ``"cqt"``, ``"fft"``…), for ``config.augment``'s gain.
    """

    name = "cnn"
    monitor = "loss"
    unit = "epoch"

    def __init__(self, model: nn.Module, X: np.ndarray, offsets: np.ndarray, y: np.ndarray,
                 valid_offsets: np.ndarray | None, config: PatchTrainConfig, *, standardizer: BandStandardizer,
                 patch_frames: int, representation: str = "logmel") -> None:
        self.config = config
        self.X, self.offsets = X, check_offsets(offsets, len(X))
        #: Tag targets (one row of 0/1 per track) train sigmoid outputs; class indices a softmax.
        self.multilabel = np.ndim(y) == 2
        self.y = np.ascontiguousarray(y, dtype=np.float32 if self.multilabel else np.int64)
        self.standardizer = standardizer
        self.patch_frames = int(patch_frames)
        self.device = require_device(config.device)  # a rank's own GPU when ranks share a machine
        self.ranks = world()
        self._ddp: nn.Module | None = None
        hop = config.valid_hop if config.valid_hop is not None else max(1, self.patch_frames // 2)
        self.valid_grid = None if valid_offsets is None else even_patches(valid_offsets, self.patch_frames, int(hop))
        self.optimizer = make_optimizer(model.parameters(), config)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(derive_seed(config.seed, _STREAM_DROPOUT))
        self._buffer = np.empty((int(config.batch_size), X.shape[1], self.patch_frames), dtype=np.float32)
        self.representation = representation
        self.n_classes = int(getattr(model, "n_classes", self.y.shape[1] if self.multilabel else
                                     int(self.y.max()) + 1 if len(self.y) else 1))
        self.setup_augment(config.augment, derive_seed(config.seed, _STREAM_AUGMENT))

    def epoch_grid(self, epoch: int) -> tuple[PatchGrid, np.ndarray]:
        """Epoch ``epoch``'s patches and visiting order: pure functions of ``(seed, epoch)``, so a
        resumed run draws exactly what an uninterrupted one does."""
        seed = self.config.seed
        grid = random_patches(self.offsets, self.patch_frames, self.config.patches_per_track,
                              np.random.default_rng(derive_seed(seed, _STREAM_PATCHES, epoch)))
        order = np.random.default_rng(derive_seed(seed, _STREAM_ORDER, epoch)).permutation(len(grid))
        return grid, order.astype(np.int64)

    def _augment_batch(self, xb: torch.Tensor, yb: torch.Tensor,
                       lengths: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``config.augment`` on a training batch (its own buffer: changed in place); a batch
        with padded patches for a net that reads lengths keeps its padding zero and its lengths
        right (:func:`mirlearn.nn.batch_augment.apply_padded`)."""
        from mirlearn.nn.batch_augment import apply as augment_batch
        from mirlearn.nn.batch_augment import apply_padded

        if lengths is None:
            xb, target = augment_batch(self.augment, xb, yb, self.n_classes, self.augment_generator,
                                       representation=self.representation, standardizer=self.standardizer,
                                       inplace=True)
            return xb, target, None
        return apply_padded(self.augment, xb, yb, lengths, self.n_classes, self.augment_generator,
                            representation=self.representation, standardizer=self.standardizer, inplace=True)

    def run_epoch(self, model: nn.Module, epoch: int) -> float:
        if self.ranks.active:
            return self._run_epoch_shared(model, epoch)
        model.train()
        grid, order = self.epoch_grid(epoch)
        labels = self.y[grid.track]
        bs = int(self.config.batch_size)
        n_batches = -(-len(order) // bs)
        epoch_loss = EpochLoss(n_batches, self.device, epoch)
        opt = self.optimizer
        with lend_generator(model, self.generator):
            for b in range(n_batches):
                # Sorted within the batch: a memmap is read front to back; the mean loss of a
                # batch does not depend on the order of its patches.
                idx = np.sort(order[b * bs:(b + 1) * bs])
                xb = _to_device(gather(self.X, grid, idx, self.patch_frames, self.standardizer, out=self._buffer),
                                self.device)
                yb = torch.from_numpy(labels[idx]).to(self.device)
                target = yb
                lengths = _batch_lengths(model, grid, idx, self.patch_frames)
                if self.augment is not None:  # xb is this batch's own buffer: changed in place
                    xb, target, lengths = self._augment_batch(xb, yb, lengths)
                loss = _loss(_forward(model, xb, lengths), target, self.multilabel)
                epoch_loss.add(b, loss, len(idx))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return epoch_loss.mean(len(order))

    def _run_epoch_shared(self, model: nn.Module, epoch: int) -> float:
        """:meth:`run_epoch` on this rank's share of every batch (the same patches and order on
        every rank), gradients averaged by DDP (:mod:`mirlearn.nn.train.data_parallel`)."""
        from mirlearn.nn.train import data_parallel as dp

        model.train()
        ranks = self.ranks
        if self._ddp is None or self._ddp.module is not model:
            self._ddp = dp.wrap(model, self.device)
        self.generator.manual_seed(dp.epoch_generator_seed(self.config.seed, _STREAM_DROPOUT, epoch, ranks.rank))
        if self.augment is not None:
            self.augment_generator.manual_seed(dp.epoch_generator_seed(self.config.seed, _STREAM_AUGMENT, epoch,
                                                                       ranks.rank))
        grid, order = self.epoch_grid(epoch)
        labels = self.y[grid.track]
        bs = int(self.config.batch_size)
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        opt = self.optimizer
        with lend_generator(model, self.generator):
            for start in range(0, len(order), bs):
                batch = np.sort(order[start:start + bs])
                idx = dp.batch_share(batch, ranks)
                xb = _to_device(gather(self.X, grid, idx, self.patch_frames, self.standardizer, out=self._buffer),
                                self.device)
                target = yb = torch.from_numpy(labels[idx]).to(self.device)
                lengths = _batch_lengths(model, grid, idx, self.patch_frames)
                if self.augment is not None and len(idx):
                    xb, target, lengths = self._augment_batch(xb, yb, lengths)
                loss_sum = _loss(_forward(self._ddp, xb, lengths), target, self.multilabel, reduction="sum")
                total += loss_sum.detach().double()
                opt.zero_grad(set_to_none=True)
                (loss_sum * dp.share_scale(len(batch), ranks)).backward()  # DDP averages over the ranks
                opt.step()
        (loss,) = ranks.sum_floats(float(total))
        if not math.isfinite(loss):
            raise TrainingError(f"non-finite training loss ({loss}) at epoch {epoch}")
        return loss / len(order)

    def validate(self, model: nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Mean cross-entropy (nats per patch) and patch accuracy over the validation patches
        (for tags: binary cross-entropy summed over the tags, and the share of tag decisions at
        probability 0.5 that are right)."""
        if self.valid_grid is None:
            raise MirlearnError("no validation offsets were given to the patch runner")
        probs_loss, correct, n = 0.0, 0.0, len(self.valid_grid)
        dtype = np.float32 if self.multilabel else np.int64
        grid = self.valid_grid
        if self.ranks.active:  # each rank its contiguous share of the patches; the sums are shared
            share = self.ranks.shard(len(grid))
            grid = PatchGrid(grid.starts[share], grid.track[share], grid.length[share])
        labels = np.ascontiguousarray(y, dtype=dtype)[grid.track]
        for idx, logits in _logits_batches(model, X, grid, self.standardizer, self.patch_frames,
                                           int(self.config.eval_batch_size), self.device):
            yb = torch.from_numpy(labels[idx]).to(logits.device)
            probs_loss += float(_loss(logits, yb, self.multilabel, reduction="sum"))
            if self.multilabel:
                correct += float(((logits > 0) == (yb > 0.5)).float().mean(dim=1).sum())
            else:
                correct += int((logits.argmax(1) == yb).sum())
        probs_loss, correct = self.ranks.sum_floats(probs_loss, correct)
        return probs_loss / n, correct / n


def _loss(logits: torch.Tensor, target: torch.Tensor, multilabel: bool, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of class logits, or binary cross-entropy of tag logits summed over the tags."""
    if not multilabel:
        return F.cross_entropy(logits, target, reduction=reduction)
    total = F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), reduction="sum")
    return total if reduction == "sum" else total / logits.shape[0]



def _batch_lengths(model: nn.Module, grid: PatchGrid, idx: np.ndarray, patch_frames: int) -> torch.Tensor | None:
    """The real frames of the batch's patches (int64, CPU) for a net that reads them
    (``model.takes_lengths``, :class:`mirlearn.nn.rnn.PatchRNN`); ``None`` for other nets and
    for a batch without padded patches."""
    if not getattr(model, "takes_lengths", False):
        return None
    lengths = grid.length[idx]
    if len(lengths) == 0 or bool((lengths >= int(patch_frames)).all()):
        return None
    return torch.from_numpy(np.ascontiguousarray(lengths, dtype=np.int64))


def _forward(model: nn.Module, xb: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """The logits of a batch, given its patches' lengths when there are padded ones."""
    return model(xb) if lengths is None else model(xb, lengths=lengths)


def _logits_batches(model: nn.Module, X: np.ndarray, grid: PatchGrid, standardizer: BandStandardizer | None,
                    patch_frames: int, batch_size: int, device: torch.device):
    """Yield ``(index, logits)`` over ``grid`` in order, in eval mode without gradients (the
    model's mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    buf = np.empty((min(batch_size, max(len(grid), 1)), X.shape[1], int(patch_frames)), dtype=np.float32)
    try:
        with torch.no_grad():
            for a in range(0, len(grid), batch_size):
                idx = np.arange(a, min(a + batch_size, len(grid)), dtype=np.int64)
                xb = _to_device(gather(X, grid, idx, patch_frames, standardizer, out=buf), device)
                yield idx, _forward(model, xb, _batch_lengths(model, grid, idx, patch_frames))
    finally:
        model.train(was_training)


def _check_data(name: str, X: np.ndarray, offsets: np.ndarray, y: np.ndarray, n_bands: int | None,
                n_classes: int | None) -> np.ndarray:
    if X.ndim != 2:
        raise MirlearnError(f"{name} frames must be 2-D (rows, bands), got shape {X.shape}")
    if n_bands is not None and X.shape[1] != n_bands:
        raise MirlearnError(f"{name} frames have {X.shape[1]} bands, the model expects {n_bands}")
    off = check_offsets(offsets, len(X))
    y = np.asarray(y)
    if y.ndim == 2:  # tag targets: one 0/1 row per track
        if len(y) != len(off) - 1 or (n_classes is not None and y.shape[1] != n_classes):
            raise MirlearnError(f"{name} tag targets must be one row per track, shape ({len(off) - 1}, "
                                f"{n_classes if n_classes is not None else 'n_tags'}), got {y.shape}")
        return off
    if y.shape != (len(off) - 1,) or not np.issubdtype(y.dtype, np.integer):
        raise MirlearnError(f"{name} labels must be one integer class per track, shape ({len(off) - 1},), got "
                            f"{y.dtype} {y.shape}")
    if n_classes is not None and (y.min() < 0 or y.max() >= n_classes):
        raise MirlearnError(f"{name} labels span [{y.min()}, {y.max()}], the model has {n_classes} classes")
    return off


def _fast_layout(model: nn.Module, device: torch.device) -> None:
    """On the CPU, the layout oneDNN runs fastest (see :meth:`PatchCNN.to_cpu_layout`)."""
    if device.type == "cpu" and hasattr(model, "to_cpu_layout"):
        model.to_cpu_layout()


def train_patches(model: nn.Module, X_train: np.ndarray, offsets_train: np.ndarray, y_train: np.ndarray,
                  X_valid: np.ndarray, offsets_valid: np.ndarray, y_valid: np.ndarray, config: PatchTrainConfig,
                  *, standardizer: BandStandardizer, patch_frames: int, run_dir: str | Path | None = None,
                  progress: bool = True, epoch_lines: bool = True, representation: str = "logmel",
                  callback: Callable[[int, dict[str, Any]], Any] | None = None) -> TrainResult:
    """Train a CNN on random patches with early stopping on evenly hopped validation patches.

    Parameters
    ----------
    model : PatchCNN
        Trained in place; ends with the best epoch's weights (``config.restore_best``).
    X_train, X_valid : np.ndarray [shape=(n_rows, n_bands)], float32
        Frame matrices (read-only memmaps are fine; they may be the same matrix).
    offsets_train, offsets_valid : np.ndarray [shape=(n_tracks + 1,)], int
        Track ``i``'s rows are ``X[offsets[i]:offsets[i + 1]]``.
    y_train, y_valid : np.ndarray [shape=(n_tracks,)], int64
        One class index per track; every patch takes its track's label.
    config : PatchTrainConfig
    standardizer : BandStandardizer
        Fitted on the training tracks (applied to every patch).
    patch_frames : int
        Frames per patch; must be the model's ``n_frames``.
    run_dir, progress, epoch_lines, callback
        See :func:`mirlearn.nn.train.loop.train_loop` (checkpoint every epoch, bitwise resume
        on the CPU, per-epoch log; ``callback(epoch, row)`` returning ``True`` stops).
    representation : str
        The frames' kind (``"logmel"``, ``"cqt"``, ``"fft"``, ``"mfcc"``): how
        ``config.augment``'s gain acts on them (training patches only).

    Returns
    -------
    TrainResult
        ``best_valid_acc`` is the validation *patch* accuracy.

    Raises
    ------
    MirlearnError
        Malformed data (bands, offsets, labels), a patch length the model does not take, an
        unfitted standardizer; before any epoch.
    ConfigError
        CUDA asked for and absent; a ``run_dir`` of another run.
    """
    device = require_device(config.device)
    n_bands, n_frames = getattr(model, "n_bands", None), getattr(model, "n_frames", None)
    n_classes = getattr(model, "n_classes", None)
    if n_frames is not None and int(patch_frames) != n_frames:
        raise MirlearnError(f"patch_frames={patch_frames} but the model takes patches of {n_frames} frames")
    if standardizer.mean_ is None:
        raise MirlearnError("the band standardizer is not fitted: fit it on the training tracks first")
    if n_bands is not None and len(standardizer.mean_) != n_bands:
        raise MirlearnError(f"the band standardizer has {len(standardizer.mean_)} bands, the model expects {n_bands}")
    off_tr = _check_data("training", X_train, offsets_train, y_train, n_bands, n_classes)
    off_va = _check_data("validation", X_valid, offsets_valid, y_valid, n_bands, n_classes)
    if config.augment is not None:
        from mirlearn.nn.batch_augment import BatchAugment

        BatchAugment.from_dict(config.augment).validate((X_train.shape[1], int(patch_frames)),
                                                        representation=representation)
    model.to(device)
    _fast_layout(model, device)
    runner = PatchEpochs(model, X_train, off_tr, y_train, off_va, config, standardizer=standardizer,
                         patch_frames=patch_frames, representation=representation)
    fingerprint = None
    if run_dir is not None:
        fingerprint = data_fingerprint(X_train, off_tr, np.asarray(y_train), X_valid, off_va, np.asarray(y_valid),
                                       standardizer.mean_, standardizer.std_) + [{"patch_frames": int(patch_frames)}]
    return train_loop(model, runner, X_valid, np.asarray(y_valid), config, run_dir=run_dir, progress=progress,
                      callback=callback, fingerprint=fingerprint, desc="cnn", epoch_lines=epoch_lines)


def predict_patches(model: nn.Module, X: np.ndarray, grid: PatchGrid, standardizer: BandStandardizer | None,
                    patch_frames: int, *, batch_size: int = 256, device: str = "cpu",
                    sigmoid: bool = False) -> np.ndarray:
    """Softmax probabilities (``sigmoid``: one independent probability per output, for tags) of
    every patch of ``grid``.

    Returns
    -------
    np.ndarray [shape=(n_patches, n_classes)], float32
        In grid order; with softmax rows sum to 1. The model runs in eval mode (dropout off, BN
        running statistics) on ``device``; its mode is restored afterwards.
    """
    dev = require_device(device)
    model.to(dev)
    _fast_layout(model, dev)
    squash = torch.sigmoid if sigmoid else (lambda z: torch.softmax(z, 1))
    parts = [squash(logits).float().cpu().numpy()
             for _, logits in _logits_batches(model, X, grid, standardizer, patch_frames, int(batch_size), dev)]
    if not parts:
        return np.zeros((0, int(getattr(model, "n_classes", 0))), dtype=np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)


def patch_features(model: nn.Module, X: np.ndarray, grid: PatchGrid, standardizer: BandStandardizer | None,
                   patch_frames: int, layers: Sequence[str], *, batch_size: int = 256, device: str = "cpu",
                   out: np.ndarray | None = None) -> np.ndarray:
    """Named layers' features of every patch of ``grid``, concatenated in the order of ``layers``.

    Parameters
    ----------
    model : PatchCNN
    layers : sequence of str
        Names from ``model.feature_layers``.
    out : np.ndarray [shape=(n_patches, sum of widths)], float32, or None
        Written in place when given (e.g. a writable memmap), so that large sets stream to disk.

    Returns
    -------
    np.ndarray [shape=(n_patches, sum of the layers' widths)], float32
    """
    layers = list(layers)
    widths = model.feature_layers
    bad = [n for n in layers if n not in widths]
    if bad or not layers:
        raise ConfigError(f"feature layer(s) {bad or layers} not in the model; known: {list(widths)}")
    width = sum(widths[n] for n in layers)
    if out is None:
        out = np.empty((len(grid), width), dtype=np.float32)
    elif out.shape != (len(grid), width) or out.dtype != np.float32:
        raise ValueError(f"out must be float32 of shape ({len(grid)}, {width}), got {out.dtype} {out.shape}")
    dev = require_device(device)
    model.to(dev)
    _fast_layout(model, dev)
    was_training = model.training
    model.eval()
    buf = np.empty((min(int(batch_size), max(len(grid), 1)), X.shape[1], int(patch_frames)), dtype=np.float32)
    try:
        with torch.no_grad():
            for a in range(0, len(grid), int(batch_size)):
                idx = np.arange(a, min(a + int(batch_size), len(grid)), dtype=np.int64)
                xb = _to_device(gather(X, grid, idx, patch_frames, standardizer, out=buf), dev)
                lengths = _batch_lengths(model, grid, idx, patch_frames)
                feats = model.features(xb, layers) if lengths is None else model.features(xb, layers, lengths=lengths)
                out[a:a + len(idx)] = torch.cat([feats[n] for n in layers], 1).float().cpu().numpy()
    finally:
        model.train(was_training)
    return out

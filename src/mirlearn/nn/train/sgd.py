"""Plain minibatch SGD (the paper's ReLU nets) as an epoch runner of the training loop.

:class:`SGDEpochs` is the runner (SGD, learning rate 0.01, no momentum, no schedule,
optional dropout; or AdaGrad, :mod:`mirlearn.nn.train.adagrad`, on the same batches);
:func:`train_sgd` is the entry point.

Examples
--------
>>> from mirlearn.nn.mlp import MLP
>>> net = MLP(513, (500, 500, 500), 10, dropout=0.25, seed=0)       # doctest: +SKIP
>>> res = train_sgd(net, Xtr, ytr, Xva, yva, TrainConfig(), run_dir="runs/relu_do")  # doctest: +SKIP
>>> res.summary()                                                    # doctest: +SKIP
'best epoch 12 of 22 (patience), valid loss 0.8123, valid frame acc 71.2%'
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
import torch
from torch import nn

from mirlearn.distributed import world
from mirlearn.errors import ConfigError, TrainingError
from mirlearn.nn.data import FrameBatches, check_frames
from mirlearn.nn.train.adagrad import check_adagrad, make_adagrad
from mirlearn.nn.train.checkpoint import data_fingerprint
from mirlearn.nn.train.epoch import EpochLoss, OptimizerRunner, lend_generator
from mirlearn.nn.train.evaluate import LOSSES, evaluate, loss_fn
from mirlearn.nn.train.loop import LoopSettings, TrainResult, require_device, train_loop
from mirlearn.nn.train.seeds import derive_seed

__all__ = ["MINIBATCH_OPTIMIZERS", "SGDEpochs", "TrainConfig", "train_sgd"]

#: The optimisers of :class:`SGDEpochs`.
MINIBATCH_OPTIMIZERS = ("sgd", "adagrad")


@dataclass
class TrainConfig:
    """Settings of a training run.

    Parameters
    ----------
    lr : float
        SGD learning rate (paper: 0.01, constant).
    batch_size : int
        Frames per SGD step. The paper does not give it; 256 is our default. With plain SGD
        at a fixed learning rate of 0.01 on the *mean* minibatch loss, each step moves the
        weights by about the same amount whatever the batch size, so smaller batches make more
        progress per epoch (4x the steps of batch 1024), which matters when early stopping
        counts patience in epochs. The price: on the 2-core machine the 513-500-500-500-10
        dropout net trains ~25 % fewer frames/s at 256 than at 1024 (smaller matmuls), i.e.
        ~3x more updates per second of wall time still. Raise it for speed when the learning
        rate is raised with it. It changes the optimisation trajectory, so it is recorded
        with every run and may not change on resume.
    max_epochs : int
        Upper bound on epochs (passes over the training frames).
    patience : int
        Stop after this many consecutive epochs without a lower validation loss (paper: 10);
        the weights of the best epoch are restored.
    seed : int
        Seeds the shuffling (per epoch, from ``(seed, epoch)``) and the dropout masks.
        Weight initialisation is the model's business (``MLP(..., seed=...)``).
    device : str
        ``'cpu'`` (default) or a torch device such as ``'cuda'``.
    loss : {'softmax', 'sigmoid'}
        Output units + loss, see :func:`loss_fn`.
    num_threads : int or None
        ``torch.set_num_threads`` during training (restored afterwards); ``None`` leaves it.
    eval_batch_size : int
        Frames per forward pass when evaluating (no backward pass, so larger than
        ``batch_size``); it does not affect the weights.
    frames_per_epoch : int or None
        A reduction for large sets: each epoch trains on a fresh uniform sample of this many
        training frames (the head of that epoch's permutation) instead of all of them, so an
        epoch's cost stops growing with the data; early stopping then counts these shorter
        epochs. ``None`` (default, the paper) visits every frame every epoch.
    optimizer : {'sgd', 'adagrad'}
        ``'sgd'`` (the paper: ``w -= lr · g``) or ``'adagrad'`` (``torch.optim.Adagrad`` at
        ``lr``, :mod:`mirlearn.nn.train.adagrad`) on the same batches.
    adagrad_initial_accumulator, adagrad_eps : float or None
        AdaGrad's start value of the sum of squared gradients and the term added to its root
        (``None``: torch's 0 and 1e-10); only with ``optimizer='adagrad'``.
    """

    lr: float = 0.01
    batch_size: int = 256
    max_epochs: int = 200
    patience: int = 10
    seed: int = 0
    device: str = "cpu"
    loss: str = "softmax"
    num_threads: int | None = None
    eval_batch_size: int = 4096
    frames_per_epoch: int | None = None
    augment: dict[str, Any] | None = None
    optimizer: str = "sgd"
    adagrad_initial_accumulator: float | None = None
    adagrad_eps: float | None = None

    #: Fields that may differ when a run is resumed: they stop, place or pace the run but do
    #: not change the weights an epoch produces. Every other field must match the checkpoint.
    RESUME_FREE: ClassVar[frozenset[str]] = frozenset({"max_epochs", "patience", "device", "num_threads", "eval_batch_size"})

    def __post_init__(self) -> None:
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive finite number, got {self.lr}")
        for name in ("batch_size", "max_epochs", "patience", "eval_batch_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.num_threads is not None and int(self.num_threads) < 1:
            raise ConfigError(f"num_threads must be positive or None, got {self.num_threads}")
        if self.frames_per_epoch is not None and int(self.frames_per_epoch) < 1:
            raise ConfigError(f"frames_per_epoch must be positive or None, got {self.frames_per_epoch}")
        if self.optimizer not in MINIBATCH_OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(MINIBATCH_OPTIMIZERS)}, got {self.optimizer!r}")
        check_adagrad(self.optimizer, self.adagrad_initial_accumulator, self.adagrad_eps)
        if self.augment is not None:
            from mirlearn.nn.batch_augment import BatchAugment

            BatchAugment.from_dict(self.augment)  # one line naming a bad field, before any work

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["augment"] is None:  # absent: checkpoints of runs before augmentation still resume
            del d["augment"]
        if d["optimizer"] == "sgd":  # absent too: checkpoints of runs before AdaGrad still resume
            del d["optimizer"]
        for key in ("adagrad_initial_accumulator", "adagrad_eps"):
            if d[key] is None:
                del d[key]
        return d

    def loop_settings(self) -> LoopSettings:
        """What :func:`~mirlearn.nn.train.loop.train_loop` reads from these settings."""
        return LoopSettings(max_epochs=int(self.max_epochs), patience=int(self.patience), device=self.device,
                            num_threads=self.num_threads)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainConfig":
        """Build from a dict (e.g. a TOML table); an unknown key raises :class:`ConfigError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown training option(s) {unknown}; known: {sorted(known)}")
        return cls(**d)


class SGDEpochs(OptimizerRunner):
    """Epoch runner: one pass of minibatch SGD (or AdaGrad) over (a sample of) the training frames.

    Parameters
    ----------
    model : torch.nn.Module
        The network; its parameters are updated in place.
    X, y : np.ndarray [shape=(n, dim)] float32, [shape=(n,)] int64
        Training frames (possibly a read-only memmap) and class indices.
    config : TrainConfig
    representation : str
        The frames' kind (``"fft"``, ``"logmel"``…), for ``config.augment``'s gain.

    Under several ranks (:func:`mirlearn.distributed.world`) each rank takes its share of every
    batch and the ranks' gradients are averaged by ``DistributedDataParallel``
    (:mod:`mirlearn.nn.train.data_parallel`): the same steps as one process on the same
    batches, without dropout up to rounding; the validation sums are shared too.

    With ``config.optimizer == 'adagrad'`` the runner is named ``'adagrad'`` (in checkpoints:
    a run of one optimiser never resumes as the other) and every batch's gradients go through
    ``torch.optim.Adagrad.step``; the plain SGD update below is untouched.
    """

    name = "sgd"
    monitor = "loss"
    unit = "epoch"

    def __init__(self, model: nn.Module, X: np.ndarray, y: np.ndarray, config: TrainConfig, *,
                 representation: str = "fft") -> None:
        self.config = config
        self.representation = representation
        self.n_classes = (y.shape[1] if np.ndim(y) == 2 else int(np.max(y)) + 1) if len(y) else 1
        self.setup_augment(config.augment, derive_seed(config.seed, 2))
        self.ranks = world()
        device = require_device(config.device)  # a rank's own GPU when ranks share a machine
        self.batches = FrameBatches(X, y, config.batch_size, seed=config.seed, device=device,
                                    frames_per_epoch=config.frames_per_epoch)
        self._ddp: nn.Module | None = None
        # Paper: plain SGD, constant learning rate 0.01, no momentum, no weight decay. The
        # update is done by hand below (bitwise what this optimiser's step does on the CPU:
        # p += -lr * g, one tensor at a time); the optimiser holds the learning rate and its
        # state_dict keeps checkpoints in the same format.
        self.name = config.optimizer
        if config.optimizer == "adagrad":
            # AdaGrad's per-weight sums are its state: torch's own step, state in checkpoints.
            self.optimizer = make_adagrad(model.parameters(), config.lr,
                                          initial_accumulator=config.adagrad_initial_accumulator,
                                          eps=config.adagrad_eps)
        else:
            self.optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(derive_seed(config.seed, 1))

    def run_epoch(self, model: nn.Module, epoch: int) -> float:
        from mirlearn.nn.batch_augment import apply as augment_batch

        if self.ranks.active:
            return self._run_epoch_shared(model, epoch)
        model.train()
        kind = self.config.loss
        n_out = io_dims(model)[1] or self.n_classes
        group = self.optimizer.param_groups[0]
        params = [p for p in group["params"] if p.requires_grad]
        # Detached aliases share the parameters' storage: updating them in place is the SGD
        # step without a no_grad context per batch. The previous batch's graph is freed by
        # then (autograd.grad does not retain it), so no saved tensor is invalidated.
        data = [p.detach() for p in params]
        neg_lr = -float(group["lr"])
        epoch_loss = EpochLoss(len(self.batches), self.config.device, epoch)
        grad = torch.autograd.grad
        add_ = torch._foreach_add_
        adagrad = self.name == "adagrad"
        # Every (sub)module that draws dropout masks from a ``generator`` attribute (an MLP,
        # also when wrapped, e.g. in a FeatureNet) draws them from ours for the epoch.
        with lend_generator(model, self.generator):
            for b, (xb, yb) in enumerate(self.batches.epoch(epoch)):
                target = yb
                if self.augment is not None:  # a new tensor: xb may be a view of the training data
                    xb, target = augment_batch(self.augment, xb, yb, n_out, self.augment_generator,
                                               representation=self.representation)
                loss = loss_fn(model(xb), target, kind)
                epoch_loss.add(b, loss, len(yb))
                # The gradients straight from autograd (no .grad accumulation, no zeroing):
                # the same values backward() would leave in .grad.
                grads = grad(loss, params)
                if adagrad:
                    self._optimizer_step(params, grads)
                else:
                    add_(data, grads, alpha=neg_lr)
        return epoch_loss.mean(self.batches.n)

    def _optimizer_step(self, params: list[torch.Tensor], grads: tuple[torch.Tensor, ...]) -> None:
        """The optimiser's own step on ``grads`` (AdaGrad), leaving no ``.grad`` behind."""
        for p, g in zip(params, grads):
            p.grad = g
        self.optimizer.step()
        for p in params:
            p.grad = None

    def _run_epoch_shared(self, model: nn.Module, epoch: int) -> float:
        """:meth:`run_epoch` on this rank's share of every batch, gradients averaged by DDP."""
        from mirlearn.nn.batch_augment import apply as augment_batch
        from mirlearn.nn.train import data_parallel as dp

        model.train()
        ranks, kind = self.ranks, self.config.loss
        if self._ddp is None or self._ddp.module is not model:
            self._ddp = dp.wrap(model, self.batches.device)
        self.generator.manual_seed(dp.epoch_generator_seed(self.config.seed, 1, epoch, ranks.rank))
        if self.augment is not None:
            self.augment_generator.manual_seed(dp.epoch_generator_seed(self.config.seed, 2, epoch, ranks.rank))
        n_out = io_dims(model)[1] or self.n_classes
        group = self.optimizer.param_groups[0]
        params = [p for p in group["params"] if p.requires_grad]
        data = [p.detach() for p in params]
        neg_lr = -float(group["lr"])
        total = torch.zeros((), dtype=torch.float64, device=self.batches.device)
        with lend_generator(model, self.generator):
            for xb, yb, n_global in self.batches.epoch_share(epoch, ranks):
                target = yb
                if self.augment is not None and len(yb):
                    xb, target = augment_batch(self.augment, xb, yb, n_out, self.augment_generator,
                                               representation=self.representation)
                loss_sum = loss_fn(self._ddp(xb), target, kind, reduction="sum")
                total += loss_sum.detach().double()
                (loss_sum * dp.share_scale(n_global, ranks)).backward()  # DDP averages over the ranks
                if self.name == "adagrad":  # every rank adds the same averaged gradients to its sums
                    self.optimizer.step()
                else:
                    torch._foreach_add_(data, [p.grad for p in params], alpha=neg_lr)
                for p in params:
                    p.grad = None
        # Checked once per epoch, on every rank alike: a rank that stopped alone at a bad batch
        # would leave the others waiting in the next all-reduce.
        (loss,) = ranks.sum_floats(float(total))
        if not math.isfinite(loss):
            raise TrainingError(f"non-finite training loss ({loss}) at epoch {epoch}")
        return loss / self.batches.n

    def validate(self, model: nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        if self.ranks.active:
            return validate_shared(self.ranks, X, y, lambda Xs, ys: evaluate(
                model, Xs, ys, self.config.loss, self.config.eval_batch_size))
        return evaluate(model, X, y, self.config.loss, self.config.eval_batch_size)


def validate_shared(ranks: Any, X: np.ndarray, y: np.ndarray,
                    evaluate_rows: Callable[[np.ndarray, np.ndarray], tuple[float, float]]) -> tuple[float, float]:
    """Mean loss and accuracy over ``(X, y)``, each rank evaluating its contiguous share of the
    rows with ``evaluate_rows`` (mean loss, accuracy) and the sums shared: every rank gets the
    same two numbers, so every rank takes the same early-stopping decision."""
    share = ranks.shard(len(y))
    n_mine = share.stop - share.start
    loss, acc = evaluate_rows(X[share], y[share]) if n_mine else (0.0, 0.0)
    loss_sum, right = ranks.sum_floats(loss * n_mine, acc * n_mine)
    return loss_sum / len(y), right / len(y)



def io_dims(model: nn.Module) -> tuple[int | None, int | None]:
    """``(n_in, n_out)`` of the first (sub)module that declares both (an MLP, also wrapped)."""
    for m in model.modules():
        if isinstance(getattr(m, "n_in", None), int) and isinstance(getattr(m, "n_out", None), int):
            return m.n_in, m.n_out
    return None, None


def train_sgd(
    model: nn.Module,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_valid: np.ndarray,
    y_valid: np.ndarray,
    config: TrainConfig | None = None,
    *,
    run_dir: str | Path | None = None,
    progress: bool = True,
    callback: Callable[[int, dict[str, Any]], None] | None = None,
    epoch_lines: bool = True,
    representation: str = "fft",
) -> TrainResult:
    """Train ``model`` with plain minibatch SGD and early stopping (ReLU+SGD[+Dropout]).

    Shuffled minibatches of ``config.batch_size`` frames (order seeded from
    ``(config.seed, epoch)``), loss :func:`loss_fn` ``(config.loss)``, ``torch.optim.SGD``
    at ``config.lr`` without momentum (or ``torch.optim.Adagrad`` with ``config.optimizer =
    'adagrad'``); dropout is whatever the model does in train mode. See
    :func:`train_loop` for validation, early stopping, files in ``run_dir`` and resuming.
    Same data, settings, seed and initial weights give bitwise-identical weights on CPU.

    Parameters
    ----------
    model : torch.nn.Module
        E.g. :class:`mirlearn.nn.mlp.MLP`; trained in place, ends with the best epoch's weights.
    X_train : np.ndarray [shape=(n_train, dim)], float32
        Standardised frames; may be a read-only ``np.memmap`` larger than RAM (batches are
        gathered from it one at a time).
    y_train : np.ndarray [shape=(n_train,)], int64
        Class indices in ``[0, n_classes)``.
    X_valid, y_valid : np.ndarray [shape=(n_valid, dim)], [shape=(n_valid,)]
        Validation frames and labels, read in order in batches of ``config.eval_batch_size``.
    config : TrainConfig or None
        ``None``: the paper's defaults, ``TrainConfig()``.
    run_dir, progress, callback, epoch_lines
        See :func:`train_loop` (``progress=False`` removes the bar, not the per-epoch lines).
    representation : str
        The frames' kind, for ``config.augment``'s gain (training batches only).

    Returns
    -------
    TrainResult
    """
    config = TrainConfig() if config is None else config
    device = require_device(config.device)
    n_in, n_out = io_dims(model)
    # Fail on bad input before any epoch is spent.
    check_frames(X_train, y_train, name="training", n_in=n_in, n_out=n_out)
    check_frames(X_valid, y_valid, name="validation", n_in=n_in, n_out=n_out)
    if config.augment is not None:
        from mirlearn.nn.batch_augment import BatchAugment

        BatchAugment.from_dict(config.augment).validate((X_train.shape[1],), representation=representation)
    model.to(device)
    runner = SGDEpochs(model, X_train, y_train, config, representation=representation)
    fingerprint = data_fingerprint(X_train, y_train, X_valid, y_valid) if run_dir is not None else None
    return train_loop(model, runner, X_valid, y_valid, config, run_dir=run_dir, progress=progress, callback=callback,
                      fingerprint=fingerprint, desc=config.optimizer, epoch_lines=epoch_lines)

"""Training: one epoch loop (validation, early stopping, logs, checkpoints, resume) for every
optimiser, and plain minibatch SGD as the first optimiser that plugs into it.

The loop (:func:`train_loop`) knows nothing about how an epoch updates the weights; an
*epoch runner* (:class:`EpochRunner`) does. :class:`SGDEpochs` is the runner of the paper's
ReLU nets (SGD, learning rate 0.01, no momentum, no schedule, optional dropout); the
Hessian-Free optimiser of :mod:`mirlearn.nn.hf` plugs in as another runner, one HF step per
"epoch", and reuses :func:`loss_fn`, :func:`evaluate` and the checkpoint/log helpers.

Files written under ``run_dir`` (all atomically: temporary file, then rename)

- ``checkpoint.pt``: everything needed to resume bitwise (see :func:`train_loop`), every epoch;
- ``train_log.csv``: one row per epoch (:data:`LOG_COLUMNS`, then any runner-specific fields);
- ``result.json``: the :class:`TrainResult`, once training has finished.

Examples
--------
>>> from mirlearn.nn.mlp import MLP
>>> net = MLP(513, (500, 500, 500), 10, dropout=0.25, seed=0)       # doctest: +SKIP
>>> res = train_sgd(net, Xtr, ytr, Xva, yva, TrainConfig(), run_dir="runs/relu_do")  # doctest: +SKIP
>>> res.best_epoch, res.best_valid_acc                                # doctest: +SKIP
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mirlearn.errors import ConfigError, TrainingError
from mirlearn.io import atomic_path, atomic_write_json, atomic_write_text
from mirlearn.nn.data import FrameBatches, check_frames, sequential_batches
from mirlearn.nn.fastmath import fast_cpu_matmul

__all__ = [
    "LOG_COLUMNS",
    "EpochRunner",
    "SGDEpochs",
    "TrainConfig",
    "TrainResult",
    "derive_seed",
    "evaluate",
    "data_fingerprint",
    "load_checkpoint",
    "loss_fn",
    "save_checkpoint",
    "train_loop",
    "train_sgd",
    "write_log",
]

LOSSES = ("softmax", "sigmoid")

#: Columns of ``train_log.csv``, in order; a runner's :meth:`EpochRunner.log_fields` follow.
LOG_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_acc", "seconds", "lr")

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "train_log.csv"
RESULT_NAME = "result.json"
_CHECKPOINT_FORMAT = 1


# --------------------------------------------------------------------------------------------
# Configuration and result


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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainConfig":
        """Build from a dict (e.g. a TOML table); an unknown key raises :class:`ConfigError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown training option(s) {unknown}; known: {sorted(known)}")
        return cls(**d)


@dataclass
class TrainResult:
    """Outcome of a training run.

    Attributes
    ----------
    best_epoch : int
        1-based epoch with the lowest validation loss; its weights are in the model.
    best_valid_loss : float
        Validation loss at ``best_epoch`` (mean per frame, nats).
    best_valid_acc : float
        Validation frame accuracy at ``best_epoch``, in [0, 1].
    epochs_run : int
        Epochs completed, over all sessions of a resumed run.
    history : list of dict
        One row per epoch, keys :data:`LOG_COLUMNS` (+ runner fields), as in ``train_log.csv``.
    seconds : float
        Wall time spent in epochs (training + validation), summed over sessions.
    stopped_early : bool
        True when patience ran out before ``max_epochs``.
    """

    best_epoch: int
    best_valid_loss: float
    best_valid_acc: float
    epochs_run: int
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------
# Pieces shared by every optimiser


def loss_fn(logits: torch.Tensor, y: torch.Tensor, kind: str = "softmax", *, reduction: str = "mean") -> torch.Tensor:
    """Loss of class logits against class indices.

    Parameters
    ----------
    logits : torch.Tensor [shape=(n, n_classes)]
        Network outputs before the output non-linearity.
    y : torch.Tensor [shape=(n,)], int64
        Class indices.
    kind : {'softmax', 'sigmoid'}
        ``'softmax'``: softmax outputs, cross-entropy. ``'sigmoid'``: independent sigmoid
        outputs, binary cross-entropy against one-hot targets, summed over the outputs (the
        matching loss of sigmoid units, as used with Hessian-Free).
    reduction : {'mean', 'sum'}
        Mean or sum over the n cases (``'sum'`` lets callers accumulate over batches exactly).

    Returns
    -------
    torch.Tensor [shape=()]
        In nats (per case for ``'mean'``).
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    if kind == "softmax":
        return F.cross_entropy(logits, y, reduction=reduction)
    if kind == "sigmoid":
        target = F.one_hot(y, logits.shape[1]).to(logits.dtype)
        total = F.binary_cross_entropy_with_logits(logits, target, reduction="sum")
        return total if reduction == "sum" else total / logits.shape[0]
    raise ValueError(f"loss kind must be one of {LOSSES}, got {kind!r}")


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray, loss: str = "softmax", batch_size: int = 4096) -> tuple[float, float]:
    """Mean loss and frame accuracy of ``model`` on ``(X, y)``, in eval mode, batch by batch.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(b, dim)`` float32 frames to ``(b, n_classes)`` logits; it is put in eval mode
        for the call and given back in the mode it had.
    X : np.ndarray [shape=(n, dim)], float32, possibly memory-mapped
    y : np.ndarray [shape=(n,)], int64
    loss : {'softmax', 'sigmoid'}
        See :func:`loss_fn`.
    batch_size : int
        Frames per forward pass (memory only; the sums are accumulated in float64).

    Returns
    -------
    loss : float
        Mean loss per frame (nats).
    acc : float
        Fraction of frames whose largest logit is the true class, in [0, 1].
    """
    device = _model_device(model)
    was_training = model.training
    model.eval()
    total_loss = 0.0
    correct = 0
    try:
        with torch.inference_mode():
            for xb, yb in sequential_batches(X, y, batch_size, device):
                logits = model(xb)
                total_loss += float(loss_fn(logits, yb, loss, reduction="sum"))
                correct += int((logits.argmax(dim=1) == yb).sum())
    finally:
        model.train(was_training)
    n = len(y)
    return total_loss / n, correct / n


def derive_seed(seed: int, *stream: int) -> int:
    """A 63-bit seed for the random stream ``stream`` of run seed ``seed``.

    Different streams (shuffling, dropout, the HF curvature subsample, ...) of one run, and the
    model's initialisation seeded with the bare ``seed``, are then independent.
    """
    return int(np.random.SeedSequence([int(seed), *map(int, stream)]).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def data_fingerprint(*arrays: np.ndarray) -> list[dict[str, Any]]:
    """Cheap identity of arrays, stored in a checkpoint so that resuming on other data fails.

    Shape, dtype, and a SHA-1 of up to 64 rows spread over the array (and of all of a 1-D
    array, i.e. the labels); reading a few rows of a memmap costs milliseconds.
    """
    out = []
    for a in arrays:
        if a.ndim == 1:
            sample = np.ascontiguousarray(a)
        else:
            rows = np.unique(np.linspace(0, len(a) - 1, num=min(64, len(a))).astype(np.int64))
            sample = np.ascontiguousarray(a[rows])
        out.append({"shape": list(a.shape), "dtype": str(a.dtype), "sha1": hashlib.sha1(sample.tobytes()).hexdigest()})
    return out


def save_checkpoint(path: str | Path, state: Mapping[str, Any]) -> None:
    """``torch.save`` ``state`` to ``path`` atomically (a kill leaves the previous file whole)."""
    with atomic_path(path) as tmp:
        torch.save(dict(state), tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, tensors on the CPU.

    Only tensors and plain Python containers are loaded (``weights_only=True``): a checkpoint
    cannot run code.
    """
    return torch.load(path, map_location="cpu", weights_only=True)


def write_log(path: str | Path, history: list[Mapping[str, Any]], columns: tuple[str, ...] = LOG_COLUMNS) -> None:
    """Write the per-epoch rows as CSV atomically.

    Columns are ``columns`` then any other keys of the rows in first-seen order; floats are
    written in full (``repr``, so they read back exactly), missing values as empty fields.
    """
    cols = list(columns)
    for row in history:
        cols.extend(k for k in row if k not in cols)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for row in history:
        w.writerow(_csv_value(row.get(c)) for c in cols)
    atomic_write_text(path, buf.getvalue())


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


# --------------------------------------------------------------------------------------------
# Optimisers plug in as epoch runners


class EpochRunner(Protocol):
    """What :func:`train_loop` needs from an optimiser.

    Attributes
    ----------
    name : str
        Stored in checkpoints; resuming with another runner fails.
    """

    name: str

    def run_epoch(self, model: nn.Module, epoch: int) -> float:
        """Update ``model`` for epoch ``epoch`` (1-based); return the mean training loss.

        Must raise :class:`TrainingError` (naming the epoch and batch) on a non-finite loss,
        ideally before the weights are touched. Randomness must come from state that
        :meth:`state_dict` returns, or be a pure function of ``(seed, epoch)``.
        """
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bitwise after the last completed epoch (tensors and
        plain containers only: checkpoints are loaded with ``weights_only=True``)."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...

    def log_fields(self) -> dict[str, Any]:
        """Values for this epoch's log row (``'lr'`` and any runner-specific columns)."""
        ...


class SGDEpochs:
    """Plain minibatch SGD over shuffled frames: the paper's ReLU (+ dropout) training.

    Parameters
    ----------
    model : torch.nn.Module
        Already on ``config.device``. Submodules with a ``generator`` attribute (``MLP``)
        draw their dropout masks from a generator this runner owns, seeded from
        ``config.seed`` and saved in checkpoints; dropout drawn from torch's global generator
        instead would still train, but would not resume bitwise.
    X, y : np.ndarray [shape=(n, dim)] float32, [shape=(n,)] int64
        Training frames (possibly a read-only memmap) and class indices.
    config : TrainConfig
    """

    name = "sgd"

    def __init__(self, model: nn.Module, X: np.ndarray, y: np.ndarray, config: TrainConfig) -> None:
        self.config = config
        self.batches = FrameBatches(X, y, config.batch_size, seed=config.seed, device=config.device,
                                    frames_per_epoch=config.frames_per_epoch)
        # Paper: plain SGD, constant learning rate 0.01, no momentum, no weight decay.
        self.optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
        device = torch.device(config.device)
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(derive_seed(config.seed, 1))
        self._check_each_batch = device.type == "cpu"

    def run_epoch(self, model: nn.Module, epoch: int) -> float:
        model.train()
        # Every (sub)module that draws dropout masks from a ``generator`` attribute (an MLP,
        # also when wrapped, e.g. in a FeatureNet) draws them from ours for the epoch.
        holders = [m for m in model.modules() if "generator" in vars(m)]
        previous = [m.generator for m in holders]
        for m in holders:
            m.generator = self.generator
        opt, kind = self.optimizer, self.config.loss
        n_batches = len(self.batches)
        on_cpu = self._check_each_batch
        total = 0.0  # sum over frames of the loss, float64 (CPU)
        # Elsewhere per-batch losses stay on the device: reading each one would stall a GPU's
        # pipeline, so there the finiteness check runs once per epoch instead.
        losses = None if on_cpu else torch.empty(n_batches, dtype=torch.float32, device=self.config.device)
        try:
            for b, (xb, yb) in enumerate(self.batches.epoch(epoch)):
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb, kind)
                if on_cpu:
                    value = loss.item()
                    if not math.isfinite(value):
                        # Raised before backward/step: the in-memory weights stay finite and
                        # the last checkpoint on disk is untouched.
                        raise TrainingError(f"non-finite training loss ({value}) at epoch {epoch}, batch {b + 1} of {n_batches}")
                    total += value * len(yb)
                else:
                    losses[b] = loss.detach() * len(yb)
                loss.backward()
                opt.step()
        finally:
            for m, g in zip(holders, previous):
                m.generator = g
        if losses is not None:
            losses = losses.cpu().double()
            bad = (~torch.isfinite(losses)).nonzero()
            if len(bad):
                raise TrainingError(f"non-finite training loss at epoch {epoch}, batch {int(bad[0]) + 1} of {n_batches}")
            total = float(losses.sum())
        return total / self.batches.n

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])

    def log_fields(self) -> dict[str, Any]:
        return {"lr": self.optimizer.param_groups[0]["lr"]}


# --------------------------------------------------------------------------------------------
# The loop


def _io_dims(model: nn.Module) -> tuple[int | None, int | None]:
    """``(n_in, n_out)`` of the first (sub)module that declares both (an MLP, also wrapped)."""
    for m in model.modules():
        if isinstance(getattr(m, "n_in", None), int) and isinstance(getattr(m, "n_out", None), int):
            return m.n_in, m.n_out
    return None, None


def _state_dict_cpu(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _result(p: Mapping[str, Any]) -> TrainResult:
    return TrainResult(
        best_epoch=int(p["best_epoch"]),
        best_valid_loss=float(p["best_valid_loss"]),
        best_valid_acc=float(p["best_valid_acc"]),
        epochs_run=int(p["epoch"]),
        history=[dict(r) for r in p["history"]],
        seconds=float(p["seconds"]),
        stopped_early=int(p["bad_epochs"]) >= int(p["patience"]),
    )


def _check_resumable(ckpt: Mapping[str, Any], config: TrainConfig, model: nn.Module, runner: EpochRunner, fingerprint: Any, path: Path) -> None:
    """Refuse to continue a run under other settings: the result would match neither run."""
    if ckpt.get("format") != _CHECKPOINT_FORMAT:
        raise ConfigError(f"{path}: unknown checkpoint format {ckpt.get('format')!r}")
    problems = []
    if ckpt["runner"] != runner.name:
        problems.append(f"optimiser {ckpt['runner']!r} != {runner.name!r}")
    saved, now = ckpt["config"], config.to_dict()
    for k in sorted(set(saved) | set(now)):
        if k not in type(config).RESUME_FREE and saved.get(k) != now.get(k):
            problems.append(f"{k}: {saved.get(k)!r} in the checkpoint, {now.get(k)!r} now")
    model_cfg = model.config() if hasattr(model, "config") else None
    if ckpt.get("model_config") != model_cfg:
        problems.append(f"model {ckpt.get('model_config')} in the checkpoint, {model_cfg} now")
    if fingerprint is not None and ckpt.get("data") != fingerprint:
        problems.append("the training/validation data differ from the checkpoint's")
    if problems:
        raise ConfigError(f"{path} belongs to another run ({'; '.join(problems)}); use a new run_dir or delete it")


def train_loop(
    model: nn.Module,
    runner: EpochRunner,
    X_valid: np.ndarray,
    y_valid: np.ndarray,
    config: TrainConfig,
    *,
    run_dir: str | Path | None = None,
    progress: bool = True,
    callback: Callable[[int, dict[str, Any]], None] | None = None,
    fingerprint: Any = None,
    desc: str = "train",
) -> TrainResult:
    """Run epochs of ``runner`` with validation, early stopping, logs, checkpoints and resume.

    After each epoch: validation loss and frame accuracy (:func:`evaluate`); if the loss is
    the lowest so far (strictly), the weights are kept as the best, else the patience counter
    grows; then ``run_dir/train_log.csv`` and ``run_dir/checkpoint.pt`` are rewritten
    atomically, then ``callback(epoch, row)`` runs. Training ends after ``config.patience``
    epochs without improvement or at ``config.max_epochs``; the best weights are then loaded
    into ``model`` and ``run_dir/result.json`` is written.

    The checkpoint holds the current weights, the runner's state (optimiser, random
    generators), the epoch, the best weights/epoch/loss/accuracy, the patience counter, the
    history, the config, the model config and a fingerprint of the data. If ``run_dir`` holds
    one, training resumes from it and ends with the same weights as an uninterrupted run
    (bitwise on CPU); a finished run returns its stored result at once (with its best weights
    loaded). A larger ``max_epochs`` or ``patience`` continues a finished run. Settings that
    change the trajectory (:attr:`TrainConfig.RESUME_FREE` lists those that may change) must
    match, else :class:`ConfigError`.

    Parameters
    ----------
    model : torch.nn.Module
        Modified in place; moved to ``config.device``.
    runner : EpochRunner
        The optimiser, built on ``model``'s parameters (on ``config.device``).
    X_valid, y_valid : np.ndarray [shape=(n, dim)] float32, [shape=(n,)] int64
    config : TrainConfig
    run_dir : path or None
        Where checkpoint, log and result go; ``None`` keeps everything in memory.
    progress : bool
        Show a tqdm bar over epochs.
    callback : callable(epoch, row) or None
        Called after each epoch's checkpoint is written; raising from it stops training
        (a ``KeyboardInterrupt`` here is how tests simulate a kill).
    fingerprint : any
        Identity of the data (:func:`data_fingerprint`), stored and compared on resume.
    desc : str
        Progress-bar label.

    Raises
    ------
    TrainingError
        Non-finite training loss; the message names the epoch, the batch and the last good
        checkpoint, which stays on disk.
    ConfigError
        ``run_dir`` holds a checkpoint of another run.
    """
    from tqdm.auto import tqdm

    device = torch.device(config.device)
    run_dir = None if run_dir is None else Path(run_dir)
    ckpt_path = None if run_dir is None else run_dir / CHECKPOINT_NAME
    model_cfg = model.config() if hasattr(model, "config") else None

    old_threads = torch.get_num_threads()
    if config.num_threads is not None:
        torch.set_num_threads(int(config.num_threads))
    bar = None
    # float32 matmuls on oneDNN where a probe shows they stay float32-accurate (about 2x
    # faster on CPUs without AMX); restored in the finally below.
    fast_matmul = fast_cpu_matmul(device)
    fast_matmul.__enter__()
    try:
        model.to(device)
        p: dict[str, Any] = {
            "epoch": 0, "best_epoch": 0, "best_valid_loss": math.inf, "best_valid_acc": 0.0,
            "best_state": None, "bad_epochs": 0, "history": [], "seconds": 0.0,
            "patience": config.patience,
        }
        if ckpt_path is not None and ckpt_path.exists():
            ckpt = load_checkpoint(ckpt_path)
            _check_resumable(ckpt, config, model, runner, fingerprint, ckpt_path)
            model.load_state_dict(ckpt["model"])
            runner.load_state_dict(ckpt["runner_state"])
            p.update(ckpt["progress"])
            p["patience"] = config.patience  # patience may grow on resume

        def finished() -> bool:
            return p["epoch"] >= config.max_epochs or p["bad_epochs"] >= config.patience

        def checkpoint() -> None:
            save_checkpoint(ckpt_path, {
                "format": _CHECKPOINT_FORMAT,
                "runner": runner.name,
                "config": config.to_dict(),
                "model_config": model_cfg,
                "data": fingerprint,
                "model": _state_dict_cpu(model),
                "runner_state": runner.state_dict(),
                "progress": p,
                "torch_version": str(torch.__version__),
            })

        if not finished():
            bar = tqdm(total=config.max_epochs, initial=p["epoch"], disable=not progress, desc=desc, unit="epoch", dynamic_ncols=True)
            for epoch in range(p["epoch"] + 1, config.max_epochs + 1):
                t0 = time.perf_counter()
                try:
                    train_loss = runner.run_epoch(model, epoch)
                except TrainingError as e:
                    where = f"the last good checkpoint (epoch {p['epoch']}) is {ckpt_path}" if ckpt_path and ckpt_path.exists() else "no checkpoint was written"
                    raise TrainingError(f"{e}; {where}") from e
                valid_loss, valid_acc = evaluate(model, X_valid, y_valid, config.loss, config.eval_batch_size)
                seconds = time.perf_counter() - t0
                row = {"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss, "valid_acc": valid_acc, "seconds": seconds}
                row.update(runner.log_fields())
                if valid_loss < p["best_valid_loss"]:
                    p.update(best_epoch=epoch, best_valid_loss=valid_loss, best_valid_acc=valid_acc, best_state=_state_dict_cpu(model), bad_epochs=0)
                else:
                    p["bad_epochs"] += 1
                p["epoch"] = epoch
                p["history"].append(row)
                p["seconds"] += seconds
                if run_dir is not None:
                    checkpoint()
                    write_log(run_dir / LOG_NAME, p["history"])
                bar.update(1)
                bar.set_postfix(train=f"{train_loss:.4f}", valid=f"{valid_loss:.4f}", acc=f"{valid_acc:.3f}", best=p["best_epoch"])
                if callback is not None:
                    callback(epoch, row)
                if finished():
                    break

        if p["best_state"] is not None:
            model.load_state_dict(p["best_state"])
        result = _result(p)
        if run_dir is not None:
            atomic_write_json(run_dir / RESULT_NAME, {**result.to_dict(), "config": config.to_dict(), "model_config": model_cfg, "optimiser": runner.name})
        return result
    finally:
        if bar is not None:
            bar.close()
        fast_matmul.__exit__(None, None, None)
        torch.set_num_threads(old_threads)


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
) -> TrainResult:
    """Train ``model`` with plain minibatch SGD and early stopping (ReLU+SGD[+Dropout]).

    Shuffled minibatches of ``config.batch_size`` frames (order seeded from
    ``(config.seed, epoch)``), loss :func:`loss_fn` ``(config.loss)``, ``torch.optim.SGD``
    at ``config.lr`` without momentum; dropout is whatever the model does in train mode. See
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
    run_dir, progress, callback
        See :func:`train_loop`.

    Returns
    -------
    TrainResult
    """
    config = TrainConfig() if config is None else config
    n_in, n_out = _io_dims(model)
    # Fail on bad input before any epoch is spent.
    check_frames(X_train, y_train, name="training", n_in=n_in, n_out=n_out)
    check_frames(X_valid, y_valid, name="validation", n_in=n_in, n_out=n_out)
    model.to(torch.device(config.device))
    runner = SGDEpochs(model, X_train, y_train, config)
    fingerprint = data_fingerprint(X_train, y_train, X_valid, y_valid) if run_dir is not None else None
    return train_loop(model, runner, X_valid, y_valid, config, run_dir=run_dir, progress=progress, callback=callback, fingerprint=fingerprint, desc="sgd")

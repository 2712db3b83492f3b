"""The one training loop: epochs of any optimiser, validation, early stopping, logs,
checkpoints and bitwise resume.

The loop (:func:`train_loop`) knows nothing about how an epoch updates the weights; an
*epoch runner* (:class:`EpochRunner`) does: :class:`mirlearn.nn.train.sgd.SGDEpochs` (one pass
of minibatch SGD per epoch) and :class:`mirlearn.nn.train.hf.HFSteps` (one Hessian-Free step
per "epoch"). Both give the same :class:`TrainResult`, the same ``checkpoint.pt``, the same
``train_log.csv`` and the same ``result.json``.

Files written under ``run_dir`` (all atomically: temporary file, then rename)

- ``checkpoint.pt``: everything needed to resume bitwise, every epoch;
- ``train_log.csv``: one row per epoch (:data:`~mirlearn.nn.train.log.LOG_COLUMNS`, then the
  runner's fields);
- ``result.json``: the :class:`TrainResult` with the settings, once training has finished.

What a person sees (on stderr): on a terminal, a bar over the epochs whose postfix shows the
last epoch's losses; anywhere else (a pipe, a log file) or with ``progress=False`` (the CLI's
``--no-progress``), one line per epoch (:func:`epoch_line`), never carriage returns. The
per-epoch line is the run's log, not decoration: only ``epoch_lines=False`` silences it.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, TextIO

import numpy as np
import torch
from torch import nn

from mirlearn.distributed import device_for, world
from mirlearn.errors import ConfigError, TrainingError
from mirlearn.io import atomic_write_json
from mirlearn.nn.fastmath import fast_cpu_matmul, matmul_path
from mirlearn.nn.train.checkpoint import (CHECKPOINT_FORMAT, CHECKPOINT_NAME, check_resumable, load_checkpoint,
                                          save_checkpoint)
from mirlearn.nn.train.log import LOG_NAME, write_log
from mirlearn.progress import Progress, format_seconds, is_terminal

__all__ = ["RESULT_NAME", "EpochRunner", "LoopSettings", "TrainResult", "epoch_line", "require_device",
           "train_loop"]

RESULT_NAME = "result.json"

#: How a run ended (:attr:`TrainResult.stop_reason`).
STOP_REASONS = ("max_epochs", "patience", "callback")


@dataclass(frozen=True)
class LoopSettings:
    """What the loop itself needs from a run's settings (``config.loop_settings()``).

    Attributes
    ----------
    max_epochs : int
        Upper bound on epochs (HF: steps).
    patience : int or None
        Stop after this many consecutive epochs without a better validation score; ``None``
        never stops early.
    device : str
        Where the model runs.
    num_threads : int or None
        ``torch.set_num_threads`` during training (restored afterwards); ``None`` leaves it.
    restore_best : bool
        Load the best epoch's weights at the end (else the last epoch's stay).
    """

    max_epochs: int
    patience: int | None
    device: str = "cpu"
    num_threads: int | None = None
    restore_best: bool = True


@dataclass
class TrainResult:
    """Outcome of a training run, whichever optimiser ran.

    Attributes
    ----------
    best_epoch : int
        1-based epoch (HF: step) with the best validation score (the runner's ``monitor``:
        lowest loss, or for HF with ``monitor='error'`` highest frame accuracy); its weights
        are in the model. Without validation data, the last epoch. 0 when no epoch ran.
    best_valid_loss : float
        Validation loss at ``best_epoch`` (mean per frame, nats; NaN without validation).
    best_valid_acc : float
        Validation frame accuracy at ``best_epoch``, in [0, 1] (NaN without validation).
    epochs_run : int
        Epochs (HF steps) completed, over all sessions of a resumed run.
    history : list of dict
        One row per epoch: ``epoch, train_loss, valid_loss, valid_acc, seconds``, then the
        runner's fields (SGD: ``lr``; HF: ``objective, damping, cg_iters, ...``), as in
        ``train_log.csv``.
    seconds : float
        Wall time spent in epochs (training + validation), summed over sessions.
    stopped_early : bool
        True when training ended before ``max_epochs`` (patience or callback).
    stop_reason : str
        ``'max_epochs'``, ``'patience'`` or ``'callback'``.
    runner : str
        ``'sgd'`` or ``'hf'``; informational (labels), nothing needs to branch on it.
    """

    best_epoch: int
    best_valid_loss: float
    best_valid_acc: float
    epochs_run: int
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    stopped_early: bool = False
    stop_reason: str = "max_epochs"
    runner: str = "sgd"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """One line on how training ended, e.g. ``'best epoch 12 of 22 (patience), valid loss
        0.8123, valid frame acc 71.2%'``; an HF run says "step" and adds its objective."""
        unit = "HF step" if self.runner == "hf" else "epoch"
        reason = {"max_epochs": f"max {unit.split()[-1]}s", "callback": "stopped by callback"}.get(self.stop_reason, self.stop_reason)
        if math.isnan(self.best_valid_loss):
            text = f"{self.epochs_run} {unit}s ({reason}), no validation"
        else:
            text = (f"best {unit} {self.best_epoch} of {self.epochs_run} ({reason}), valid loss "
                    f"{self.best_valid_loss:.4f}, valid {'patch' if self.runner == 'cnn' else 'frame'} acc "
                    f"{self.best_valid_acc:.1%}")
        if self.history and "objective" in self.history[-1]:
            first = self.history[0].get("objective_before", math.nan)
            text += f"; objective {first:.4f} -> {self.history[-1]['objective']:.4f}"
        return text


class EpochRunner(Protocol):
    """What :func:`train_loop` needs from an optimiser.

    Attributes
    ----------
    name : str
        Stored in checkpoints; resuming with another runner fails.
    monitor : str
        ``'loss'`` (lowest validation loss is best) or ``'acc'`` (highest frame accuracy).
    unit : str
        What one "epoch" is called in the progress bar (``'epoch'``, ``'step'``).
    """

    name: str
    monitor: str
    unit: str

    def run_epoch(self, model: nn.Module, epoch: int) -> float:
        """Update ``model`` for epoch ``epoch`` (1-based); return the training loss.

        Raise :class:`TrainingError` on a non-finite loss, leaving the model's weights finite.
        """
        ...

    def validate(self, model: nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Mean validation loss (nats per frame) and frame accuracy in [0, 1]."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything besides the model's weights needed to continue bitwise (tensors on CPU)."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        ...

    def log_fields(self) -> dict[str, Any]:
        """Runner-specific fields of the epoch's log row (after :data:`LOG_COLUMNS`)."""
        ...


def state_dict_cpu(model: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the model's state (parameters and buffers)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _model_config(model: nn.Module) -> Any:
    """The model's ``config()``, or for a module without one its state's shapes (so that a
    checkpoint of another architecture is refused with a clear message)."""
    if hasattr(model, "config"):
        return model.config()
    return {"state_shapes": {k: list(v.shape) for k, v in model.state_dict().items()}}


def _result(p: Mapping[str, Any], runner: str) -> TrainResult:
    reason = p.get("stop_reason") or "max_epochs"
    return TrainResult(
        best_epoch=int(p["best_epoch"]),
        best_valid_loss=float(p["best_valid_loss"]),
        best_valid_acc=float(p["best_valid_acc"]),
        epochs_run=int(p["epoch"]),
        history=[dict(r) for r in p["history"]],
        seconds=float(p["seconds"]),
        stopped_early=reason != "max_epochs",
        stop_reason=reason,
        runner=runner,
    )


def _better(monitor: str, loss: float, acc: float, p: Mapping[str, Any]) -> bool:
    """Strictly better than the best so far (NaN never is)."""
    if p["best_epoch"] == 0:
        return (acc == acc) if monitor == "acc" else loss < math.inf
    if monitor == "acc":
        return acc > p["best_valid_acc"]
    return loss < p["best_valid_loss"]


def require_device(name: str) -> torch.device:
    """``torch.device(name)``, refusing CUDA in one line when this torch has none.

    Under several ranks on one machine, a bare ``'cuda'`` is the rank's own GPU
    (:func:`mirlearn.distributed.device_for`).

    Raises
    ------
    ConfigError
        CUDA asked for but not available (torch itself raises a bare ``AssertionError``).
    """
    device = torch.device(device_for(name))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r}: CUDA is not available on this machine (torch "
                          f"{torch.__version__}); use device 'cpu'")
    return device


def epoch_line(desc: str, unit: str, row: Mapping[str, Any], max_epochs: int, *, best: bool = False) -> str:
    """One log line of a finished epoch (HF: step), e.g.
    ``'sgd epoch 3/40: train loss 0.8123, valid loss 0.9012, valid acc 61.3%, 1.4 s (best)'``.

    Losses are mean nats per frame, ``valid acc`` the frame accuracy; the validation fields
    are left out when there is no validation data (NaN). ``best`` marks the best epoch so far.
    """
    parts = [f"train loss {row['train_loss']:.4f}"]
    if not math.isnan(row["valid_loss"]):
        parts.append(f"valid loss {row['valid_loss']:.4f}")
    if not math.isnan(row["valid_acc"]):
        parts.append(f"valid acc {row['valid_acc']:.1%}")
    parts.append(format_seconds(row["seconds"]))
    return f"{desc} {unit} {row['epoch']}/{max_epochs}: {', '.join(parts)}" + (" (best)" if best else "")


def train_loop(
    model: nn.Module,
    runner: EpochRunner,
    X_valid: np.ndarray | None,
    y_valid: np.ndarray | None,
    config: Any,
    *,
    run_dir: str | Path | None = None,
    progress: bool = True,
    callback: Callable[[int, dict[str, Any]], Any] | None = None,
    fingerprint: Any = None,
    desc: str = "train",
    epoch_lines: bool = True,
    stream: TextIO | None = None,
) -> TrainResult:
    """Run epochs of ``runner`` with validation, early stopping, logs, checkpoints and resume.

    After each epoch: validation loss and frame accuracy (``runner.validate``); if the score
    (``runner.monitor``) is strictly the best so far, the weights are kept as the best, else
    the patience counter grows; then ``run_dir/train_log.csv`` and ``run_dir/checkpoint.pt``
    are rewritten atomically, then ``callback(epoch, row)`` runs. Training ends after
    ``patience`` epochs without improvement, at ``max_epochs``, or when the callback returns
    ``True``; the best weights are then loaded into ``model`` and ``run_dir/result.json``
    is written.

    The checkpoint holds the current weights, the runner's state, the epoch, the best
    weights/epoch/loss/accuracy, the patience counter, the history, the settings, the model
    config and a fingerprint of the data. If ``run_dir`` holds one, training resumes from it
    and ends with the same weights as an uninterrupted run (bitwise on CPU); a finished run
    returns its stored result at once (with its best weights loaded). A larger ``max_epochs``
    or ``patience`` continues a finished run. Settings that change the trajectory (those not
    in ``config.RESUME_FREE``) must match, else :class:`ConfigError`.

    Parameters
    ----------
    model : torch.nn.Module
        Modified in place; moved to the settings' device.
    runner : EpochRunner
        The optimiser, built on ``model``'s parameters.
    X_valid, y_valid : np.ndarray [shape=(n, dim)] float32, [shape=(n,)] int64, or None
        Validation frames; ``None`` (HF only) trains without validation: no early stopping,
        the last weights are kept.
    config : TrainConfig, HFConfig or any object with ``loop_settings() -> LoopSettings``,
        ``to_dict()`` and ``RESUME_FREE``.
    run_dir : path or None
        Where checkpoint, log and result go; ``None`` keeps everything in memory.
    progress : bool
        Show a bar over epochs when ``stream`` is a terminal (:class:`mirlearn.progress.Progress`).
        ``False`` (``--no-progress``) removes the bar only: the per-epoch lines stay.
    callback : callable(epoch, row) or None
        Called after each epoch's checkpoint is written; returning ``True`` (exactly) stops training
        (``stop_reason='callback'``); raising from it stops training too (a
        ``KeyboardInterrupt`` here is how tests simulate a kill).
    fingerprint : any
        Identity of the data (:func:`data_fingerprint`), stored and compared on resume.
    desc : str
        Label of the bar and of the per-epoch lines.
    epoch_lines : bool
        Write one line per epoch (:func:`epoch_line`) to ``stream`` whenever no bar is shown
        (not a terminal, or ``progress=False``); ``False`` writes nothing.
    stream : text stream or None
        Where the bar and the lines go (default: ``sys.stderr`` at call time).

    Under several ranks (:func:`mirlearn.distributed.world`) every rank runs the loop on the
    same weights (the runner sums gradients and validation over the ranks, so every rank takes
    the same decisions); rank 0 alone writes ``run_dir`` and prints, the callback's wish to stop
    is rank 0's, and every rank resumes from the one checkpoint, whatever the number of ranks
    that wrote it.

    Raises
    ------
    TrainingError
        Non-finite training loss; the message says where the last good checkpoint is.
    ConfigError
        ``run_dir`` holds a checkpoint of another run, or the device is CUDA and this torch
        has none (one line, before any epoch; torch itself would raise a bare AssertionError).
    """
    s: LoopSettings = config.loop_settings()
    device = require_device(s.device)
    run_dir = None if run_dir is None else Path(run_dir)
    ckpt_path = None if run_dir is None else run_dir / CHECKPOINT_NAME
    model_cfg = _model_config(model)
    has_valid = X_valid is not None
    monitor = getattr(runner, "monitor", "loss")
    patience = s.patience if has_valid else None
    stream = sys.stderr if stream is None else stream
    unit = getattr(runner, "unit", "epoch")
    ranks = world()
    writes = run_dir is not None and ranks.is_main
    if not ranks.is_main:  # rank 0 speaks for the job
        progress = epoch_lines = False

    old_threads = torch.get_num_threads()
    if s.num_threads is not None:
        torch.set_num_threads(int(s.num_threads))
    bar = None
    # float32 matmuls on oneDNN where a probe shows they stay float32-accurate and are faster
    # on this machine (nn/fastmath.py); restored in the finally below.
    fast_matmul = fast_cpu_matmul(device)
    fast_matmul.__enter__()
    try:
        model.to(device)
        p: dict[str, Any] = {
            "epoch": 0, "best_epoch": 0, "best_valid_loss": math.nan, "best_valid_acc": math.nan,
            "best_state": None, "bad_epochs": 0, "history": [], "seconds": 0.0, "stop_reason": None,
        }
        if ckpt_path is not None and ckpt_path.exists():
            ckpt = load_checkpoint(ckpt_path)
            check_resumable(ckpt, runner=runner.name, config=config.to_dict(), resume_free=config.RESUME_FREE,
                            model_config=model_cfg, fingerprint=fingerprint, path=ckpt_path)
            model.load_state_dict(ckpt["model"])
            runner.load_state_dict(ckpt["runner_state"])
            p.update(ckpt["progress"])

        def stop_reason() -> str | None:
            if patience is not None and p["bad_epochs"] >= patience:
                return "patience"
            if p["epoch"] >= s.max_epochs:
                return "max_epochs"
            return None

        def checkpoint() -> None:
            save_checkpoint(ckpt_path, {
                "format": CHECKPOINT_FORMAT,
                "runner": runner.name,
                "config": config.to_dict(),
                "model_config": model_cfg,
                "data": fingerprint,
                "model": state_dict_cpu(model),
                "runner_state": runner.state_dict(),
                "progress": p,
                "torch_version": str(torch.__version__),
                "matmul": matmul_path(device),
            })

        p["stop_reason"] = stop_reason()
        if p["stop_reason"] is None and p["epoch"] and epoch_lines:
            print(f"{desc}: resuming after {unit} {p['epoch']} of {s.max_epochs} ({ckpt_path})",
                  file=stream, flush=True)
        if p["stop_reason"] is None:
            # A bar only on a terminal; elsewhere the per-epoch lines below are the whole log.
            bar = Progress(s.max_epochs, desc, unit, enabled=progress and is_terminal(stream),
                           initial=p["epoch"], stream=stream)
            for epoch in range(p["epoch"] + 1, s.max_epochs + 1):
                t0 = time.perf_counter()
                try:
                    train_loss = runner.run_epoch(model, epoch)
                except TrainingError as e:
                    where = (f"the last good checkpoint (epoch {p['epoch']}) is {ckpt_path}"
                             if ckpt_path and ckpt_path.exists() else "no checkpoint was written")
                    raise TrainingError(f"{e}; {where}") from e
                valid_loss, valid_acc = runner.validate(model, X_valid, y_valid) if has_valid else (math.nan, math.nan)
                seconds = time.perf_counter() - t0
                row = {"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss, "valid_acc": valid_acc, "seconds": seconds}
                row.update(runner.log_fields())
                best = False
                if not has_valid:
                    p.update(best_epoch=epoch)
                elif _better(monitor, valid_loss, valid_acc, p):
                    p.update(best_epoch=epoch, best_valid_loss=valid_loss, best_valid_acc=valid_acc,
                             best_state=state_dict_cpu(model) if s.restore_best else None, bad_epochs=0)
                    best = True
                else:
                    p["bad_epochs"] += 1
                p["epoch"] = epoch
                p["history"].append(row)
                p["seconds"] += seconds
                p["stop_reason"] = stop_reason()
                if writes:
                    checkpoint()
                    write_log(run_dir / LOG_NAME, p["history"])
                if bar.mode == "bar":
                    bar.update(1, train=train_loss, valid=valid_loss, acc=valid_acc, best=p["best_epoch"])
                elif epoch_lines:
                    print(epoch_line(desc, unit, row, s.max_epochs, best=best), file=stream, flush=True)
                stop_asked = callback is not None and callback(epoch, row) is True
                if ranks.active and callback is not None:  # all ranks stop together, or none
                    stop_asked = bool(ranks.broadcast_object(stop_asked))
                if stop_asked and p["stop_reason"] is None:
                    p["stop_reason"] = "callback"
                if p["stop_reason"] is not None:
                    break

        if s.restore_best and p["best_state"] is not None:
            model.load_state_dict(p["best_state"])
        result = _result(p, runner.name)
        if writes:
            atomic_write_json(run_dir / RESULT_NAME, {**result.to_dict(), "config": config.to_dict(), "model_config": model_cfg,
                                                      "matmul": matmul_path(device)})
        ranks.barrier()  # no rank goes on to read the run's files before rank 0 has written them
        return result
    finally:
        if bar is not None:
            bar.close()
        fast_matmul.__exit__(None, None, None)
        torch.set_num_threads(old_threads)

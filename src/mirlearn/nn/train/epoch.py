"""What every epoch runner does around its batches: lend the dropout generator, sum the loss.

Both runners of minibatches (:mod:`~mirlearn.nn.train.sgd` for frames,
:mod:`~mirlearn.nn.train.patches` for CNN patches) use these, so that seeding and the check for
a non-finite loss behave the same in both.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator, Mapping

import torch
from torch import nn

from mirlearn.errors import TrainingError

__all__ = ["lend_generator", "EpochLoss", "OptimizerRunner", "restore_generator"]


@contextlib.contextmanager
def lend_generator(model: nn.Module, generator: torch.Generator) -> Iterator[None]:
    """Every module of ``model`` with a ``generator`` attribute (dropout) draws from
    ``generator`` inside the block; their own generators are put back afterwards."""
    holders = [m for m in model.modules() if "generator" in vars(m)]
    previous = [m.generator for m in holders]
    for m in holders:
        m.generator = generator
    try:
        yield
    finally:
        for m, g in zip(holders, previous):
            m.generator = g


class EpochLoss:
    """The sum over rows of an epoch's training loss, checked for non-finite values.

    On the CPU each batch's loss is read at once and a non-finite one raises before the
    optimiser step (the weights in memory stay finite, the last checkpoint untouched).
    Elsewhere reading each loss would stall the device's pipeline, so the losses stay there
    and are checked once, at :meth:`mean`.
    """

    def __init__(self, n_batches: int, device: torch.device | str, epoch: int) -> None:
        self.n_batches, self.epoch = int(n_batches), int(epoch)
        self.on_cpu = torch.device(device).type == "cpu"
        self.total = 0.0  # float64 sum over rows (CPU)
        self.losses = None if self.on_cpu else torch.empty(self.n_batches, dtype=torch.float32, device=device)

    def add(self, b: int, loss: torch.Tensor, n_rows: int) -> None:
        """Record batch ``b``'s mean loss over its ``n_rows`` rows (call before the step)."""
        if self.on_cpu:
            value = loss.item()
            if not math.isfinite(value):
                raise TrainingError(f"non-finite training loss ({value}) at epoch {self.epoch}, "
                                    f"batch {b + 1} of {self.n_batches}")
            self.total += value * n_rows
        else:
            self.losses[b] = loss.detach() * n_rows

    def mean(self, n_rows: int) -> float:
        """The epoch's mean loss per row over ``n_rows`` rows."""
        if self.losses is not None:
            losses = self.losses.cpu().double()
            bad = (~torch.isfinite(losses)).nonzero()
            if len(bad):
                raise TrainingError(f"non-finite training loss at epoch {self.epoch}, batch {int(bad[0]) + 1} "
                                    f"of {self.n_batches}")
            self.total = float(losses.sum())
        return self.total / n_rows


class OptimizerRunner:
    """What a runner with one torch optimiser (``self.optimizer``), one dropout generator
    (``self.generator``) and optionally a per-batch augmentation (``self.augment``, drawing from
    ``self.augment_generator``; see :meth:`setup_augment`) saves in a checkpoint and logs."""

    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    augment: Any = None
    augment_generator: torch.Generator | None = None

    def setup_augment(self, settings: Mapping[str, Any] | None, seed: int) -> None:
        """The per-batch augmentation of ``settings`` (:class:`mirlearn.nn.batch_augment.BatchAugment`
        fields; ``None`` or all off: none), drawing from its own CPU generator seeded by ``seed``,
        so that the dropout generator's draws stay those of a run without augmentation."""
        from mirlearn.nn.batch_augment import BatchAugment

        aug = BatchAugment.from_dict(settings) if settings else None
        self.augment = aug if aug is not None and aug.enabled else None
        self.augment_generator = torch.Generator().manual_seed(int(seed))

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state (its tensors on the CPU, as every checkpoint's) and the generators'."""
        state = {"optimizer": _to_cpu(self.optimizer.state_dict()), "generator": self.generator.get_state(),
                 "generator_device": self.generator.device.type}
        if self.augment is not None:
            state["augment_generator"] = self.augment_generator.get_state()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        # The optimiser moves its state onto the parameters' device itself.
        self.optimizer.load_state_dict(state["optimizer"])
        restore_generator(self.generator, state["generator"], state.get("generator_device", "cpu"))
        if self.augment is not None:
            self.augment_generator.set_state(state["augment_generator"])

    def log_fields(self) -> dict[str, Any]:
        return {"lr": self.optimizer.param_groups[0]["lr"]}


def _to_cpu(obj: Any) -> Any:
    """``obj`` with every tensor in it copied to the CPU (nested dicts, lists and tuples)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu")
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def restore_generator(generator: torch.Generator, state: torch.Tensor, saved_on: str) -> None:
    """Put a saved generator state back; a state saved on another kind of device (a run that
    trained on CUDA resumed on the CPU, or the reverse) cannot be, since the two generators'
    states differ in kind and size: the generator is then seeded from a digest of the saved
    state, the same way every time, so the resumed run stays reproducible."""
    if saved_on == generator.device.type:
        generator.set_state(state)
        return
    import hashlib

    digest = hashlib.sha256(state.cpu().numpy().tobytes()).digest()
    generator.manual_seed(int.from_bytes(digest[:8], "little") >> 1)

"""One layer's pre-training as an epoch runner of the one training loop.

:class:`LayerEpochs` follows :class:`mirlearn.nn.train.loop.EpochRunner`: ``train_loop`` gives
pre-training what it gives supervised training — ``checkpoint.pt`` every epoch, bitwise resume,
``train_log.csv``, ``result.json``, early stopping, the per-epoch lines. The monitored value
needs no labels: the validation frames' reconstruction error (``valid_loss``; ``valid_acc`` is
NaN). :class:`LayerRunSettings` is what the loop reads (``loop_settings``, ``to_dict``,
``RESUME_FREE``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
import torch
from torch import nn

from mirlearn.errors import TrainingError
from mirlearn.nn.data import FrameBatches, sequential_batches
from mirlearn.nn.pretrain.settings import PretrainSettings
from mirlearn.nn.train.epoch import EpochLoss, restore_generator
from mirlearn.nn.train.loop import LoopSettings, require_device

__all__ = ["LayerEpochs", "LayerRunSettings"]

#: Maps a batch of raw frames ``(b, n_in)`` to the layer's input ``(b, n_visible)`` (the
#: standardiser and the trained layers below; no gradient needed).
Encoder = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class LayerRunSettings:
    """The settings of one layer's run, as :func:`~mirlearn.nn.train.loop.train_loop` reads them.

    Attributes
    ----------
    settings : PretrainSettings
    layer : int
        1-based hidden layer.
    lr : float
        This layer's learning rate (``settings.input_lr`` for layer 1, else ``settings.lr``).
    seed : int
        Seeds the shuffling and the sampling / corruption noise of this layer.
    device : str
    """

    settings: PretrainSettings
    layer: int
    lr: float
    seed: int
    device: str = "cpu"

    #: May differ on resume: they stop or place the run, the weights of an epoch stay the same.
    RESUME_FREE: ClassVar[frozenset[str]] = frozenset({"epochs", "patience", "device"})

    def to_dict(self) -> dict[str, Any]:
        return {**self.settings.to_dict(), "layer": self.layer, "layer_lr": self.lr, "seed": self.seed,
                "device": self.device}

    def loop_settings(self) -> LoopSettings:
        s = self.settings
        return LoopSettings(max_epochs=int(s.epochs), patience=int(s.patience) or None, device=self.device)


class LayerEpochs:
    """Epoch runner: one pass of minibatch updates of an RBM (CD-k) or a denoising autoencoder.

    Parameters
    ----------
    layer : RBM or DenoisingAutoencoder
        Anything with ``accumulate_gradients(x, generator)`` (sets ``.grad``, returns the summed
        error) and ``reconstruction_error(x, generator)``; updated in place.
    encode : callable
        Raw frames → the layer's input (see :data:`Encoder`).
    X : np.ndarray [shape=(n, n_in)], float32
        Raw training frames (possibly a read-only memmap; batches are gathered on demand).
    run : LayerRunSettings

    The update is SGD with momentum (``initial_momentum`` for the first ``momentum_epochs``
    epochs, then ``momentum``) and weight decay on the weights only, the guide's recipe.
    Reported losses are mean errors *per value* (squared error, or nats for a sigmoid decoder).
    """

    monitor = "loss"
    unit = "epoch"

    def __init__(self, layer: nn.Module, encode: Encoder, X: np.ndarray, run: LayerRunSettings) -> None:
        s = run.settings
        self.name = f"pretrain-{s.method}"
        self.layer, self.encode, self.run = layer, encode, run
        self.dim = int(layer.config().get("n_visible", layer.config().get("n_in")))
        device = require_device(run.device)
        self.batches = FrameBatches(X, np.zeros(len(X), np.int64), s.batch_size, seed=run.seed, device=device,
                                    frames_per_epoch=s.frames_per_epoch)
        weights = [p for n, p in layer.named_parameters() if n.endswith("weight")]
        biases = [p for n, p in layer.named_parameters() if not n.endswith("weight")]
        self.optimizer = torch.optim.SGD([{"params": weights, "weight_decay": s.weight_decay},
                                          {"params": biases, "weight_decay": 0.0}],
                                         lr=run.lr, momentum=s.initial_momentum)
        self.generator = torch.Generator(device=device).manual_seed(run.seed)
        # Validation draws the same corruption every epoch, so that epochs compare.
        self.valid_generator = torch.Generator(device=device)
        self.valid_seed = run.seed + 1

    def _momentum(self, epoch: int) -> float:
        s = self.run.settings
        return s.initial_momentum if epoch <= s.momentum_epochs else s.momentum

    def run_epoch(self, model: nn.Module, epoch: int) -> float:
        model.train()
        for group in self.optimizer.param_groups:
            group["momentum"] = self._momentum(epoch)
        # EpochLoss checks each batch's error before its step on the CPU (the weights stay
        # finite), and the epoch's sum once on a GPU (reading each would stall the device).
        epoch_loss = EpochLoss(len(self.batches), self.batches.device, epoch)
        try:
            for b, (xb, _) in enumerate(self.batches.epoch(epoch)):
                with torch.no_grad():
                    v = self.encode(xb)
                err = model.accumulate_gradients(v, self.generator)
                epoch_loss.add(b, err / len(xb), len(xb))
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            return epoch_loss.mean(self.batches.n) / self.dim
        except TrainingError as e:
            raise TrainingError(f"{e}{self._advice()}") from None

    def _advice(self) -> str:
        key = "input_lr" if self.run.layer == 1 else "lr"
        return f" of layer {self.run.layer}: lower pretrain.{key} (now {self.run.lr})"

    def validate(self, model: nn.Module, X: np.ndarray, y: Any = None) -> tuple[float, float]:
        """The mean reconstruction error per value over ``X`` (raw frames) and NaN (no labels)."""
        model.eval()
        self.valid_generator.manual_seed(self.valid_seed)
        total = 0.0
        with torch.no_grad():
            for xb, _ in sequential_batches(X, None, 4096, self.batches.device):
                total += float(model.reconstruction_error(self.encode(xb), self.valid_generator))
        return total / (len(X) * self.dim), math.nan

    def state_dict(self) -> dict[str, Any]:
        opt = self.optimizer.state_dict()
        opt["state"] = {k: {n: t.detach().cpu() if isinstance(t, torch.Tensor) else t for n, t in v.items()}
                        for k, v in opt["state"].items()}
        return {"optimizer": opt, "generator": self.generator.get_state(),
                "generator_device": self.generator.device.type}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        restore_generator(self.generator, state["generator"], state.get("generator_device", "cpu"))

    def log_fields(self) -> dict[str, Any]:
        g = self.optimizer.param_groups[0]
        return {"lr": g["lr"], "momentum": g["momentum"]}

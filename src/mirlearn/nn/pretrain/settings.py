"""The settings of unsupervised greedy layer-wise pre-training: the ``[pretrain]`` section.

One dataclass, declared once: it is the configuration section (``mirlearn.config``), the
learner's ``pretrain`` parameter (as a dict) and what :func:`mirlearn.nn.pretrain.stack.pretrain_mlp`
reads. It imports no torch, so that reading a configuration stays light.

>>> PretrainSettings(method="rbm", epochs=10).check(activation="sigmoid").cd_k
1
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from mirlearn.errors import ConfigError

__all__ = ["CORRUPTIONS", "PRETRAIN_METHODS", "PretrainSettings"]

#: ``none``: no pre-training; ``rbm``: stacked restricted Boltzmann machines (a DBN) trained by
#: contrastive divergence; ``dae``: stacked denoising autoencoders.
PRETRAIN_METHODS = ("none", "rbm", "dae")
#: How a denoising autoencoder corrupts its input: ``mask`` zeroes a random share of the values
#: (Vincent et al. 2008); ``gaussian`` adds N(0, level²) noise.
CORRUPTIONS = ("mask", "gaussian")
#: The hidden non-linearities pre-training can initialise (the MLP's ``activation``).
_LAYER_ACTIVATIONS = ("relu", "sigmoid")


@dataclass
class PretrainSettings:
    """Greedy layer-wise pre-training of an MLP's hidden layers, then supervised fine-tuning.

    Layer 1 models the standardised frames (real values: a Gaussian-Bernoulli RBM with unit
    variance visible units, or an autoencoder with a linear decoder and squared error); each
    layer above models the activations of the trained layers below it (a Bernoulli-Bernoulli RBM
    on the sigmoid probabilities; an autoencoder with a sigmoid decoder and cross-entropy on
    sigmoid activations, a linear decoder and squared error on ReLU ones). Defaults follow
    Hinton's practical guide to training RBMs (2010) where it gives one.

    Attributes
    ----------
    method : {'none', 'rbm', 'dae'}
        ``rbm`` needs sigmoid hidden units (an RBM's hidden units are); ``dae`` suits sigmoid and
        ReLU nets.
    epochs : int
        Most epochs (passes over the training frames) per layer.
    patience : int
        Stop a layer after this many epochs without a lower validation reconstruction error
        (its best epoch's weights are kept); 0 runs every epoch.
    lr : float
        Learning rate of the layers above the first (binary or non-negative inputs).
    input_lr : float
        Learning rate of the first layer, whose inputs are real-valued standardised frames
        (the guide: one or two orders of magnitude below the binary layers' rate).
    batch_size : int
        Frames per update (the guide: 10 to 100).
    momentum, initial_momentum : float in [0, 1)
        Momentum of the updates after, and during, the first ``momentum_epochs`` epochs of a
        layer (the guide: 0.5, then 0.9).
    momentum_epochs : int
        Epochs at ``initial_momentum``.
    weight_decay : float
        L2 penalty on the weights, not the biases (the guide: 0.0001 to 0.01).
    cd_k : int
        RBM: Gibbs steps of contrastive divergence (CD-k).
    corruption : {'mask', 'gaussian'}
        DAE: how inputs are corrupted.
    corruption_level : float
        DAE: the share of values zeroed (``mask``, in [0, 1)) or the noise's standard deviation
        (``gaussian``, > 0; in standardised units for the first layer).
    tied : bool
        DAE: the decoder's weights are the encoder's transposed (else a matrix of their own).
    frames_per_epoch : int or None
        A reduction for large sets: each epoch sees a fresh sample of this many training frames
        (``None``: all of them).
    """

    method: str = "none"
    epochs: int = 20
    patience: int = 5
    lr: float = 0.01
    input_lr: float = 0.001
    batch_size: int = 100
    momentum: float = 0.9
    initial_momentum: float = 0.5
    momentum_epochs: int = 5
    weight_decay: float = 0.0002
    cd_k: int = 1
    corruption: str = "mask"
    corruption_level: float = 0.25
    tied: bool = True
    frames_per_epoch: int | None = None

    @property
    def enabled(self) -> bool:
        """True unless ``method`` is ``'none'``."""
        return self.method != "none"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PretrainSettings":
        """Build from a dict (the learner's ``pretrain`` parameter); an unknown key is a
        :class:`ConfigError` naming it."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown pretrain option(s) {unknown}; known: {sorted(known)}")
        return cls(**d)

    def check(self, *, activation: str | None = None) -> "PretrainSettings":
        """Check every value (and, given the MLP's hidden ``activation``, that the method fits
        it); returns self.

        Raises
        ------
        ConfigError
            ``config key pretrain.<key>=<value>: <what it must be>``, for the first bad value.
        """
        _check(self.method in PRETRAIN_METHODS, "method", self.method, f"must be one of {', '.join(PRETRAIN_METHODS)}")
        for key in ("epochs", "batch_size", "cd_k", "momentum_epochs"):
            v = getattr(self, key)
            _check(_int(v) and v >= (0 if key == "momentum_epochs" else 1), key, v,
                   "must be an integer >= " + ("0" if key == "momentum_epochs" else "1"))
        _check(_int(self.patience) and self.patience >= 0, "patience", self.patience, "must be >= 0 (0: every epoch)")
        for key in ("lr", "input_lr"):
            v = getattr(self, key)
            _check(_num(v) and v > 0, key, v, "must be a positive finite number")
        for key in ("momentum", "initial_momentum"):
            v = getattr(self, key)
            _check(_num(v) and 0 <= v < 1, key, v, "must be in [0, 1)")
        _check(_num(self.weight_decay) and self.weight_decay >= 0, "weight_decay", self.weight_decay, "must be >= 0")
        _check(self.corruption in CORRUPTIONS, "corruption", self.corruption, f"must be one of {', '.join(CORRUPTIONS)}")
        level = self.corruption_level
        if self.corruption == "mask":
            _check(_num(level) and 0 <= level < 1, "corruption_level", level, "must be in [0, 1) for corruption 'mask'")
        else:
            _check(_num(level) and level > 0, "corruption_level", level, "must be > 0 for corruption 'gaussian'")
        _check(isinstance(self.tied, bool), "tied", self.tied, "must be true or false")
        fpe = self.frames_per_epoch
        _check(fpe is None or (_int(fpe) and fpe >= 1), "frames_per_epoch", fpe, "must be a positive number of frames (or unset)")
        if activation is not None and self.enabled:
            _check(activation in _LAYER_ACTIVATIONS, "method", self.method,
                   f"pre-trains sigmoid or ReLU hidden layers; network.activation is {activation!r}")
            _check(not (self.method == "rbm" and activation != "sigmoid"), "method", self.method,
                   f"an RBM's hidden units are sigmoid units: it needs network.activation = 'sigmoid' (here "
                   f"{activation!r}); use method 'dae' for a ReLU net")
        return self


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check(ok: bool, key: str, value: Any, what: str) -> None:
    if not ok:
        raise ConfigError(f"config key pretrain.{key}={value!r}: {what}")

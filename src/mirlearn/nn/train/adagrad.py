"""AdaGrad (Duchi, Hazan & Singer 2011) as an optimiser of the minibatch runners.

AdaGrad scales every weight's step by the root of the sum of its past squared gradients:
``G += g²;  w -= lr · g / (√G + eps)``, so rarely updated weights keep large steps. It is the
per-parameter learning rate of DistBelief's asynchronous SGD ("Downpour SGD", Dean et al. 2012),
the optimiser of large-scale parallel training. Here it is
``torch.optim.Adagrad`` itself (no learning-rate decay), with the accumulator's start value and
``eps`` as optional settings; its state (``sum``, ``step``) lives in the optimiser's
``state_dict``, which every checkpoint holds, so a resumed run is bitwise the uninterrupted one.

Both runners of minibatches take it: :class:`~mirlearn.nn.train.sgd.SGDEpochs` (the MLP's
frames) and :class:`~mirlearn.nn.train.patches.PatchEpochs` (a CNN's patches).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch

from mirlearn.errors import ConfigError

__all__ = ["DEFAULT_EPS", "DEFAULT_INITIAL_ACCUMULATOR", "check_adagrad", "make_adagrad"]

#: torch.optim.Adagrad's defaults, used when a setting is unset.
DEFAULT_INITIAL_ACCUMULATOR = 0.0
DEFAULT_EPS = 1e-10


def check_adagrad(optimizer: str, initial_accumulator: float | None, eps: float | None) -> None:
    """Refuse AdaGrad settings given to another optimiser, or out of range (one line).

    Raises
    ------
    ConfigError
        ``adagrad_initial_accumulator`` below 0, ``adagrad_eps`` not above 0 (or not finite),
        or either set while ``optimizer`` is not ``"adagrad"``.
    """
    for name, value, ok, what in (
            ("adagrad_initial_accumulator", initial_accumulator, lambda v: v >= 0, ">= 0"),
            ("adagrad_eps", eps, lambda v: v > 0, "> 0")):
        if value is None:
            continue
        if optimizer != "adagrad":
            raise ConfigError(f"{name}={value!r} is read only with optimizer 'adagrad' (it is {optimizer!r})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not ok(value):
            raise ConfigError(f"{name} must be a finite number {what}, got {value!r}")


def make_adagrad(params: Iterable[torch.nn.Parameter] | Any, lr: float, *, initial_accumulator: float | None = None,
                 eps: float | None = None, weight_decay: float = 0.0) -> torch.optim.Adagrad:
    """``torch.optim.Adagrad`` on ``params`` at learning rate ``lr`` without decay; unset
    settings take torch's defaults (accumulator 0, eps 1e-10)."""
    return torch.optim.Adagrad(
        params, lr=lr, lr_decay=0.0, weight_decay=weight_decay,
        initial_accumulator_value=DEFAULT_INITIAL_ACCUMULATOR if initial_accumulator is None else float(initial_accumulator),
        eps=DEFAULT_EPS if eps is None else float(eps))

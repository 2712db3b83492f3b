"""Greedy layer-wise pre-training of an MLP's hidden layers (Hinton et al. 2006; Bengio et al. 2007).

Layer 1 is trained, unsupervised, on the (standardised) frames; layer 2 on layer 1's
activations, and so on; each trained layer's encoder weights and biases become the initial
weights of the MLP's hidden layer (:class:`torch.nn.Linear` ``weight`` / ``bias``), which
supervised fine-tuning (:func:`~mirlearn.nn.train.train_sgd` or
:func:`~mirlearn.nn.train.train_hf`) then starts from. The output layer keeps its own
initialisation.

- ``rbm``: a deep belief net, a Gaussian-Bernoulli RBM on the standardised frames, Bernoulli-
  Bernoulli RBMs above, each on the sigmoid probabilities of the layer below (sigmoid nets only);
- ``dae``: stacked denoising autoencoders with the net's own units (sigmoid or ReLU), a linear
  decoder on real-valued input, a sigmoid one with cross-entropy on sigmoid activations.

Each layer is one run of the training loop in ``run_dir/layer-<k>/`` (``checkpoint.pt``,
``train_log.csv``, ``result.json``): a killed pre-training resumes where it stopped and ends
with the weights of an uninterrupted one (bitwise on the CPU); a finished layer is read back,
not retrained.

>>> from mirlearn.nn.mlp import MLP                                            # doctest: +SKIP
>>> mlp = MLP(513, (500, 500, 500), 10, activation="sigmoid", seed=0)          # doctest: +SKIP
>>> results = pretrain_mlp(mlp, X_train, X_valid, PretrainSettings(method="rbm"), run_dir="runs/dbn/pretrain")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

import numpy as np
import torch
from torch import nn

from mirlearn.errors import ConfigError
from mirlearn.nn.pretrain.dae import DenoisingAutoencoder
from mirlearn.nn.pretrain.rbm import RBM
from mirlearn.nn.pretrain.runner import LayerEpochs, LayerRunSettings
from mirlearn.nn.pretrain.settings import PretrainSettings
from mirlearn.nn.train.checkpoint import data_fingerprint
from mirlearn.nn.train.loop import TrainResult, require_device, train_loop
from mirlearn.nn.train.seeds import derive_seed

__all__ = ["layer_dir", "make_layer", "pretrain_mlp", "pretrain_summary"]

#: The seed stream of pre-training (``derive_seed(seed, PRETRAIN_STREAM, layer, ...)``), apart
#: from the supervised runners' streams.
PRETRAIN_STREAM = 7


def layer_dir(run_dir: str | Path, layer: int) -> Path:
    """The folder of hidden layer ``layer``'s (1-based) pre-training run."""
    return Path(run_dir) / f"layer-{int(layer)}"


def make_layer(settings: PretrainSettings, n_in: int, n_hidden: int, *, layer: int, activation: str,
               seed: int) -> nn.Module:
    """The untrained model of hidden layer ``layer`` (1-based) of a stack.

    RBM: Gaussian visible units on layer 1 (standardised frames), Bernoulli above. DAE: the
    net's ``activation``; a linear decoder (squared error) on real-valued input — layer 1, or
    any layer of a ReLU net — and a sigmoid decoder (cross-entropy) on sigmoid activations.
    """
    if settings.method == "rbm":
        return RBM(n_in, n_hidden, visible="gaussian" if layer == 1 else "bernoulli", cd_k=settings.cd_k, seed=seed)
    if settings.method == "dae":
        decoder = "sigmoid" if layer > 1 and activation == "sigmoid" else "linear"
        return DenoisingAutoencoder(n_in, n_hidden, activation=activation, decoder=decoder, tied=settings.tied,
                                    corruption=settings.corruption, level=settings.corruption_level, seed=seed)
    raise ConfigError(f"config key pretrain.method={settings.method!r}: nothing to pre-train")


def _encoder_params(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """The (weight, bias) a trained layer hands to the MLP's Linear layer."""
    return layer.weight, (layer.hidden_bias if isinstance(layer, RBM) else layer.bias)


def _weights_digest(modules: Sequence[nn.Module]) -> str:
    h = hashlib.sha256()
    for m in modules:
        for name, t in sorted(m.state_dict().items()):
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def pretrain_mlp(
    mlp: nn.Module,
    X_train: np.ndarray,
    X_valid: np.ndarray | None,
    settings: PretrainSettings,
    *,
    preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
    seed: int = 0,
    device: str = "cpu",
    run_dir: str | Path | None = None,
    progress: bool = True,
    epoch_lines: bool = True,
    callback: Callable[[int, int, dict[str, Any]], Any] | None = None,
    stream: TextIO | None = None,
) -> list[TrainResult]:
    """Pre-train every hidden layer of ``mlp`` greedily and write its weights into the MLP.

    Parameters
    ----------
    mlp : mirlearn.nn.mlp.MLP
        Its hidden ``layers[:-1]`` (:class:`torch.nn.Linear`) get the trained encoders' weights
        and biases; the output layer is left as it is. ``activation`` must be ``'sigmoid'``
        (``rbm`` or ``dae``) or ``'relu'`` (``dae``).
    X_train : np.ndarray [shape=(n, n_in)], float32
        Unlabelled training frames (raw, or as ``mlp`` takes them), possibly a memmap.
    X_valid : np.ndarray [shape=(n_valid, n_in)] or None
        Frames whose reconstruction error each epoch is monitored (early stopping, best epoch
        kept); ``None``: every epoch runs and the last weights are kept.
    settings : PretrainSettings
        ``method`` must not be ``'none'``.
    preprocess : callable or None
        Raw batch → the MLP's input (e.g. a :class:`~mirlearn.nn.featurenet.FeatureNet`'s
        ``standardize``); must live on ``device``. ``None``: frames go in as they are.
    seed : int
        Seeds each layer's initial weights, shuffling and sampling / corruption noise.
    device : str
    run_dir : path or None
        One folder per layer (:func:`layer_dir`); ``None`` keeps everything in memory.
    progress, epoch_lines, stream
        See :func:`~mirlearn.nn.train.loop.train_loop` (one bar / line per epoch per layer).
    callback : callable(layer, epoch, row) or None
        Called after each epoch's checkpoint; returning ``True`` ends that layer's training (the
        next layer starts); raising stops pre-training (how tests simulate a kill).

    Returns
    -------
    list of TrainResult
        One per hidden layer, in order (``best_valid_loss``: the reconstruction error per value).

    Raises
    ------
    ConfigError
        One line, before any epoch, for a method that does not fit the net's units.
    """
    settings.check(activation=getattr(mlp, "activation", None))
    if not settings.enabled:
        raise ConfigError("config key pretrain.method='none': nothing to pre-train")
    dev = require_device(device)
    widths = list(mlp.widths)
    n_in = int(mlp.n_in)
    if X_train.ndim != 2 or X_train.shape[1] != n_in or len(X_train) == 0:
        raise ValueError(f"pre-training frames must be (n > 0, {n_in}), got shape {X_train.shape}")
    if X_valid is not None and (X_valid.ndim != 2 or X_valid.shape[1] != n_in or len(X_valid) == 0):
        raise ValueError(f"pre-training validation frames must be (n > 0, {n_in}), got shape {X_valid.shape}")
    pre = preprocess if preprocess is not None else (lambda x: x)
    mlp.to(dev)
    hidden = list(mlp.layers[:-1])
    results: list[TrainResult] = []
    data = data_fingerprint(X_train, X_valid) if run_dir is not None else None
    for k, width in enumerate(widths, start=1):
        below = n_in if k == 1 else widths[k - 2]
        layer = make_layer(settings, below, width, layer=k, activation=mlp.activation,
                           seed=derive_seed(seed, PRETRAIN_STREAM, k, 0))
        lr = settings.input_lr if k == 1 else settings.lr
        run = LayerRunSettings(settings=settings, layer=k, lr=float(lr), seed=derive_seed(seed, PRETRAIN_STREAM, k, 1),
                               device=str(device))

        def encode(xb: torch.Tensor, k: int = k) -> torch.Tensor:
            x = pre(xb)
            return x if k == 1 else mlp.hidden(x, k - 1)

        mlp.eval()
        runner = LayerEpochs(layer, encode, X_train, run)
        # The layer's data are the outputs of the layers below: their weights are part of it.
        fingerprint = None if data is None else [*data, _weights_digest(hidden[:k - 1])]
        step = None if callback is None else (lambda epoch, row, k=k: callback(k, epoch, row))
        result = train_loop(layer, runner, X_valid, None, run,
                            run_dir=None if run_dir is None else layer_dir(run_dir, k), progress=progress,
                            callback=step, fingerprint=fingerprint, desc=f"pretrain {settings.method} layer {k}",
                            epoch_lines=epoch_lines, stream=stream)
        weight, bias = _encoder_params(layer)
        target = hidden[k - 1]
        if tuple(target.weight.shape) != tuple(weight.shape):
            raise ValueError(f"hidden layer {k} has weights {tuple(target.weight.shape)}, the pre-trained layer "
                             f"{tuple(weight.shape)}")
        with torch.no_grad():
            target.weight.copy_(weight)
            target.bias.copy_(bias)
        results.append(result)
    return results


def pretrain_summary(method: str, results: Sequence[TrainResult]) -> str:
    """One line, e.g. ``'rbm pre-training: layer 1 best epoch 12 of 17, reconstruction error
    0.4123; layer 2 ...'`` (errors per value, on the validation frames when there were some)."""
    parts = []
    for k, r in enumerate(results, start=1):
        err = r.best_valid_loss if r.best_valid_loss == r.best_valid_loss else (
            r.history[-1]["train_loss"] if r.history else float("nan"))
        parts.append(f"layer {k} best epoch {r.best_epoch} of {r.epochs_run}, reconstruction error {err:.4f}")
    return f"{method} pre-training: " + "; ".join(parts)

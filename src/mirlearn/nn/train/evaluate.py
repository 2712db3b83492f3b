"""The losses every optimiser trains on, and validation (mean loss, frame accuracy)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mirlearn.nn.data import sequential_batches

__all__ = ["LOSSES", "evaluate", "loss_fn", "model_device"]

LOSSES = ("softmax", "sigmoid")


def loss_fn(logits: torch.Tensor, y: torch.Tensor, kind: str = "softmax", *, reduction: str = "mean") -> torch.Tensor:
    """Loss of class logits against class indices.

    Parameters
    ----------
    logits : torch.Tensor [shape=(n, n_classes)]
        Network outputs before the output non-linearity.
    y : torch.Tensor [shape=(n,)], int64, or [shape=(n, n_classes)], float
        Class indices, or class probabilities (soft targets, e.g. mixup's).
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
        target = y.to(logits.dtype) if y.is_floating_point() else F.one_hot(y, logits.shape[1]).to(logits.dtype)
        total = F.binary_cross_entropy_with_logits(logits, target, reduction="sum")
        return total if reduction == "sum" else total / logits.shape[0]
    raise ValueError(f"loss kind must be one of {LOSSES}, got {kind!r}")


def model_device(model: nn.Module) -> torch.device:
    """Device of the model's first parameter (the CPU for a model without parameters)."""
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
    y : np.ndarray [shape=(n,)], int64, or [shape=(n, n_tags)], float32 (tag targets)
    loss : {'softmax', 'sigmoid'}
        See :func:`loss_fn`.
    batch_size : int
        Frames per forward pass (memory only; the sums are accumulated in float64).

    Returns
    -------
    loss : float
        Mean loss per frame (nats).
    acc : float
        Fraction of frames whose largest logit is the true class, in [0, 1]; for tag targets
        the share of tag decisions (probability above 0.5) that are right.
    """
    device = model_device(model)
    was_training = model.training
    model.eval()
    total_loss = 0.0
    correct = 0.0
    multilabel = np.ndim(y) == 2
    try:
        with torch.inference_mode():
            for xb, yb in sequential_batches(X, y, batch_size, device):
                logits = model(xb)
                total_loss += float(loss_fn(logits, yb, loss, reduction="sum"))
                if multilabel:
                    correct += float(((logits > 0) == (yb > 0.5)).float().mean(dim=1).sum())
                else:
                    correct += int((logits.argmax(dim=1) == yb).sum())
    finally:
        model.train(was_training)
    n = len(y)
    return total_loss / n, correct / n

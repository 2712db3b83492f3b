"""Data-parallel minibatch training over the ranks of a job (``torch.distributed``).

Every rank walks the same seeded epoch (the same permutation of frames, the same patches) and
takes its own contiguous share of every minibatch (:func:`batch_share`). The model is wrapped
in ``DistributedDataParallel``, which averages the ranks' gradients; each rank's *summed* loss
is scaled (:func:`share_scale`) so that this average is the gradient of the global batch's mean
loss, also when the shares differ by a row (or a rank's share of a short last batch is empty). So 2 ranks on a batch of 256 take the step one process
takes on the same 256 rows, up to the order of floating-point sums.

What cannot be the same as in one process: dropout masks and per-batch augmentation are drawn
per rank (each rank draws for its own rows), from generators reseeded every epoch from
``(seed, stream, epoch, rank)`` (:func:`epoch_generator_seed`), so that a job resumed with any
number of ranks draws what an uninterrupted job with that number of ranks draws. Batch norm
normalises with each rank's share of the batch (rank 0's running statistics are broadcast at
every forward), as usual under DDP.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mirlearn.distributed import World
from mirlearn.nn.train.seeds import derive_seed

__all__ = ["batch_share", "share_scale", "wrap", "epoch_generator_seed"]


def batch_share(index: np.ndarray, ranks: World) -> np.ndarray:
    """This rank's contiguous part of a (sorted) global batch ``index`` [shape=(batch,)]: a
    contiguous read of a memory map, and shares that differ by at most one row."""
    lo, hi = ranks.bounds(len(index))
    return index[lo:hi]


def share_scale(n_global: int, ranks: World) -> float:
    """Factor on a rank's loss *summed* over its rows so that DDP's average of the ranks'
    gradients is the gradient of the mean loss over the batch's ``n_global`` rows."""
    return ranks.size / n_global


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` in ``DistributedDataParallel`` (rank 0's weights and buffers are broadcast to
    the others when it is built, so every rank starts from the same state)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def epoch_generator_seed(seed: int, stream: int, epoch: int, rank: int) -> int:
    """Seed of a rank's random stream (dropout, augmentation) for one epoch."""
    return derive_seed(seed, stream, epoch, rank)

"""Martens' sparse initialisation."""

from __future__ import annotations

import torch

__all__ = ["sparse_init_"]


@torch.no_grad()
def sparse_init_(module: torch.nn.Module, n_nonzero: int = 15, *, std: float = 1.0,
                 generator: torch.Generator | None = None) -> torch.nn.Module:
    """Give every unit of every ``nn.Linear`` exactly ``n_nonzero`` non-zero incoming weights.

    The non-zero weights are drawn from N(0, std²) on ``min(n_nonzero, fan_in)`` inputs chosen
    at random without replacement; all other weights and all biases are set to 0 (Martens 2010,
    §5). Martens' demo draws the inputs *with* replacement, so a unit may get fewer than 15;
    we follow the paper's "exactly 15".

    Parameters
    ----------
    module : the network (modified in place; other layer types are left alone).
    n_nonzero : incoming connections per unit.
    std : standard deviation of the non-zero weights.
    generator : random source, for reproducible initialisation.

    Returns
    -------
    The same module.
    """
    if n_nonzero < 1:
        raise ValueError(f"n_nonzero must be at least 1, got {n_nonzero}")
    for layer in module.modules():
        if not isinstance(layer, torch.nn.Linear):
            continue
        w = layer.weight
        n_out, n_in = w.shape
        k = min(n_nonzero, n_in)
        # k smallest of uniform keys per row = k inputs drawn without replacement, vectorised.
        keys = torch.rand(n_out, n_in, generator=generator)
        idx = keys.topk(k, dim=1, largest=False).indices
        values = torch.randn(n_out, k, generator=generator, dtype=torch.float64) * std
        dense = torch.zeros(n_out, n_in, dtype=torch.float64)
        dense.scatter_(1, idx, values)
        w.copy_(dense.to(device=w.device, dtype=w.dtype))
        if layer.bias is not None:
            layer.bias.zero_()
    return module

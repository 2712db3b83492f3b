"""A module's trainable parameters as one flat vector θ, and back.

HF works on θ as a single vector (CG, the preconditioner and the damping are vector
operations); the network is evaluated with ``torch.func.functional_call`` on views of θ, so
the module's own parameters are only written when the caller should see the new values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch

from mirlearn.errors import ConfigError

__all__ = ["ParamSpec"]


@dataclass(frozen=True)
class ParamSpec:
    """Names, shapes and offsets of a module's trainable parameters in the flat vector θ.

    The order is that of ``module.named_parameters()``, restricted to parameters with
    ``requires_grad``; frozen parameters and buffers stay the module's own.
    """

    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]
    numels: tuple[int, ...]
    dtype: torch.dtype
    device: torch.device

    @classmethod
    def from_module(cls, module: torch.nn.Module) -> "ParamSpec":
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise ConfigError(f"{type(module).__name__} has no trainable parameters")
        dtypes = {p.dtype for _, p in named}
        devices = {p.device for _, p in named}
        if len(dtypes) != 1 or len(devices) != 1:
            raise ConfigError("HF needs all trainable parameters on one device with one dtype; "
                              f"found dtypes {sorted(map(str, dtypes))}, devices {sorted(map(str, devices))}")
        if not next(iter(dtypes)).is_floating_point:
            raise ConfigError("HF needs floating-point parameters")
        return cls(
            names=tuple(n for n, _ in named),
            shapes=tuple(p.shape for _, p in named),
            numels=tuple(p.numel() for _, p in named),
            dtype=named[0][1].dtype,
            device=named[0][1].device,
        )

    @property
    def size(self) -> int:
        """Length of θ."""
        return sum(self.numels)

    def offsets(self) -> dict[str, slice]:
        """Slice of θ that holds each parameter."""
        out, start = {}, 0
        for name, n in zip(self.names, self.numels):
            out[name] = slice(start, start + n)
            start += n
        return out

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of ``theta`` [shape=(size,)] shaped like the parameters (no copy)."""
        return {name: part.view(shape)
                for name, part, shape in zip(self.names, theta.split(self.numels), self.shapes)}

    def flatten(self, tensors: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Concatenate per-parameter tensors (e.g. gradients) into one vector [shape=(size,)]."""
        return torch.cat([tensors[name].reshape(-1) for name in self.names])

    def from_module_values(self, module: torch.nn.Module) -> torch.Tensor:
        """A copy of the module's current trainable parameters as θ."""
        params = dict(module.named_parameters())
        return torch.cat([params[name].detach().reshape(-1) for name in self.names])

    def load_into(self, module: torch.nn.Module, theta: torch.Tensor) -> None:
        """Write ``theta`` into the module's parameters (in place, without autograd)."""
        params = dict(module.named_parameters())
        with torch.no_grad():
            for name, value in self.unflatten(theta).items():
                params[name].copy_(value)

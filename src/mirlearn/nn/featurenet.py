"""A network that learns features from raw frames: fixed standardisation, then an MLP.

Folding the standardiser into the module (as buffers, not parameters) means that the saved
model carries its training statistics, that every consumer (training, feature extraction,
``predict``) feeds raw |FFT| frames, and that no standardised copy of the frame matrix is
ever materialised.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from mirlearn.nn.mlp import MLP


class FeatureNet(nn.Module):
    """``(x − mean) / scale`` followed by an :class:`~mirlearn.nn.mlp.MLP`.

    Parameters
    ----------
    mlp : the network; its ``forward`` returns logits
    mean, scale : np.ndarray [shape=(n_in,)]
        Per-dimension statistics of the training frames.
    """

    def __init__(self, mlp: MLP, mean: np.ndarray, scale: np.ndarray) -> None:
        super().__init__()
        self.mlp = mlp
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, dtype=np.float32)))
        self.register_buffer("inv_scale", torch.as_tensor(1.0 / np.asarray(scale, dtype=np.float32)))

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) * self.inv_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape ``(n, n_classes)``, from raw frames ``(n, n_in)``."""
        return self.mlp(self.standardize(x))

    def hidden(self, x: torch.Tensor, layers: int | str | Sequence[int] = "all") -> torch.Tensor:
        """Hidden activations of the chosen layers (eval semantics: no dropout)."""
        return self.mlp.hidden(self.standardize(x), layers)

    def config(self) -> dict[str, Any]:
        return {"mlp": self.mlp.config()}

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "FeatureNet":
        mlp = MLP.from_config(cfg["mlp"])
        n_in = mlp.config()["n_in"]
        return cls(mlp, np.zeros(n_in, np.float32), np.ones(n_in, np.float32))

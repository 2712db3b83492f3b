"""Matching losses on the logits, and the loss Hessian products that Gauss-Newton needs.

Each loss takes the network's logits ``z`` (the output pre-activations) and targets, and is
*summed* over outputs and over cases; callers divide by the number of cases. This is Martens'
convention: ``BCEWithLogitsLoss(reduction='mean')`` would also average over the outputs and
rescale the gradient, the curvature and therefore the meaning of the damping λ.

Only *matching* pairs are offered (the output non-linearity that the loss assumes is folded
into the loss): the loss is then convex in the logits, its Hessian ``H`` with respect to the
logits is positive semi-definite, and so is the Gauss-Newton matrix ``Jᵀ H J``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mirlearn.errors import ConfigError

__all__ = ["OutputLoss", "SigmoidBCE", "SoftmaxCE", "LinearMSE", "get_loss", "LOSS_NAMES"]


class OutputLoss:
    """A loss on the logits with its Hessian-vector product (base class).

    Subclasses define ``name``, :meth:`targets`, :meth:`sum`, :meth:`curvature` and :meth:`hvp`.
    """

    name: str = ""

    def targets(self, y: torch.Tensor, n_out: int, dtype: torch.dtype) -> torch.Tensor:
        """Targets for class indices ``y`` [shape=(n,), int64] as the loss expects them."""
        raise NotImplementedError

    def sum(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Σ over cases and outputs of ℓ(z_n, t_n); ``z`` [shape=(n, n_out)] → scalar."""
        raise NotImplementedError

    def curvature(self, z: torch.Tensor) -> torch.Tensor:
        """What :meth:`hvp` needs from ``z`` [shape=(n, n_out)], computed once per HF step."""
        raise NotImplementedError

    def hvp(self, c: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Per-case ``H_n u_n`` for ``u`` [shape=(n, n_out)], given ``c = curvature(z)``."""
        raise NotImplementedError

    def hessian(self, z: torch.Tensor) -> torch.Tensor:
        """Explicit per-case Hessians [shape=(n, n_out, n_out)] (for tests and checks)."""
        eye = torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
        c = self.curvature(z)
        return torch.stack([self.hvp(c, eye[k].expand_as(z)) for k in range(z.shape[1])], dim=2)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SigmoidBCE(OutputLoss):
    """Sigmoid outputs with binary cross-entropy summed over outputs; ``H = diag(p(1−p))``."""

    name = "sigmoid"

    def targets(self, y: torch.Tensor, n_out: int, dtype: torch.dtype) -> torch.Tensor:
        return F.one_hot(y, n_out).to(dtype)

    def sum(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(z, t.to(z.dtype), reduction="sum")

    def curvature(self, z: torch.Tensor) -> torch.Tensor:
        # σ(z)σ(−z) rather than p(1−p): no cancellation when a unit saturates.
        return torch.sigmoid(z) * torch.sigmoid(-z)

    def hvp(self, c: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return c * u


class SoftmaxCE(OutputLoss):
    """Softmax outputs with cross-entropy; ``H = diag(p) − p pᵀ``."""

    name = "softmax"

    def targets(self, y: torch.Tensor, n_out: int, dtype: torch.dtype) -> torch.Tensor:
        return y

    def sum(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(z, t, reduction="sum")

    def curvature(self, z: torch.Tensor) -> torch.Tensor:
        return torch.softmax(z, dim=1)

    def hvp(self, c: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return c * u - c * (c * u).sum(dim=1, keepdim=True)


class LinearMSE(OutputLoss):
    """Linear outputs with ½‖z − t‖² summed over outputs (one-hot targets); ``H = I``.

    Martens' demo uses Σ(z − t)² without the ½, i.e. twice this loss, gradient and curvature.
    """

    name = "mse"

    def targets(self, y: torch.Tensor, n_out: int, dtype: torch.dtype) -> torch.Tensor:
        return F.one_hot(y, n_out).to(dtype)

    def sum(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.5 * (z - t.to(z.dtype)).square().sum()

    def curvature(self, z: torch.Tensor) -> torch.Tensor:
        return z.new_empty(0)

    def hvp(self, c: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return u


_LOSSES: dict[str, type[OutputLoss]] = {"sigmoid": SigmoidBCE, "softmax": SoftmaxCE, "mse": LinearMSE}
_ALIASES = {
    "sigmoid": "sigmoid", "sigmoid+bce": "sigmoid", "bce": "sigmoid",
    "softmax": "softmax", "softmax+ce": "softmax", "ce": "softmax", "cross_entropy": "softmax",
    "mse": "mse", "linear+mse": "mse", "linear": "mse",
}
# Pairings that people ask for but that are not matching losses.
_REFUSED = {
    "sigmoid+mse": "squared error on sigmoid outputs is not convex in the logits, so JᵀHJ can be indefinite",
    "softmax+mse": "squared error on softmax outputs is not convex in the logits, so JᵀHJ can be indefinite",
    "softmax+bce": "binary cross-entropy does not match softmax outputs (use 'softmax' for cross-entropy)",
    "linear+bce": "binary cross-entropy needs sigmoid outputs (use 'sigmoid')",
    "linear+ce": "cross-entropy needs softmax outputs (use 'softmax')",
    "sigmoid+ce": "categorical cross-entropy on sigmoid outputs is not a matching loss (use 'sigmoid' for BCE)",
}
LOSS_NAMES = tuple(_LOSSES)


def get_loss(name: str | OutputLoss) -> OutputLoss:
    """The matching output loss called ``name``.

    Parameters
    ----------
    name : 'sigmoid' (BCE), 'softmax' (cross-entropy) or 'mse' (linear outputs, ½ squared
        error); the spellings 'sigmoid+bce', 'softmax+ce', 'linear+mse' are accepted too.

    Raises
    ------
    ConfigError
        For an unknown name, or for an output/loss pairing that is not a matching loss
        (e.g. 'sigmoid+mse'), for which the Gauss-Newton matrix is not guaranteed PSD.
    """
    if isinstance(name, OutputLoss):
        return name
    key = str(name).strip().lower().replace(" ", "")
    if key in _REFUSED:
        raise ConfigError(f"HF loss {name!r} is not supported: {_REFUSED[key]}")
    if key not in _ALIASES:
        raise ConfigError(f"unknown HF loss {name!r}; choose one of {', '.join(LOSS_NAMES)}")
    return _LOSSES[_ALIASES[key]]()

"""Hessian-Free optimisation (Martens 2010) for networks that return logits.

Entry point: :func:`train_hf` with :class:`HFConfig` (defined in :mod:`mirlearn.nn.train.hf`,
the Hessian-Free runner of the one training loop, and available here too). The pieces are
public and tested alone:

========================  ==========================================================
:mod:`.losses`            matching losses on logits and their Hessian products
:mod:`.params`            a module's parameters as one flat vector θ
:mod:`.rows`              chunked reading of (memory-mapped) frame matrices
:mod:`.fisher`            Σ (per-case gradient)² — Linear fast path, vmap fallback
:mod:`.objective`         f, ∇f and the empirical-Fisher diagonal over a data set
:mod:`.curvature`         Gauss-Newton products G·v through ``torch.func``
:mod:`.mlp_curvature`     the same products for MLPs by explicit per-layer matmuls (bitwise equal)
:mod:`.cg`                preconditioned CG with Martens' stopping rule
:mod:`.steps`             CG-backtracking, ρ, Armijo line search, damping rule
:mod:`.init`              Martens' sparse initialisation
========================  ==========================================================
"""

from mirlearn.nn.hf.cg import CGResult, dot64, pcg, store_schedule
from mirlearn.nn.hf.curvature import GaussNewton, gauss_newton_product
from mirlearn.nn.hf.init import sparse_init_
from mirlearn.nn.hf.losses import LinearMSE, OutputLoss, SigmoidBCE, SoftmaxCE, get_loss
from mirlearn.nn.hf.objective import Objective, fisher_diagonal
from mirlearn.nn.hf.params import ParamSpec
from mirlearn.nn.hf.steps import armijo, backtrack, reduction_ratio, update_damping

# The trainer is an epoch runner of the one training loop: mirlearn.nn.train.hf (train_hf,
# HFConfig, HFSteps), which uses the pieces above.

__all__ = [
    "GaussNewton", "gauss_newton_product", "fisher_diagonal", "Objective", "ParamSpec",
    "CGResult", "pcg", "dot64", "store_schedule",
    "backtrack", "reduction_ratio", "armijo", "update_damping",
    "OutputLoss", "SigmoidBCE", "SoftmaxCE", "LinearMSE", "get_loss",
    "sparse_init_",
]

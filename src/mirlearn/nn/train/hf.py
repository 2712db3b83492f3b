"""Hessian-Free training (Martens 2010) of any module that returns logits: ``train_hf``.

The runner of the training loop; the mathematics (CG, Gauss-Newton products, objective,
line searches) lives in :mod:`mirlearn.nn.hf`.

One HF step, following ``HF_SPEC.md`` §1 (Martens' ``nnet_train_2.m``):

1. on the whole training set: f(θ), ∇f(θ) and the empirical-Fisher diagonal d;
2. the Gauss-Newton operator on curvature chunk C = chunk[t mod n_chunks] (a quarter of a
   seeded shuffle of the training set): B v = G_C v + (λ + κ) v;
3. preconditioner M = (d + λ + κ)^¾;
4. PCG on q(x) = ½xᵀBx + gᵀx from 0.95 × the previous solution;
5. the warm start of the next step is CG's last iterate;
6. CG-backtracking on the full training objective chooses p among the stored iterates;
7. ρ on chunk C against the undamped model (λ left out) measured from θ, not from the warm start;
8. Armijo line search on the full training set;
9. Levenberg-Marquardt update of λ;
10. θ ← θ + rate·p.

HF is an epoch runner of the one training loop (:func:`mirlearn.nn.train.loop.train_loop`),
one HF step per "epoch": validation, early stopping, best weights, ``train_log.csv``,
``checkpoint.pt``, ``result.json`` and resumption are the loop's, as for SGD, and
:func:`train_hf` returns the same :class:`~mirlearn.nn.train.loop.TrainResult`.

The model is put in eval mode while HF runs (dropout would change the quadratic model
between CG's products) and restored to its mode afterwards.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
import torch

from mirlearn.distributed import world
from mirlearn.errors import ConfigError, TrainingError
from mirlearn.nn.hf.cg import dot64, pcg
from mirlearn.nn.hf.mlp_curvature import gauss_newton_operator
from mirlearn.nn.hf.losses import get_loss
from mirlearn.nn.hf.objective import Objective
from mirlearn.nn.hf.params import ParamSpec
from mirlearn.nn.hf.rows import first_nonfinite_row, take_rows
from mirlearn.nn.hf.shared import SharedGaussNewton
from mirlearn.nn.hf.steps import armijo, backtrack, reduction_ratio, update_damping
from mirlearn.nn.train.checkpoint import data_fingerprint
from mirlearn.nn.train.loop import LoopSettings, TrainResult, train_loop

__all__ = ["HFConfig", "HFSteps", "train_hf"]

#: The log fields an HF step adds after the loop's columns (``train_log.csv``).
HF_FIELDS = ("objective", "objective_before", "damping", "cg_iters", "chosen_iter", "rate", "rho")
# Output layers that mean the module returns probabilities rather than logits.
_PROBABILITY_LAYERS = (torch.nn.Sigmoid, torch.nn.Softmax, torch.nn.LogSoftmax, torch.nn.Softmin,
                       torch.nn.Tanh)


@dataclass
class HFConfig:
    """Settings of a Hessian-Free run (defaults: Sigtia & Dixon's sigmoid nets).

    Attributes
    ----------
    loss : matching output loss on the logits: 'sigmoid' (BCE summed over outputs, mean over
        cases), 'softmax' (cross-entropy) or 'mse' (½ squared error on linear outputs).
    init_damping : λ0, added to the per-case-normalised G (Martens' demo: 45; Sigtia: 10).
    max_cg_iters : CG iterations per HF step.
    max_steps : HF steps.
    n_chunks : the curvature chunk is 1/n_chunks of the training set, a different one each step.
    weight_cost : κ, L2 coefficient on all trainable parameters (Martens' demo: 2e-5).
    chunk_rows : rows per forward/backward (and per curvature block); bounds memory.
    curvature_cache_mb : memory for cached linearisations of the curvature chunk (MiB);
        blocks beyond it recompute their forward passes in every G·v.
    cg_decay : CG starts from cg_decay × the previous solution.
    precondition : use the empirical-Fisher diagonal preconditioner.
    seed : seed of the shuffle that forms the curvature chunks.
    patience : stop after this many HF steps without improvement on validation (None: never).
    monitor : validation metric for early stopping and best parameters: 'error' (the highest
        frame accuracy is best) or 'loss'.
    restore_best : leave the best-on-validation parameters in the model at the end (when
        validation data are given), rather than the last ones.
    device : 'cpu' or a CUDA device; the model is moved there.
    """

    loss: str = "sigmoid"
    init_damping: float = 10.0
    max_cg_iters: int = 250
    max_steps: int = 200
    n_chunks: int = 4
    weight_cost: float = 0.0
    chunk_rows: int = 8192
    curvature_cache_mb: float = 4096.0
    cg_decay: float = 0.95
    precondition: bool = True
    seed: int = 0
    patience: int | None = None
    monitor: str = "error"
    restore_best: bool = True
    device: str = "cpu"

    #: Settings that may change between a run and its resumption: they do not steer the
    #: trajectory (device and cache size change at most the last bits of the arithmetic).
    RESUME_FREE: ClassVar[frozenset[str]] = frozenset({"max_steps", "patience", "device", "curvature_cache_mb"})

    def __post_init__(self) -> None:
        get_loss(self.loss)  # refuses unknown names and non-matching pairs
        ints = {"max_cg_iters": 1, "max_steps": 0, "n_chunks": 1, "chunk_rows": 1, "seed": 0}
        for name, low in ints.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ConfigError(f"HFConfig.{name} must be an integer >= {low}, got {value!r}")
        floats = ("init_damping", "weight_cost", "curvature_cache_mb")
        for name in floats:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 \
                    or (name != "curvature_cache_mb" and not math.isfinite(value)):
                raise ConfigError(f"HFConfig.{name} must be a number >= 0, got {value!r}")
        if not (isinstance(self.cg_decay, (int, float)) and 0 <= self.cg_decay <= 1):
            raise ConfigError(f"HFConfig.cg_decay must be in [0, 1], got {self.cg_decay!r}")
        if self.patience is not None and (isinstance(self.patience, bool)
                                          or not isinstance(self.patience, int) or self.patience < 1):
            raise ConfigError(f"HFConfig.patience must be None or an integer >= 1, got {self.patience!r}")
        if self.monitor not in ("error", "loss"):
            raise ConfigError(f"HFConfig.monitor must be 'error' or 'loss', got {self.monitor!r}")
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ConfigError(f"HFConfig.device {self.device!r} is not a device: {exc}") from None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "HFConfig":
        """Build from a mapping (e.g. a TOML table); an unknown key is a ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown HF setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**dict(d))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def loop_settings(self) -> LoopSettings:
        """What :func:`~mirlearn.nn.train.loop.train_loop` reads from these settings."""
        return LoopSettings(max_epochs=int(self.max_steps), patience=self.patience, device=self.device,
                            restore_best=bool(self.restore_best))


class _NonFinite(Exception):
    pass


class HFSteps:
    """Epoch runner: one Hessian-Free step (spec §1 steps 1-10) per "epoch".

    Parameters
    ----------
    model : torch.nn.Module returning logits; must be in eval mode while the runner runs.
    X_train, y_train : training frames [shape=(N, ...)] and class indices [shape=(N,)].
    X_valid, y_valid : validation set or None.
    config : HFConfig
    spec : ParamSpec of ``model``
    n_out : number of outputs (classes)

    Notes
    -----
    The runner's state (for checkpoints) is the damping λ, CG's warm start and the shuffle
    that forms the curvature chunks; θ itself is the model's parameters, which the loop saves.

    Under several ranks (:func:`mirlearn.distributed.world`) each rank reads only its contiguous
    share of the training and validation rows; the full-set loss, gradient and Fisher diagonal
    (:class:`~mirlearn.nn.hf.objective.Objective`) and every curvature product on the chunk
    (:class:`~mirlearn.nn.hf.shared.SharedGaussNewton`) are sums over the ranks' rows, added by
    all-reduce. The chunks are the same seeded shuffle of all N rows on every rank, so a step
    is the one-process step up to the order of floating-point sums, and every rank computes the
    same CG scalars (float64), backtracking, line search and λ: all take the same step.
    """

    name = "hf"
    unit = "step"

    def __init__(self, model: torch.nn.Module, X_train: Any, y_train: Any, X_valid: Any, y_valid: Any,
                 config: HFConfig, spec: ParamSpec, n_out: int) -> None:
        self.config = cfg = config
        self.spec = spec
        self.monitor = "acc" if cfg.monitor == "error" else "loss"
        loss = get_loss(cfg.loss)
        self.ranks = ranks = world()
        self.lo, self.hi = ranks.bounds(len(X_train))  # this rank's rows (all of them for one process)
        self.X_train = X_train[self.lo:self.hi] if ranks.active else X_train
        shared = {"ranks": ranks, "n_total": len(X_train)} if ranks.active else {}
        self.train = Objective(model, loss, self.X_train, y_train[self.lo:self.hi] if ranks.active else y_train,
                               n_out=n_out, spec=spec, weight_cost=cfg.weight_cost, chunk_rows=cfg.chunk_rows,
                               **shared)
        self.valid = None
        if X_valid is not None:
            share = ranks.shard(len(X_valid))
            self.valid = Objective(model, loss, X_valid[share] if ranks.active else X_valid,
                                   y_valid[share] if ranks.active else y_valid, n_out=n_out, spec=spec,
                                   chunk_rows=cfg.chunk_rows,
                                   **({"ranks": ranks, "n_total": len(X_valid)} if ranks.active else {}))
        rng = np.random.default_rng(cfg.seed)
        self.perm = rng.permutation(len(X_train)).astype(np.int64)
        self.rng_state = rng.bit_generator.state
        self.lam = float(cfg.init_damping)
        self.ch = torch.zeros(spec.size, dtype=spec.dtype, device=spec.device)
        self._set_chunks()
        self._fields: dict[str, Any] = {}

    def _set_chunks(self) -> None:
        self.chunks = [np.sort(c) for c in np.array_split(self.perm, self.config.n_chunks)]

    def run_epoch(self, model: torch.nn.Module, epoch: int) -> float:
        model.eval()
        theta = self.spec.from_module_values(model)
        try:
            theta_new, row = self._step(theta, self.chunks[(epoch - 1) % self.config.n_chunks], model)
        except _NonFinite as exc:
            bad_row = first_nonfinite_row(self.X_train)
            bad_row = None if bad_row is None else self.lo + bad_row
            cause = (f"X_train row {bad_row} holds NaN or inf" if bad_row is not None
                     else "the inputs are finite, so the network overflowed")
            raise TrainingError(f"HF step {epoch}: the training {exc} ({cause}); the model keeps the last good "
                                f"parameters (after step {epoch - 1})") from None
        if theta_new is not theta:
            self.spec.load_into(model, theta_new)
        self._fields = row
        return row["objective"] - self.train.penalty(theta_new)

    def _step(self, theta: torch.Tensor, chunk: np.ndarray, model: torch.nn.Module
              ) -> tuple[torch.Tensor, dict[str, Any]]:
        """One HF step from θ; updates λ and the warm start, returns (new θ, log fields)."""
        cfg, train, kappa = self.config, self.train, self.config.weight_cost
        # 1. Full-set pass: f, g and the Fisher diagonal together.
        f0, g, d = train.value_and_grad(theta, fisher=cfg.precondition)
        if not math.isfinite(f0):
            raise _NonFinite(f"objective is {f0}")
        if not bool(torch.isfinite(g).all()):
            raise _NonFinite("gradient has non-finite entries")
        # 2. Curvature on this step's chunk; θ is fixed until CG is done. MLPs get the explicit
        # per-layer operator (bitwise the same products, no linearize trace to build).
        if self.ranks.active:  # this rank's rows of the chunk; products summed over the ranks
            mine = chunk[(chunk >= self.lo) & (chunk < self.hi)] - self.lo
            op = SharedGaussNewton(model, theta, list(train.chunks(mine)), train.loss, spec=self.spec,
                                   n_total=len(chunk), ranks=self.ranks, cache_bytes=cfg.curvature_cache_mb * 2**20)
        else:
            op = gauss_newton_operator(model, theta, list(train.chunks(chunk)), train.loss, spec=self.spec,
                                       cache_bytes=cfg.curvature_cache_mb * 2**20)
        shift = self.lam + kappa
        # 3. M = (d + λ + κ)^¾; the floor only matters when λ = κ = 0 and a parameter has d = 0.
        precond = None if d is None else (d + shift).pow(0.75).clamp_min(torch.finfo(d.dtype).tiny)
        # 4. PCG from the decayed previous solution.
        cg = pcg(lambda v: op.matvec(v, shift), g, cfg.cg_decay * self.ch, precond=precond,
                 max_iters=cfg.max_cg_iters)
        # 6. CG-backtracking on the full training objective.
        j, f_p = backtrack(lambda x: train.value(theta + x), [x for _, x in cg.iterates])
        chosen_iter, p = cg.iterates[j]
        # 7. ρ on the chunk: the model q(p) − q(0) without λ (Martens: "not 100% sure"), from θ, so
        # that a good warm start cannot make every step look like a failure (spec §4).
        actual = (op.mean_loss(theta + p) + train.penalty(theta + p)) - (op.mean_loss() + train.penalty(theta))
        slope = dot64(g, p)
        predicted = 0.5 * dot64(p, op.matvec(p, kappa)) + slope
        rho = reduction_ratio(actual, predicted)
        del op  # free the cached linearisations before the line search's passes
        # 8. Armijo on the full set (f at rate 1 is known from backtracking).
        rate, f_new = armijo(lambda r: train.value(theta + r * p), f0, slope, f1=f_p)
        # 9-10. Damping, update; 5. the warm start is CG's last iterate (not backtracked, not scaled).
        self.lam = update_damping(self.lam, rho)
        self.ch = cg.x
        theta_new = theta + rate * p if rate > 0 else theta
        return theta_new, {"objective": f_new, "objective_before": f0, "damping": self.lam, "cg_iters": cg.iters,
                           "chosen_iter": chosen_iter, "rate": rate, "rho": rho}

    def validate(self, model: torch.nn.Module, X: Any, y: Any) -> tuple[float, float]:
        """Mean validation loss (HF's loss, without weight cost) and frame accuracy."""
        loss, error = self.valid.loss_and_error(self.spec.from_module_values(model))
        n = self.valid.n
        # Accuracy from the count of errors, so that "highest accuracy" picks exactly the
        # step that "lowest error" picked before the loop was unified.
        return loss, (n - round(error * n)) / n

    def state_dict(self) -> dict[str, Any]:
        return {"lam": self.lam, "ch": self.ch.cpu(), "perm": torch.from_numpy(self.perm), "rng": self.rng_state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.lam = float(state["lam"])
        self.ch = state["ch"].to(device=self.spec.device, dtype=self.spec.dtype)
        self.perm = state["perm"].numpy()
        self.rng_state = state["rng"]
        self._set_chunks()

    def log_fields(self) -> dict[str, Any]:
        return dict(self._fields)


def train_hf(model: torch.nn.Module, X_train: np.ndarray | torch.Tensor, y_train: np.ndarray | torch.Tensor,
             X_valid: np.ndarray | torch.Tensor | None = None, y_valid: np.ndarray | torch.Tensor | None = None,
             config: HFConfig | None = None, *, run_dir: str | Path | None = None, progress: bool = True,
             callback: Callable[[dict[str, Any]], bool | None] | None = None,
             epoch_lines: bool = True) -> TrainResult:
    """Train ``model`` with Hessian-Free optimisation; the model's parameters are updated in place.

    Parameters
    ----------
    model : torch.nn.Module mapping inputs [shape=(n, ...)] to logits [shape=(n, n_out)]
        (no output non-linearity: the loss applies it).
    X_train : np.ndarray or torch.Tensor [shape=(N, ...)], e.g. float32 frames (N, 513), possibly
        a read-only ``np.memmap``; converted chunk by chunk.
    y_train : array of int [shape=(N,)], class indices (one-hot targets are made internally for
        the 'sigmoid' and 'mse' losses).
    X_valid, y_valid : optional validation set, for the log, early stopping and best parameters.
    config : settings (default ``HFConfig()``).
    run_dir : folder for ``train_log.csv``, ``checkpoint.pt`` and ``result.json`` (the training
        loop's files, as for SGD). If it holds a checkpoint of the same settings and data,
        training resumes from it and reaches the same parameters as an uninterrupted run.
    progress : show a bar over HF steps on a terminal (``False`` removes the bar only).
    callback : called after each step (after the checkpoint) with the step's log row, while the
        model holds the step's parameters; returning True stops training.
    epoch_lines : one line per HF step on stderr when no bar is shown (see :func:`train_loop`).

    Returns
    -------
    TrainResult
        ``best_epoch`` is the HF step with the best validation score (``config.monitor``),
        ``history`` the log rows (``objective``, ``damping``, ``cg_iters``, ... after the loop's
        columns), ``runner='hf'``.

    Raises
    ------
    ConfigError
        An unsupported output/loss pairing (e.g. a model ending in ``nn.Sigmoid``), a bad
        setting, or a checkpoint in ``run_dir`` from other settings or data.
    TrainingError
        The training objective or its gradient became non-finite; the model and the checkpoint
        keep the last good parameters.
    """
    cfg = config or HFConfig()
    loss = get_loss(cfg.loss)
    _refuse_probability_outputs(model, cfg.loss)
    if (X_valid is None) != (y_valid is None):
        raise ValueError("give both X_valid and y_valid, or neither")
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"HFConfig.device is {cfg.device!r} but CUDA is not available")
    y_train = y_train if isinstance(y_train, (np.ndarray, torch.Tensor)) else np.asarray(y_train)
    if y_valid is not None and not isinstance(y_valid, (np.ndarray, torch.Tensor)):
        y_valid = np.asarray(y_valid)
    model.to(device)
    was_training = model.training
    model.eval()
    try:
        spec = ParamSpec.from_module(model)
        n_out = _check_data(model, spec, loss.name, X_train, y_train, "train", cfg.n_chunks)
        if X_valid is not None:
            _check_data(model, spec, loss.name, X_valid, y_valid, "valid", 1, n_out=n_out)
        runner = HFSteps(model, X_train, y_train, X_valid, y_valid, cfg, spec, n_out)
        fingerprint = data_fingerprint(X_train, y_train, X_valid, y_valid) if run_dir is not None else None
        loop_callback = None if callback is None else (lambda epoch, row: callback(dict(row)))
        return train_loop(model, runner, X_valid, y_valid, cfg, run_dir=run_dir, progress=progress,
                          callback=loop_callback, fingerprint=fingerprint, desc="HF", epoch_lines=epoch_lines)
    finally:
        model.train(was_training)


# -- checks ----------------------------------------------------------------------------------

def _refuse_probability_outputs(model: torch.nn.Module, loss_name: str) -> None:
    leaves = [m for m in model.modules() if not list(m.children())]
    if leaves and isinstance(leaves[-1], _PROBABILITY_LAYERS):
        kind = type(leaves[-1]).__name__
        raise ConfigError(f"the model ends in {kind}, but HF takes its loss on logits (the {loss_name!r} "
                          f"loss applies the output non-linearity itself): remove the final {kind}")


def _check_data(model: torch.nn.Module, spec: ParamSpec, loss_name: str, X: Any, y: Any, part: str,
                n_chunks: int, n_out: int | None = None) -> int:
    if X.ndim < 2:
        raise ValueError(f"X_{part} must have shape (n_rows, ...), got {tuple(X.shape)}")
    y_arr = y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if y_arr.shape != (len(X),):
        raise ValueError(f"y_{part} has shape {y_arr.shape}, expected ({len(X)},) to match X_{part}")
    if not np.issubdtype(y_arr.dtype, np.integer):
        raise ValueError(f"y_{part} must hold integer class indices, got dtype {y_arr.dtype}")
    if len(X) < n_chunks:
        raise ValueError(f"X_{part} has {len(X)} rows, fewer than n_chunks={n_chunks}")
    if n_out is None:
        with torch.no_grad():
            z = model(take_rows(X, slice(0, 1), dtype=spec.dtype, device=spec.device))
        if z.ndim != 2:
            raise ConfigError(f"the model must return logits of shape (n, n_out), got {tuple(z.shape)}")
        n_out = int(z.shape[1])
        if loss_name == "softmax" and n_out < 2:
            raise ConfigError("softmax outputs need at least 2 classes")
    if y_arr.size and (y_arr.min() < 0 or y_arr.max() >= n_out):
        raise ValueError(f"y_{part} holds classes {int(y_arr.min())}..{int(y_arr.max())}, "
                         f"but the model has {n_out} outputs")
    return n_out

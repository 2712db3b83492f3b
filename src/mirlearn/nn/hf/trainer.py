"""Hessian-Free training (Martens 2010) of any module that returns logits: ``train_hf``.

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
10. θ ← θ + rate·p, log, checkpoint.

The model is put in eval mode while HF runs (dropout would change the quadratic model
between CG's products) and restored to its mode afterwards.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from tqdm.auto import tqdm

from mirlearn.errors import ConfigError, TrainingError
from mirlearn.io import atomic_write_json
from mirlearn.nn.fastmath import fast_cpu_matmul
from mirlearn.nn.hf.cg import dot64, pcg
from mirlearn.nn.hf.curvature import GaussNewton
from mirlearn.nn.hf.losses import get_loss
from mirlearn.nn.hf.objective import Objective
from mirlearn.nn.hf.params import ParamSpec
from mirlearn.nn.hf.rows import first_nonfinite_row, take_rows
from mirlearn.nn.hf.steps import armijo, backtrack, reduction_ratio, update_damping
from mirlearn.nn.train import save_checkpoint, write_log

__all__ = ["HFConfig", "HFResult", "train_hf", "LOG_COLUMNS", "CHECKPOINT_NAME", "LOG_NAME"]

CHECKPOINT_NAME = "hf_checkpoint.pt"
LOG_NAME = "hf_log.csv"
CONFIG_NAME = "hf_config.json"
LOG_COLUMNS = ("step", "objective", "lambda", "cg_iters", "chosen_iter", "rate", "rho",
               "valid_loss", "valid_error", "seconds")
_CHECKPOINT_FORMAT = 1
# Settings that may change between a run and its resumption: they do not steer the
# trajectory (device and cache size change at most the last bits of the arithmetic).
_RESUMABLE = frozenset({"max_steps", "patience", "device", "curvature_cache_mb"})
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
    monitor : validation metric for early stopping and best parameters: 'error' or 'loss'.
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


@dataclass
class HFResult:
    """Outcome of :func:`train_hf`.

    Attributes
    ----------
    steps : HF steps done in total (including those of a resumed run).
    stop_reason : 'max_steps', 'patience' or 'callback'.
    objective : training objective f at the last parameters.
    initial_objective : f at the starting parameters.
    damping : λ after the last step.
    history : one dict per HF step with the keys of ``LOG_COLUMNS``.
    best_step : step with the best validation metric (None without validation data).
    best_valid_loss, best_valid_error : validation loss and error at ``best_step``.
    seconds : optimisation wall-clock time in seconds (validation, logging and checkpoints
        excluded), summed over resumptions.
    """

    steps: int
    stop_reason: str
    objective: float
    initial_objective: float
    damping: float
    history: list[dict[str, float]]
    best_step: int | None = None
    best_valid_loss: float = math.nan
    best_valid_error: float = math.nan
    seconds: float = 0.0


@dataclass
class _State:
    """Everything a resumed run needs to continue exactly where the killed one was."""

    theta: torch.Tensor
    lam: float
    ch: torch.Tensor
    perm: np.ndarray
    rng: dict[str, Any]
    step: int = 0
    best_theta: torch.Tensor | None = None
    best_metric: float = math.inf
    best_step: int | None = None
    bad_steps: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    elapsed: float = 0.0
    initial_objective: float = math.nan


class _NonFinite(Exception):
    pass


def train_hf(model: torch.nn.Module, X_train: np.ndarray | torch.Tensor, y_train: np.ndarray | torch.Tensor,
             X_valid: np.ndarray | torch.Tensor | None = None, y_valid: np.ndarray | torch.Tensor | None = None,
             config: HFConfig | None = None, *, run_dir: str | Path | None = None, progress: bool = True,
             callback: Callable[[dict[str, float]], bool | None] | None = None) -> HFResult:
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
    run_dir : folder for ``hf_log.csv``, ``hf_config.json`` and ``hf_checkpoint.pt``. If it holds
        a checkpoint of the same configuration and data, training resumes from it and reaches
        the same parameters as an uninterrupted run.
    progress : show a tqdm bar over HF steps.
    callback : called after each step (after the checkpoint) with the step's log row, while the
        model holds the step's parameters; returning True stops training.

    Returns
    -------
    HFResult

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
    model.to(device)
    was_training = model.training
    model.eval()
    run_path = Path(run_dir) if run_dir is not None else None
    ckpt_path = run_path / CHECKPOINT_NAME if run_path else None
    bar = None
    fast_matmul = fast_cpu_matmul(device)  # float32 matmuls on oneDNN when probed accurate
    fast_matmul.__enter__()
    try:
        spec = ParamSpec.from_module(model)
        n_out = _check_data(model, spec, loss.name, X_train, y_train, "train", cfg.n_chunks)
        train = Objective(model, loss, X_train, y_train, n_out=n_out, spec=spec,
                          weight_cost=cfg.weight_cost, chunk_rows=cfg.chunk_rows)
        valid = None
        if X_valid is not None:
            _check_data(model, spec, loss.name, X_valid, y_valid, "valid", 1, n_out=n_out)
            valid = Objective(model, loss, X_valid, y_valid, n_out=n_out, spec=spec, chunk_rows=cfg.chunk_rows)
        fingerprint = _fingerprint(X_train, y_train, spec, n_out)
        if ckpt_path is not None and ckpt_path.exists():
            state = _load_checkpoint(ckpt_path, cfg, fingerprint, spec)
        else:
            state = _fresh_state(spec.from_module_values(model), len(X_train), cfg)
        if run_path is not None:
            atomic_write_json(run_path / CONFIG_NAME, {"config": cfg.to_dict(), "data": fingerprint,
                                                      "versions": _versions()})
        chunks = [np.sort(c) for c in np.array_split(state.perm, cfg.n_chunks)]
        spec.load_into(model, state.theta)

        bar = tqdm(total=cfg.max_steps, initial=min(state.step, cfg.max_steps), disable=not progress,
                   desc="HF", unit="step", dynamic_ncols=True)
        stop_reason = "max_steps"
        if cfg.patience is not None and valid is not None and state.bad_steps >= cfg.patience:
            stop_reason = "patience"
        while stop_reason == "max_steps" and state.step < cfg.max_steps:
            start = time.perf_counter()
            try:
                record = _hf_step(state, train, chunks[state.step % cfg.n_chunks], cfg, model, spec)
            except _NonFinite as exc:
                raise TrainingError(_nonfinite_message(exc, state.step + 1, X_train, ckpt_path, state)) from None
            state.elapsed += time.perf_counter() - start
            record["seconds"] = state.elapsed
            if valid is not None:
                v_loss, v_err = valid.loss_and_error(state.theta)
                record["valid_loss"], record["valid_error"] = v_loss, v_err
                metric = v_err if cfg.monitor == "error" else v_loss
                if metric < state.best_metric:
                    state.best_metric, state.best_step, state.bad_steps = metric, record["step"], 0
                    state.best_theta = state.theta.clone()
                else:
                    state.bad_steps += 1
            state.history.append(record)
            state.step += 1
            if ckpt_path is not None:
                _save_checkpoint(ckpt_path, state, cfg, fingerprint)
                write_log(run_path / LOG_NAME, state.history, LOG_COLUMNS)
            spec.load_into(model, state.theta)
            bar.update(1)
            postfix = {"f": f"{record['objective']:.4g}", "lam": f"{record['lambda']:.3g}", "cg": record["cg_iters"]}
            if valid is not None:
                postfix["err"] = f"{record['valid_error']:.3f}"
            bar.set_postfix(postfix)
            if cfg.patience is not None and valid is not None and state.bad_steps >= cfg.patience:
                stop_reason = "patience"
            elif callback is not None and callback(dict(record)):
                stop_reason = "callback"
        final_objective = state.history[-1]["objective"] if state.history else train.value(state.theta)
        if math.isnan(state.initial_objective):
            state.initial_objective = final_objective
        result = HFResult(steps=state.step, stop_reason=stop_reason, objective=final_objective,
                          initial_objective=state.initial_objective, damping=state.lam,
                          history=[dict(r) for r in state.history], best_step=state.best_step,
                          seconds=state.elapsed)
        if state.best_step is not None:
            best = state.history[state.best_step - 1]
            result.best_valid_loss, result.best_valid_error = best["valid_loss"], best["valid_error"]
            if cfg.restore_best:
                spec.load_into(model, state.best_theta)
        return result
    finally:
        if bar is not None:
            bar.close()
        fast_matmul.__exit__(None, None, None)
        model.train(was_training)


def _hf_step(state: _State, train: Objective, chunk: np.ndarray, cfg: HFConfig,
             model: torch.nn.Module, spec: ParamSpec) -> dict[str, float]:
    """One HF step (spec §1 steps 1-10); updates ``state`` and returns the log row."""
    theta, kappa = state.theta, cfg.weight_cost
    # 1. Full-set pass: f, g and the Fisher diagonal together.
    f0, g, d = train.value_and_grad(theta, fisher=cfg.precondition)
    if not math.isfinite(f0):
        raise _NonFinite(f"objective is {f0}")
    if not bool(torch.isfinite(g).all()):
        raise _NonFinite("gradient has non-finite entries")
    if state.step == 0:
        state.initial_objective = f0
    # 2. Curvature on this step's chunk; θ is fixed until CG is done.
    op = GaussNewton(model, theta, list(train.chunks(chunk)), train.loss, spec=spec,
                     cache_bytes=cfg.curvature_cache_mb * 2**20)
    shift = state.lam + kappa
    # 3. M = (d + λ + κ)^¾; the floor only matters when λ = κ = 0 and a parameter has d = 0.
    precond = None if d is None else (d + shift).pow(0.75).clamp_min(torch.finfo(d.dtype).tiny)
    # 4. PCG from the decayed previous solution.
    cg = pcg(lambda v: op.matvec(v, shift), g, cfg.cg_decay * state.ch, precond=precond,
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
    state.lam = update_damping(state.lam, rho)
    state.ch = cg.x
    if rate > 0:
        state.theta = theta + rate * p
    return {"step": state.step + 1, "objective": f_new, "lambda": state.lam, "cg_iters": cg.iters,
            "chosen_iter": chosen_iter, "rate": rate, "rho": rho, "valid_loss": math.nan,
            "valid_error": math.nan, "seconds": math.nan}


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


def _fingerprint(X: Any, y: Any, spec: ParamSpec, n_out: int) -> dict[str, Any]:
    """Cheap identity of the training data and network, to refuse resuming on other ones."""
    y_arr = np.ascontiguousarray(y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y), dtype=np.int64)
    ends = [take_rows(X, sl, dtype=torch.float32, device="cpu").numpy().tobytes()
            for sl in (slice(0, 4), slice(max(len(X) - 4, 0), len(X)))]
    return {"n_rows": int(len(X)), "row_shape": [int(s) for s in X.shape[1:]], "n_out": n_out,
            "n_params": spec.size, "y_crc32": zlib.crc32(y_arr.tobytes()),
            "x_ends_crc32": zlib.crc32(b"".join(ends))}


def _nonfinite_message(exc: _NonFinite, step: int, X: Any, ckpt_path: Path | None, state: _State) -> str:
    bad_row = first_nonfinite_row(X)
    cause = (f"X_train row {bad_row} holds NaN or inf" if bad_row is not None
             else "the inputs are finite, so the network overflowed")
    kept = (f"the checkpoint {ckpt_path} keeps the parameters after step {state.step}"
            if ckpt_path is not None and ckpt_path.exists() else "no checkpoint was written")
    return (f"HF step {step}: the training {exc} ({cause}); the model keeps the last good "
            f"parameters (after step {state.step}) and {kept}")


# -- state, checkpoint and log -----------------------------------------------------------------

def _fresh_state(theta: torch.Tensor, n_rows: int, cfg: HFConfig) -> _State:
    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(n_rows).astype(np.int64)
    return _State(theta=theta.detach().clone(), lam=float(cfg.init_damping), ch=torch.zeros_like(theta),
                  perm=perm, rng=rng.bit_generator.state)


def _save_checkpoint(path: Path, state: _State, cfg: HFConfig, fingerprint: dict[str, Any]) -> None:
    payload = {
        "format": _CHECKPOINT_FORMAT, "config": cfg.to_dict(), "data": fingerprint,
        "theta": state.theta.cpu(), "lam": state.lam, "ch": state.ch.cpu(), "step": state.step,
        "perm": torch.from_numpy(state.perm), "seed": cfg.seed, "rng": state.rng,
        "best_theta": None if state.best_theta is None else state.best_theta.cpu(),
        "best_metric": state.best_metric, "best_step": state.best_step, "bad_steps": state.bad_steps,
        "history": state.history, "elapsed": state.elapsed, "initial_objective": state.initial_objective,
        "versions": _versions(),
    }
    save_checkpoint(path, payload)


def _load_checkpoint(path: Path, cfg: HFConfig, fingerprint: dict[str, Any], spec: ParamSpec) -> _State:
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ConfigError(f"{path}: not a readable HF checkpoint ({exc}); remove it to start afresh") from None
    if ck.get("format") != _CHECKPOINT_FORMAT:
        raise ConfigError(f"{path}: checkpoint format {ck.get('format')!r}, expected {_CHECKPOINT_FORMAT}")
    now, then = cfg.to_dict(), ck["config"]
    diff = [f"{k}: {then.get(k)!r} -> {now[k]!r}" for k in now if k not in _RESUMABLE and then.get(k) != now[k]]
    if diff:
        raise ConfigError(f"{path} was written with other HF settings ({'; '.join(diff)}); "
                          "use another run_dir or remove the checkpoint")
    if ck["data"] != fingerprint:
        raise ConfigError(f"{path} was written for other training data or another network "
                          f"({ck['data']} vs {fingerprint}); use another run_dir or remove the checkpoint")
    to = dict(device=spec.device, dtype=spec.dtype)
    return _State(theta=ck["theta"].to(**to), lam=float(ck["lam"]), ch=ck["ch"].to(**to),
                  perm=ck["perm"].numpy(), rng=ck["rng"], step=int(ck["step"]),
                  best_theta=None if ck["best_theta"] is None else ck["best_theta"].to(**to),
                  best_metric=float(ck["best_metric"]), best_step=ck["best_step"],
                  bad_steps=int(ck["bad_steps"]), history=list(ck["history"]),
                  elapsed=float(ck["elapsed"]), initial_objective=float(ck["initial_objective"]))


def _versions() -> dict[str, str]:
    import mirlearn

    return {"mirlearn": str(mirlearn.__version__), "torch": str(torch.__version__), "numpy": str(np.__version__)}

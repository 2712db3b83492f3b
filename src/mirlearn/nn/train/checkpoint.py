"""``checkpoint.pt`` of every optimiser: saving, loading, and refusing to resume another run.

One format for SGD and Hessian-Free (see :func:`mirlearn.nn.train.loop.train_loop`): the
current weights, the runner's state (optimiser, random generators, HF damping, ...), the
loop's progress (epoch, best weights, patience counter, history), the settings, the model's
config and a fingerprint of the data (:func:`data_fingerprint`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import torch

from mirlearn.errors import ConfigError
from mirlearn.io import atomic_path

__all__ = ["CHECKPOINT_NAME", "CHECKPOINT_FORMAT", "check_resumable", "data_fingerprint", "load_checkpoint",
           "save_checkpoint"]

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = 1


def data_fingerprint(*arrays: np.ndarray | torch.Tensor | None) -> list[dict[str, Any] | None]:
    """Cheap identity of arrays, stored in a checkpoint so that resuming on other data fails.

    Shape, dtype, and a SHA-1 of up to 64 rows spread over the array (and of all of a 1-D
    array, i.e. the labels); reading a few rows of a memmap costs milliseconds. Torch tensors
    are read the same way (their rows copied to the CPU); ``None`` (an absent validation set)
    stays ``None``.
    """
    out: list[dict[str, Any] | None] = []
    for a in arrays:
        if a is None:
            out.append(None)
            continue
        if a.ndim == 1:
            rows = None
        else:
            rows = np.unique(np.linspace(0, len(a) - 1, num=min(64, len(a))).astype(np.int64))
        if isinstance(a, torch.Tensor):
            part = a if rows is None else a[torch.from_numpy(rows).to(a.device)]
            sample = np.ascontiguousarray(part.detach().cpu().numpy())
        else:
            sample = np.ascontiguousarray(a if rows is None else a[rows])
        out.append({"shape": list(a.shape), "dtype": str(a.dtype), "sha1": hashlib.sha1(sample.tobytes()).hexdigest()})
    return out


def save_checkpoint(path: str | Path, state: Mapping[str, Any]) -> None:
    """``torch.save`` ``state`` to ``path`` atomically (a kill leaves the previous file whole)."""
    with atomic_path(path) as tmp:
        torch.save(dict(state), tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, tensors on the CPU.

    Only tensors and plain Python containers are loaded (``weights_only=True``): a checkpoint
    cannot run code. An unreadable file is a :class:`ConfigError` naming it.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ConfigError(f"{path}: not a readable checkpoint ({exc}); remove it to start afresh") from None


def check_resumable(ckpt: Mapping[str, Any], *, runner: str, config: Mapping[str, Any], resume_free: Iterable[str],
                    model_config: Any, fingerprint: Any, path: Path) -> None:
    """Refuse to continue a run under other settings: the result would match neither run.

    Raises
    ------
    ConfigError
        One line naming everything that differs (optimiser, settings outside
        ``resume_free``, model, data).
    """
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError(f"{path}: unknown checkpoint format {ckpt.get('format')!r}, expected {CHECKPOINT_FORMAT}")
    problems = []
    if ckpt.get("runner") != runner:
        problems.append(f"optimiser {ckpt.get('runner')!r} in the checkpoint, {runner!r} now")
    else:
        free = set(resume_free)
        saved = ckpt.get("config") or {}
        for k in sorted(set(saved) | set(config)):
            if k not in free and saved.get(k) != config.get(k):
                problems.append(f"{k}: {saved.get(k)!r} in the checkpoint, {config.get(k)!r} now")
    if ckpt.get("model_config") != model_config:
        problems.append(f"model {ckpt.get('model_config')} in the checkpoint, {model_config} now")
    if fingerprint is not None and ckpt.get("data") != fingerprint:
        problems.append("the training/validation data differ from the checkpoint's")
    if problems:
        raise ConfigError(f"{path} belongs to another run ({'; '.join(problems)}); use a new run_dir or delete it")

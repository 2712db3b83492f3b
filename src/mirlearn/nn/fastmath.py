"""Faster float32 matrix multiplies on CPUs, without giving up float32 accuracy.

On x86 CPUs without AMX, PyTorch's default float32 GEMM (MKL) reaches about half of the
cores' float32 peak, while oneDNN's reaches it (PERF_NOTES: 214 vs 450 GFLOP/s on 2 Zen 5
cores). PyTorch routes float32 matmuls to oneDNN when
``torch.backends.mkldnn.matmul.fp32_precision = "bf16"``. The name says what it allows on a CPU
with AMX: to really compute in bfloat16 (8 bits of mantissa), which would change the paper's
results. So the switch is only turned on after a probe shows that, on this machine, a matmul
with it on stays float32-accurate; elsewhere it is left off.

The probe multiplies a random 256 × 513 by 513 × 500 (the paper's first layer) with the switch
on and compares with float64: bfloat16 arithmetic gives a relative error of ~1e-3, float32
~1e-6; the threshold is 1e-5.

Set ``MIRLEARN_ONEDNN=0`` to keep PyTorch's default path (e.g. to compare).
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import Iterator

import torch

#: Largest relative error (max |err| / max |exact|) accepted from the probe matmul.
PROBE_TOLERANCE = 1e-5
_ENV = "MIRLEARN_ONEDNN"


def _has_amx() -> bool:
    """Whether the CPU advertises AMX tiles (where oneDNN would really use bfloat16)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in text for flag in ("amx_bf16", "amx_tile"))


def _precision_attr() -> object | None:
    mkldnn = getattr(torch.backends, "mkldnn", None)
    matmul = getattr(mkldnn, "matmul", None)
    if mkldnn is None or matmul is None or not hasattr(matmul, "fp32_precision"):
        return None
    if not mkldnn.is_available():
        return None
    return matmul


def probe_error() -> float:
    """Relative error of a float32 matmul with the oneDNN switch on, against float64.

    Returns ``inf`` when this PyTorch has no such switch.
    """
    matmul = _precision_attr()
    if matmul is None:
        return float("inf")
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(256, 513, generator=gen)
    w = torch.randn(500, 513, generator=gen)
    exact = a.double() @ w.double().T
    old = matmul.fp32_precision
    try:
        matmul.fp32_precision = "bf16"
        got = torch.nn.functional.linear(a, w).double()
    finally:
        matmul.fp32_precision = old
    return float((got - exact).abs().max() / exact.abs().max())


@functools.lru_cache(maxsize=1)
def onednn_fp32_ok() -> bool:
    """Whether float32 matmuls may be routed to oneDNN here (probed once per process).

    False when ``MIRLEARN_ONEDNN=0``, when PyTorch lacks the switch or oneDNN, on CPUs with
    AMX, or when the probe's error exceeds :data:`PROBE_TOLERANCE`.
    """
    if os.environ.get(_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if _precision_attr() is None or _has_amx():
        return False
    return probe_error() <= PROBE_TOLERANCE


@contextlib.contextmanager
def fast_cpu_matmul(device: torch.device | str = "cpu", enabled: bool = True) -> Iterator[bool]:
    """Route float32 CPU matmuls to oneDNN inside the block when that is safe here.

    Parameters
    ----------
    device : the device the model runs on; nothing changes unless it is the CPU
    enabled : False leaves PyTorch's default path (a config switch for comparisons)

    Yields
    ------
    on : bool
        Whether the oneDNN path is on inside the block. The previous setting is restored on exit.
    """
    on = enabled and torch.device(device).type == "cpu" and onednn_fp32_ok()
    if not on:
        yield False
        return
    matmul = _precision_attr()
    old = matmul.fp32_precision
    matmul.fp32_precision = "bf16"
    try:
        yield True
    finally:
        matmul.fp32_precision = old

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

Accurate is not enough: on some CPUs (the 2-core avx512 Xeon of issue 10) oneDNN is no faster
than MKL for the 500-unit layers and 1.5-2x slower for the 50-unit ones, which are
overhead-bound. So the path is also *timed* once per machine (:func:`onednn_faster`: forward +
backward of the paper's 513-50 and 513-500 layers at batch 256, both paths interleaved,
medians) and the verdict is cached in a file keyed by the CPU model, its flags and the PyTorch
version (``$MIRLEARN_CACHE_DIR`` or ``~/.cache/mirlearn``, ``matmul_path.json``); every later
process on that machine reads the same verdict, so the choice (which can move float32 results
in the last bits) is made once per machine, deterministically, and :func:`matmul_path` names it
for the records (``result.json``, checkpoints).

``MIRLEARN_ONEDNN=0`` keeps PyTorch's default path; ``MIRLEARN_ONEDNN=1`` takes oneDNN wherever
the accuracy probe allows, without timing (e.g. to reproduce a run made on it).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import statistics
import time
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
    if _env_choice() is False:
        return False
    if _precision_attr() is None or _has_amx():
        return False
    return probe_error() <= PROBE_TOLERANCE


def _env_choice() -> bool | None:
    """``MIRLEARN_ONEDNN``: False (0/false/no/off), True (1/true/yes/on) or None (unset: timed)."""
    value = os.environ.get(_ENV, "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    return None


def machine_key() -> str:
    """Identity of this machine's float32 arithmetic: CPU model and flags, PyTorch version."""
    model, flags = "", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].strip()
    except OSError:
        pass
    digest = hashlib.sha1(flags.encode()).hexdigest()[:12]
    return f"{model or 'unknown cpu'} | flags {digest} | torch {torch.__version__}"


def cache_file() -> Path:
    """Where the per-machine verdict of :func:`onednn_faster` is kept."""
    root = os.environ.get("MIRLEARN_CACHE_DIR") or Path.home() / ".cache" / "mirlearn"
    return Path(root) / "matmul_path.json"


def time_paths(repeats: int = 5, steps: int = 10) -> dict[str, float]:
    """Seconds per forward + backward of 513-50 and 513-500 layers at batch 256, per path.

    The two paths alternate within every repeat (so a loaded machine slows both alike) and
    the medians are summed over the two layer sizes.
    """
    matmul = _precision_attr()
    gen = torch.Generator().manual_seed(0)
    cases = []
    for width in (50, 500):
        lin = torch.nn.Linear(513, width)
        cases.append((lin, torch.randn(256, 513, generator=gen)))
    samples: dict[str, list[list[float]]] = {"default": [[] for _ in cases], "onednn": [[] for _ in cases]}
    old = matmul.fp32_precision
    try:
        for r in range(repeats + 1):
            for path in ("default", "onednn"):
                matmul.fp32_precision = "bf16" if path == "onednn" else old
                for i, (lin, x) in enumerate(cases):
                    t0 = time.perf_counter()
                    for _ in range(steps):
                        lin(x).sum().backward()
                    if r:  # the first round warms both paths up
                        samples[path][i].append((time.perf_counter() - t0) / steps)
    finally:
        matmul.fp32_precision = old
    return {path: sum(statistics.median(s) for s in per_case) for path, per_case in samples.items()}


@functools.lru_cache(maxsize=1)
def onednn_faster() -> bool:
    """Whether oneDNN beats PyTorch's default float32 path here (by 5 %), timed once per machine.

    The verdict is read from :func:`cache_file` when it holds one for :func:`machine_key`;
    otherwise it is measured with :func:`time_paths` and stored there (with the timings).
    """
    key = machine_key()
    path = cache_file()
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        cached = {}
    entry = cached.get(key) if isinstance(cached, dict) else None
    if isinstance(entry, dict) and isinstance(entry.get("onednn_faster"), bool):
        return entry["onednn_faster"]
    times = time_paths()
    verdict = times["onednn"] < 0.95 * times["default"]
    entry = {"onednn_faster": verdict, "seconds": times, "threads": torch.get_num_threads(),
             "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**(cached if isinstance(cached, dict) else {}), key: entry}, indent=1))
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache: this process still uses its measurement
    return verdict


def use_onednn() -> bool:
    """The path :func:`fast_cpu_matmul` takes on the CPU: oneDNN iff accurate and (forced or faster)."""
    if not onednn_fp32_ok():
        return False
    return _env_choice() is True or onednn_faster()


def matmul_path(device: torch.device | str = "cpu") -> str:
    """``'onednn'`` or ``'default'``: the float32 matmul path training on ``device`` takes (for records)."""
    return "onednn" if torch.device(device).type == "cpu" and use_onednn() else "default"


@contextlib.contextmanager
def fast_cpu_matmul(device: torch.device | str = "cpu", enabled: bool = True) -> Iterator[bool]:
    """Route float32 CPU matmuls to oneDNN inside the block when that is safe and faster here.

    Parameters
    ----------
    device : the device the model runs on; nothing changes unless it is the CPU
    enabled : False leaves PyTorch's default path (a config switch for comparisons)

    Yields
    ------
    on : bool
        Whether the oneDNN path is on inside the block. The previous setting is restored on exit.
    """
    on = enabled and torch.device(device).type == "cpu" and use_onednn()
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

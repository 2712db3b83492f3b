"""MLP training throughput against a plain PyTorch loop and the machine's float32 matmul peak.

    python -m benchmarks.bench_train [--frames 32768] [--repeats 5] [--threads N] [--out DIR] [--before JSON]
    python -m benchmarks.bench_train --device cuda [--frames N] [--repeats N] [--out DIR]
    python -m benchmarks --only train

Measured in one run, on random standardised frames (513 inputs, 10 classes):

1. the machine's float32 matmul peak: a 2048 × 2048 ``nn.Linear`` forward on 2048 rows, on
   PyTorch's default path and on oneDNN; and which path mirlearn takes here
   (:func:`mirlearn.nn.fastmath.matmul_path`: accurate *and* timed faster, once per machine);
2. one epoch of mirlearn's SGD runner (``SGDEpochs``, inside the matmul context the training
   loop sets up) against one epoch of the loop a user writes (``nn.Sequential`` with
   ``nn.Dropout``, ``torch.optim.SGD``, shuffle, slice a batch, forward, loss, backward, step,
   ``loss.item()``), for 513-500×3-10 with and without dropout 0.25 and 513-50×3-10 with
   dropout 0.25, at batch 256 (our default) and 1024.

The machine is shared (2 cores, several jobs): each configuration warms both loops up once,
then *alternates* them for ``repeats`` epochs each (order swapped every repeat), so load hits
both alike, and reports medians of wall-clock seconds (and, in the note, of process CPU
seconds, which load disturbs less). ``--before`` adds the ratios of an earlier run (e.g. the
code before a change, run with ``PYTHONPATH=<old checkout>/src ... --out <elsewhere>``) to the
notes. GFLOP/s counts 6 FLOPs per weight per frame (forward 2, backward 4).

``--device cuda`` measures the same two loops on that device instead (section ``train_cuda``,
:func:`device_run`): the peak is a large float32 matmul on the device in IEEE float32 beside
TF32; ours still gathers every batch from the frames in host memory (where a memory-mapped
training set lives) and copies it over, while the plain loop holds all frames on the device.
``--device-section`` runs that section on the CPU (``train_cpu``), to check it without a GPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from benchmarks.common import (RESULTS, Section, device_note, median_time, run_and_save, synchronize,
                               timed_section)

CONFIGS = [((500,) * 3, 0.25), ((500,) * 3, 0.0), ((50,) * 3, 0.25)]
BATCHES = (256, 1024)


def flops_per_frame(n_in: int, hidden: tuple[int, ...], n_out: int) -> float:
    """Forward + backward FLOPs per frame of an MLP (6 per weight; biases and activations ignored)."""
    dims = (n_in, *hidden, n_out)
    return 6.0 * sum(a * b for a, b in zip(dims[:-1], dims[1:]))


def matmul_gflops(onednn: bool, n: int = 2048, repeats: int = 3) -> float:
    """GFLOP/s of a large float32 ``nn.Linear`` forward (n × n weights, n rows) on one path."""
    from mirlearn.nn.fastmath import _precision_attr

    lin = nn.Linear(n, n)
    x = torch.randn(n, n)
    matmul = _precision_attr()
    old = None if matmul is None else matmul.fp32_precision
    try:
        if matmul is not None and onednn:
            matmul.fp32_precision = "bf16"
        with torch.no_grad():
            t = median_time(lambda: lin(x), repeats=repeats)
    finally:
        if matmul is not None:
            matmul.fp32_precision = old
    return 2.0 * n ** 3 / t / 1e9


def device_matmul_gflops(device: torch.device | str, precision: str = "ieee", n: int = 4096,
                         repeats: int = 10) -> float:
    """GFLOP/s of a float32 ``nn.Linear`` forward (n × n weights, n rows) on ``device`` with CUDA
    matmuls at ``precision`` (``'ieee'`` float32 or ``'tf32'``; restored afterwards)."""
    matmul = torch.backends.cuda.matmul
    old = matmul.fp32_precision
    lin = nn.Linear(n, n).to(device)
    x = torch.randn(n, n, device=device)

    def forward() -> None:
        lin(x)
        synchronize(device)

    try:
        matmul.fp32_precision = precision
        with torch.no_grad():
            t = median_time(forward, repeats=repeats, warmup=2)
    finally:
        matmul.fp32_precision = old
    return 2.0 * n ** 3 / t / 1e9


def plain_epoch(hidden: tuple[int, ...], X: torch.Tensor, y: torch.Tensor, batch: int,
                dropout: float, device: torch.device | str = "cpu") -> Callable[[], None]:
    """One epoch of the loop a PyTorch user would write (defaults everywhere), as a callable;
    ``X`` and ``y`` are expected on ``device``."""
    layers: list[nn.Module] = []
    d = X.shape[1]
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        d = h
    layers.append(nn.Linear(d, 10))
    model = nn.Sequential(*layers).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def epoch() -> None:
        model.train()
        perm = torch.randperm(len(X), device=X.device)
        for s in range(0, len(X), batch):
            idx = perm[s:s + batch]
            opt.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            loss.item()  # a user logs the loss; mirlearn checks it each batch too
        synchronize(device)

    return epoch


def ours_epoch(hidden: tuple[int, ...], X: np.ndarray, y: np.ndarray, batch: int,
               dropout: float, device: torch.device | str = "cpu") -> Callable[[], None]:
    """One epoch of mirlearn's SGD runner on the package MLP, in the training loop's matmul context
    (on ``device``, as ``train_sgd`` runs it: batches gathered from ``X`` in host memory)."""
    from mirlearn.nn.fastmath import fast_cpu_matmul
    from mirlearn.nn.mlp import MLP
    from mirlearn.nn.train import SGDEpochs, TrainConfig

    model = MLP(X.shape[1], hidden, 10, dropout=dropout, seed=0).to(device)
    runner = SGDEpochs(model, X, y, TrainConfig(batch_size=batch, max_epochs=1, device=str(device)))
    counter = iter(range(1, 1_000_000))

    def epoch() -> None:
        with fast_cpu_matmul(device):
            runner.run_epoch(model, next(counter))
        synchronize(device)

    return epoch


def interleaved(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU seconds of each callable: one warm-up each, then alternating repeats."""
    for fn in fns.values():
        fn()
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    names = list(fns)
    for r in range(repeats):
        for k in (names if r % 2 == 0 else names[::-1]):
            w0, c0 = time.perf_counter(), time.process_time()
            fns[k]()
            wall[k].append(time.perf_counter() - w0)
            cpu[k].append(time.process_time() - c0)
    return {k: {"wall": statistics.median(wall[k]), "cpu": statistics.median(cpu[k])} for k in fns}


def _before_ratios(path: Path | None) -> dict[str, float]:
    if path is None or not path.is_file():
        return {}
    rows = json.loads(path.read_text()).get("rows", [])
    return {r["what"]: r["ours"] / r["reference"] for r in rows if r.get("reference")}


def run(args: argparse.Namespace) -> Section:
    device = torch.device(getattr(args, "device", None) or "cpu")
    if device.type != "cpu" or getattr(args, "device_section", False):
        return device_run(args, device)
    frames = int(getattr(args, "frames", 32768))
    repeats = int(getattr(args, "repeats", 5))
    before = _before_ratios(getattr(args, "before", None))
    threads = getattr(args, "threads", None)
    section = Section("train", "MLP training: our SGD epoch against a plain PyTorch loop",
                      f"python -m benchmarks.bench_train --frames {frames} --repeats {repeats}"
                      + (f" --threads {threads}" if threads else "") + f"  ({torch.get_num_threads()} torch threads)")

    def body(sec: Section) -> None:
        from mirlearn.nn import fastmath

        path = fastmath.matmul_path("cpu") if hasattr(fastmath, "matmul_path") else (
            "onednn" if fastmath.onednn_fp32_ok() else "default")
        default = max(matmul_gflops(False) for _ in range(2))
        onednn = max(matmul_gflops(True) for _ in range(2))
        peak = max(default, onednn)
        sec.add("float32 matmul, 2048² nn.Linear forward, oneDNN path", onednn, "GFLOP/s", default,
                "PyTorch default path (MKL)", note=f"path mirlearn takes here: {path}")
        gen = np.random.default_rng(0)
        Xn = gen.standard_normal((frames, 513)).astype(np.float32)
        yn = gen.integers(0, 10, size=frames).astype(np.int64)
        Xt, yt = torch.from_numpy(Xn), torch.from_numpy(yn)
        worst = None
        for hidden, drop in CONFIGS:
            fpf = flops_per_frame(513, hidden, 10)
            for batch in BATCHES:
                t = interleaved({"ours": ours_epoch(hidden, Xn, yn, batch, drop),
                                 "plain": plain_epoch(hidden, Xt, yt, batch, drop)}, repeats)
                fps_ours, fps_plain = frames / t["ours"]["wall"], frames / t["plain"]["wall"]
                name = f"513-{hidden[0]}×3-10, dropout {drop}, batch {batch}: frames/s"
                note = (f"CPU-time ratio {t['plain']['cpu'] / t['ours']['cpu']:.2f}×; "
                        f"ours {fps_ours * fpf / 1e9:.0f} GFLOP/s = {fps_ours * fpf / 1e9 / peak:.0%} of the "
                        f"{peak:.0f} GFLOP/s peak")
                if name in before:
                    note += f"; before: {before[name]:.2f}× the plain loop"
                row = sec.add(name, fps_ours, "frames/s", fps_plain, "plain PyTorch loop", note=note)
                worst = row if worst is None or row.ratio < worst.ratio else worst
                print(f"{name}: {row.ratio:.2f}x ({note})", flush=True)
        if worst is not None:
            sec.notes.append(f"Target: ours ≥ the plain loop in every configuration; the lowest ratio is "
                             f"{worst.ratio:.2f}× ({worst.what.split(':')[0]}) — "
                             f"{'reached' if worst.ratio >= 1.0 else 'not reached'}.")

    return timed_section(section, body)


def device_run(args: argparse.Namespace, device: torch.device) -> Section:
    """The section on ``device`` (``train_<type>``): its float32 matmul peak, then ours against
    the plain loop in every configuration, both training on the device."""
    from mirlearn.nn.train.loop import require_device

    require_device(str(device))  # one line when CUDA is asked for and absent
    frames = int(getattr(args, "frames", 32768))
    repeats = int(getattr(args, "repeats", 5))
    section = Section(f"train_{device.type}", f"MLP training on {device}: our SGD epoch against a plain PyTorch loop",
                      f"python -m benchmarks.bench_train --device {device} --frames {frames} --repeats {repeats}")

    def body(sec: Section) -> None:
        n = 4096 if device.type == "cuda" else 1024
        ieee = device_matmul_gflops(device, "ieee", n)
        tf32 = device_matmul_gflops(device, "tf32", n)
        sec.add(f"float32 matmul on {device}, {n}² nn.Linear forward, IEEE float32", ieee, "GFLOP/s", tf32,
                "the same in TF32", note="the training loops run IEEE float32 matmuls (torch's default); "
                "the TF32 switch does nothing on a CPU")
        peak = ieee
        gen = np.random.default_rng(0)
        Xn = gen.standard_normal((frames, 513)).astype(np.float32)
        yn = gen.integers(0, 10, size=frames).astype(np.int64)
        Xt, yt = torch.from_numpy(Xn).to(device), torch.from_numpy(yn).to(device)
        worst = None
        for hidden, drop in CONFIGS:
            fpf = flops_per_frame(513, hidden, 10)
            for batch in BATCHES:
                t = interleaved({"ours": ours_epoch(hidden, Xn, yn, batch, drop, device),
                                 "plain": plain_epoch(hidden, Xt, yt, batch, drop, device)}, repeats)
                fps_ours, fps_plain = frames / t["ours"]["wall"], frames / t["plain"]["wall"]
                name = f"513-{hidden[0]}×3-10, dropout {drop}, batch {batch} on {device}: frames/s"
                note = (f"CPU-time ratio {t['plain']['cpu'] / t['ours']['cpu']:.2f}×; ours "
                        f"{fps_ours * fpf / 1e9:.0f} GFLOP/s = {fps_ours * fpf / 1e9 / peak:.1%} of the "
                        f"{peak:.0f} GFLOP/s IEEE float32 peak")
                row = sec.add(name, fps_ours, "frames/s", fps_plain, "plain PyTorch loop, all frames on the device",
                              note=note)
                worst = row if worst is None or row.ratio < worst.ratio else worst
                print(f"{name}: {row.ratio:.2f}x ({note})", flush=True)
        sec.notes.append(device_note(device) + ("; on the CPU this section only checks its own code (the CPU "
                                                "section measures the CPU's peak properly)" if device.type == "cpu"
                                                else ""))
        sec.notes.append(f"{frames} random frames per epoch; ours gathers each batch from the frames in host memory "
                         "(as train_sgd does with a memory-mapped training set) and copies it to the device; the "
                         "plain loop indexes frames already on the device. Medians of "
                         f"{repeats} alternating epochs per loop after one warm-up epoch each; each epoch ends "
                         "with the device synchronised.")
        if worst is not None:
            sec.notes.append(f"Lowest ratio to the plain loop: {worst.ratio:.2f}× ({worst.what.split(':')[0]}).")

    return timed_section(section, body)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=32768, help="frames per epoch")
    p.add_argument("--repeats", type=int, default=5, help="alternating epochs per loop and configuration")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--before", type=Path, default=None, help="train.json of an earlier run, for the notes")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: PyTorch's); 1 makes CPU times robust to a loaded machine")
    p.add_argument("--device", default="cpu", help="where both loops train: cpu (default: the CPU section) or "
                   "cuda[:N] (the section train_cuda)")
    p.add_argument("--device-section", action="store_true",
                   help="the device section even on the CPU (train_cpu): a check of it without a GPU")
    args = p.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    run_and_save(run, args, args.out)


if __name__ == "__main__":
    main()

"""CNN training throughput on memory-mapped patches: ours against a plain PyTorch loop and the peak.

    python -m benchmarks.bench_cnn [--quick] [--repeats 3] [--out DIR]
    python -m benchmarks --only cnn

Measured in one run, on a synthetic frame matrix (``--tracks`` tracks × ``--frames`` frames ×
80 bands, float32, written to a temporary ``.npy`` and read back as a read-only memmap, like
the frame cache), for ``schindler-deep`` (the issue's "deep CNN"), ``schindler-shallow`` and
``mirex2015`` at their published input sizes (80 × 80, 80 × 80, 40 × 80; 10 classes):

1. the machine's float32 peak: :func:`benchmarks.bench_train.matmul_gflops` (a 2048² ``nn.Linear``
   forward, PyTorch's default path and oneDNN, and the default path on 1 thread: the highest),
   and a conv peak beside it for reference (a 3 × 3, 64 → 64 conv forward on 32 × 64 × 64
   maps, oneDNN); the notes also relate the best deep row to the train section's saved peak;
2. training patches/s of *our* path — :class:`mirlearn.nn.train.patches.PatchEpochs.run_epoch`
   (random patches gathered from the memmap, band standardisation, Adam, batch 32) inside the
   training loop's matmul context — against the *plain* loop a user writes: a
   ``torch.utils.data.Dataset`` whose ``__getitem__`` slices a random patch of its track out of
   the numpy array and standardises it per band, a ``DataLoader`` (batch 32, shuffle,
   ``num_workers=0``), the same net written plainly (:class:`TextbookCNN`: ZeroPad2d → Conv2d →
   activation → MaxPool2d blocks, NCHW, the same weights), ``torch.optim.Adam``, the
   same number of patches per epoch. Both alternate epoch by epoch (order swapped each repeat)
   after a one-step warm-up each; medians of wall-clock seconds (process CPU seconds in the note);
3. achieved GFLOP/s = patches/s × :func:`train_flops` (3 × the forward FLOPs counted from the
   layer shapes by :func:`forward_flops`) and its share of the peak;
4. options on the deep CNN, each against our default path in the same round-robin:
   channels-last memory format, convolutions without oneDNN (``torch.backends.mkldnn``
   disabled), the dense layers' matmuls through oneDNN (``MIRLEARN_ONEDNN=1``, when accurate
   here), batch 64 and 128, 1 torch thread instead of the default; ``torch.compile`` in a child
   process that must compile within a minute (else "not tried"). Options that win (> 5 %) and
   do not change the arithmetic (all but the batch size) are combined in a last row against
   the plain loop;
5. private memory (peak ``RssAnon``) of one ``train_patches`` epoch (mirex2015, 1 patch per
   track, validation on a tenth of the tracks) on 1 000 and 10 000 memory-mapped tracks, each
   in a fresh child process: it must stay flat;
6. the top operators of our deep epoch (``torch.profiler``), in the notes.

Targets (issue 12): the deep CNN ≥ 40 % of the peak and ≥ 1.5× the plain loop; private memory
flat from 1 000 to 10 000 tracks. ``--quick`` halves the epochs and repeats (a smoke run).
``python -m benchmarks --only cnn [OPTIONS]`` takes the same options.

``--device cuda`` measures items 1-3 on that device instead (section ``cnn_cuda``,
:func:`device_run`): the peaks are a float32 matmul (IEEE and TF32) and the conv above at
torch's precision settings, on the device; both loops train there (ours as ``train_patches``
runs it on CUDA: the net as built, no CPU layout; patches still gathered from the memmap in
host memory, as are the plain loop's). The CPU-only rounds (4-6) are not run there.
``--device-section`` runs that section on the CPU (``cnn_cpu``), to check it without a GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.common import (RESULTS, ROOT, Section, device_note, median_time, run_and_save, synchronize,
                               timed_section)

MODELS = ("schindler-deep", "schindler-shallow", "mirex2015")
N_CLASSES = 10
MIB = 2.0 ** 20

# Patches per timed epoch (tracks × patches per track) per model, default run; --quick halves them.
EPOCH = {"schindler-deep": (128, 2), "schindler-shallow": (128, 2), "mirex2015": (200, 8)}
OPTION_EPOCH = (64, 2)  # the options round (deep CNN only)


# -- FLOPs ---------------------------------------------------------------------------------

def forward_flops(net: nn.Module) -> float:
    """Multiply-add FLOPs (2 per MAC) of one patch's forward pass through a PatchCNN.

    Conv: ``2 · k_h · k_w · C_in · C_out · H_out · W_out`` (H_out, W_out: the conv's output
    before its pool); dense and output layers: ``2 · in · out``. Biases, activations, pools,
    batch norm and dropout are left out (a few % of a conv's cost).
    """
    total = 0.0
    for _, blocks in net.arch.pipelines:
        b, f, c_in = net.n_bands, net.n_frames, 1
        for blk in blocks:
            kb, kf = blk.kernel
            hb, hf = (b, f) if blk.padding == "same" else (b - kb + 1, f - kf + 1)
            total += 2.0 * kb * kf * c_in * blk.filters * hb * hf
            b, f, c_in = hb // blk.pool[0], hf // blk.pool[1], blk.filters
    width = net.flat_width
    if net.dense is not None:
        total += 2.0 * width * net.dense.out_features
        width = net.dense.out_features
    return total + 2.0 * width * net.n_classes


def train_flops(net: nn.Module) -> float:
    """FLOPs of one patch's training step: forward + backward ≈ 3 × forward (the backward
    computes the gradients of the weights and of the inputs, each as costly as the forward;
    the first layer's input gradient is not needed, so this slightly overcounts)."""
    return 3.0 * forward_flops(net)


# -- data ----------------------------------------------------------------------------------

def make_frames(path: Path, n_tracks: int, n_frames: int, n_bands: int, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Write a synthetic frame matrix ``(n_tracks · n_frames, n_bands)`` float32 to ``path`` (.npy).

    Values look like log-mel dB (around -40, spread 15, a slope over bands). Returns the matrix
    re-opened as a read-only memmap, the track offsets ``(n_tracks + 1,)`` and one class per
    track (``track % 10``).
    """
    gen = np.random.default_rng(seed)
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_tracks * n_frames, n_bands))
    slope = np.linspace(0.0, -20.0, n_bands, dtype=np.float32)
    step = max(1, 65536 // n_frames) * n_frames
    for a in range(0, len(X), step):
        rows = min(step, len(X) - a)
        X[a:a + rows] = gen.standard_normal((rows, n_bands), dtype=np.float32) * 15.0 - 40.0 + slope
    X.flush()
    del X
    offsets = np.arange(n_tracks + 1, dtype=np.int64) * n_frames
    y = (np.arange(n_tracks) % N_CLASSES).astype(np.int64)
    return np.load(path, mmap_mode="r"), offsets, y


def _net(arch: str, seed: int = 0) -> nn.Module:
    from mirlearn.nn.cnn import ARCHITECTURES, PatchCNN

    a = ARCHITECTURES[arch]
    return PatchCNN(arch, a.n_bands, a.n_frames, N_CLASSES, seed=seed)


class TextbookCNN(nn.Module):
    """The net as a user writes it from the published layers: per block ``ZeroPad2d`` →
    ``Conv2d`` → [``BatchNorm2d``] → activation → ``MaxPool2d`` in an ``nn.Sequential``, NCHW,
    pipelines concatenated, dropout, dense, output. Built from a :class:`PatchCNN` and holding a
    copy of its weights, so it computes the same function (the plain loop's model)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        acts = {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(net.leaky_slope), "elu": nn.ELU(),
                "selu": nn.SELU(), "sigmoid": nn.Sigmoid()}
        self.pipelines = nn.ModuleList()
        for (_, blocks), seq in zip(net.arch.pipelines, net.pipelines.values()):
            layers: list[nn.Module] = []
            for blk, block in zip(blocks, seq):
                conv = nn.Conv2d(block.conv.in_channels, blk.filters, blk.kernel, bias=block.conv.bias is not None)
                conv.load_state_dict(block.conv.state_dict())
                layers += [nn.ZeroPad2d(block.same_pad), conv]
                if isinstance(block.bn, nn.BatchNorm2d):
                    bn = nn.BatchNorm2d(blk.filters)
                    bn.load_state_dict(block.bn.state_dict())
                    layers.append(bn)
                layers += [acts[net.activation], nn.MaxPool2d(blk.pool)]
            self.pipelines.append(nn.Sequential(*layers))
        self.drop_flat = nn.Dropout(net.dropout if net.arch.dropout_at == "flat" else 0.0)
        self.dense = None
        if net.dense is not None:
            self.dense = nn.Sequential(nn.Linear(net.dense.in_features, net.dense.out_features), acts[net.activation],
                                       nn.Dropout(net.dropout if net.arch.dropout_at == "dense" else 0.0))
            self.dense[0].load_state_dict(net.dense.state_dict())
        self.out = nn.Linear(net.out.in_features, net.out.out_features)
        self.out.load_state_dict(net.out.state_dict())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(1) if x.dim() == 3 else x
        h = self.drop_flat(torch.cat([seq(x).flatten(1) for seq in self.pipelines], dim=1))
        return self.out(self.dense(h) if self.dense is not None else h)


def _bands(arch: str) -> int:
    from mirlearn.nn.cnn import ARCHITECTURES

    return ARCHITECTURES[arch].n_bands


# -- the two loops -------------------------------------------------------------------------

@dataclass
class Options:
    """How our path runs (what the options round varies)."""

    batch: int = 32
    channels_last: bool = True  # our path: train_patches lays a CPU net out with PatchCNN.to_cpu_layout
    conv_onednn: bool = True    # torch.backends.mkldnn.enabled (convolutions through oneDNN)
    dense_onednn: bool | None = None  # None: the training loop's choice (fast_cpu_matmul)
    threads: int | None = None  # None: torch's default


@contextlib.contextmanager
def _context(opts: Options, device: torch.device | str = "cpu") -> Iterator[None]:
    """The training loop's matmul context plus the options' switches, restored on exit."""
    from mirlearn.nn.fastmath import _precision_attr, fast_cpu_matmul

    old_threads, old_mkldnn = torch.get_num_threads(), torch.backends.mkldnn.enabled
    matmul = _precision_attr()
    old_precision = None if matmul is None else matmul.fp32_precision
    if opts.threads is not None:
        torch.set_num_threads(int(opts.threads))
    # Not torch.backends.mkldnn.flags(): it also sets oneDNN's TF32 switch, which warns on CPU builds.
    torch.backends.mkldnn.enabled = opts.conv_onednn
    try:
        with fast_cpu_matmul(device):
            if opts.dense_onednn is not None and matmul is not None:
                matmul.fp32_precision = "bf16" if opts.dense_onednn else old_precision
            yield
    finally:
        if matmul is not None:
            matmul.fp32_precision = old_precision
        torch.backends.mkldnn.enabled = old_mkldnn
        torch.set_num_threads(old_threads)


@dataclass
class Trainer:
    """A training loop under test: ``epoch()`` trains ``patches`` patches, ``warm()`` one step."""

    epoch: Callable[[], None]
    warm: Callable[[], None]
    patches: int
    model: nn.Module


def ours(arch: str, X: np.ndarray, offsets: np.ndarray, y: np.ndarray, std: Any, tracks: int, per_track: int,
         opts: Options | None = None, model: nn.Module | None = None, device: torch.device | str = "cpu") -> Trainer:
    """Our path: :class:`PatchEpochs` (Adam, lr 1e-3) on the first ``tracks`` tracks (on ``device``
    as ``train_patches`` runs it there: off the CPU the net keeps the layout it was built with)."""
    from mirlearn.nn.train.patches import PatchEpochs, PatchTrainConfig

    device = torch.device(device)
    opts = opts or Options()
    net = model if model is not None else _net(arch)
    if device.type != "cpu":
        net = net.to(device)
    elif opts.channels_last and hasattr(net, "to_cpu_layout"):
        net.to_cpu_layout()  # weights and inputs, as train_patches does on the CPU
    elif opts.channels_last:
        net = net.to(memory_format=torch.channels_last)
    P = net.n_frames  # a compiled module forwards attributes to the original
    cfg = PatchTrainConfig(batch_size=opts.batch, patches_per_track=per_track, seed=0, device=str(device))
    runner = PatchEpochs(net, X, offsets[:tracks + 1], y[:tracks], None, cfg, standardizer=std, patch_frames=P)
    warm_cfg = PatchTrainConfig(batch_size=opts.batch, patches_per_track=1, seed=1, device=str(device))
    n_warm = min(opts.batch, tracks)
    warm_runner = PatchEpochs(net, X, offsets[:n_warm + 1], y[:n_warm], None, warm_cfg, standardizer=std,
                              patch_frames=P)
    counter = iter(range(1, 1_000_000))

    def epoch() -> None:
        with _context(opts, device):
            runner.run_epoch(net, next(counter))
        synchronize(device)

    def warm() -> None:
        with _context(opts, device):
            warm_runner.run_epoch(net, 1)
        synchronize(device)

    return Trainer(epoch, warm, tracks * per_track, net)


class RandomPatches(torch.utils.data.Dataset):
    """What a user writes: item ``i`` is a random patch of track ``i // per_track``, bands × frames,
    standardised per band with numpy, and its track's label."""

    def __init__(self, X: np.ndarray, offsets: np.ndarray, y: np.ndarray, patch_frames: int,
                 mean: np.ndarray, std: np.ndarray, per_track: int) -> None:
        self.X, self.offsets, self.y = X, offsets, y
        self.P, self.per_track = patch_frames, per_track
        self.mean, self.std = mean.astype(np.float32), std.astype(np.float32)

    def __len__(self) -> int:
        return len(self.y) * self.per_track

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        t = i // self.per_track
        a, b = int(self.offsets[t]), int(self.offsets[t + 1])
        s = a + np.random.randint(0, b - a - self.P + 1)
        patch = (self.X[s:s + self.P] - self.mean) / self.std  # frames × bands
        return torch.from_numpy(np.ascontiguousarray(patch.T)), int(self.y[t])


def plain(arch: str, X: np.ndarray, offsets: np.ndarray, y: np.ndarray, std: Any, tracks: int,
          per_track: int, batch: int = 32, device: torch.device | str = "cpu") -> Trainer:
    """The plain loop: ``Dataset`` + ``DataLoader`` (shuffle, no workers), the same net written
    plainly (:class:`TextbookCNN`, same initial weights), Adam; on ``device``, each batch copied
    there as a user's loop does."""
    device = torch.device(device)
    base = _net(arch)
    net = TextbookCNN(base).to(device)
    ds = RandomPatches(X, offsets[:tracks + 1], y[:tracks], base.n_frames, std.mean_, std.std_, per_track)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step(xb: torch.Tensor, yb: torch.Tensor) -> None:
        if device.type != "cpu":
            xb, yb = xb.to(device), yb.to(device)
        opt.zero_grad()
        loss = F.cross_entropy(net(xb), yb)
        loss.backward()
        opt.step()
        loss.item()  # a user logs the loss

    def epoch() -> None:
        net.train()
        for xb, yb in loader:
            step(xb, yb)

    def warm() -> None:
        net.train()
        xb, yb = next(iter(loader))
        step(xb, yb)

    return Trainer(epoch, warm, tracks * per_track, net)


def interleaved(trainers: dict[str, Trainer], repeats: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU seconds per epoch of each trainer: one warm-up step each, then
    ``repeats`` epochs each, alternating (order reversed every other round)."""
    for t in trainers.values():
        t.warm()
    wall: dict[str, list[float]] = {k: [] for k in trainers}
    cpu: dict[str, list[float]] = {k: [] for k in trainers}
    names = list(trainers)
    for r in range(repeats):
        for k in (names if r % 2 == 0 else names[::-1]):
            w0, c0 = time.perf_counter(), time.process_time()
            trainers[k].epoch()
            wall[k].append(time.perf_counter() - w0)
            cpu[k].append(time.process_time() - c0)
    return {k: {"wall": statistics.median(wall[k]), "cpu": statistics.median(cpu[k]),
                "patches": trainers[k].patches} for k in trainers}


# -- peaks ---------------------------------------------------------------------------------

def conv_gflops(repeats: int = 3, device: torch.device | str = "cpu") -> float:
    """GFLOP/s of a 3 × 3, 64 → 64 conv forward on (32, 64, 64, 64) maps, torch's default (oneDNN;
    on CUDA cuDNN at torch's precision settings)."""
    conv = nn.Conv2d(64, 64, 3, padding=1, bias=False).to(device)
    x = torch.randn(32, 64, 64, 64).to(device)

    def forward() -> None:
        conv(x)
        synchronize(device)

    with torch.no_grad():
        t = median_time(forward, repeats=repeats)
    return 2.0 * 9 * 64 * 64 * 64 * 64 * 32 / t / 1e9


# -- options that need a child: torch.compile, memory ----------------------------------------

def _child(args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``python -m benchmarks.bench_cnn <args>``; its last stdout line is JSON."""
    cmd = [sys.executable, "-m", "benchmarks.bench_cnn", *args]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"failed (exit {proc.returncode}): {last[:200]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compile_child(data: Path, tracks: int, per_track: int, repeats: int, limit: float) -> dict[str, Any]:
    """In a child: ``torch.compile`` the deep CNN, time its compile (first step); if within
    ``limit`` s, time our epoch with it against the eager net (interleaved)."""
    from mirlearn.nn.patches import BandStandardizer

    from mirlearn.nn import mlp

    # Dynamo cannot trace the dropout mask's int64 → uint8 view (mirlearn.nn.mlp._random_bytes;
    # "setStorage ... out of bounds"): it runs eagerly, a graph break (the dropout stays as is).
    mlp._random_bytes = torch.compiler.disable(mlp._random_bytes)
    X, offsets, y = _open(data)
    std = BandStandardizer().fit(X, offsets)
    arch = "schindler-deep"
    eager = ours(arch, X, offsets, y, std, tracks, per_track)
    net = _net(arch)
    compiled = torch.compile(net)
    t0 = time.perf_counter()
    trainer = ours(arch, X, offsets, y, std, tracks, per_track, model=compiled)
    trainer.warm()
    compile_s = time.perf_counter() - t0
    if compile_s > limit:
        return {"compile_s": compile_s}
    t = interleaved({"compiled": trainer, "eager": eager}, repeats)
    return {"compile_s": compile_s, **t}


def _open(data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    meta = json.loads((data / "meta.json").read_text())
    X = np.load(data / "X.npy", mmap_mode="r")
    return X, np.asarray(meta["offsets"], dtype=np.int64), np.asarray(meta["y"], dtype=np.int64)


def _save_data(data: Path, n_tracks: int, n_frames: int, n_bands: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data.mkdir(parents=True, exist_ok=True)
    X, offsets, y = make_frames(data / "X.npy", n_tracks, n_frames, n_bands)
    (data / "meta.json").write_text(json.dumps({"offsets": offsets.tolist(), "y": y.tolist()}))
    return X, offsets, y


def memory_child(data: Path) -> dict[str, Any]:
    """In a child: one ``train_patches`` epoch of mirex2015 on every track of ``data`` (1 patch
    per track; the last tenth of the tracks validates); peaks of RssAnon / RssFile / VmHWM."""
    from benchmarks.bench_memory import PeakSampler, _reset_peak, _status_kib
    from mirlearn.nn.patches import BandStandardizer
    from mirlearn.nn.train.patches import PatchTrainConfig, train_patches

    torch.set_num_threads(1)
    X, offsets, y = _open(data)
    n = len(y)
    n_va = max(1, n // 10)
    net = _net("mirex2015")
    off_tr, off_va = offsets[:n - n_va + 1], offsets[n - n_va:] - offsets[n - n_va]
    X_va = X[offsets[n - n_va]:]  # a view of the memmap
    cfg = PatchTrainConfig(max_epochs=1, patches_per_track=1, seed=0)
    hwm_reset = _reset_peak()
    floor = _status_kib()
    t0 = time.perf_counter()
    with PeakSampler() as sampler:
        std = BandStandardizer().fit(X, off_tr)
        train_patches(net, X, off_tr, y[:n - n_va], X_va, off_va, y[n - n_va:], cfg, standardizer=std,
                      patch_frames=net.n_frames, progress=False, epoch_lines=False)
    kib = 1024
    return {"n": n, "seconds": time.perf_counter() - t0, "frame_bytes": int(X.nbytes), "hwm_reset": hwm_reset,
            "floor_anon": floor.get("RssAnon", 0) * kib, "peak_anon": sampler.peak.get("RssAnon", 0) * kib,
            "peak_file": sampler.peak.get("RssFile", 0) * kib, "peak_rss": _status_kib().get("VmHWM", 0) * kib}


# -- profile -------------------------------------------------------------------------------

def top_ops(trainer: Trainer, steps_epoch: Callable[[], None], k: int = 6) -> list[tuple[str, float]]:
    """The ``k`` operators with the most self CPU time in ``steps_epoch()``: (name [shapes], share)."""
    from torch.profiler import ProfilerActivity, profile

    trainer.warm()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        steps_epoch()
    rows = prof.key_averages(group_by_input_shape=True)
    total = sum(r.self_cpu_time_total for r in rows) or 1.0
    top = sorted(rows, key=lambda r: r.self_cpu_time_total, reverse=True)[:k]
    out = []
    for r in top:
        shapes = [s for s in (r.input_shapes or []) if s][:3]
        out.append((f"{r.key} {shapes}", r.self_cpu_time_total / total))
    return out


# -- the section ---------------------------------------------------------------------------

def run(args: argparse.Namespace) -> Section:
    device = torch.device(getattr(args, "device", None) or "cpu")
    if device.type != "cpu" or getattr(args, "device_section", False):
        return device_run(args, device)
    quick = bool(getattr(args, "quick", False))
    repeats = int(getattr(args, "repeats", None) or (2 if quick else 3))
    n_tracks = int(getattr(args, "tracks", None) or 200)
    n_frames = int(getattr(args, "frames", None) or 1300)
    mem_tracks = list(getattr(args, "memory_tracks", None) or [1000, 10000])
    mem_frames = int(getattr(args, "memory_frames", None) or 400)
    models = list(getattr(args, "models", None) or MODELS)
    do_options = not getattr(args, "no_options", False)
    scale = 2 if quick else 1
    cmd = "python -m benchmarks.bench_cnn" + (" --quick" if quick else "") + f" --repeats {repeats}"
    section = Section("cnn", "CNN training on memory-mapped patches: ours against a plain PyTorch loop",
                      f"{cmd}  ({torch.get_num_threads()} torch threads)")

    def epoch_of(arch: str) -> tuple[int, int]:
        t, p = EPOCH.get(arch, (64, 2))
        return min(n_tracks, t), max(1, p // scale)

    def body(sec: Section) -> None:
        from benchmarks.bench_train import matmul_gflops
        from mirlearn.nn import fastmath
        from mirlearn.nn.patches import BandStandardizer

        path = fastmath.matmul_path("cpu")
        default = max(matmul_gflops(False) for _ in range(2))
        onednn = max(matmul_gflops(True) for _ in range(2))
        threads = torch.get_num_threads()
        one = None
        if threads > 1:  # on a loaded machine one thread can beat all of them (the options round does)
            torch.set_num_threads(1)
            try:
                one = max(matmul_gflops(False) for _ in range(2))
            finally:
                torch.set_num_threads(threads)
        peak = max(default, onednn, one or 0.0)
        conv_peak = max(conv_gflops() for _ in range(2))
        sec.add("float32 peak: 2048² nn.Linear forward, oneDNN path", onednn, "GFLOP/s", default,
                "PyTorch default path (MKL)", note=f"peak used below: {peak:.0f} GFLOP/s, the highest of this "
                f"row, of its reference and of 1 thread ({one or default:.0f} GFLOP/s); the dense layers' path "
                f"mirlearn takes here: {path}")
        sec.add("conv peak for reference: 3×3 conv 64→64 on 32×64×64×64, forward", conv_peak, "GFLOP/s", peak,
                "float32 peak above")
        print(f"peak {peak:.0f} GFLOP/s (conv {conv_peak:.0f})", flush=True)

        work = Path(tempfile.mkdtemp(prefix="mirlearn-bench-cnn-"))
        try:
            frames: dict[int, tuple[Path, np.ndarray, np.ndarray, np.ndarray, Any]] = {}

            def data_for(bands: int) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray, Any]:
                if bands not in frames:
                    d = work / f"frames-{bands}"
                    X, off, y = _save_data(d, n_tracks, n_frames, bands)
                    frames[bands] = (d, X, off, y, BandStandardizer().fit(X, off))
                return frames[bands]

            deep_row = None
            for arch in models:
                d, X, off, y, std = data_for(_bands(arch))
                tracks, per = epoch_of(arch)
                fl = train_flops(_net(arch))
                t = interleaved({"ours": ours(arch, X, off, y, std, tracks, per),
                                 "plain": plain(arch, X, off, y, std, tracks, per)}, repeats)
                row = _throughput_row(sec, f"{arch}, batch 32: patches/s", t, fl, peak)
                if arch == "schindler-deep":
                    deep_row = row
                print(f"{arch}: {row.ours:.1f} vs {row.reference:.1f} patches/s ({row.note})", flush=True)

            best = None
            if do_options and "schindler-deep" in models:
                best = _options(sec, data_for(80), peak, repeats, quick, work, deep_row, epoch_of("schindler-deep"),
                                getattr(args, "option_tracks", None))

            if deep_row is not None:
                pct = deep_row.ours * train_flops(_net("schindler-deep")) / 1e9 / peak
                sec.notes.append(f"Target: the deep CNN ≥ 40 % of the peak — {pct:.0%}: "
                                 f"{'reached' if pct >= 0.4 else 'not reached'}; ≥ 1.5× the plain loop — "
                                 f"{deep_row.ratio:.2f}×: {'reached' if deep_row.ratio >= 1.5 else 'not reached'} "
                                 "(default options; the options' rows say what moves it).")
                d, X, off, y, std = data_for(80)
                tracks, per = epoch_of("schindler-deep")
                for label, opts in (("default options", Options()), ("winning options", best)):
                    if opts is None:
                        continue
                    tr = ours("schindler-deep", X, off, y, std, min(tracks, 32), 1, opts)
                    top = top_ops(tr, tr.epoch)
                    sec.notes.append(f"Where our deep CNN epoch spends its time ({label}; torch.profiler, self CPU "
                                     "time, one batch of 32, [output grad, input, weight] shapes): "
                                     + "; ".join(f"{name} {share:.0%}" for name, share in top) + ".")

            _memory(sec, work, mem_tracks, mem_frames)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        sec.notes.append(f"Epochs: {'; '.join(f'{a} {epoch_of(a)[0]} tracks × {epoch_of(a)[1]} patches' for a in models)} "
                         f"of {n_tracks} synthetic tracks × {n_frames} frames (80 or 40 bands, a read-only .npy "
                         f"memmap); {repeats} alternating epochs per loop after one warm-up step. GFLOP/s counts "
                         "3 × the forward FLOPs of the layer shapes (forward_flops).")

    label = getattr(args, "label", None)
    if label:
        section.notes.append(label)
    return timed_section(section, body)


def device_run(args: argparse.Namespace, device: torch.device) -> Section:
    """The section on ``device`` (``cnn_<type>``): the device's peaks, then ours against the plain
    loop for each model, both training on the device (items 1-3 of the module docstring)."""
    from mirlearn.nn.train.loop import require_device

    require_device(str(device))  # one line when CUDA is asked for and absent
    quick = bool(getattr(args, "quick", False))
    repeats = int(getattr(args, "repeats", None) or (2 if quick else 3))
    n_tracks = int(getattr(args, "tracks", None) or 200)
    n_frames = int(getattr(args, "frames", None) or 1300)
    models = list(getattr(args, "models", None) or MODELS)
    scale = 2 if quick else 1
    cmd = (f"python -m benchmarks.bench_cnn --device {device}" + (" --quick" if quick else "")
           + f" --repeats {repeats} --tracks {n_tracks} --frames {n_frames} --models {' '.join(models)}")
    section = Section(f"cnn_{device.type}", f"CNN training on memory-mapped patches on {device}: ours against a "
                      "plain PyTorch loop", cmd)

    def epoch_of(arch: str) -> tuple[int, int]:
        t, p = EPOCH.get(arch, (64, 2))
        return min(n_tracks, t), max(1, p // scale)

    def body(sec: Section) -> None:
        from benchmarks.bench_train import device_matmul_gflops
        from mirlearn.nn.patches import BandStandardizer

        n = 4096 if device.type == "cuda" else 1024
        ieee = device_matmul_gflops(device, "ieee", n)
        tf32 = device_matmul_gflops(device, "tf32", n)
        conv = max(conv_gflops(device=device) for _ in range(2))
        peak = max(ieee, tf32, conv)
        sec.add(f"float32 matmul on {device}, {n}² nn.Linear forward, IEEE float32", ieee, "GFLOP/s", tf32,
                "the same in TF32", note=f"peak used below: {peak:.0f} GFLOP/s, the highest of this row, its "
                "reference and the conv row")
        sec.add(f"conv on {device}: 3×3 conv 64→64 on 32×64×64×64, forward, torch's precision settings", conv,
                "GFLOP/s", ieee, "IEEE float32 matmul above")
        print(f"peak {peak:.0f} GFLOP/s (IEEE matmul {ieee:.0f}, TF32 {tf32:.0f}, conv {conv:.0f})", flush=True)
        work = Path(tempfile.mkdtemp(prefix="mirlearn-bench-cnn-"))
        try:
            frames: dict[int, tuple] = {}
            for arch in models:
                bands = _bands(arch)
                if bands not in frames:
                    X, off, y = _save_data(work / f"frames-{bands}", n_tracks, n_frames, bands)
                    frames[bands] = (X, off, y, BandStandardizer().fit(X, off))
                X, off, y, std = frames[bands]
                tracks, per = epoch_of(arch)
                t = interleaved({"ours": ours(arch, X, off, y, std, tracks, per, device=device),
                                 "plain": plain(arch, X, off, y, std, tracks, per, device=device)}, repeats)
                row = _throughput_row(sec, f"{arch}, batch 32 on {device}: patches/s", t, train_flops(_net(arch)),
                                      peak)
                print(f"{arch}: {row.ours:.1f} vs {row.reference:.1f} patches/s ({row.note})", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        sec.notes.append(device_note(device))
        sec.notes.append(f"Epochs: {'; '.join(f'{a} {epoch_of(a)[0]} tracks × {epoch_of(a)[1]} patches' for a in models)} "
                         f"of {n_tracks} synthetic tracks × {n_frames} frames (a read-only .npy memmap in host memory; "
                         f"both loops gather their patches there and copy each batch to the device); {repeats} "
                         "alternating epochs per loop after one warm-up step, each epoch ending with the device "
                         "synchronised. GFLOP/s counts 3 × the forward FLOPs of the layer shapes (forward_flops).")
        sec.notes.append("Not run here (CPU-only rounds of the CPU section): the options (layout, oneDNN, threads, "
                         "batch), torch.compile, the private-memory round and the operator profile.")

    label = getattr(args, "label", None)
    if label:
        section.notes.append(label)
    return timed_section(section, body)


def _train_peak() -> tuple[float, float] | None:
    """The float32 peak (GFLOP/s) and load average of the last saved train section, if any."""
    try:
        saved = json.loads((RESULTS / "train.json").read_text())
        row = saved["rows"][0]
        return max(row["ours"], row["reference"]), float(saved["load_before"][0])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def _throughput_row(sec: Section, what: str, t: dict[str, dict[str, float]], fl: float, peak: float,
                    ref: str = "plain", ref_name: str = "plain PyTorch loop (Dataset + DataLoader)",
                    key: str = "ours", extra: str = ""):
    ps = t[key]["patches"] / t[key]["wall"]
    ps_ref = t[ref]["patches"] / t[ref]["wall"]
    cpu_ratio = (t[ref]["cpu"] / t[ref]["patches"]) / (t[key]["cpu"] / t[key]["patches"])
    note = (f"ours {ps * fl / 1e9:.1f} GFLOP/s = {ps * fl / 1e9 / peak:.1%} of the {peak:.0f} GFLOP/s peak; "
            f"reference {ps_ref * fl / 1e9:.1f} GFLOP/s; CPU-time ratio {cpu_ratio:.2f}×" + extra)
    return sec.add(what, ps, "patches/s", ps_ref, ref_name, note=note)


def _options(sec: Section, data: tuple, peak: float, repeats: int, quick: bool, work: Path, deep_row: Any,
             deep_epoch: tuple[int, int], option_tracks: int | None = None) -> Options | None:
    """The options round on the deep CNN (each against our default in one round-robin); returns
    the winning options combined (None when none won)."""
    from mirlearn.nn import fastmath

    d, X, off, y, std = data
    arch = "schindler-deep"
    tracks = min(option_tracks or OPTION_EPOCH[0] // (2 if quick else 1), len(y))
    per = OPTION_EPOCH[1]
    fl = train_flops(_net(arch))
    default_threads = torch.get_num_threads()
    variants: dict[str, Options] = {
        "default": Options(),
        "PyTorch's default layout (channels-first, no transposed pipeline; not to_cpu_layout)": Options(channels_last=False),
        "convolutions without oneDNN": Options(conv_onednn=False),
        "batch 64": Options(batch=64),
        "batch 128": Options(batch=128),
    }
    if default_threads != 1:
        variants[f"1 torch thread (default {default_threads})"] = Options(threads=1)
    if default_threads < 2 and (os.cpu_count() or 1) >= 2:
        variants["2 torch threads (default 1)"] = Options(threads=2)
    if fastmath.onednn_fp32_ok() and not fastmath.use_onednn():
        variants["dense matmuls through oneDNN (MIRLEARN_ONEDNN=1)"] = Options(dense_onednn=True)
    elif fastmath.use_onednn():
        variants["dense matmuls on PyTorch's default path (MIRLEARN_ONEDNN=0)"] = Options(dense_onednn=False)
    else:
        sec.notes.append("Not tried: dense matmuls through oneDNN — the accuracy probe of "
                         "mirlearn.nn.fastmath refuses it here (AMX, or no such switch in this PyTorch).")
    t = interleaved({k: ours(arch, X, off, y, std, tracks, per, v) for k, v in variants.items()}, repeats)
    winners: list[str] = []
    for k in variants:
        if k == "default":
            continue
        row = _throughput_row(sec, f"{arch} option: {k}: patches/s", t, fl, peak, ref="default",
                              ref_name="ours, default options", key=k)
        if row.ratio > 1.05 and not k.startswith("batch"):
            winners.append(k)
        print(f"option {k}: {row.ratio:.2f}x", flush=True)

    # torch.compile, in a child that must compile within a minute.
    limit = 60.0
    r = _child(["--child-compile", str(d), "--n", str(tracks), "--per-track", str(per), "--repeats", str(repeats),
                "--limit", str(limit)], timeout=limit + 60 + 4 * repeats * tracks * per / 5)
    if "error" in r:
        sec.notes.append(f"Not tried: torch.compile — the child {r['error']}.")
    elif "compiled" not in r:
        sec.notes.append(f"Not tried: torch.compile — compiling took {r['compile_s']:.0f} s (> {limit:.0f} s).")
    else:
        row = _throughput_row(sec, f"{arch} option: torch.compile: patches/s", r, fl, peak, ref="eager",
                              ref_name="ours, eager (same child)", key="compiled",
                              extra=f"; compiled in {r['compile_s']:.0f} s")
        print(f"option torch.compile: {row.ratio:.2f}x (compile {r['compile_s']:.0f} s)", flush=True)
        if row.ratio > 1.05:
            sec.notes.append(f"torch.compile wins ({row.ratio:.2f}×) but is not combined below (its compile "
                             f"takes {r['compile_s']:.0f} s per process).")

    if winners:
        best = Options()
        for k in winners:
            v = variants[k]
            best = Options(batch=32, channels_last=best.channels_last and v.channels_last,
                           conv_onednn=best.conv_onednn and v.conv_onednn,
                           dense_onednn=v.dense_onednn if v.dense_onednn is not None else best.dense_onednn,
                           threads=v.threads if v.threads is not None else best.threads)
        tracks, per = deep_epoch
        tb = interleaved({"ours": ours(arch, X, off, y, std, tracks, per, best),
                          "plain": plain(arch, X, off, y, std, tracks, per)}, repeats)
        row = _throughput_row(sec, f"{arch}, batch 32, winning options ({', '.join(winners)}): patches/s", tb, fl,
                              peak)
        quiet = _train_peak()
        sec.notes.append(f"Winning options combined ({', '.join(winners)}): {row.ratio:.2f}× the plain loop, "
                         f"{row.ours * fl / 1e9 / peak:.0%} of the peak measured in this run"
                         + (f", {row.ours * fl / 1e9 / quiet[0]:.0%} of the {quiet[0]:.0f} GFLOP/s peak of the "
                            f"train section (load {quiet[1]:.2f}; on a loaded machine the peak of this run is lower)"
                            if quiet else "") + ".")
        return best
    sec.notes.append("No option that keeps the arithmetic won by more than 5 % over our default path.")
    return None


def _memory(sec: Section, work: Path, tracks: list[int], frames: int) -> None:
    """Peak private memory of one epoch at each number of tracks (fresh child each)."""
    results = []
    for n in sorted(set(tracks)):
        d = work / f"memory-{n}"
        _save_data(d, n, frames, _bands("mirex2015"))
        r = _child(["--child-memory", str(d)], timeout=1800)
        shutil.rmtree(d, ignore_errors=True)
        if "error" in r:
            sec.notes.append(f"Memory at {n} tracks not measured: the child {r['error']}.")
            return
        results.append(r)
        print(f"memory N={n}: anon {r['peak_anon'] / MIB:.0f} MiB, file {r['peak_file'] / MIB:.0f} MiB, "
              f"frames {r['frame_bytes'] / MIB:.0f} MiB, {r['seconds']:.0f} s", flush=True)
    r0 = results[0]
    for r in results:
        sec.add(f"one train_patches epoch (mirex2015, 1 patch/track), {r['n']} tracks: peak private memory (RssAnon)",
                r["peak_anon"] / MIB, "MiB", r0["peak_anon"] / MIB, f"same at {r0['n']} tracks", better="lower",
                note=f"frame matrix {r['frame_bytes'] / MIB:.0f} MiB (memmap); growth during the epoch "
                     f"{(r['peak_anon'] - r['floor_anon']) / MIB:.0f} MiB; file-backed pages up to "
                     f"{r['peak_file'] / MIB:.0f} MiB; epoch {r['seconds']:.0f} s")
    grow = results[-1]["peak_anon"] / results[0]["peak_anon"]
    sec.notes.append(f"Target: private memory flat from {results[0]['n']} to {results[-1]['n']} tracks — peak RssAnon "
                     f"×{grow:.2f} while the frames grew ×{results[-1]['frame_bytes'] / results[0]['frame_bytes']:.0f}: "
                     f"{'reached' if grow < 1.1 else 'not reached'} (each N in a fresh child process, 1 torch thread; "
                     f"{frames} frames × 40 bands per track).")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="half the epochs and 2 repeats (a smoke run)")
    p.add_argument("--repeats", type=int, default=None, help="alternating epochs per loop (default 3, quick 2)")
    p.add_argument("--tracks", type=int, default=None, help="synthetic tracks (default 200)")
    p.add_argument("--frames", type=int, default=None, help="frames per track (default 1300)")
    p.add_argument("--models", nargs="+", choices=MODELS, default=None)
    p.add_argument("--memory-tracks", type=int, nargs="+", default=None, help="default 1000 10000")
    p.add_argument("--memory-frames", type=int, default=None, help="frames per track, memory rows (default 400)")
    p.add_argument("--no-options", action="store_true", help="skip the options round")
    p.add_argument("--option-tracks", type=int, default=None,
                   help="tracks (× 2 patches) per epoch of the options round (default 64, quick 32)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--label", default=None, help="a note saved with the section (e.g. how loaded the machine was)")
    p.add_argument("--device", default="cpu", help="where both loops train: cpu (default: the CPU section) or "
                   "cuda[:N] (the section cnn_cuda: peaks and throughput only)")
    p.add_argument("--device-section", action="store_true",
                   help="the device section even on the CPU (cnn_cpu): a check of it without a GPU")
    p.add_argument("--child-compile", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-memory", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=64, help=argparse.SUPPRESS)
    p.add_argument("--per-track", type=int, default=2, help=argparse.SUPPRESS)
    p.add_argument("--limit", type=float, default=60.0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_compile is not None:
        print(json.dumps(compile_child(args.child_compile, args.n, args.per_track, args.repeats or 2, args.limit)))
        return
    if args.child_memory is not None:
        print(json.dumps(memory_child(args.child_memory)))
        return
    run_and_save(run, args, args.out)


if __name__ == "__main__":
    main()

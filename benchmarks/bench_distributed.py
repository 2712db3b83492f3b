"""Several ranks on this machine: 2 ranks × 1 thread against 1 process × 2 threads.

For frame extraction, SGD and CNN training and Hessian-Free, the same work is timed in one
process with 2 threads (the reference) and in 2 gloo ranks on 127.0.0.1 with 1 thread each
(started as ``torchrun --nproc-per-node 2`` would start them). For the training runners the
communication of one step is also measured on its own: an all-reduce of as many float32 values
as the net has parameters (what DDP's buckets carry per SGD/CNN step, and what one G·v product
carries in data-parallel HF), in ms and as a share of the 2-rank step.

From these figures and the grid planner's per-net estimates (:func:`mirlearn.experiments.
sigtia2014.plan_grid`, paper profile, GTZAN's size), a *projection* of the grid on 8 and 32
machines: each net × split (and each baseline) is one unit of work, dealt to machines by
longest-first scheduling; the grid's wall time is the most loaded machine's.

``python -m benchmarks.bench_distributed [--quick]`` (≈ 3 min; ``--quick`` ≈ 1 min).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import ROOT, Section, run_and_save, timed_section

NAME = "distributed"
TITLE = "Several ranks (torch.distributed, gloo): 2 ranks × 1 thread against 1 process × 2 threads"
WORKLOADS = ("extract", "sgd", "cnn", "hf")


# -- the work, run in a child process (one process, or one rank) ---------------------------------
def _barrier_time(ranks: Any) -> float:
    ranks.barrier()
    return time.perf_counter()


def _allreduce_ms(ranks: Any, n_values: int, repeats: int = 20) -> float:
    """Median ms of an all-reduce of ``n_values`` float32 (0 for one process)."""
    import torch

    if not ranks.active:
        return 0.0
    t = torch.zeros(n_values, dtype=torch.float32)
    for _ in range(3):
        ranks.all_reduce(t)
    times = []
    for _ in range(repeats):
        ranks.barrier()
        t0 = time.perf_counter()
        ranks.all_reduce(t)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def child_extract(ranks: Any, quick: bool, data: str) -> dict[str, Any]:
    from mirlearn.datasets.folder import load_folder
    from mirlearn.features.cache import extract_frames
    from mirlearn.features.settings import FrameSettings

    tracks = load_folder(data)
    cache = Path(data).parent / f"cache-{ranks.size}"
    t0 = _barrier_time(ranks)
    fs = extract_frames(tracks, FrameSettings(), cache_dir=cache, n_jobs=1 if ranks.active else 2, progress=False)
    t1 = _barrier_time(ranks)
    audio_s = sum(float(x) for x in fs.lengths) * 512 / 22050
    return {"seconds": t1 - t0, "tracks": len(tracks), "audio_s": audio_s, "rows": int(len(fs.X))}


def _mlp_data(n: int, dim: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, dim), dtype=np.float32), rng.integers(0, classes, n).astype(np.int64)


def child_sgd(ranks: Any, quick: bool, data: str) -> dict[str, Any]:
    from mirlearn.nn.mlp import MLP
    from mirlearn.nn.train.sgd import SGDEpochs, TrainConfig

    n = 20_480 if quick else 61_440
    X, y = _mlp_data(n, 513, 10)
    net = MLP(513, (500, 500, 500), 10, dropout=0.25, seed=0)
    runner = SGDEpochs(net, X, y, TrainConfig(batch_size=256, seed=0, frames_per_epoch=n // 4))
    runner.run_epoch(net, 1)  # first steps: allocator, oneDNN kernels, DDP's wrapper and buckets
    seconds, no_sync = _timed_epochs(ranks, runner, net)
    steps = -(-(n // 4) // 256)
    n_params = sum(p.numel() for p in net.parameters())
    return {"seconds": seconds, "frames": n // 4, "steps": steps, "step_ms": 1000 * seconds / steps,
            "step_ms_no_sync": 1000 * no_sync / steps, "allreduce_ms": _allreduce_ms(ranks, n_params),
            "params": n_params}


def _timed_epochs(ranks: Any, runner: Any, net: Any) -> tuple[float, float]:
    """Wall seconds of one epoch as trained, and (several ranks) of one more epoch inside DDP's
    ``no_sync()``: the same work without the gradients' all-reduce (0 for one process)."""
    import contextlib

    t0 = _barrier_time(ranks)
    runner.run_epoch(net, 2)
    seconds = _barrier_time(ranks) - t0
    if not ranks.active:
        return seconds, 0.0
    with runner._ddp.no_sync() if runner._ddp is not None else contextlib.nullcontext():
        t0 = _barrier_time(ranks)
        runner.run_epoch(net, 3)
        no_sync = _barrier_time(ranks) - t0
    return seconds, no_sync


def child_cnn(ranks: Any, quick: bool, data: str) -> dict[str, Any]:
    from mirlearn.nn.cnn import PatchCNN
    from mirlearn.nn.patches import BandStandardizer
    from mirlearn.nn.train.patches import PatchEpochs, PatchTrainConfig

    n_tracks, rows = (64, 200) if quick else (128, 200)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_tracks * rows, 80), dtype=np.float32)
    off = np.arange(0, n_tracks * rows + 1, rows)
    y = (np.arange(n_tracks) % 10).astype(np.int64)
    std = BandStandardizer().fit(X, off)
    net = PatchCNN("schindler-shallow", 80, 80, n_classes=10, seed=0)
    cfg = PatchTrainConfig(batch_size=32, patches_per_track=4, seed=0)
    runner = PatchEpochs(net, X, off, y, None, cfg, standardizer=std, patch_frames=80)
    runner.run_epoch(net, 1)  # warm-up
    seconds, no_sync = _timed_epochs(ranks, runner, net)
    patches = n_tracks * 4
    steps = -(-patches // 32)
    n_params = sum(p.numel() for p in net.parameters())
    return {"seconds": seconds, "patches": patches, "steps": steps, "step_ms": 1000 * seconds / steps,
            "step_ms_no_sync": 1000 * no_sync / steps, "allreduce_ms": _allreduce_ms(ranks, n_params),
            "params": n_params}


def child_hf(ranks: Any, quick: bool, data: str) -> dict[str, Any]:
    import torch

    from mirlearn.nn.hf.params import ParamSpec
    from mirlearn.nn.mlp import MLP
    from mirlearn.nn.train.hf import HFConfig, HFSteps

    n = 16_384 if quick else 40_960
    X, y = _mlp_data(n, 513, 10)
    net = MLP(513, (500, 500, 500), 10, activation="sigmoid", seed=0).eval()
    cfg = HFConfig(max_cg_iters=20, chunk_rows=4096, seed=0)
    spec = ParamSpec.from_module(net)
    runner = HFSteps(net, X, y, None, None, cfg, spec, 10)
    runner.run_epoch(net, 1)  # warm-up step (and a first, long CG)
    t0 = _barrier_time(ranks)
    runner.run_epoch(net, 2)
    t1 = _barrier_time(ranks)
    fields = runner.log_fields()
    products = int(fields["cg_iters"]) + 2  # CG's products, the initial residual and ρ's model
    n_params = spec.size
    ar = _allreduce_ms(ranks, n_params)
    # per step: one G·v all-reduce per product, the gradient and Fisher diagonal (2 more vectors)
    comm_ms = ar * (products + 2)
    del torch
    return {"seconds": t1 - t0, "frames": n, "cg_iters": int(fields["cg_iters"]), "products": products,
            "step_ms": 1000 * (t1 - t0), "allreduce_ms": ar, "comm_ms": comm_ms, "params": n_params}


CHILDREN = {"extract": child_extract, "sgd": child_sgd, "cnn": child_cnn, "hf": child_hf}


def child_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--child", choices=WORKLOADS, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--data", default="")
    p.add_argument("--quick", action="store_true")
    a = p.parse_args(argv)
    import torch

    from mirlearn import distributed

    from mirlearn.nn.fastmath import fast_cpu_matmul

    ranks = distributed.init()
    torch.set_num_threads(1 if ranks.active else 2)
    try:
        with fast_cpu_matmul(torch.device("cpu")):  # as the training loop runs its epochs
            result = CHILDREN[a.child](ranks, a.quick, a.data)
        result.update(world_size=ranks.size, threads=torch.get_num_threads())
        if ranks.is_main:
            Path(a.out).write_text(json.dumps(result))
    finally:
        distributed.finish()


# -- the parent: start the children, compare, project ----------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(workload: str, world_size: int, out: Path, data: str, quick: bool) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    argv = [sys.executable, "-m", "benchmarks.bench_distributed", "--child", workload, "--out", str(out),
            "--data", data] + (["--quick"] if quick else [])
    port = str(_free_port())
    procs = []
    for rank in range(world_size):
        env = dict(base, OMP_NUM_THREADS="1" if world_size > 1 else "2", PYTHONPATH=str(ROOT))
        if world_size > 1:
            env.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                       MASTER_PORT=port)
        procs.append(subprocess.Popen(argv, env=env, cwd=ROOT))
    codes = [p.wait(timeout=1800) for p in procs]
    if any(codes):
        raise RuntimeError(f"{workload} on {world_size} rank(s) failed: exit codes {codes}")
    return json.loads(out.read_text())


def measure(quick: bool) -> dict[str, dict[str, dict[str, Any]]]:
    """``{workload: {"one": result of 1 process × 2 threads, "two": result of 2 ranks × 1 thread}}``."""
    from mirlearn.datasets.synthetic import make_synthetic

    out: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp:
        data = make_synthetic(Path(tmp) / "data", n_classes=4, clips_per_class=10 if quick else 50,
                              seconds=30.0, seed=0)
        for w in WORKLOADS:
            out[w] = {"one": _launch(w, 1, Path(tmp) / f"{w}-1.json", str(data), quick),
                      "two": _launch(w, 2, Path(tmp) / f"{w}-2.json", str(data), quick)}
            print(f"{w}: {json.dumps(out[w])}", flush=True)
    return out


def lpt_makespan(costs: list[float], machines: int) -> float:
    """The most loaded machine's seconds when ``costs`` are dealt longest first to the least
    loaded machine (Graham's LPT: within 4/3 of the best possible)."""
    loads = [0.0] * machines
    for c in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += c
    return max(loads)


def gtzan_plan() -> list[dict[str, Any]]:
    """The planner's jobs for GTZAN at the paper's settings (1 000 clips × 1 292 frames, 4 splits
    of 50/25/25, 6 nets, MFCC and PMSC baselines), with its estimated seconds on 2 cores."""
    from mirlearn.datasets.splits import Split
    from mirlearn.datasets.tracks import Track, TrackTable
    from mirlearn.experiments.sigtia2014 import NETS, Inputs, plan_grid
    from mirlearn.features.frameset import FrameSet

    n_tracks, per = 1000, 1292
    tracks = TrackTable([Track(f"t{i:04d}", Path(f"t{i:04d}.wav"), f"g{i % 10}") for i in range(n_tracks)])
    X = np.zeros((n_tracks * per, 1), dtype=np.float32)  # only the row count matters to the planner
    frames = FrameSet(X, np.arange(0, n_tracks * per + 1, per), tracks)
    ids = tracks.ids
    splits = [Split(f"s{k}", train=ids[:500], valid=ids[500:750], test=ids[750:]) for k in range(4)]
    return plan_grid(Inputs("gtzan", frames, splits), profile="paper", nets=NETS, user=None, ismir=None,
                     baselines=("mfcc", "pmsc"))


def project(results: dict[str, dict[str, dict[str, Any]]], machines: tuple[int, ...] = (1, 8, 32)
            ) -> dict[str, Any]:
    """The grid's projected wall time on each number of machines (2 cores each)."""
    plan = gtzan_plan()
    costs = [job["estimate_s"] for job in plan]
    ex = results["extract"]["one"]
    extract_s = 1000 * 30.0 / (ex["audio_s"] / ex["seconds"])  # GTZAN's 1 000 × 30 s at the measured rate
    rows = {}
    for m in machines:
        rows[m] = {"units": len(costs), "grid_s": lpt_makespan(costs, m) + extract_s / m, "extract_s": extract_s / m}
    return {"units": len(costs), "sum_s": float(sum(costs)), "largest_s": float(max(costs)), "machines": rows,
            "extract_s": extract_s}


def run(args: argparse.Namespace) -> Section:
    quick = bool(getattr(args, "quick", False))
    section = Section(NAME, TITLE, "python -m benchmarks.bench_distributed" + (" --quick" if quick else ""))

    def body(s: Section) -> None:
        r = measure(quick)
        ex = r["extract"]
        s.add("frame extraction (decode + |FFT|), 2 ranks × 1 thread", ex["two"]["audio_s"] / ex["two"]["seconds"],
              "s of audio per s", ex["one"]["audio_s"] / ex["one"]["seconds"], "1 process × 2 threads",
              note=f"{ex['one']['tracks']} clips of 30 s; shards assembled by rank 0 included")
        for w, unit, what in (("sgd", "frames/s", "513-500×3-10 ReLU + dropout, SGD, batch 256"),
                              ("cnn", "patches/s", "shallow CNN (Schindler), 80×80 patches, Adam, batch 32")):
            one, two = r[w]["one"], r[w]["two"]
            count = "frames" if w == "sgd" else "patches"
            s.add(f"{what}, 2 ranks × 1 thread", two[count] / two["seconds"], unit, one[count] / one["seconds"],
                  "1 process × 2 threads")
            comm = two["step_ms"] - two["step_ms_no_sync"]
            s.add(f"{what}: communication per 2-rank step (the step against the same step in DDP's no_sync)",
                  comm, "ms", two["step_ms"], "the 2-rank step", better="lower",
                  note=f"{100 * comm / two['step_ms']:.0f} % of the step; an all-reduce of the "
                       f"{two['params']:,} float32 gradients alone takes {two['allreduce_ms']:.2f} ms")
        one, two = r["hf"]["one"], r["hf"]["two"]
        s.add(f"Hessian-Free step, 513-500×3-10 sigmoid, {two['frames']:,} frames, ≤ 20 CG iterations, 2 ranks × 1 thread",
              two["step_ms"] / 1000, "s", one["step_ms"] / 1000, "1 process × 2 threads", better="lower",
              note=f"CG iterations {two['cg_iters']} (2 ranks) and {one['cg_iters']} (1 process)")
        s.add(f"Hessian-Free: all-reduces of one step ({two['products'] + 2} vectors of {two['params']:,} float32)",
              two["comm_ms"], "ms", two["step_ms"], "the 2-rank step", better="lower",
              note=f"{100 * two['comm_ms'] / two['step_ms']:.1f} % of the step; one all-reduce "
                   f"{two['allreduce_ms']:.2f} ms")
        pr = project(r)
        for m, row in pr["machines"].items():
            s.add(f"PROJECTION: GTZAN grid at the paper's settings on {m} machine{'s' if m > 1 else ''} "
                  f"({pr['units']} units)", row["grid_s"] / 3600, "h", pr["machines"][1]["grid_s"] / 3600,
                  "1 machine", better="lower",
                  note="planner's estimates, longest-first over machines, extraction sharded; not measured")
        s.notes.append(
            f"Projection, not a measurement: the grid planner's estimates for GTZAN at the paper's settings "
            f"({pr['units']} units: 6 nets × 4 splits and 2 baselines × 4 splits) sum to "
            f"{pr['sum_s'] / 3600:.1f} h on one 2-core machine; the largest unit alone is "
            f"{pr['largest_s'] / 3600:.1f} h, which bounds the grid however many machines there are unless that "
            f"net's own training is spread (data-parallel) too. Extraction of 1 000 × 30 s at the measured rate: "
            f"{pr['extract_s']:.0f} s on one machine.")
        raw = ROOT / "benchmarks" / "results" / f"{NAME}-raw.json"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps({"measured": r, "projection": pr}, indent=1))

    return timed_section(section, body)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--child" in argv:
        child_main(argv)
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller sets (≈ 1 min)")
    args = p.parse_args(argv)
    section = run_and_save(run, args)
    print(section.to_markdown())


if __name__ == "__main__":
    main()

"""Hessian-Free benchmark: cost of G·v, and HF against SGD at equal wall-clock. Run by hand.

    python benchmarks/bench_hf.py --out DIR [--budget 90] [--threads 2] [--device cuda]
    python -m benchmarks.bench_hf --section [--share-only] [--before OLD/hf.json] [--out DIR] [--device cuda]

With ``--section``, the benchmarks section only (``results/hf.md``/``.json``): the share of an
HF run (513-50×3-10, paper settings) spent building the Gauss-Newton operators
(:func:`curvature_share`; ``--share-only`` stops there, ``--before hf.json`` adds an earlier
run's share to the notes), then G·v against a gradient and one HF step.

Without it, three measurements, written to DIR as CSV, JSON and PNG:

1. ``gv_cost.csv`` — one Gauss-Newton product against one gradient (forward + backward) on the
   same curvature chunk (12 500 rows = 25 % of 50 000), float32, 513-h-h-h-10 sigmoid nets with
   h = 50 and 500: build time of the cached linearisation, G·v cached and recomputed, gradient
   with and without the Fisher diagonal, and the memory a cached row keeps.
2. ``curves.csv`` + ``hf_vs_sgd.png`` — a 513-50-50-50-C sigmoid net (Glorot init) trained by HF
   (Sigtia's settings: λ0 = 10, 250 CG iterations, curvature on 25 %) and by plain SGD (lr 0.01,
   batch 256) for the same time budget, on synthetic frames (50 000 × 513, 10 classes) and on
   real |FFT| frames of the GTZAN music/speech collection (128 clips, tracks split 50/25/25).
   HF's times include its validation pass per step (the training loop's per-step seconds),
   SGD's exclude evaluation; the training loss is the full objective (BCE summed over outputs,
   mean over frames), the same for both optimisers.
3. ``summary.json`` — the figures at equal wall-clock, and the machine's load while running
   (other processes on a shared machine slow both optimisers alike, not the ratios).

``--device cuda`` runs every network, product and HF run on that device (the data stay in host
memory, as ``train_hf`` takes them; the section is then ``hf_cuda``); every clock read waits for
the device's queued work first (:func:`benchmarks.common.synchronize`).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mirlearn.nn.hf import GaussNewton, Objective, ParamSpec
from mirlearn.nn.train import HFConfig, train_hf
from mirlearn.nn.hf.curvature import saved_bytes_per_row, CACHE_FACTOR
from mirlearn.nn.train.loop import require_device

MUSIC_SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "music_speech"


# -- networks and data -----------------------------------------------------------------------

def sigmoid_mlp(n_in: int, hidden: int, n_out: int, seed: int) -> torch.nn.Module:
    """The paper's sigmoid net (the package MLP: Glorot init, sigmoid hidden units, logits out)."""
    from mirlearn.nn.mlp import MLP

    return MLP(n_in, (hidden,) * 3, n_out, activation="sigmoid", seed=seed)


def synthetic_frames(n: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class-conditional frames with spectral structure, overlapping classes (not separable).

    A 16-dim latent per frame (class mean + noise) drives 513 magnitude-like bins through a
    random non-negative mixing, plus broadband noise; log-compressed and standardised later.
    """
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=0.6, size=(n_classes, 16))
    mix = np.abs(rng.normal(size=(16, 513))) * np.exp(-np.arange(513) / 150.0)
    y = rng.integers(0, n_classes, size=n)
    latent = means[y] + rng.normal(size=(n, 16))
    X = np.log1p(np.abs(latent @ mix + 0.5 * rng.normal(size=(n, 513))))
    return X.astype(np.float32), y.astype(np.int64)


def standardise(parts: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Zero mean, unit variance per dimension, statistics from the training part only."""
    from mirlearn.features.standardize import Standardizer

    std = Standardizer().fit(parts["train"][0])
    return {p: (std.transform(X), y) for p, (X, y) in parts.items()}


def music_speech_frames(root: Path, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """|FFT| frames (the package's frames) of the music/speech clips, in a stratified 50/25/25
    split of the tracks, standardised with statistics of the training part only."""
    from mirlearn.audio import load
    from mirlearn.datasets.folder import load_folder
    from mirlearn.datasets.splits import make_splits
    from mirlearn.features.representations.fft import magnitude_frames

    tracks = load_folder(root)
    split = make_splits(tracks, n_splits=1, seed=seed)[0]
    parts = {}
    for part, ids in (("train", split.train), ("valid", split.valid), ("test", split.test)):
        mats, labels = [], []
        for tid in ids:
            t = tracks[tracks.position(tid)]
            fr = magnitude_frames(load(t.path, sr=22050))
            mats.append(fr)
            labels.append(np.full(len(fr), tracks.classes.index(t.label), dtype=np.int64))
        parts[part] = (np.concatenate(mats), np.concatenate(labels))
    return standardise(parts)


# -- 1. G·v against a gradient ---------------------------------------------------------------

def _median_time(fn, reps: int, device: torch.device | str = "cpu") -> float:
    from benchmarks.common import median_time, synchronize

    def call() -> None:
        fn()
        synchronize(device)

    return median_time(call, repeats=reps, warmup=1)


def _linearize_bytes(op: GaussNewton) -> float:
    """Bytes held by the cached linearisations (torch internals; benchmark-only, best effort)."""
    total, seen = 0, set()
    for b in op.blocks:
        if b.jvp_fn is None:
            continue
        for cell in b.jvp_fn.__closure__ or ():
            gm = cell.cell_contents
            for t in getattr(gm, "_FX_CONST_FOLDED_ATTRS", []) if isinstance(gm, torch.nn.Module) else []:
                s = t.untyped_storage()
                if s.data_ptr() not in seen:
                    seen.add(s.data_ptr())
                    total += s.nbytes()
    return float(total)


def gv_cost(hidden: int, rows: int, chunk_rows: int, reps: int, device: torch.device | str = "cpu"
            ) -> dict[str, float]:
    from benchmarks.common import synchronize

    model = sigmoid_mlp(513, hidden, 10, seed=0).eval().to(device)
    X, y = synthetic_frames(rows, 10, seed=1)
    spec = ParamSpec.from_module(model)
    theta = spec.from_module_values(model)
    obj = Objective(model, "sigmoid", X, y, n_out=10, spec=spec, chunk_rows=chunk_rows)
    blocks = list(obj.chunks(np.arange(rows)))
    t0 = time.perf_counter()
    cached = GaussNewton(model, theta, blocks, "sigmoid", spec=spec)
    v = torch.randn(spec.size).to(device)
    cached.matvec(v)  # linearize folds its constants on the first call: part of the build
    synchronize(device)
    build = time.perf_counter() - t0
    recompute = GaussNewton(model, theta, blocks, "sigmoid", spec=spec, cache_bytes=0.0)
    t_grad = _median_time(lambda: obj.value_and_grad(theta), reps, device)
    t_grad_fisher = _median_time(lambda: obj.value_and_grad(theta, fisher=True), reps, device)
    t_cached = _median_time(lambda: cached.matvec(v), reps, device)
    t_recompute = _median_time(lambda: recompute.matvec(v), reps, device)
    probe = saved_bytes_per_row(model, spec, theta, blocks[0][0])
    return {
        "hidden": hidden, "rows": rows, "block_rows": chunk_rows, "n_params": spec.size,
        "grad_s": t_grad, "grad_fisher_s": t_grad_fisher, "gv_cached_s": t_cached,
        "gv_recompute_s": t_recompute, "build_s": build,
        "gv_over_grad": t_cached / t_grad, "gv_recompute_over_grad": t_recompute / t_grad,
        "fisher_overhead": t_grad_fisher / t_grad - 1.0,
        "saved_kb_per_row": probe / 1024, "cache_estimate_kb_per_row": CACHE_FACTOR * probe / 1024,
        "linearize_kb_per_row": _linearize_bytes(cached) / rows / 1024,
    }


# -- 2. HF against SGD -------------------------------------------------------------------------

def run_hf(model, data, budget: float, device: torch.device | str = "cpu") -> list[dict[str, float]]:
    (X, y), (Xv, yv) = data["train"], data["valid"]
    spec = ParamSpec.from_module(model)
    n_out = int(max(y.max(), yv.max()) + 1)
    f0 = Objective(model, "sigmoid", X, y, n_out=n_out, spec=spec).value(spec.from_module_values(model))
    _, e0 = Objective(model, "sigmoid", Xv, yv, n_out=n_out, spec=spec).loss_and_error(spec.from_module_values(model))
    curve = [{"seconds": 0.0, "train_loss": f0, "valid_acc": 1 - e0, "step": 0, "cg_iters": 0}]

    def stop(rec: dict[str, float]) -> bool:
        # a row's seconds are its step's, validation included (the training loop's log)
        seconds = curve[-1]["seconds"] + rec["seconds"]
        curve.append({"seconds": seconds, "train_loss": rec["objective"],
                      "valid_acc": rec["valid_acc"], "step": rec["epoch"], "cg_iters": rec["cg_iters"]})
        return seconds >= budget

    train_hf(model, X, y, Xv, yv, HFConfig(max_steps=200, device=str(device)), progress=False, callback=stop)
    return curve


def run_sgd(model, data, budget: float, *, lr: float = 0.01, batch: int = 256, n_evals: int = 25,
            seed: int = 0, device: torch.device | str = "cpu") -> list[dict[str, float]]:
    from benchmarks.common import synchronize

    (X, y), (Xv, yv) = data["train"], data["valid"]
    model.to(device)
    spec = ParamSpec.from_module(model)
    n_out = int(max(y.max(), yv.max()) + 1)
    train_obj = Objective(model, "sigmoid", X, y, n_out=n_out, spec=spec)
    valid_obj = Objective(model, "sigmoid", Xv, yv, n_out=n_out, spec=spec)
    Xt, T = torch.from_numpy(X).to(device), F.one_hot(torch.from_numpy(y), n_out).float().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    curve, elapsed, epoch, next_eval = [], 0.0, 0, 0.0

    def evaluate() -> None:
        model.eval()
        theta = spec.from_module_values(model)
        _, err = valid_obj.loss_and_error(theta)
        curve.append({"seconds": elapsed, "train_loss": train_obj.value(theta), "valid_acc": 1 - err,
                      "step": epoch, "cg_iters": 0})
        model.train()

    model.train()
    while elapsed < budget:
        perm = torch.randperm(len(X), generator=gen)
        for start in range(0, len(X), batch):
            if elapsed >= next_eval:
                evaluate()
                next_eval += budget / n_evals
            t0 = time.perf_counter()
            idx = perm[start:start + batch]
            loss = F.binary_cross_entropy_with_logits(model(Xt[idx]), T[idx], reduction="sum") / len(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            synchronize(device)
            elapsed += time.perf_counter() - t0
            if elapsed >= budget:
                break
        epoch += 1
    evaluate()
    return curve


def at_time(curve: list[dict[str, float]], t: float) -> dict[str, float]:
    """The last point of ``curve`` reached by time ``t``."""
    return [p for p in curve if p["seconds"] <= t + 1e-9][-1]


def plot(curves: dict[tuple[str, str], list[dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({d for d, _ in curves})
    fig, axes = plt.subplots(len(datasets), 2, figsize=(11, 4 * len(datasets)), squeeze=False)
    for row, ds in enumerate(datasets):
        for method, style in (("hf", "o-"), ("sgd", "s--")):
            c = curves.get((ds, method))
            if not c:
                continue
            t = [p["seconds"] for p in c]
            axes[row, 0].plot(t, [p["train_loss"] for p in c], style, ms=3, label=method.upper())
            axes[row, 1].plot(t, [100 * p["valid_acc"] for p in c], style, ms=3, label=method.upper())
        axes[row, 0].set(title=f"{ds}: training objective", xlabel="training wall-clock (s)",
                         ylabel="BCE summed over outputs, mean over frames", yscale="log")
        axes[row, 1].set(title=f"{ds}: validation accuracy", xlabel="training wall-clock (s)",
                         ylabel="frame accuracy (%)")
        for ax in axes[row]:
            ax.grid(alpha=0.3)
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def hf_step_seconds(hidden: int, rows: int, steps: int = 3, device: torch.device | str = "cpu"
                    ) -> tuple[float, float]:
    """Median seconds of one HF step (paper settings, CG ≤ 250) and mean CG iterations per step."""
    X, y = synthetic_frames(rows + rows // 5, 10, seed=0)
    data = standardise({"train": (X[:rows], y[:rows]), "valid": (X[rows:], y[rows:])})
    (Xt, yt), (Xv, yv) = data["train"], data["valid"]
    model = sigmoid_mlp(513, hidden, 10, seed=0)
    result = train_hf(model, Xt, yt, Xv, yv, HFConfig(max_steps=steps, device=str(device)), progress=False)
    recs = result.history
    return statistics.median(r["seconds"] for r in recs), statistics.mean(r["cg_iters"] for r in recs)


def curvature_share(hidden: int = 50, rows: int = 50_000, steps: int = 4, device: torch.device | str = "cpu"
                    ) -> dict[str, float]:
    """Share of an HF run (paper settings) spent building the Gauss-Newton operators.

    The operator each step builds is wrapped: its construction time plus, for the
    ``torch.func.linearize`` operator, the constant folding its first product does (the first
    product's time minus the median of the others) count as building. Works on the code before
    the explicit MLP operator too (it patches whichever constructor the trainer calls).
    """
    from benchmarks.common import synchronize

    try:
        import mirlearn.nn.train.hf as trainer
    except ImportError:  # the code before the trainer joined the training loop
        import mirlearn.nn.hf.trainer as trainer

    X, y = synthetic_frames(rows + rows // 5, 10, seed=0)
    data = standardise({"train": (X[:rows], y[:rows]), "valid": (X[rows:], y[rows:])})
    (Xt, yt), (Xv, yv) = data["train"], data["valid"]
    name = "gauss_newton_operator" if hasattr(trainer, "gauss_newton_operator") else "GaussNewton"
    original = getattr(trainer, name)
    builds: list[float] = []
    products: list[list[float]] = []

    def wrapped(*a, **k):
        synchronize(device)
        t0 = time.perf_counter()
        op = original(*a, **k)
        synchronize(device)
        builds.append(time.perf_counter() - t0)
        times: list[float] = []
        products.append(times)
        matvec = op.matvec

        def timed(*va, **vk):
            synchronize(device)
            t1 = time.perf_counter()
            out = matvec(*va, **vk)
            synchronize(device)
            times.append(time.perf_counter() - t1)
            return out

        op.matvec = timed
        return op

    setattr(trainer, name, wrapped)
    try:
        model = sigmoid_mlp(513, hidden, 10, seed=0)
        t0 = time.perf_counter()
        result = train_hf(model, Xt, yt, Xv, yv, HFConfig(max_steps=steps, device=str(device)), progress=False)
        synchronize(device)
        total = time.perf_counter() - t0
    finally:
        setattr(trainer, name, original)
    folding = sum(max(0.0, t[0] - statistics.median(t[1:])) for t in products if len(t) > 1)
    build = sum(builds) + folding
    history = result.history if hasattr(result, "history") else []
    return {"hidden": hidden, "rows": rows, "steps": steps, "total_s": total, "build_s": build,
            "share": build / total, "products": sum(len(t) for t in products),
            "mean_cg_iters": statistics.mean(r["cg_iters"] for r in history) if history else math.nan}


def run(args: argparse.Namespace):
    """The G·v and HF-step figures as a :class:`benchmarks.common.Section` (for ``python -m benchmarks``).

    ``args.share_only``: only the curvature-build share (``args.before``: a ``hf.json`` of an
    earlier run whose shares go into the notes).
    """
    from benchmarks.common import Section, device_note, timed_section

    device = require_device(str(getattr(args, "device", None) or "cpu"))  # one line when CUDA is absent
    rows = int(getattr(args, "rows", 50_000))
    reps = int(getattr(args, "reps", 3))
    share_only = bool(getattr(args, "share_only", False))
    before_path = getattr(args, "before", None)
    before = {}
    if before_path is not None and Path(before_path).is_file():
        before = {r["what"]: r["ours"] for r in json.loads(Path(before_path).read_text()).get("rows", [])}
    name = section_name(device, bool(getattr(args, "device_section", False)))
    if name == "hf":
        section = Section("hf", "Hessian-Free: the share of a run spent building curvature; one G·v against one gradient; one HF step",
                          f"python -m benchmarks --only hf  (or: python -m benchmarks.bench_hf --section [--share-only])")
    else:
        section = Section(name, f"Hessian-Free on {device}: the share of a run spent building curvature; one G·v "
                          "against one gradient; one HF step",
                          f"python -m benchmarks.bench_hf --section --device {device} --rows {rows} --reps {reps}"
                          + (" --share-only" if share_only else ""))
        section.notes.append(device_note(device) + "; the frames stay in host memory, as train_hf takes them")

    def body(sec) -> None:
        for hidden in (50,):
            r = curvature_share(hidden, rows=rows, steps=4, device=device)
            what = f"513-{hidden}×3-10 sigmoid, HF run of 4 steps on {rows} rows: share building curvature"
            note = (f"{r['build_s']:.2f} of {r['total_s']:.1f} s, {r['products']} G·v products, "
                    f"{r['mean_cg_iters']:.0f} CG iterations per step")
            if what in before:
                note += f"; before: {before[what]:.1%}"
            sec.add(what, r["share"], "of the run", better="lower", note=note)
            print(f"{what}: {r['share']:.1%} ({note})", flush=True)
        if share_only:
            _carry_over(sec, getattr(args, "carry_from", None))
            return
        for hidden in (50, 500):
            r = gv_cost(hidden, rows=rows // 4, chunk_rows=8192, reps=reps, device=device)
            sec.add(f"513-{hidden}×3-10 sigmoid, G·v on {rows // 4} rows (cached linearisation)",
                    r["gv_cached_s"], "s", r["grad_s"], "one gradient, same rows", better="lower",
                    note=f"recomputed jvp+vjp: {r['gv_recompute_over_grad']:.2f}×; build {r['build_s']:.2f} s per step")
            step, cg = hf_step_seconds(hidden, rows, device=device)
            sec.add(f"513-{hidden}×3-10 sigmoid, one HF step on {rows} rows (paper settings)", step, "s",
                    r["grad_s"] * 4, f"one full-set gradient ({rows} rows)", better="lower",
                    note=f"{cg:.0f} CG iterations per step on average")
        ratios = [row.ratio for row in sec.rows if "G·v" in row.what]
        sec.notes.append(f"Target one G·v ≤ 1.4 gradients: {', '.join(f'{x:.2f}' for x in ratios)} — "
                         f"{'reached' if all(x <= 1.4 for x in ratios) else 'not reached'}.")

    return timed_section(section, body)


def section_name(device: torch.device, device_section: bool = False) -> str:
    """``hf`` for the CPU section; ``hf_<device type>`` on an accelerator (or with ``--device-section``)."""
    return "hf" if device.type == "cpu" and not device_section else f"hf_{device.type}"


def _carry_over(sec, path: Path | None) -> None:
    """Append the G·v / HF-step rows of an earlier saved section (``--share-only`` does not
    re-measure them), marked with the date they were measured."""
    if path is None or not Path(path).is_file():
        return
    from benchmarks.common import Row

    saved = json.loads(Path(path).read_text())
    when = saved.get("measured", "earlier")
    for r in saved.get("rows", []):
        if "share building curvature" in r["what"]:
            continue
        note = (r.get("note") or "")
        r = {**r, "note": (note + "; " if note else "") + f"measured {when}, before the explicit MLP operator"}
        sec.rows.append(Row(**r))
    sec.notes.extend(n for n in saved.get("notes", []) if n not in sec.notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/bench_hf"), help="output folder (runs/ is git-ignored)")
    ap.add_argument("--budget", type=float, default=90.0, help="training seconds per optimiser and dataset")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (1 on a machine shared with other jobs)")
    ap.add_argument("--rows", type=int, default=50_000, help="synthetic training frames")
    ap.add_argument("--reps", type=int, default=3, help="repeats per timing (median)")
    ap.add_argument("--skip-gv", action="store_true", help="skip the G·v cost measurement")
    ap.add_argument("--data", type=Path, default=MUSIC_SPEECH, help="music_speech folder")
    ap.add_argument("--section", action="store_true",
                    help="only the benchmarks section (results/hf.md and .json, under --out if given)")
    ap.add_argument("--share-only", action="store_true", help="with --section: only the curvature-build share")
    ap.add_argument("--before", type=Path, default=None, help="with --section: hf.json of an earlier run")
    ap.add_argument("--device", default="cpu", help="where the networks run: cpu (default) or cuda[:N] "
                    "(with --section: the section hf_cuda)")
    ap.add_argument("--device-section", action="store_true",
                    help="with --section on the CPU: name it hf_cpu, as the device check does")
    args = ap.parse_args(argv)
    if args.section:
        from benchmarks.common import RESULTS, run_and_save

        torch.set_num_threads(args.threads)
        out = args.out if "--out" in (argv or sys.argv) else RESULTS
        name = section_name(torch.device(args.device), args.device_section)
        args.carry_from = out / f"{name}.json" if args.share_only else None
        if args.carry_from is not None and args.carry_from.is_file():
            # read before run_and_save overwrites it
            keep = args.carry_from.with_name("hf.earlier.json.tmp")
            keep.write_text(args.carry_from.read_text())
            args.carry_from = keep
        try:
            run_and_save(run, args, out)
        finally:
            if args.carry_from is not None and args.carry_from.name.endswith(".tmp"):
                args.carry_from.unlink(missing_ok=True)
        return 0
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    summary: dict[str, object] = {"threads": args.threads, "budget_s": args.budget, "torch": torch.__version__,
                                  "device": str(require_device(args.device))}

    if not args.skip_gv:
        rows = []
        for hidden in (50, 500):
            r = gv_cost(hidden, rows=args.rows // 4, chunk_rows=8192, reps=args.reps, device=args.device)
            print(f"G·v h={hidden}: cached {r['gv_cached_s']*1e3:.0f} ms, recomputed {r['gv_recompute_s']*1e3:.0f} ms, "
                  f"gradient {r['grad_s']*1e3:.0f} ms -> ratio {r['gv_over_grad']:.2f} "
                  f"(recomputed {r['gv_recompute_over_grad']:.2f}); build {r['build_s']:.2f} s; "
                  f"Fisher +{100*r['fisher_overhead']:.0f} %; cache {r['linearize_kb_per_row']:.1f}+"
                  f"{r['saved_kb_per_row']:.1f} KB/row (estimate {r['cache_estimate_kb_per_row']:.1f})", flush=True)
            rows.append(r)
        with open(args.out / "gv_cost.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        summary["gv_cost"] = rows

    datasets: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    X, y = synthetic_frames(args.rows + args.rows // 5, 10, seed=0)
    datasets["synthetic"] = standardise({"train": (X[:args.rows], y[:args.rows]),
                                         "valid": (X[args.rows:], y[args.rows:])})
    if args.data.is_dir():
        t0 = time.perf_counter()
        datasets["music_speech"] = music_speech_frames(args.data, seed=0)
        print(f"music_speech frames: " + ", ".join(f"{p} {len(v[1])}" for p, v in datasets["music_speech"].items())
              + f" ({time.perf_counter() - t0:.1f} s)", flush=True)
    else:
        print(f"{args.data} not found: real-frame comparison skipped", file=sys.stderr)

    curves: dict[tuple[str, str], list[dict[str, float]]] = {}
    results = {}
    for name, data in datasets.items():
        n_out = int(data["train"][1].max() + 1)
        for method, runner in (("hf", run_hf), ("sgd", run_sgd)):
            model = sigmoid_mlp(513, 50, n_out, seed=0)
            curves[(name, method)] = runner(model, data, args.budget, device=args.device)
            last = curves[(name, method)][-1]
            print(f"{name} {method}: {last['seconds']:.0f} s, loss {last['train_loss']:.4f}, "
                  f"valid acc {100*last['valid_acc']:.1f} %", flush=True)
        t_eq = min(curves[(name, "hf")][-1]["seconds"], curves[(name, "sgd")][-1]["seconds"])
        hf, sgd = at_time(curves[(name, "hf")], t_eq), at_time(curves[(name, "sgd")], t_eq)
        hf_steps = curves[(name, "hf")][1:]
        results[name] = {
            "train_frames": len(data["train"][1]), "valid_frames": len(data["valid"][1]),
            "equal_time_s": t_eq, "hf_loss": hf["train_loss"], "hf_valid_acc": hf["valid_acc"],
            "sgd_loss": sgd["train_loss"], "sgd_valid_acc": sgd["valid_acc"],
            "hf_steps": len(hf_steps), "hf_mean_cg_iters": statistics.mean(p["cg_iters"] for p in hf_steps) if hf_steps else 0,
            "sgd_epochs": curves[(name, "sgd")][-1]["step"],
        }
        print(f"{name} at {t_eq:.0f} s: HF loss {hf['train_loss']:.4f} / acc {100*hf['valid_acc']:.1f} %, "
              f"SGD loss {sgd['train_loss']:.4f} / acc {100*sgd['valid_acc']:.1f} %", flush=True)
    summary["hf_vs_sgd"] = results

    with open(args.out / "curves.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["dataset", "method", "seconds", "train_loss", "valid_acc", "step", "cg_iters"])
        for (ds, method), c in curves.items():
            for p in c:
                w.writerow([ds, method, p["seconds"], p["train_loss"], p["valid_acc"], p["step"], p["cg_iters"]])
    plot(curves, args.out / "hf_vs_sgd.png")
    summary["load_average_start_end"] = [load_start[0], os.getloadavg()[0]]
    summary["total_s"] = time.perf_counter() - t_start
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.out} in {summary['total_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

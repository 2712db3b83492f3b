"""What every benchmark shares: timing, the machine's description, and one results format.

Each benchmark module ``benchmarks/bench_<name>.py`` has a ``run(args) -> Section`` function
and a ``main()`` for running it alone. A :class:`Section` is a list of :class:`Row` — one
measured figure beside the reference measured in the same run, and their ratio — that
``python -m benchmarks`` gathers into ``BENCHMARKS.md`` (and ``benchmarks/results/*.json``).

Timings are medians of repeats; the machine's load average is recorded with every section
because other processes on a shared machine slow ours and the reference alike (the ratios
hold, the absolute figures do not).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"


@dataclass
class Row:
    """One measured figure and its reference, measured in the same run.

    ``ratio`` is ours / reference in the row's unit (so > 1 is better for a throughput and
    worse for a time; ``better`` says which).
    """

    what: str  #: what was measured, e.g. "513-500×3-10 SGD + dropout, batch 256"
    ours: float
    unit: str  #: e.g. "frames/s", "s", "GFLOP/s", "MiB"
    reference: float | None = None
    reference_name: str = ""  #: e.g. "librosa.load + librosa.stft"
    better: str = "higher"  #: "higher" or "lower": which direction of ``ours`` is better
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference in (None, 0):
            return None
        return self.ours / self.reference


@dataclass
class Section:
    """The rows of one benchmark, with the command that produced them."""

    name: str  #: short id, e.g. "train"
    title: str
    command: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  #: targets reached or missed, and why
    seconds: float = 0.0
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None

    def add(self, *args, **kwargs) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def to_markdown(self) -> str:
        lines = [f"## {self.title}", "", f"`{self.command}`", ""]
        if self.load_before is not None and self.load_after is None:
            lines += [f"Load average at the start: {self.load_before[0]:.2f} ({os.cpu_count()} CPUs). "
                      "Saved while still running: the rows below are what was measured so far.", ""]
        elif self.load_before is not None:
            lines += [f"Load average before / after: {self.load_before[0]:.2f} / {self.load_after[0]:.2f} "
                      f"({os.cpu_count()} CPUs; other work on the machine slows ours and the reference "
                      f"alike). Section took {self.seconds:.0f} s.", ""]
        lines += ["| what | ours | reference | ratio |", "|---|---|---|---|"]
        for r in self.rows:
            ref = f"{_fmt(r.reference)} {r.unit} ({r.reference_name})" if r.reference is not None else "—"
            ratio = f"{r.ratio:.2f}×" if r.ratio is not None else "—"
            what = r.what + (f" — {r.note}" if r.note else "")
            lines.append(f"| {what} | {_fmt(r.ours)} {r.unit} | {ref} | {ratio} |")
        if self.notes:
            lines.append("")
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def save(self, directory: Path = RESULTS) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}.json"
        data = asdict(self)
        data["machine"] = machine()
        data["measured"] = time.strftime("%Y-%m-%d %H:%M")
        path.write_text(json.dumps(data, indent=1))
        (directory / f"{self.name}.md").write_text(self.to_markdown())
        return path


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    ax = abs(x)
    if ax >= 1e5:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.0f}"
    if ax >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def median_time(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def load_average() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover - not on every platform
        return (float("nan"),) * 3


def machine() -> dict[str, object]:
    """CPU model, cores, memory and library versions, for the header of BENCHMARKS.md."""
    info: dict[str, object] = {"python": platform.python_version(), "platform": platform.platform(),
                               "cpus": os.cpu_count()}
    try:
        text = Path("/proc/cpuinfo").read_text()
        model = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "")
        flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), [])
        info["cpu"] = model
        info["simd"] = " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16") if f in flags)
    except OSError:
        pass
    try:
        mem = Path("/proc/meminfo").read_text().split()
        info["memory_gib"] = round(int(mem[1]) / 2**20, 1)
    except (OSError, IndexError, ValueError):
        pass
    versions = {}
    for mod in ("torch", "numpy", "scipy", "sklearn", "librosa", "lightgbm", "xgboost", "soundfile", "soxr", "pedalboard"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - optional packages
            continue
    info["versions"] = versions
    return info


def synchronize(device: object = "cpu") -> None:
    """Wait for the work queued on ``device`` (CUDA kernels run asynchronously, so a clock read
    without this measures the launch, not the work); nothing to wait for on the CPU."""
    import torch

    d = torch.device(device)
    if d.type == "cuda":
        torch.cuda.synchronize(d)


def device_note(device: object) -> str:
    """One line naming the accelerator of ``device`` and the float32 precision torch runs it at
    (for a section's notes); the CPU's description is :func:`machine`'s."""
    import torch

    d = torch.device(device)
    if d.type != "cuda":
        return f"device {d} (the CPU: see the machine line)"
    p = torch.cuda.get_device_properties(d)
    conv = getattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision", "?")
    return (f"device {d}: {p.name}, {p.total_memory / 2**30:.0f} GiB, compute capability {p.major}.{p.minor}, "
            f"{p.multi_processor_count} SMs; torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN "
            f"{torch.backends.cudnn.version()}; float32 precision: matmuls "
            f"{torch.backends.cuda.matmul.fp32_precision!r}, cuDNN convolutions {conv!r} (torch's settings, "
            "untouched by training: 'tf32' lets convolutions round their inputs to 10 mantissa bits)")


def run_and_save(run: Callable[[object], Section], args: object, out: Path = RESULTS) -> Section:
    """The ``main()`` of every benchmark: run it, print its table, save it under ``out``."""
    section = run(args)
    print(section.to_markdown())
    section.save(Path(out))
    return section


def timed_section(section: Section, body: Callable[[Section], None]) -> Section:
    """Run ``body(section)``, recording the section's wall time and the load around it."""
    section.load_before = load_average()
    t0 = time.perf_counter()
    body(section)
    section.seconds = time.perf_counter() - t0
    section.load_after = load_average()
    return section

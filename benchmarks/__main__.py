"""Run the benchmarks and write BENCHMARKS.md: ``python -m benchmarks [--only NAME ...]``;
``python -m benchmarks --only NAME [OPTIONS]`` passes OPTIONS to that one section (e.g.
``--only cnn --quick``).

Each section is measured against a reference in the same run (see ``benchmarks/common.py``);
its rows are saved in ``benchmarks/results/<name>.json`` and ``.md``. BENCHMARKS.md is then
assembled from every saved section, so sections can be (re)run one at a time.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import json
from pathlib import Path

from benchmarks.common import RESULTS, ROOT, machine

#: Section name → module; the order of BENCHMARKS.md.
SECTIONS = {"frames": "bench_frames", "spectra": "bench_spectra", "augment": "bench_augment", "train": "bench_train",
            "cnn": "bench_cnn", "hf": "bench_hf", "forest": "bench_forest", "index": "bench_index",
            "memory": "bench_memory", "e2e": "bench_e2e", "distributed": "bench_distributed"}

PREAMBLE = """# Benchmarks

Run by hand, never in the tests: `python -m benchmarks` (all) or `python -m benchmarks --only train`.
Every figure stands beside a reference measured in the same run (librosa, a plain PyTorch loop,
the machine's float32 matmul peak, scikit-learn's full-bootstrap forest, ...); the ratio is
ours ÷ reference. The load average is recorded with each section: on a shared machine the
absolute figures move, the ratios much less. Raw rows: `benchmarks/results/*.json`.
"""


def assemble(results: Path = RESULTS, out: Path = ROOT / "BENCHMARKS.md") -> Path:
    """Write BENCHMARKS.md from the saved sections, in :data:`SECTIONS` order."""
    parts = [PREAMBLE]
    info = machine()
    parts.append(f"Machine (when assembled, {_dt.date.today()}): {info.get('cpu', '?')}, {info.get('cpus')} CPUs, "
                 f"{info.get('memory_gib', '?')} GiB, SIMD {info.get('simd', '?')}; "
                 + ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items()) + "\n")
    extra = out.with_name("BENCHMARKS.notes.md")
    if extra.is_file():
        parts.append(extra.read_text())
    for name in SECTIONS:
        md = results / f"{name}.md"
        if md.is_file():
            saved = json.loads((results / f"{name}.json").read_text())
            when = saved.get("measured", "")
            parts.append(md.read_text() + (f"\n_Measured {when}._\n" if when else ""))
        else:
            parts.append(f"## {name}\n\nNot measured yet: `python -m benchmarks --only {name}`.\n")
    out.write_text("\n".join(parts))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Run mirlearn's benchmarks and write BENCHMARKS.md")
    p.add_argument("--only", nargs="+", choices=list(SECTIONS), help="sections to run (default: all)")
    p.add_argument("--assemble-only", action="store_true", help="only rebuild BENCHMARKS.md from saved results")
    args, rest = p.parse_known_args(argv)
    if rest and not (args.only and len(args.only) == 1):
        p.error(f"options {' '.join(rest)} belong to one section: name it alone with --only "
                f"(e.g. --only cnn --quick; each section's options: python -m benchmarks.bench_NAME --help)")
    if rest and not args.assemble_only:
        # that section's own command line (it saves its results), e.g. --only cnn --quick
        importlib.import_module(f"benchmarks.{SECTIONS[args.only[0]]}").main(rest)
    elif not args.assemble_only:
        for name in args.only or list(SECTIONS):
            module = importlib.import_module(f"benchmarks.{SECTIONS[name]}")
            sub = argparse.ArgumentParser(add_help=False)
            sub_args, _ = sub.parse_known_args(rest)
            section = module.run(sub_args)
            print(section.to_markdown(), flush=True)
            section.save(RESULTS)
    print(f"wrote {assemble()}")


if __name__ == "__main__":
    main()

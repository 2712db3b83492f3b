"""``benchmarks/device_check.sh`` (the GPU check) and the benchmarks' ``--device`` sections.

The script itself runs on a GPU machine; here its syntax, what it runs, that it only reads the
GPU's state, and (``-m slow``) a whole run in its CPU mode are checked.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "device_check.sh"
if str(ROOT) not in sys.path:  # the benchmarks package lives beside src/, not in it
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_cnn, bench_hf, bench_train  # noqa: E402

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")


@needs_bash
def test_the_script_parses():
    proc = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_script_runs_the_cuda_tests_and_the_three_benchmarks_on_the_device():
    text = SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert '${OUT:-benchmarks/results/device}' in text
    for test_file in ("tests/nn/test_cuda.py", "tests/learners/test_cuda_learners.py"):
        assert test_file in text and (ROOT / test_file).is_file()
    listed = re.search(r"TEST_FILES=\((.*?)\)", text, re.S).group(1).split()
    assert listed and all((ROOT / f).is_file() for f in listed)
    assert "-k cuda" in text and "--junitxml" in text
    for module in ("benchmarks.bench_train", "benchmarks.bench_hf --section", "benchmarks.bench_cnn"):
        assert f'"$PY" -m {module} "${{DEV_FLAGS[@]}}"' in text, module
    assert "MIRLEARN_CUDA_TESTS=cpu" in text and "--device-section" in text
    # every step under timeout, and the whole run on a budget well under 8 minutes
    assert 'timeout -k 10 "$limit"' in text
    budget = int(re.search(r'BUDGET_S="\$\{BUDGET_S:-(\d+)\}"', text).group(1))
    caps = [int(c) for c in re.findall(r'^\s*step "[^"]+" (\d+) ', text, re.M)]
    assert len(caps) == 4 and sum(caps) <= budget <= 450


def test_the_script_only_reads_the_gpu_state():
    """nvidia-smi queries only: no reset, persistence, clocks, power, compute or MIG mode changes."""
    calls = [ln for ln in SCRIPT.read_text().splitlines() if "nvidia-smi" in ln and not ln.lstrip().startswith("#")]
    assert calls
    forbidden = re.compile(r"(^|\s)(-r|--gpu-reset|-pm|--persistence-mode|-ac|-lgc|-rgc|-lmc|-rmc|-pl|-c|-mig|"
                           r"--applications-clocks|--lock-gpu-clocks|--power-limit|--compute-mode|-e|--ecc-config)(\s|=|$)")
    for line in calls:
        assert not forbidden.search(line), line


@pytest.mark.parametrize("module", [bench_train, bench_hf, bench_cnn])
def test_each_benchmark_takes_a_device(module, capsys):
    with pytest.raises(SystemExit) as e:
        module.main(["--help"])
    assert e.value.code == 0
    help_text = capsys.readouterr().out
    assert "--device" in help_text and "--device-section" in help_text


def test_device_sections_are_named_after_the_device_and_the_cpu_ones_are_unchanged():
    assert bench_hf.section_name(torch.device("cpu")) == "hf"
    assert bench_hf.section_name(torch.device("cpu"), device_section=True) == "hf_cpu"
    assert bench_hf.section_name(torch.device("cuda", 0)) == "hf_cuda"


@pytest.mark.parametrize("module", [bench_train, bench_cnn])
def test_cuda_asked_for_without_cuda_is_one_line(module, monkeypatch):
    from mirlearn.errors import ConfigError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="CUDA is not available"):
        module.run(argparse.Namespace(device="cuda"))


def test_the_train_device_section_runs_on_the_cpu(monkeypatch, tmp_path):
    monkeypatch.setattr(bench_train, "device_matmul_gflops", lambda device, precision="ieee", n=4096: 100.0)
    monkeypatch.setattr(bench_train, "CONFIGS", [((8,) * 3, 0.25)])
    monkeypatch.setattr(bench_train, "BATCHES", (64,))
    sec = bench_train.run(argparse.Namespace(device="cpu", device_section=True, frames=128, repeats=1))
    assert sec.name == "train_cpu" and len(sec.rows) == 2
    assert sec.rows[1].ours > 0 and sec.rows[1].reference > 0 and "on cpu" in sec.rows[1].what
    sec.save(tmp_path)
    assert json.loads((tmp_path / "train_cpu.json").read_text())["rows"][0]["ours"] == 100.0


def test_the_cnn_device_section_runs_on_the_cpu(monkeypatch):
    import benchmarks.bench_train as bt

    monkeypatch.setattr(bt, "device_matmul_gflops", lambda device, precision="ieee", n=4096: 100.0)
    monkeypatch.setattr(bench_cnn, "conv_gflops", lambda repeats=3, device="cpu": 50.0)
    sec = bench_cnn.run(argparse.Namespace(device="cpu", device_section=True, quick=True, repeats=1, tracks=4,
                                           frames=90, models=["mirex2015"]))
    assert sec.name == "cnn_cpu" and [r.unit for r in sec.rows] == ["GFLOP/s", "GFLOP/s", "patches/s"]
    assert sec.rows[2].ours > 0 and sec.rows[2].reference > 0
    assert any("Not run here" in n for n in sec.notes)


@needs_bash
@pytest.mark.slow
def test_the_script_runs_end_to_end_in_its_cpu_mode(tmp_path):
    """The whole check on the CPU (DEVICE=cpu QUICK=1): the CUDA tests' code, the three device
    sections, summary.md (about a minute on 2 cores)."""
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "DEVICE": "cpu", "QUICK": "1", "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = (out / "summary.md").read_text()
    assert summary.count("| passed |") == 4, summary
    for name in ("train_cpu", "hf_cpu", "cnn_cpu"):
        assert (out / "bench" / f"{name}.json").is_file()
    assert (out / "pytest.xml").is_file() and (out / "env.txt").is_file()

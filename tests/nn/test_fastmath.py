"""The oneDNN float32 switch: on only where it stays float32-accurate, and always restored."""

from __future__ import annotations

import torch

from mirlearn.nn import fastmath
from mirlearn.nn.fastmath import fast_cpu_matmul, onednn_fp32_ok, probe_error


def _precision() -> str:
    return torch.backends.mkldnn.matmul.fp32_precision


def test_switch_is_restored_and_cuda_untouched():
    before = _precision()
    with fast_cpu_matmul("cpu") as on:
        assert on == fastmath.use_onednn()
        if on:
            assert _precision() == "bf16"
    assert _precision() == before
    with fast_cpu_matmul("cuda") as on:
        assert on is False and _precision() == before
    with fast_cpu_matmul("cpu", enabled=False) as on:
        assert on is False and _precision() == before


def test_restored_after_an_error():
    before = _precision()
    try:
        with fast_cpu_matmul("cpu"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert _precision() == before


def test_float32_accuracy_when_on():
    # Whatever the machine decides, what runs inside the block is float32-accurate: a bf16
    # product would be off by ~1e-3 relative.
    gen = torch.Generator().manual_seed(1)
    a, w = torch.randn(512, 513, generator=gen), torch.randn(500, 513, generator=gen)
    exact = a.double() @ w.double().T
    with fast_cpu_matmul("cpu"):
        got = torch.nn.functional.linear(a, w).double()
    assert float((got - exact).abs().max() / exact.abs().max()) < 1e-5
    if onednn_fp32_ok():
        assert probe_error() <= fastmath.PROBE_TOLERANCE


def test_gradients_match_the_default_path():
    gen = torch.Generator().manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(513, 500), torch.nn.ReLU(), torch.nn.Linear(500, 10))
    x, y = torch.randn(256, 513, generator=gen), torch.randint(0, 10, (256,), generator=gen)

    def grads() -> list[torch.Tensor]:
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        return [p.grad.clone() for p in net.parameters()]

    ref = grads()
    with fast_cpu_matmul("cpu"):
        fast = grads()
    for r, f in zip(ref, fast):
        assert float((r - f).abs().max() / r.abs().max()) < 1e-5


def test_env_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv("MIRLEARN_ONEDNN", "0")
    onednn_fp32_ok.cache_clear()
    try:
        assert onednn_fp32_ok() is False
        with fast_cpu_matmul("cpu") as on:
            assert on is False
    finally:
        monkeypatch.delenv("MIRLEARN_ONEDNN")
        onednn_fp32_ok.cache_clear()


def test_amx_cpu_is_refused(monkeypatch):
    monkeypatch.setattr(fastmath, "_has_amx", lambda: True)
    onednn_fp32_ok.cache_clear()
    try:
        assert onednn_fp32_ok() is False
    finally:
        onednn_fp32_ok.cache_clear()


def test_speed_verdict_is_measured_once_and_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("MIRLEARN_CACHE_DIR", str(tmp_path))
    calls = []

    def fake_timing():
        calls.append(1)
        return {"default": 1.0, "onednn": 0.5}

    monkeypatch.setattr(fastmath, "time_paths", fake_timing)
    fastmath.onednn_faster.cache_clear()
    try:
        assert fastmath.onednn_faster() is True and len(calls) == 1
        fastmath.onednn_faster.cache_clear()  # a new process reads the file, does not re-time
        monkeypatch.setattr(fastmath, "time_paths", lambda: {"default": 0.5, "onednn": 1.0})
        assert fastmath.onednn_faster() is True
        assert fastmath.machine_key() in fastmath.cache_file().read_text()
    finally:
        fastmath.onednn_faster.cache_clear()


def test_slower_onednn_is_not_used(monkeypatch, tmp_path):
    monkeypatch.setenv("MIRLEARN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(fastmath, "time_paths", lambda: {"default": 1.0, "onednn": 0.97})
    monkeypatch.setattr(fastmath, "onednn_fp32_ok", lambda: True)
    fastmath.onednn_faster.cache_clear()
    try:
        assert fastmath.use_onednn() is False and fastmath.matmul_path("cpu") == "default"
        monkeypatch.setenv("MIRLEARN_ONEDNN", "1")  # forced: accurate is enough
        assert fastmath.use_onednn() is True and fastmath.matmul_path("cpu") == "onednn"
        assert fastmath.matmul_path("cuda") == "default"
    finally:
        fastmath.onednn_faster.cache_clear()

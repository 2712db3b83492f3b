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

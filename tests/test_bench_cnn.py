"""Smoke tests of the CNN benchmark's parts (benchmarks/bench_cnn.py) on tiny sizes; no timing asserted."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # the benchmarks package lives beside src/, not in it
    sys.path.insert(0, str(_ROOT))

from benchmarks import bench_cnn  # noqa: E402
from benchmarks.common import Section  # noqa: E402
from mirlearn.nn.cnn import PatchCNN  # noqa: E402
from mirlearn.nn.patches import BandStandardizer  # noqa: E402


def test_forward_flops_hand_count():
    # mirex2015 on 14 bands × 10 frames, 3 classes: conv 15 @ 12 × 8 valid → 3 × 3 maps, pool (2, 1)
    # → 1 × 3, flat 15 · 3 = 45 → dense 200 → 3.
    net = PatchCNN("mirex2015", 14, 10, 3, seed=0)
    conv = 2 * 12 * 8 * 1 * 15 * 3 * 3
    dense = 2 * 45 * 200
    out = 2 * 200 * 3
    assert bench_cnn.forward_flops(net) == conv + dense + out == 45120
    assert bench_cnn.train_flops(net) == 3 * 45120


@pytest.mark.parametrize("arch,size", [("schindler-shallow", (20, 20)), ("schindler-deep", (40, 40)),
                                       ("parallel-dcase2016", (12, 12))])
def test_forward_flops_match_torch_counter(arch, size):
    from torch.utils.flop_counter import FlopCounterMode

    net = PatchCNN(arch, *size, n_classes=4, seed=0).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(torch.zeros(1, *size))
    assert bench_cnn.forward_flops(net) == counter.get_total_flops()


def test_make_frames_is_a_readonly_memmap(tmp_path):
    X, off, y = bench_cnn.make_frames(tmp_path / "X.npy", 5, 30, 4)
    assert isinstance(X, np.memmap) and not X.flags.writeable
    assert X.shape == (150, 4) and X.dtype == np.float32
    assert off.tolist() == [0, 30, 60, 90, 120, 150] and y.tolist() == [0, 1, 2, 3, 4]


def test_both_loops_train_and_tabulate(tmp_path):
    X, off, y = bench_cnn.make_frames(tmp_path / "X.npy", 6, 90, 40)
    std = BandStandardizer().fit(X, off)
    ours = bench_cnn.ours("mirex2015", X, off, y, std, tracks=4, per_track=2,
                          opts=bench_cnn.Options(batch=4, threads=1))
    plain = bench_cnn.plain("mirex2015", X, off, y, std, tracks=4, per_track=2, batch=4)
    assert ours.patches == plain.patches == 8
    before = [p.detach().clone() for p in ours.model.parameters()]
    t = bench_cnn.interleaved({"ours": ours, "plain": plain}, repeats=1)
    assert set(t) == {"ours", "plain"} and t["ours"]["wall"] > 0 and t["plain"]["patches"] == 8
    assert any(not torch.equal(a, b) for a, b in zip(before, ours.model.parameters()))
    sec = Section("cnn", "t", "c")
    fl = bench_cnn.train_flops(ours.model)
    row = bench_cnn._throughput_row(sec, "mirex2015: patches/s", t, fl, peak=100.0)
    assert row.unit == "patches/s" and row.ratio > 0 and "% of the 100 GFLOP/s peak" in row.note
    assert "mirex2015" in sec.to_markdown()


def test_plain_dataset_standardises_a_patch_of_its_track(tmp_path):
    X, off, y = bench_cnn.make_frames(tmp_path / "X.npy", 3, 100, 40)
    std = BandStandardizer().fit(X, off)
    ds = bench_cnn.RandomPatches(X, off, y, 80, std.mean_, std.std_, per_track=2)
    assert len(ds) == 6
    x, label = ds[5]
    assert x.shape == (40, 80) and x.dtype == torch.float32 and label == y[2]
    rows = np.asarray(X[off[2]:off[3]])
    z = ((rows - std.mean_) / std.std_).astype(np.float32).T  # bands × frames of track 2
    # The patch is one of track 2's windows.
    assert any(np.allclose(x.numpy(), z[:, s:s + 80], atol=1e-5) for s in range(100 - 80 + 1))


def test_options_context_restores_settings(tmp_path):
    X, off, y = bench_cnn.make_frames(tmp_path / "X.npy", 4, 90, 40)
    std = BandStandardizer().fit(X, off)
    threads, mkldnn = torch.get_num_threads(), torch.backends.mkldnn.enabled
    tr = bench_cnn.ours("mirex2015", X, off, y, std, tracks=2, per_track=1,
                        opts=bench_cnn.Options(batch=2, channels_last=True, conv_onednn=False, threads=1))
    tr.epoch()
    assert torch.get_num_threads() == threads and torch.backends.mkldnn.enabled == mkldnn
    top = bench_cnn.top_ops(tr, tr.epoch, k=3)
    assert len(top) == 3 and all(0 <= share <= 1 for _, share in top)


def test_memory_child_reports_peaks(tmp_path):
    bench_cnn._save_data(tmp_path, 20, 90, 40)
    threads = torch.get_num_threads()
    try:
        r = bench_cnn.memory_child(tmp_path)
    finally:
        torch.set_num_threads(threads)  # the child sets 1 for itself
    assert r["n"] == 20 and r["frame_bytes"] == 20 * 90 * 40 * 4
    assert r["peak_anon"] >= r["floor_anon"] > 0 and r["seconds"] > 0


@pytest.mark.parametrize("arch,size,kw", [("schindler-deep", (40, 40), {}), ("schindler-shallow", (40, 40), {}),
                                          ("parallel-dcase2016", (16, 16), {}),
                                          ("mirex2015", (16, 20), {"batch_norm": True, "activation": "elu"})])
def test_textbook_net_is_the_same_function_as_ours(arch, size, kw):
    # The plain loop's net (conv → activation → pool, written as a user would) against ours
    # (pool before the activation, CPU layout): same logits and gradients from the same weights.
    torch.manual_seed(0)
    x, y = torch.randn(4, *size), torch.tensor([0, 1, 2, 0])
    ours = PatchCNN(arch, *size, n_classes=3, seed=2, dropout=0.0, **kw).to_cpu_layout()
    book = bench_cnn.TextbookCNN(ours)
    ours.train(), book.train()  # batch norm on batch statistics in both
    torch.testing.assert_close(ours(x), book(x), rtol=1e-4, atol=1e-5)
    for net in (ours, book):
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
    g_ours = [p.grad for p in ours.parameters()]
    g_book = [p.grad for p in book.parameters()]
    assert len(g_ours) == len(g_book)
    for a, b in zip(g_ours, g_book):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)

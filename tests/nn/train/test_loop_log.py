"""What the training loop writes for a person: a bar on a terminal, one line per epoch elsewhere.

Issue #11, finding 7: tqdm redrew its bar with carriage returns into pipes and log files, and
``progress=False`` (``--no-progress``) also removed the per-epoch loss and accuracy.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest

from mirlearn.nn.mlp import MLP
from mirlearn.nn.train import HFConfig, TrainConfig, train_hf, train_sgd
from mirlearn.nn.train.loop import epoch_line

LINE = re.compile(r"^sgd epoch (\d+)/4: train loss \d+\.\d{4}, valid loss \d+\.\d{4}, valid acc \d+\.\d%, "
                  r"[\d.]+ s( \(best\))?$")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(3, 8)) * 1.5
    y = rng.integers(0, 3, size=300).astype(np.int64)
    X = (centres[y] + rng.normal(size=(300, 8))).astype(np.float32)
    return X[:200], y[:200], X[200:], y[200:]


def _train(data, **kw):
    net = MLP(8, (6,), 3, seed=0)
    return train_sgd(net, *data, TrainConfig(lr=0.05, batch_size=32, max_epochs=4, patience=50, seed=1), **kw)


@pytest.mark.parametrize("progress", [True, False])
def test_not_a_terminal_one_line_per_epoch(data, capsys, monkeypatch, progress):
    """In a pipe (pytest's captured stderr is one): one plain line per epoch, with or without
    progress (``--no-progress`` removes bars, not the log)."""
    monkeypatch.delenv("MIRLEARN_PROGRESS", raising=False)
    _train(data, progress=progress)
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert len(lines) == 4, err
    assert [int(LINE.match(line).group(1)) for line in lines] == [1, 2, 3, 4], err
    assert lines[0].endswith("(best)")


def test_terminal_gets_a_bar_and_no_lines(data, monkeypatch):
    monkeypatch.delenv("MIRLEARN_PROGRESS", raising=False)
    import sys

    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    _train(data, progress=True)
    text = tty.getvalue()
    assert "\r" in text and "sgd epoch 1/4" not in text


def test_terminal_without_progress_gets_the_lines(data, monkeypatch):
    monkeypatch.delenv("MIRLEARN_PROGRESS", raising=False)
    import sys

    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    _train(data, progress=False)
    text = tty.getvalue()
    assert "\r" not in text and len(text.splitlines()) == 4


def test_epoch_lines_false_is_silent(data, capsys):
    _train(data, progress=False, epoch_lines=False)
    assert capsys.readouterr().err == ""


def test_hf_logs_one_line_per_step_without_validation(capsys, monkeypatch):
    monkeypatch.delenv("MIRLEARN_PROGRESS", raising=False)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    train_hf(MLP(5, (4,), 2, activation="sigmoid", seed=0), X, y, config=HFConfig(max_steps=2, max_cg_iters=5),
             progress=False)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["HF step 1/2", "HF step 2/2"]
    assert "valid" not in lines[0]


def test_resumed_run_says_so(data, tmp_path, capsys):
    net = MLP(8, (6,), 3, seed=0)
    cfg = TrainConfig(lr=0.05, batch_size=32, max_epochs=2, patience=50, seed=1)
    train_sgd(net, *data, cfg, run_dir=tmp_path, progress=False)
    capsys.readouterr()
    cfg = TrainConfig(lr=0.05, batch_size=32, max_epochs=3, patience=50, seed=1)
    train_sgd(MLP(8, (6,), 3, seed=0), *data, cfg, run_dir=tmp_path, progress=False)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("sgd: resuming after epoch 2 of 3") and lines[1].startswith("sgd epoch 3/3:")


def test_epoch_line_format():
    row = {"epoch": 3, "train_loss": 0.81234, "valid_loss": 0.9, "valid_acc": 0.6125, "seconds": 1.42}
    assert epoch_line("sgd", "epoch", row, 40, best=True) == (
        "sgd epoch 3/40: train loss 0.8123, valid loss 0.9000, valid acc 61.3%, 1.4 s (best)")
    row.update(valid_loss=math.nan, valid_acc=math.nan)
    assert epoch_line("HF", "step", row, 25) == "HF step 3/25: train loss 0.8123, 1.4 s"


def test_cuda_without_cuda_is_one_line_before_any_epoch(data, monkeypatch):
    import torch

    from mirlearn.errors import ConfigError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    net = MLP(8, (6,), 3, seed=0)
    with pytest.raises(ConfigError, match="device 'cuda': CUDA is not available"):
        train_sgd(net, *data, TrainConfig(max_epochs=1, device="cuda"), progress=False)

"""One rank of a data-parallel training job, for the tests of ``test_data_parallel.py``.

``python ranks_worker.py TASK OUT_DIR [--kill-at EPOCH]``: trains a small net on seeded data
(the same on every rank) with ``run_dir=OUT_DIR/run`` and, on rank 0, saves the final weights
and history to ``OUT_DIR/result.pt``. Started once without ``RANK`` (one process) and once as
two ranks, the two results are compared. ``--kill-at E`` makes the last rank kill itself with
SIGKILL right after epoch E (a machine lost mid-run).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import numpy as np
import torch

from mirlearn import distributed


def frames(n: int, dim: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian classes around random means: a learnable problem, float32 frames."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    means = rng.normal(0, 1.5, (n_classes, dim))
    return (means[y] + rng.normal(0, 1, (n, dim))).astype(np.float32), y.astype(np.int64)


def kill_callback(kill_at: int | None):
    ranks = distributed.world()

    def cb(epoch: int, row: dict) -> None:
        if kill_at is not None and epoch == kill_at and ranks.rank == ranks.size - 1:
            os.kill(os.getpid(), signal.SIGKILL)
    return cb


def run_sgd(out: str, kill_at: int | None, epochs: int, dropout: float, optimizer: str = "sgd") -> dict:
    from mirlearn.nn.mlp import MLP
    from mirlearn.nn.train import TrainConfig, train_sgd

    X, y = frames(700, 24, 4, 1)
    Xv, yv = frames(203, 24, 4, 2)
    net = MLP(24, (32, 32, 32), 4, dropout=dropout, seed=0)
    cfg = TrainConfig(lr=0.05, batch_size=64, max_epochs=epochs, patience=50, seed=3, num_threads=1,
                      optimizer=optimizer)
    res = train_sgd(net, X, y, Xv, yv, cfg, run_dir=os.path.join(out, "run"), progress=False,
                    callback=kill_callback(kill_at))
    return {"state": net.state_dict(), "history": res.history}


def run_cnn(out: str, kill_at: int | None, epochs: int, dropout: float) -> dict:
    from mirlearn.nn.cnn import PatchCNN
    from mirlearn.nn.patches import BandStandardizer
    from mirlearn.nn.train import PatchTrainConfig, train_patches

    rng = np.random.default_rng(5)
    n_tracks, rows, bands = 24, 40, 16
    y = np.arange(n_tracks) % 3
    X = (rng.normal(0, 1, (n_tracks * rows, bands)) + np.repeat(y, rows)[:, None] * 0.8).astype(np.float32)
    off = np.arange(0, n_tracks * rows + 1, rows)
    tr, va = np.arange(0, 18), np.arange(18, 24)
    Xtr = X[:18 * rows]
    Xva = X[18 * rows:]
    std = BandStandardizer().fit(Xtr, off[:19])
    net = PatchCNN("mirex2015", bands, 10, n_classes=3, seed=0, dropout=dropout)
    cfg = PatchTrainConfig(optimizer="adam", lr=1e-3, batch_size=16, max_epochs=epochs, patience=50, seed=3,
                           patches_per_track=4, num_threads=1)
    res = train_patches(net, Xtr, off[:19], y[tr], Xva, off[18:] - off[18], y[va], cfg, standardizer=std,
                        patch_frames=10, run_dir=os.path.join(out, "run"), progress=False,
                        callback=kill_callback(kill_at))
    return {"state": net.state_dict(), "history": res.history}


def run_rnn(out: str, kill_at: int | None, epochs: int, dropout: float) -> dict:
    """A BiLSTM on tracks of 4-40 frames in 10-frame patches: padded patches (lengths) on the ranks."""
    from mirlearn.nn.patches import BandStandardizer
    from mirlearn.nn.rnn import PatchRNN
    from mirlearn.nn.train import PatchTrainConfig, train_patches

    rng = np.random.default_rng(6)
    n_tracks, bands = 24, 8
    lengths = rng.integers(4, 41, n_tracks)
    y = np.arange(n_tracks) % 3
    X = (rng.normal(0, 1, (int(lengths.sum()), bands)) + np.repeat(y, lengths)[:, None] * 0.8).astype(np.float32)
    off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    Xtr, Xva = X[:off[18]], X[off[18]:]
    std = BandStandardizer().fit(Xtr, off[:19])
    net = PatchRNN("bilstm", bands, 10, n_classes=3, seed=0, dropout=dropout)
    cfg = PatchTrainConfig(optimizer="adam", lr=1e-3, batch_size=16, max_epochs=epochs, patience=50, seed=3,
                           patches_per_track=4, num_threads=1)
    res = train_patches(net, Xtr, off[:19], y[:18], Xva, off[18:] - off[18], y[18:], cfg, standardizer=std,
                        patch_frames=10, run_dir=os.path.join(out, "run"), progress=False,
                        callback=kill_callback(kill_at))
    return {"state": net.state_dict(), "history": res.history}


def run_hf(out: str, kill_at: int | None, epochs: int, dropout: float) -> dict:
    from mirlearn.nn.mlp import MLP
    from mirlearn.nn.train import HFConfig, train_hf

    X, y = frames(801, 24, 4, 1)
    Xv, yv = frames(203, 24, 4, 2)
    net = MLP(24, (16, 16, 16), 4, activation="sigmoid", seed=0)
    cfg = HFConfig(max_steps=epochs, max_cg_iters=30, chunk_rows=128, seed=3)
    kill = kill_callback(kill_at)
    res = train_hf(net, X, y, Xv, yv, cfg, run_dir=os.path.join(out, "run"), progress=False,
                   callback=lambda row: kill(row["epoch"], row))
    return {"state": net.state_dict(), "history": res.history}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("task", choices=["sgd", "cnn", "rnn", "hf", "adagrad"])
    p.add_argument("out")
    p.add_argument("--kill-at", type=int)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--dropout", type=float, default=0.0)
    a = p.parse_args()
    torch.set_num_threads(1)
    ranks = distributed.init()
    try:
        run_adagrad = lambda *args: run_sgd(*args, optimizer="adagrad")  # noqa: E731
        result = {"sgd": run_sgd, "cnn": run_cnn, "rnn": run_rnn, "hf": run_hf, "adagrad": run_adagrad}[a.task](
            a.out, a.kill_at, a.epochs, a.dropout)
        result["world_size"] = ranks.size
        torch.save(result, os.path.join(a.out, f"result-rank{ranks.rank}.pt"))
    except Exception as e:  # noqa: BLE001 - the test reads the one line
        message = distributed.lost_rank_message(e)
        if message is None:
            raise
        print(f"mirlearn: error: {message}", file=sys.stderr)
        distributed.abandon(1)  # as the CLI does: no teardown of a broken group
        return 1
    finally:
        distributed.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pins the weights of tiny SGD and Hessian-Free runs to those of the code before the training
loop was unified and sped up (issue 10): a refactor or a faster loop must not move one bit.

The hashes are of this machine's arithmetic (the float32 matmul path is chosen per machine by
:mod:`mirlearn.nn.fastmath`); they were taken with the code at commit 0f06a65. On a machine
whose probe chooses another path the hashes differ, and the test says so rather than failing.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from mirlearn.nn.fastmath import use_onednn
from mirlearn.nn.featurenet import FeatureNet
from mirlearn.nn.train import HFConfig, train_hf
from mirlearn.nn.mlp import MLP
from mirlearn.nn.train import TrainConfig, train_sgd

#: (oneDNN path taken? see fastmath.use_onednn) -> expected hashes, from the code before the
#: refactor (both paths, forced with MIRLEARN_ONEDNN=1 and 0).
PINNED: dict[bool, dict[str, str]] = {
    True: {
        "hf_error": "4aa79fbcb3f45e7353080935f74a8b946959dc819dc09cb7304c21af85925923",
        "hf_loss": "ad24180a3c9d30655db6006af64c8e1510ed4b755fd51c8aca54cc62e379afb4",
        "sgd_dropout_b32": "b77300d595974dd150696a3c7738092b8e8adb2fcb3b12aa95947db5812c7bd8",
        "sgd_plain_b64": "33441957a701b5e8325e912362dec9cd842e4487abf27fa059ab63acebff616f",
    },
    False: {
        "hf_error": "35a3e615d6d7249952b96d01210150d6bdea044deb8652ee8a8016f4db4e933c",
        "hf_loss": "24bea573c5cc7eba42628974e64bfa7cf7a95a38e44ca5c5c6cc7415923f6f38",
        "sgd_dropout_b32": "b77300d595974dd150696a3c7738092b8e8adb2fcb3b12aa95947db5812c7bd8",
        "sgd_plain_b64": "33441957a701b5e8325e912362dec9cd842e4487abf27fa059ab63acebff616f",
    },
}


def _digest(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _data(n_train: int = 700, n_valid: int = 300, dim: int = 24, n_classes: int = 4):
    rng = np.random.default_rng(123)
    centres = rng.normal(size=(n_classes, dim)) * 1.2
    y = rng.integers(0, n_classes, size=n_train + n_valid).astype(np.int64)
    X = (centres[y] + rng.normal(size=(len(y), dim))).astype(np.float32)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def sgd_digest(dropout: float = 0.25, batch_size: int = 32) -> str:
    Xt, yt, Xv, yv = _data()
    net = MLP(24, (32, 32, 32), 4, dropout=dropout, seed=3)
    train_sgd(net, Xt, yt, Xv, yv, TrainConfig(lr=0.05, batch_size=batch_size, max_epochs=4, seed=5),
              progress=False)
    return _digest(net)


def hf_digest(monitor: str = "error") -> str:
    Xt, yt, Xv, yv = _data()
    mlp = MLP(24, (16, 16), 4, activation="sigmoid", seed=7)
    net = FeatureNet(mlp, Xt.mean(axis=0), Xt.std(axis=0) + 0.5)
    train_hf(net, Xt, yt, Xv, yv, HFConfig(max_steps=4, max_cg_iters=30, seed=2, monitor=monitor,
                                           weight_cost=1e-4), progress=False)
    return _digest(net)


CASES = {
    "sgd_dropout_b32": lambda: sgd_digest(0.25, 32),
    "sgd_plain_b64": lambda: sgd_digest(0.0, 64),
    "hf_error": lambda: hf_digest("error"),
    "hf_loss": lambda: hf_digest("loss"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_weights_are_pinned(case):
    pinned = PINNED.get(use_onednn())
    if pinned is None:
        pytest.skip("no pinned hashes for this machine's matmul path")
    assert CASES[case]() == pinned[case]


if __name__ == "__main__":  # prints the hashes to pin
    torch.set_num_threads(1)
    print({use_onednn(): {k: CASES[k]() for k in sorted(CASES)}})

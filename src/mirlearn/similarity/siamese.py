"""A learned distance: a siamese network over track vectors, trained on pairs from the labels.

Schindler & Lidy's tutorial learns a music similarity this way: two copies of the same dense
layers (shared weights) map two tracks to embeddings, their Euclidean distance is the learned
distance, and the contrastive loss of Hadsell, Chopra & LeCun (CVPR 2006) pulls tracks of one
label together and pushes tracks of different labels at least ``margin`` apart::

    L = same · d² / 2 + (1 − same) · max(0, margin − d)² / 2

:class:`DistanceLearner` is a scikit-learn estimator (``fit`` / ``transform``, ``get_params``,
``clone``): it trains on a collection's standardised track vectors and labels, with every epoch
drawing fresh pairs (half of them same-label), stops early on the loss of pairs drawn once from
validation tracks, and keeps the best weights. Its ``transform`` gives the embeddings that a
:class:`~mirlearn.similarity.index.TrackIndex` then searches with the Euclidean distance.
"""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from mirlearn.errors import MirlearnError

__all__ = ["SiameseNet", "contrastive_loss", "DistanceLearner", "label_pairs"]


class SiameseNet(torch.nn.Module):
    """The shared branch: dense layers with ELU between them, a linear embedding at the end."""

    def __init__(self, n_in: int, hidden: Sequence[int], n_out: int) -> None:
        super().__init__()
        layers: list[torch.nn.Module] = []
        width = n_in
        for h in hidden:
            layers += [torch.nn.Linear(width, int(h)), torch.nn.ELU()]
            width = int(h)
        layers.append(torch.nn.Linear(width, n_out))
        self.body = torch.nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (batch × n_in) → embeddings (batch × n_out)."""
        return self.body(x)


def contrastive_loss(z1: torch.Tensor, z2: torch.Tensor, same: torch.Tensor, margin: float) -> torch.Tensor:
    """Hadsell et al.'s contrastive loss, averaged over the pairs (``same``: 1.0 or 0.0 per pair)."""
    d = torch.sqrt(((z1 - z2) ** 2).sum(dim=1) + 1e-12)
    return 0.5 * (same * d ** 2 + (1 - same) * torch.clamp(margin - d, min=0) ** 2).mean()


def label_pairs(labels: np.ndarray, n_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray,
                                                                                          np.ndarray]:
    """``n_pairs`` random pairs of rows, half with equal labels, half with different ones.

    Returns
    -------
    a, b : np.ndarray [shape=(n_pairs,)], int64 rows (never a row with itself)
    same : np.ndarray [shape=(n_pairs,)], float32, 1.0 where the labels are equal
    """
    labels = np.asarray(labels)
    classes, inverse = np.unique(labels, return_inverse=True)
    members = [np.flatnonzero(inverse == c) for c in range(len(classes))]
    pairable = [c for c, m in enumerate(members) if len(m) >= 2]
    if not pairable or len(classes) < 2:
        raise MirlearnError("a learned distance needs two labels, one of them with two tracks or more")
    n_same = n_pairs // 2
    sizes = np.array([len(m) for m in members])
    cls = rng.choice(pairable, size=n_same)
    # same label: two different positions within the class (the second shifted by 1..size-1)
    first = (rng.random(n_same) * sizes[cls]).astype(np.int64)
    second = (first + 1 + (rng.random(n_same) * (sizes[cls] - 1)).astype(np.int64)) % sizes[cls]
    order = np.concatenate(members)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    a = np.empty(n_pairs, dtype=np.int64)
    b = np.empty(n_pairs, dtype=np.int64)
    a[:n_same], b[:n_same] = order[starts[cls] + first], order[starts[cls] + second]
    # different labels: uniform partners, drawn again where the label matched
    a[n_same:] = rng.integers(0, len(labels), n_pairs - n_same)
    b[n_same:] = rng.integers(0, len(labels), n_pairs - n_same)
    redo = np.flatnonzero(inverse[a[n_same:]] == inverse[b[n_same:]]) + n_same
    while len(redo):
        b[redo] = rng.integers(0, len(labels), len(redo))
        redo = redo[inverse[a[redo]] == inverse[b[redo]]]
    same = (inverse[a] == inverse[b]).astype(np.float32)
    return a, b, same


class DistanceLearner(TransformerMixin, BaseEstimator):
    """A siamese network trained with the contrastive loss; ``transform`` embeds track vectors.

    Parameters
    ----------
    hidden : widths of the shared hidden layers (Schindler & Lidy: dense layers)
    n_out : embedding size
    margin : distance the loss asks between tracks of different labels
    lr : Adam's learning rate
    epochs : at most this many epochs
    pairs_per_epoch : fresh random pairs per epoch (half same-label)
    batch_size : pairs per step
    patience : epochs without a lower validation loss before stopping (with validation data)
    seed : pairs, initial weights and batch order
    device : torch device
    """

    def __init__(self, hidden: Sequence[int] = (256,), n_out: int = 64, margin: float = 1.0, lr: float = 1e-3,
                 epochs: int = 60, pairs_per_epoch: int = 4096, batch_size: int = 128, patience: int = 10,
                 seed: int = 0, device: str = "cpu") -> None:
        self.hidden = hidden
        self.n_out = n_out
        self.margin = margin
        self.lr = lr
        self.epochs = epochs
        self.pairs_per_epoch = pairs_per_epoch
        self.batch_size = batch_size
        self.patience = patience
        self.seed = seed
        self.device = device

    def _check(self) -> None:
        for name in ("n_out", "epochs", "pairs_per_epoch", "batch_size", "patience"):
            if int(getattr(self, name)) < 1:
                raise MirlearnError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.margin > 0 or not self.lr > 0:
            raise MirlearnError(f"margin and lr must be > 0, got {self.margin} and {self.lr}")

    def fit(self, X: np.ndarray, y: Sequence[str], X_valid: np.ndarray | None = None,
            y_valid: Sequence[str] | None = None) -> "DistanceLearner":
        """Train on standardised track vectors ``X`` (n × d) and their labels ``y``.

        With ``X_valid``/``y_valid``, early stopping watches the contrastive loss of a fixed set
        of validation pairs and the best epoch's weights are kept; without, all epochs run.
        ``history_`` holds ``(epoch, train loss, valid loss or NaN)`` per epoch.
        """
        self._check()
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray([str(v) for v in y])
        if len(X) != len(y):
            raise MirlearnError(f"{len(y)} labels for {len(X)} vectors")
        torch.manual_seed(int(self.seed))
        rng = np.random.default_rng(int(self.seed))
        dev = torch.device(self.device)
        net = SiameseNet(X.shape[1], self.hidden, int(self.n_out)).to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=float(self.lr))
        Xt = torch.from_numpy(X).to(dev)
        valid = None
        if X_valid is not None and y_valid is not None and len(X_valid) >= 2:
            Xv = torch.from_numpy(np.asarray(X_valid, dtype=np.float32)).to(dev)
            try:
                va, vb, vs = label_pairs(np.asarray([str(v) for v in y_valid]), 2048, np.random.default_rng(
                    int(self.seed) + 1))
                valid = (Xv, torch.from_numpy(va).to(dev), torch.from_numpy(vb).to(dev), torch.from_numpy(vs).to(dev))
            except MirlearnError:
                valid = None  # too few validation labels to pair: train every epoch
        best, best_state, waited, history = np.inf, None, 0, []
        for epoch in range(1, int(self.epochs) + 1):
            net.train()
            a, b, same = label_pairs(y, int(self.pairs_per_epoch), rng)
            total = 0.0
            for s in range(0, len(a), int(self.batch_size)):
                ia = torch.from_numpy(a[s:s + self.batch_size]).to(dev)
                ib = torch.from_numpy(b[s:s + self.batch_size]).to(dev)
                sm = torch.from_numpy(same[s:s + self.batch_size]).to(dev)
                loss = contrastive_loss(net(Xt[ia]), net(Xt[ib]), sm, float(self.margin))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(ia)
            v_loss = float("nan")
            if valid is not None:
                net.eval()
                with torch.no_grad():
                    Xv, va_t, vb_t, vs_t = valid
                    v_loss = float(contrastive_loss(net(Xv[va_t]), net(Xv[vb_t]), vs_t, float(self.margin)))
                if v_loss < best:
                    best, waited = v_loss, 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    waited += 1
            history.append((epoch, total / len(a), v_loss))
            if valid is not None and waited >= int(self.patience):
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        self.net_ = net
        self.n_features_in_ = int(X.shape[1])
        self.history_ = history
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Embeddings (n × n_out, float32) of standardised track vectors ``X`` (n × d)."""
        if not hasattr(self, "net_"):
            raise MirlearnError("the distance learner is not fitted")
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise MirlearnError(f"vectors of {X.shape[-1]} values; the learned distance takes {self.n_features_in_}")
        dev = next(self.net_.parameters()).device
        with torch.no_grad():
            return self.net_(torch.from_numpy(X).to(dev)).cpu().numpy().astype(np.float32)

    # -- on disk --------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Parameters and weights, for a file beside an index."""
        buf = io.BytesIO()
        torch.save({"params": {**self.get_params(), "hidden": list(self.hidden), "device": "cpu"},
                    "n_in": self.n_features_in_, "state": {k: v.cpu() for k, v in self.net_.state_dict().items()},
                    "history": self.history_}, buf)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "DistanceLearner":
        """Inverse of :meth:`to_bytes`."""
        d: dict[str, Any] = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        self = cls(**d["params"])
        self.net_ = SiameseNet(int(d["n_in"]), self.hidden, int(self.n_out))
        self.net_.load_state_dict(d["state"])
        self.net_.eval()
        self.n_features_in_ = int(d["n_in"])
        self.history_ = [tuple(h) for h in d["history"]]
        return self

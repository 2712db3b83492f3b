"""Estimator-style API: a feature learner (fit / transform) and a genre model (predict).

>>> learner = FeatureLearner(hidden=(500, 500, 500), dropout=0.25).fit(train_frames, valid_frames)
>>> feats = learner.transform(test_frames, layers="all")        # FrameSet of activations

``FeatureLearner`` holds the paper's networks: it fits the standardiser on the training frames
only, trains the MLP (SGD, SGD + dropout, or Hessian-Free) with early stopping on the
validation frames, and turns frames of any track into hidden activations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mirlearn.datasets.tracks import TrackTable
from mirlearn.errors import MirlearnError
from mirlearn.features.frameset import FrameSet

LayerSpec = int | str | Sequence[int]


def parse_layers(layers: LayerSpec, n_layers: int) -> tuple[int, ...]:
    """Normalise ``"all"``, ``"2"``, ``2`` or ``(1, 3)`` to a tuple of 1-based layer numbers."""
    if isinstance(layers, str):
        if layers == "all":
            return tuple(range(1, n_layers + 1))
        layers = int(layers)
    if isinstance(layers, (int, np.integer)):
        layers = (int(layers),)
    out = tuple(int(k) for k in layers)
    if not out or any(k < 1 or k > n_layers for k in out):
        raise MirlearnError(f"layers {layers!r} not in 1..{n_layers} or 'all'")
    return out


def layer_columns(widths: Sequence[int], layers: Sequence[int]) -> np.ndarray:
    """Columns of the all-layer feature matrix that hold the given layers, int64."""
    starts = np.concatenate([[0], np.cumsum(widths)])
    return np.concatenate([np.arange(starts[k - 1], starts[k]) for k in layers]).astype(np.int64)


def _sample_rows(X: np.ndarray, y: np.ndarray, cap: int | None, seed: Any) -> tuple[np.ndarray, np.ndarray]:
    """A seeded sample of ``cap`` rows of ``(X, y)`` in their order (copied), or both as they are."""
    if not cap or len(y) <= cap:
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(len(y), cap, replace=False))
    return np.ascontiguousarray(X[rows]), y[rows]


class FeatureLearner:
    """Standardiser + MLP trained on labelled frames; hidden activations as features.

    Parameters
    ----------
    hidden : widths of the hidden layers (the paper: three of 50 or 500)
    activation : ``"relu"`` or ``"sigmoid"``
    dropout : dropout rate on every hidden layer (0.25 in the paper's dropout nets)
    input_dropout : dropout rate on the input frames (off in the paper)
    optimizer : ``"sgd"`` (minibatch SGD) or ``"hf"`` (Hessian-Free)
    loss : ``"softmax"`` (cross-entropy) or ``"sigmoid"`` (binary cross-entropy per output)
    lr, batch_size, max_epochs, patience : SGD settings; for HF, ``max_epochs`` caps HF steps
    init_damping, max_cg_iters, curvature_fraction : Hessian-Free settings
    max_train_frames : optional seeded subsample of the training frames (a named reduction)
    frames_per_epoch : SGD only: train each epoch on a fresh sample of this many training
        frames instead of all of them (a named reduction; ``None`` = all)
    max_valid_frames : optional seeded subsample of the validation frames that early stopping
        watches (a named reduction)
    seed : seeds initialisation, shuffling and subsampling
    device : ``"cpu"`` or ``"cuda"``
    run_dir : folder for the training log and checkpoints; a rerun resumes from them
    progress : show progress bars

    Attributes
    ----------
    net_ : FeatureNet — standardiser + trained MLP
    classes_ : list of class names, in output order
    train_result_ : what the trainer reported (best epoch, losses, history, seconds)
    """

    def __init__(
        self,
        *,
        hidden: Sequence[int] = (500, 500, 500),
        activation: str = "relu",
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        optimizer: str = "sgd",
        loss: str = "softmax",
        lr: float = 0.01,
        batch_size: int = 256,
        max_epochs: int = 200,
        patience: int = 10,
        init_damping: float = 10.0,
        max_cg_iters: int = 250,
        curvature_fraction: float = 0.25,
        max_train_frames: int | None = None,
        frames_per_epoch: int | None = None,
        max_valid_frames: int | None = None,
        seed: int = 0,
        device: str = "cpu",
        run_dir: str | Path | None = None,
        progress: bool = True,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.optimizer = optimizer
        self.loss = loss
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.init_damping = init_damping
        self.max_cg_iters = max_cg_iters
        self.curvature_fraction = curvature_fraction
        self.max_train_frames = max_train_frames
        self.frames_per_epoch = frames_per_epoch
        self.max_valid_frames = max_valid_frames
        self.seed = seed
        self.device = device
        self.run_dir = run_dir
        self.progress = progress

    @classmethod
    def from_config(cls, cfg: Any, **kwargs: Any) -> "FeatureLearner":
        """Build from a :class:`mirlearn.config.Config`; ``kwargs`` override (e.g. run_dir)."""
        n, t = cfg.network, cfg.training
        params = dict(
            hidden=tuple(n.hidden), activation=n.activation, dropout=n.dropout, input_dropout=n.input_dropout,
            optimizer=t.optimizer, loss=t.loss, lr=t.lr, batch_size=t.batch_size, max_epochs=t.max_epochs,
            patience=t.patience, init_damping=t.init_damping, max_cg_iters=t.max_cg_iters,
            curvature_fraction=t.curvature_fraction, max_train_frames=t.max_train_frames,
            frames_per_epoch=t.frames_per_epoch, max_valid_frames=t.max_valid_frames, seed=t.seed,
        )
        params.update(kwargs)
        return cls(**params)

    # -- training -------------------------------------------------------------------------
    def fit(self, train: FrameSet, valid: FrameSet) -> "FeatureLearner":
        """Fit the standardiser on ``train`` frames and train the network.

        Parameters
        ----------
        train, valid : FrameSet of raw frames ``(n_frames, n_in)`` with their tracks;
            ``valid`` drives early stopping. Their TrackTables must share ``classes``.
        """
        import torch

        from mirlearn.features.standardize import Standardizer
        from mirlearn.nn.featurenet import FeatureNet
        from mirlearn.nn.mlp import MLP

        if list(train.tracks.classes) != list(valid.tracks.classes):
            raise MirlearnError("train and valid frames have different class lists")
        self.classes_ = list(train.tracks.classes)
        y_train = train.frame_labels()
        X_train = train.X
        X_train, y_train = _sample_rows(X_train, y_train, self.max_train_frames, self.seed)
        # Its own random stream, so capping the validation set never moves the training sample.
        X_valid, y_valid = _sample_rows(valid.X, valid.frame_labels(), self.max_valid_frames, [self.seed, 1])
        std = Standardizer().fit(X_train)
        torch.manual_seed(self.seed)
        mlp = MLP(n_in=train.dim, hidden=tuple(self.hidden), n_out=len(self.classes_),
                  activation=self.activation, dropout=self.dropout, input_dropout=self.input_dropout)
        self.net_ = FeatureNet(mlp, std.mean_, std.scale_)
        run_dir = Path(self.run_dir) if self.run_dir is not None else None
        if self.optimizer == "sgd":
            from mirlearn.nn.train import TrainConfig, train_sgd

            tc = TrainConfig(lr=self.lr, batch_size=self.batch_size, max_epochs=self.max_epochs,
                             patience=self.patience, seed=self.seed, device=self.device, loss=self.loss,
                             frames_per_epoch=self.frames_per_epoch)
            self.train_result_ = train_sgd(self.net_, X_train, y_train, X_valid, y_valid, tc,
                                           run_dir=run_dir, progress=self.progress)
        elif self.optimizer == "hf":
            from mirlearn.nn.hf import HFConfig, train_hf

            hc = HFConfig(loss=self.loss, init_damping=self.init_damping, max_cg_iters=self.max_cg_iters,
                          max_steps=self.max_epochs, n_chunks=max(1, round(1 / self.curvature_fraction)),
                          seed=self.seed, patience=self.patience or None, device=self.device)
            self.train_result_ = train_hf(self.net_, X_train, y_train, X_valid, y_valid, hc,
                                          run_dir=run_dir, progress=self.progress)
        else:
            raise MirlearnError(f"unknown optimizer {self.optimizer!r}: use 'sgd' or 'hf'")
        self.net_.to("cpu").eval()
        return self

    def training_summary(self) -> str:
        """One line on how training ended (best epoch / HF step, validation loss and accuracy)."""
        r = self.train_result_
        if hasattr(r, "best_epoch"):
            return (f"best epoch {r.best_epoch} of {r.epochs_run}, valid loss {r.best_valid_loss:.4f}, "
                    f"valid frame acc {r.best_valid_acc:.1%}")
        best = f"best step {r.best_step}, valid loss {r.best_valid_loss:.4f}, valid frame acc " \
               f"{1 - r.best_valid_error:.1%}" if r.best_step is not None else "no validation"
        return f"{r.steps} HF steps ({r.stop_reason}), objective {r.objective:.4f}; {best}"

    # -- features -------------------------------------------------------------------------
    @property
    def widths_(self) -> list[int]:
        return list(self.net_.mlp.config()["hidden"])

    def transform(self, frames: FrameSet, *, layers: LayerSpec = "all", batch_size: int = 8192,
                  out: str | Path | None = None) -> FrameSet:
        """Hidden activations of every frame.

        Parameters
        ----------
        frames : FrameSet of raw frames ``(n_frames, n_in)``
        layers : ``1``, ``2``, ``3``, ``"all"`` or a sequence of layer numbers (concatenated)
        batch_size : rows per forward pass (bounds memory)
        out : when given, the features are written to this raw float32 file and returned as a
            read-only memory map (the all-layer features of GTZAN are ≈ 7.7 GB)

        Returns
        -------
        FrameSet with ``X`` of shape ``(n_frames, sum of the chosen widths)``, float32
        """
        self._check_fitted()
        sel = parse_layers(layers, len(self.widths_))
        dim = int(sum(self.widths_[k - 1] for k in sel))
        n = len(frames.X)
        if out is not None:
            from mirlearn.io import atomic_path

            out = Path(out)
            with atomic_path(out) as tmp:
                Y = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, dim)) \
                    if out.suffix == ".npy" else np.memmap(tmp, dtype=np.float32, mode="w+", shape=(n, dim))
                self._fill(frames.X, Y, sel, batch_size)
                Y.flush()
                del Y
            Y = np.load(out, mmap_mode="r") if out.suffix == ".npy" else np.memmap(out, dtype=np.float32, mode="r", shape=(n, dim))
        else:
            Y = np.empty((n, dim), dtype=np.float32)
            self._fill(frames.X, Y, sel, batch_size)
        return FrameSet(Y, frames.offsets.copy(), frames.tracks)

    def _fill(self, X: np.ndarray, Y: np.ndarray, layers: tuple[int, ...], batch_size: int) -> None:
        import torch

        from mirlearn.nn.fastmath import fast_cpu_matmul

        net = self.net_.eval()
        with torch.inference_mode(), fast_cpu_matmul():
            for start, xb in _row_batches(X, batch_size):
                Y[start:start + len(xb)] = net.hidden(xb, layers).numpy()

    def predict_frames(self, frames: FrameSet, batch_size: int = 8192) -> np.ndarray:
        """The network's own class probabilities per frame, ``(n_frames, n_classes)``."""
        import torch

        self._check_fitted()
        out = []
        with torch.inference_mode():
            for _, xb in _row_batches(frames.X, batch_size):
                z = self.net_.eval()(xb)
                p = torch.sigmoid(z) if self.loss == "sigmoid" else torch.softmax(z, dim=1)
                out.append(p.numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)), np.float32)

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise MirlearnError("this FeatureLearner is not fitted yet: call fit() or FeatureLearner.load()")

    # -- persistence ----------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        keys = ("hidden", "activation", "dropout", "input_dropout", "optimizer", "loss", "lr", "batch_size",
                "max_epochs", "patience", "init_damping", "max_cg_iters", "curvature_fraction",
                "max_train_frames", "frames_per_epoch", "max_valid_frames", "seed", "device")
        return {k: (list(v) if isinstance(v, tuple) else v) for k in keys for v in [getattr(self, k)]}

    def save(self, path: str | Path) -> Path:
        """Write ``featurenet.pt`` (weights, standardiser, classes, parameters) atomically."""
        import torch

        from mirlearn.io import atomic_path

        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        blob = {"format": 1, "config": self.net_.config(), "state_dict": self.net_.state_dict(),
                "classes": self.classes_, "params": self.get_params()}
        with atomic_path(path / "featurenet.pt") as tmp:
            torch.save(blob, tmp)
        return path / "featurenet.pt"

    @classmethod
    def load(cls, path: str | Path) -> "FeatureLearner":
        import torch

        from mirlearn.nn.featurenet import FeatureNet

        path = Path(path)
        f = path / "featurenet.pt" if path.is_dir() else path
        if not f.is_file():
            raise MirlearnError(f"no trained network at {f}")
        blob = torch.load(f, map_location="cpu", weights_only=False)
        params = blob["params"]
        params["hidden"] = tuple(params["hidden"])
        self = cls(**params, progress=False)
        self.net_ = FeatureNet.from_config(blob["config"])
        self.net_.load_state_dict(blob["state_dict"])
        self.net_.eval()
        self.classes_ = list(blob["classes"])
        return self


def _row_batches(X: np.ndarray, batch_size: int):
    """``(start, tensor)`` for consecutive batches of rows of ``X`` (bounded memory)."""
    for start in range(0, len(X), batch_size):
        yield start, _tensor(X[start:start + batch_size])


def _tensor(rows: np.ndarray):
    """A float32 CPU tensor of ``rows``; read-only memory-mapped rows are copied once."""
    import torch

    a = np.ascontiguousarray(rows, dtype=np.float32)
    if not a.flags.writeable:
        a = a.copy()
    return torch.from_numpy(a)


@dataclass
class FeatureSpec:
    """Which features a classifier sees: hidden layers and optional window aggregation."""

    layers: str = "all"
    aggregate: bool = True
    window_seconds: float = 5.0
    hop_seconds: float = 2.5

    @property
    def name(self) -> str:
        return f"layer-{self.layers}_{'agg' if self.aggregate else 'frames'}"

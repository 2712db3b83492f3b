"""The paper's feature learner: standardiser + MLP, trained by SGD (± dropout) or Hessian-Free.

>>> learner = MLPLearner(hidden=(500, 500, 500), dropout=0.25).fit(train_frames, valid_frames)  # doctest: +SKIP
>>> feats = learner.transform(test_frames, layers="all")        # FrameSet of activations  # doctest: +SKIP

The standardiser is fit on the training frames only and lives inside the network, so that a
saved learner turns raw frames of any track into hidden activations. Feature layers are the
hidden layers, named ``"1"``…``"n"`` (the paper: three).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mirlearn.errors import MirlearnError
from mirlearn.features.frameset import FrameSet
from mirlearn.learners.base import Learner, feature_matrix, row_batches, sample_rows
from mirlearn.learners.layers import LayerSpec

__all__ = ["MLPLearner"]

#: Version of the saved file; bumped when what a saved learner means changes.
SAVE_FORMAT = 1


class MLPLearner(Learner):
    """Standardiser + MLP trained on labelled frames; hidden activations as features.

    Parameters
    ----------
    hidden : widths of the hidden layers (the paper: three of 50 or 500)
    activation : ``"relu"``, ``"sigmoid"`` or ``"maxout"`` (every hidden unit the max of
        ``maxout_pieces`` linear pieces; ``hidden`` counts units, so the features keep those widths)
    maxout_pieces : pieces per maxout unit, >= 2 (``None``: 2); only with ``"maxout"``
    dropout : dropout rate on every hidden layer (0.25 in the paper's dropout nets)
    input_dropout : dropout rate on the input frames (off in the paper)
    optimizer : ``"sgd"`` (minibatch SGD), ``"adagrad"`` (AdaGrad on the same minibatches) or
        ``"hf"`` (Hessian-Free)
    loss : ``"softmax"`` (cross-entropy) or ``"sigmoid"`` (binary cross-entropy per output)
    lr, batch_size, max_epochs, patience : SGD settings; for HF, ``max_epochs`` caps HF steps
    init_damping, max_cg_iters, curvature_fraction : Hessian-Free settings
    adagrad_initial_accumulator, adagrad_eps : AdaGrad's start value of the squared-gradient
        sums and the term added to their root (``None``: torch's 0 and 1e-10)
    max_train_frames : optional seeded subsample of the training frames (a named reduction)
    frames_per_epoch : SGD only: train each epoch on a fresh sample of this many training
        frames instead of all of them (a named reduction; ``None`` = all)
    max_valid_frames : optional seeded subsample of the validation frames that early stopping
        watches (a named reduction)
    augment : SGD only: per-batch augmentation of the raw training frames (the fields of
        :class:`mirlearn.nn.batch_augment.BatchAugment`: gain, frequency masks, mixup), or None
    task : ``None`` / ``"label"``: one softmax over the classes; ``"tags"``: one sigmoid output
        per tag of the training tracks, binary cross-entropy (auto-tagging; SGD only)
    pretrain : unsupervised greedy layer-wise pre-training of the hidden layers before the
        supervised training (the fields of :class:`mirlearn.nn.pretrain.settings.PretrainSettings`:
        ``method`` ``"rbm"`` (a DBN; sigmoid nets) or ``"dae"``, ``epochs``, ``lr``…), on every
        training frame; ``None``: none
    label_fraction : Hamel's question (few labels): the share (0, 1] of the training tracks, and
        of the validation tracks, whose labels the supervised training and early stopping use
        (seeded by ``seed``, stratified, whole tracks, at least one per class); the standardiser
        and pre-training still use every training frame. ``None``: every label
    seed : seeds initialisation, shuffling and subsampling
    device : ``"cpu"`` or ``"cuda"``
    run_dir : folder for the training log and checkpoints; a rerun resumes from them
    progress : show progress bars

    Attributes
    ----------
    net_ : FeatureNet — standardiser + trained MLP
    classes_ : list of class names (tag names for task ``"tags"``), in output order
    train_result_ : what the trainer reported (best epoch, losses, history, seconds)
    pretrain_results_ : one TrainResult per hidden layer's pre-training (``[]`` without)
    """

    kind = "mlp"

    def __init__(
        self,
        *,
        hidden: Sequence[int] = (500, 500, 500),
        activation: str = "relu",
        maxout_pieces: int | None = None,
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
        adagrad_initial_accumulator: float | None = None,
        adagrad_eps: float | None = None,
        max_train_frames: int | None = None,
        frames_per_epoch: int | None = None,
        max_valid_frames: int | None = None,
        augment: dict[str, Any] | None = None,
        task: str | None = None,
        pretrain: dict[str, Any] | None = None,
        label_fraction: float | None = None,
        seed: int = 0,
        device: str = "cpu",
        run_dir: str | Path | None = None,
        progress: bool = True,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.maxout_pieces = maxout_pieces
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
        self.adagrad_initial_accumulator = adagrad_initial_accumulator
        self.adagrad_eps = adagrad_eps
        self.max_train_frames = max_train_frames
        self.frames_per_epoch = frames_per_epoch
        self.max_valid_frames = max_valid_frames
        self.augment = augment
        self.task = task
        self.pretrain = pretrain
        self.label_fraction = label_fraction
        self.seed = seed
        self.device = device
        self.run_dir = run_dir
        self.progress = progress

    @classmethod
    def from_config(cls, cfg: Any, **kwargs: Any) -> "MLPLearner":
        """Build from a :class:`mirlearn.config.Config`; ``kwargs`` override (e.g. run_dir)."""
        from mirlearn.nn.mlp import DEFAULT_MAXOUT_PIECES

        n, t = cfg.network, cfg.training
        params = dict(
            hidden=tuple(n.hidden), activation=n.activation, dropout=n.dropout, input_dropout=n.input_dropout,
            optimizer=t.optimizer, loss=t.loss, lr=t.lr, batch_size=t.batch_size, max_epochs=t.max_epochs,
            patience=t.patience, init_damping=t.init_damping, max_cg_iters=t.max_cg_iters,
            curvature_fraction=t.curvature_fraction, max_train_frames=t.max_train_frames,
            frames_per_epoch=t.frames_per_epoch, max_valid_frames=t.max_valid_frames, seed=t.seed,
        )
        if n.activation == "maxout":  # k recorded as a number, so that unset and 2 are one learner
            params["maxout_pieces"] = getattr(n, "maxout_pieces", None) or DEFAULT_MAXOUT_PIECES
        for key in ("adagrad_initial_accumulator", "adagrad_eps"):  # unset: absent, as before AdaGrad
            if getattr(t, key, None) is not None:
                params[key] = getattr(t, key)
        augment = cfg.augment.batch() if hasattr(cfg, "augment") else None
        if augment is not None:
            params["augment"] = augment
        if getattr(t, "task", "label") != "label":
            params["task"] = t.task
        pretrain = getattr(cfg, "pretrain", None)
        if pretrain is not None and pretrain.enabled:  # off: absent, as before pre-training
            params["pretrain"] = pretrain.to_dict()
        if getattr(t, "label_fraction", None) is not None:  # 1 is saved as unset (base.SAME_AS_UNSET)
            params["label_fraction"] = t.label_fraction
        params.update(kwargs)
        return cls(**params)

    @classmethod
    def layer_names_for(cls, params: dict[str, Any]) -> list[str]:
        return [str(k) for k in range(1, len(params["hidden"]) + 1)]

    @property
    def output_loss(self) -> str:
        """The loss (and output non-linearity) trained: ``loss``, or ``'sigmoid'`` for tags."""
        return "sigmoid" if self.multilabel else self.loss

    # -- training -------------------------------------------------------------------------
    def fit(self, train: FrameSet, valid: FrameSet) -> "MLPLearner":
        """Fit the standardiser on ``train`` frames and train the network.

        Parameters
        ----------
        train, valid : FrameSet of raw frames ``(n_frames, n_in)`` with their tracks;
            ``valid`` drives early stopping. Their TrackTables must share ``classes``. With
            ``label_fraction``, only the labelled share of their tracks trains and stops the net.
        """
        import torch

        from mirlearn.features.standardize import Standardizer
        from mirlearn.learners.pretraining import check_options, labelled_frames, pretrain_net, unlabelled_rows
        from mirlearn.nn.featurenet import FeatureNet
        from mirlearn.nn.mlp import MLP

        pretraining = check_options(self.pretrain, self.label_fraction, activation=self.activation,
                                    multilabel=self.multilabel)
        self.classes_ = self.output_names(train, valid)
        labelled = [labelled_frames(fs, self.label_fraction, self.seed) for fs in (train, valid)]
        frame_targets = [np.repeat(self.track_targets(fs.tracks), fs.lengths, axis=0) for fs in labelled]
        X_train, y_train = sample_rows(labelled[0].X, frame_targets[0], self.max_train_frames, self.seed)
        # Its own random stream, so capping the validation set never moves the training sample.
        X_valid, y_valid = sample_rows(labelled[1].X, frame_targets[1], self.max_valid_frames, [self.seed, 1])
        # Frames without their labels (the standardiser, pre-training): every training frame.
        X_all = X_train if labelled[0] is train else unlabelled_rows(train.X, self.max_train_frames, self.seed)
        std = Standardizer().fit(X_all)
        torch.manual_seed(self.seed)
        mlp = MLP(n_in=train.dim, hidden=tuple(self.hidden), n_out=len(self.classes_),
                  activation=self.activation, dropout=self.dropout, input_dropout=self.input_dropout,
                  maxout_pieces=self.maxout_pieces)
        self.net_ = FeatureNet(mlp, std.mean_, std.scale_)
        run_dir = Path(self.run_dir) if self.run_dir is not None else None
        self.pretrain_results_ = []
        if pretraining is not None:
            X_all_valid = X_valid if labelled[1] is valid else \
                unlabelled_rows(valid.X, self.max_valid_frames, [self.seed, 1])
            self.pretrain_results_ = pretrain_net(self.net_, X_all, X_all_valid, pretraining, seed=self.seed,
                                                  device=self.device, run_dir=run_dir, progress=self.progress)
        if self.optimizer in ("sgd", "adagrad"):
            from mirlearn.nn.train import TrainConfig, train_sgd

            tc = TrainConfig(lr=self.lr, batch_size=self.batch_size, max_epochs=self.max_epochs,
                             patience=self.patience, seed=self.seed, device=self.device, loss=self.output_loss,
                             frames_per_epoch=self.frames_per_epoch, augment=self.augment,
                             optimizer=self.optimizer, adagrad_initial_accumulator=self.adagrad_initial_accumulator,
                             adagrad_eps=self.adagrad_eps)
            self.train_result_ = train_sgd(self.net_, X_train, y_train, X_valid, y_valid, tc,
                                           run_dir=run_dir, progress=self.progress,
                                           representation=getattr(train.time_base, "kind", None) or "fft")
        elif self.optimizer == "hf":
            from mirlearn.nn.train import HFConfig, train_hf

            if self.augment is not None:
                raise MirlearnError("per-batch augmentation trains with optimizer 'sgd'; Hessian-Free takes whole "
                                    "chunks of frames (use the offline copies)")
            if self.multilabel:
                raise MirlearnError("task 'tags' trains with optimizer 'sgd'; Hessian-Free here learns classes")

            hc = HFConfig(loss=self.loss, init_damping=self.init_damping, max_cg_iters=self.max_cg_iters,
                          max_steps=self.max_epochs, n_chunks=max(1, round(1 / self.curvature_fraction)),
                          seed=self.seed, patience=self.patience or None, device=self.device)
            self.train_result_ = train_hf(self.net_, X_train, y_train, X_valid, y_valid, hc,
                                          run_dir=run_dir, progress=self.progress)
        else:
            raise MirlearnError(f"unknown optimizer {self.optimizer!r}: use 'sgd', 'adagrad' or 'hf'")
        self.net_.to("cpu").eval()
        return self

    def randomized(self, seed: int = 0) -> "MLPLearner":
        """See :meth:`Learner.randomized`: the MLP's default initialisation, the standardiser kept."""
        import copy

        import torch

        from mirlearn.nn.featurenet import FeatureNet
        from mirlearn.nn.mlp import MLP

        self._check_fitted()
        out = copy.copy(self)
        torch.manual_seed(int(seed))
        mlp = MLP.from_config(self.net_.mlp.config())
        net = FeatureNet(mlp, np.zeros(1, np.float32), np.ones(1, np.float32))
        net.mean, net.inv_scale = self.net_.mean.clone(), self.net_.inv_scale.clone()
        out.net_ = net.eval()
        out.train_result_ = None
        out.seed = int(seed)
        return out

    def training_summary(self) -> str:
        """One line on how training ended (best epoch or HF step, validation loss and accuracy),
        after one on pre-training when there was some."""
        text = self.train_result_.summary()
        if getattr(self, "pretrain_results_", None):
            from mirlearn.nn.pretrain.stack import pretrain_summary

            text = f"{pretrain_summary(self.pretrain['method'], self.pretrain_results_)}; then {text}"
        return text

    # -- features -------------------------------------------------------------------------
    @property
    def widths_(self) -> list[int]:
        """Widths of the hidden layers, in order."""
        return list(self.net_.mlp.config()["hidden"])

    @property
    def feature_layers_(self) -> dict[str, int]:
        return {str(k + 1): w for k, w in enumerate(self.widths_)}

    def transform(self, frames: FrameSet, *, layers: LayerSpec = "all", batch_size: int = 8192,
                  out: str | Path | None = None) -> FrameSet:
        """Hidden activations of every frame.

        Parameters
        ----------
        frames : FrameSet of raw frames ``(n_frames, n_in)``
        layers : ``1``, ``2``, ``3``, ``"all"`` or a sequence of layer names (concatenated)
        batch_size : rows per forward pass (bounds memory)
        out : when given, the features are written to this raw float32 file (``.npy``: NumPy
            format) and returned as a read-only memory map (the all-layer features of GTZAN
            are ≈ 7.7 GB)

        Returns
        -------
        FrameSet with ``X`` of shape ``(n_frames, sum of the chosen widths)``, float32
        """
        self._check_fitted()
        sel = tuple(int(n) for n in self.select(layers))
        dim = int(sum(self.widths_[k - 1] for k in sel))
        Y = feature_matrix(len(frames.X), dim, lambda Y: self._fill(frames.X, Y, sel, batch_size), out)
        return frames.with_rows(Y, kind="features")

    def _fill(self, X: np.ndarray, Y: np.ndarray, layers: tuple[int, ...], batch_size: int) -> None:
        import torch

        from mirlearn.nn.fastmath import fast_cpu_matmul
        from mirlearn.nn.train.loop import require_device

        device = require_device(self.device or "cpu")  # one line where CUDA is absent
        net = self.net_.to(device).eval()
        with torch.inference_mode(), fast_cpu_matmul(device):
            for start, xb in row_batches(X, batch_size):
                Y[start:start + len(xb)] = net.hidden(xb.to(device), layers).cpu().numpy()

    def predict_proba(self, frames: FrameSet, batch_size: int = 8192) -> np.ndarray:
        """The network's own class probabilities per frame, ``(n_frames, n_classes)``."""
        import torch

        from mirlearn.nn.train.loop import require_device

        self._check_fitted()
        device = require_device(self.device or "cpu")  # one line where CUDA is absent
        net = self.net_.to(device).eval()
        out = []
        with torch.inference_mode():
            for _, xb in row_batches(frames.X, batch_size):
                z = net(xb.to(device))
                p = torch.sigmoid(z) if self.output_loss == "sigmoid" else torch.softmax(z, dim=1)
                out.append(p.cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)), np.float32)

    #: The name this method had before the learners family (kept for existing callers).
    predict_frames = predict_proba

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``featurenet.pt`` (weights, standardiser, classes, parameters) atomically."""
        import torch

        from mirlearn.io import atomic_path

        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        blob = {"format": SAVE_FORMAT, "kind": self.kind, "config": self.net_.config(),
                "state_dict": self.net_.state_dict(), "classes": self.classes_, "params": self.saved_params()}
        with atomic_path(path / "featurenet.pt") as tmp:
            torch.save(blob, tmp)
        return path / "featurenet.pt"

    @classmethod
    def load(cls, path: str | Path) -> "MLPLearner":
        """Load a learner written by :meth:`save` (a folder holding ``featurenet.pt``, or the file)."""
        import torch

        path = Path(path)
        f = path / "featurenet.pt" if path.is_dir() else path
        if not f.is_file():
            raise MirlearnError(f"no trained network at {f}")
        return cls.from_saved(torch.load(f, map_location="cpu", weights_only=False))

    @classmethod
    def from_saved(cls, blob: dict[str, Any]) -> "MLPLearner":
        """The learner of a blob that :meth:`save` wrote (already read from disk)."""
        from mirlearn.nn.featurenet import FeatureNet

        params = dict(blob["params"])
        params["hidden"] = tuple(params["hidden"])
        for key in ("device", "run_dir", "progress"):
            params.pop(key, None)
        self = cls(**params, progress=False)
        self.net_ = FeatureNet.from_config(blob["config"])
        self.net_.load_state_dict(blob["state_dict"])
        self.net_.eval()
        self.classes_ = list(blob["classes"])
        return self

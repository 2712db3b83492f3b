"""Training: one epoch loop for every optimiser (SGD and Hessian-Free).

================  =================================================================
:mod:`.loop`      :func:`train_loop`, :class:`TrainResult`, the :class:`EpochRunner` protocol
:mod:`.sgd`       :class:`TrainConfig`, :class:`SGDEpochs`, :func:`train_sgd`
:mod:`.evaluate`  :func:`loss_fn`, :func:`evaluate`
:mod:`.checkpoint` ``checkpoint.pt``: :func:`save_checkpoint`, :func:`load_checkpoint`,
                  :func:`data_fingerprint`, :func:`check_resumable`
:mod:`.log`       ``train_log.csv``: :data:`LOG_COLUMNS`, :func:`write_log`
:mod:`.hf`        :class:`HFConfig`, :class:`HFSteps` (one Hessian-Free step per epoch),
                  :func:`train_hf`
:mod:`.seeds`     :func:`derive_seed`
:mod:`.patches`   :class:`PatchTrainConfig`, :class:`PatchEpochs` (CNNs on random patches),
                  :func:`train_patches`, :func:`predict_patches`, :func:`patch_features`
================  =================================================================

Both entry points, :func:`train_sgd` and :func:`train_hf`, return a :class:`TrainResult`.
"""

from mirlearn.nn.train.checkpoint import (CHECKPOINT_NAME, check_resumable, data_fingerprint, load_checkpoint,
                                          save_checkpoint)
from mirlearn.nn.train.evaluate import LOSSES, evaluate, loss_fn
from mirlearn.nn.train.hf import HFConfig, HFSteps, train_hf
from mirlearn.nn.train.log import LOG_COLUMNS, LOG_NAME, write_log
from mirlearn.nn.train.loop import RESULT_NAME, EpochRunner, LoopSettings, TrainResult, train_loop
from mirlearn.nn.train.patches import PatchEpochs, PatchTrainConfig, patch_features, predict_patches, train_patches
from mirlearn.nn.train.seeds import derive_seed
from mirlearn.nn.train.sgd import SGDEpochs, TrainConfig, train_sgd

__all__ = [
    "CHECKPOINT_NAME",
    "LOG_COLUMNS",
    "LOG_NAME",
    "LOSSES",
    "RESULT_NAME",
    "EpochRunner",
    "HFConfig",
    "HFSteps",
    "LoopSettings",
    "PatchEpochs",
    "PatchTrainConfig",
    "SGDEpochs",
    "TrainConfig",
    "TrainResult",
    "check_resumable",
    "data_fingerprint",
    "derive_seed",
    "evaluate",
    "load_checkpoint",
    "loss_fn",
    "patch_features",
    "predict_patches",
    "save_checkpoint",
    "train_hf",
    "train_loop",
    "train_patches",
    "train_sgd",
    "write_log",
]

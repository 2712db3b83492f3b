"""Old home of the Hessian-Free trainer, now :mod:`mirlearn.nn.train.hf` (an epoch runner of the
one training loop). Kept so that ``from mirlearn.nn.hf.trainer import ...`` still works.
"""

from mirlearn.nn.train.hf import HF_FIELDS, HFConfig, HFResult, HFSteps, train_hf

__all__ = ["HF_FIELDS", "HFConfig", "HFResult", "HFSteps", "train_hf"]

"""Where the CUDA tests run (``tests/nn/test_cuda.py``, ``tests/learners/test_cuda_learners.py``).

They run on the first CUDA device when torch has one and are skipped otherwise. With
``MIRLEARN_CUDA_TESTS=cpu`` their bodies run on the CPU instead: a dry run of the test code
on a machine without a GPU (the CPU-against-device comparisons then compare the CPU with
itself, and the tests of known CUDA bugs are not expected to fail). ``benchmarks/device_check.sh``
uses it in its CPU mode, so that the tests cannot rot unseen between the rare GPU runs.

Not a test module (pytest collects ``test_*.py`` only); imported as ``tests.cuda_support``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

import pytest
import torch

#: ``MIRLEARN_CUDA_TESTS=cpu``: run the CUDA tests' bodies on the CPU.
DRY_RUN = os.environ.get("MIRLEARN_CUDA_TESTS", "").strip().lower() == "cpu"
#: The device the CUDA tests train and predict on.
DEVICE = "cpu" if DRY_RUN else "cuda"
#: True when the tests really run on a GPU (the tests of known CUDA bugs expect failures only then).
ON_CUDA = not DRY_RUN and torch.cuda.is_available()

#: Marks a test that needs the device: skipped without CUDA (unless in a dry run).
needs_cuda = pytest.mark.skipif(not (DRY_RUN or torch.cuda.is_available()),
                                reason="no CUDA device (MIRLEARN_CUDA_TESTS=cpu runs these tests' code on the CPU)")


def known_cuda_bug(reason: str, raises: type[BaseException] | tuple[type[BaseException], ...] = Exception):
    """``xfail`` on a real CUDA device only (strict: the day the bug is fixed the test says so)."""
    return pytest.mark.xfail(ON_CUDA, reason=reason, raises=raises, strict=True)


@contextlib.contextmanager
def ieee_fp32() -> Iterator[None]:
    """Float32 matmuls and convolutions on CUDA in IEEE float32 inside the block (no TF32).

    TF32 keeps 10 bits of mantissa (relative error ~5e-4 per product, against ~6e-8 in
    float32); torch's defaults allow it for cuDNN convolutions (not for plain matmuls), so a
    CPU-against-CUDA comparison within float32 tolerances needs it off. Both switches are
    restored on exit (they are process-wide).
    """
    saved: list[tuple[Any, str, Any]] = []
    for holder in (torch.backends.cuda.matmul, getattr(torch.backends.cudnn, "conv", None)):
        if holder is not None and hasattr(holder, "fp32_precision"):
            saved.append((holder, "fp32_precision", holder.fp32_precision))
            holder.fp32_precision = "ieee"
    try:
        yield
    finally:
        for holder, name, value in reversed(saved):
            setattr(holder, name, value)


def tensors(tree: Any, path: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor in a nested dict / list / tuple (a checkpoint), with its path."""
    if isinstance(tree, torch.Tensor):
        yield path, tree
    elif isinstance(tree, dict):
        for k, v in tree.items():
            yield from tensors(v, f"{path}/{k}")
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from tensors(v, f"{path}/{i}")

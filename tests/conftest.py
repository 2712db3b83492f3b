"""Shared fixtures: a seeded RNG and the path of ../shared/data (tests skip when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# Keep tests on the CI machine's budget (2 cores) and deterministic.
os.environ.setdefault("OMP_NUM_THREADS", "2")

_REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MIRLEARN_SHARED_DATA", _REPO.parent / "shared" / "data"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20140504)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA

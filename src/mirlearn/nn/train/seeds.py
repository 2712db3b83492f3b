"""Independent random streams of one run, derived from its seed."""

from __future__ import annotations

import numpy as np

__all__ = ["derive_seed"]


def derive_seed(seed: int, *stream: int) -> int:
    """A 63-bit seed for the random stream ``stream`` of run seed ``seed``.

    Different streams (shuffling, dropout, the HF curvature subsample, ...) of one run, and the
    model's initialisation seeded with the bare ``seed``, are then independent.
    """
    return int(np.random.SeedSequence([int(seed), *map(int, stream)]).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))

"""The similarity-search benchmark runs end to end on tiny collections (no timing is checked)."""

from __future__ import annotations

import argparse

from benchmarks.bench_index import _numpy_search, run


def test_bench_index_rows_and_its_reference_agree(rng):
    section = run(argparse.Namespace(sizes=[50, 120], dim=8, queries=5, k=3, quick=False, vectors="lowrank"))
    ours = [r for r in section.rows if "one query" in r.what]
    assert len(ours) == 2 and all(r.reference is not None and r.unit == "ms" for r in ours)
    assert all("same neighbours as numpy: 1.000" in r.note for r in ours)
    X = rng.standard_normal((30, 4)).astype("float32")
    assert (_numpy_search(X, X[:3], 1)[:, 0] == [0, 1, 2]).all()

"""Similarity search: query time against collection size; run by hand.

    python -m benchmarks.bench_index [--sizes 1000 10000 100000] [--dim 400] [--vectors lowrank|gaussian]
                                     [--queries 100] [--k 10] [--quick]

Collections of track vectors (``--dim`` values, the shallow CNN's track vector is 400) of 1 k,
10 k and 100 k tracks: ``--vectors gaussian`` draws every value independently (the hardest case
for a graph index: no structure at all); ``--vectors lowrank`` (the default) draws them from 32
latent factors plus independent noise with 8 % of the variance, as learned features are
correlated: 32 principal components hold 91 % of the variance of the shallow CNN's standardised
400-value track vectors of the synthetic set's test tracks, 250 × 400). For each size, the median time of one batch of ``--queries``
queries (k nearest, cosine distance) through:

* **ours**: :meth:`mirlearn.similarity.index.TrackIndex.query` (standardise, scikit-learn's
  brute-force ``NearestNeighbors``), the time per query;
* **reference**: what a user writes with numpy: L2-normalise, one matrix product, ``argpartition``
  (the same exact answer);
* **FAISS** when ``faiss-cpu`` is installed: ``IndexFlatIP`` (exact) and ``IndexHNSWFlat``
  (approximate, searched with ``efSearch`` 16 and 128; its recall@k against the exact answer is
  reported), the candidates for large collections.

Building time (standardising and fitting, or adding to the FAISS index) and the memory of the
vectors are reported too. Every figure is measured in the same run as its reference.
"""

from __future__ import annotations

import argparse
import time
from typing import Sequence

import numpy as np

from benchmarks.common import RESULTS, Section, load_average, median_time

SIZES = (1000, 10_000, 100_000)


def _numpy_search(X: np.ndarray, Q: np.ndarray, k: int) -> np.ndarray:
    Xn = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    Qn = Q / np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12)
    S = Qn @ Xn.T
    part = np.argpartition(-S, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(S, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def _vectors(rng: np.random.Generator, n: int, dim: int, kind: str) -> np.ndarray:
    if kind == "gaussian":
        return rng.standard_normal((n, dim)).astype(np.float32)
    mixing = rng.standard_normal((32, dim))
    return (rng.standard_normal((n, 32)) @ mixing + 0.3 * np.sqrt(32) * rng.standard_normal((n, dim))
            ).astype(np.float32)


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact)]))


def run(args: argparse.Namespace) -> Section:
    """Measure every size; return the section."""
    from mirlearn.similarity.index import TrackIndex

    sizes: Sequence[int] = (1000, 5000) if getattr(args, "quick", False) else tuple(args.sizes)
    dim, n_q, k = int(args.dim), int(args.queries), int(args.k)
    kind = getattr(args, "vectors", "lowrank")
    section = Section(name="index", title="Similarity search: query time against collection size",
                      command=f"python -m benchmarks.bench_index --sizes {' '.join(map(str, sizes))} --dim {dim} "
                              f"--vectors {kind} --queries {n_q} --k {k}")
    section.load_before = load_average()
    t_start = time.perf_counter()
    try:
        import faiss  # type: ignore[import-not-found]
    except ImportError:
        faiss = None
        section.notes.append("faiss-cpu is not installed: its rows are left out (`pip install faiss-cpu`).")
    rng = np.random.default_rng(0)
    for n in sizes:
        X = _vectors(rng, n, dim, kind)
        Q = X[rng.choice(n, n_q, replace=False)] + 0.1 * X.std() * rng.standard_normal((n_q, dim)).astype(np.float32)
        t0 = time.perf_counter()
        index = TrackIndex(X, [str(i) for i in range(n)], [""] * n, ["x"] * n, [None] * n, metric="cosine")
        index.query(Q[:1], k=k)  # fits the neighbour search
        build = time.perf_counter() - t0
        ours = median_time(lambda: index.query(Q, k=k), repeats=3)
        Z, Zq = index.standardized(), index.standardized(Q)
        ref = median_time(lambda: _numpy_search(Z, Zq, k), repeats=3)
        exact = _numpy_search(Z, Zq, k)
        same = _recall(index.query(Q, k=k)[0], exact)
        section.add(f"{n:,} {kind} tracks × {dim}: one query, k={k} (build {build:.2f} s, vectors "
                    f"{X.nbytes / 2**20:.0f} MiB)", 1e3 * ours / n_q, "ms", 1e3 * ref / n_q,
                    "numpy matmul + argpartition", better="lower", note=f"same neighbours as numpy: {same:.3f}")
        if faiss is not None:
            Zn = Z / np.linalg.norm(Z, axis=1, keepdims=True)
            Qn = Zq / np.linalg.norm(Zq, axis=1, keepdims=True)
            flat = faiss.IndexFlatIP(dim)
            flat.add(Zn)
            t_flat = median_time(lambda: flat.search(Qn, k), repeats=3)
            section.add(f"{n:,} tracks: FAISS IndexFlatIP (exact)", 1e3 * t_flat / n_q, "ms", 1e3 * ours / n_q,
                        "ours (scikit-learn brute force)", better="lower")
            t0 = time.perf_counter()
            hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            hnsw.add(Zn)
            t_build = time.perf_counter() - t0
            for ef in (16, 128):
                hnsw.hnsw.efSearch = ef
                t_hnsw = median_time(lambda: hnsw.search(Qn, k), repeats=3)
                rec = _recall(hnsw.search(Qn, k)[1], exact)
                section.add(f"{n:,} tracks: FAISS HNSW (M=32, efSearch {ef}; build {t_build:.1f} s)",
                            1e3 * t_hnsw / n_q, "ms", 1e3 * ours / n_q, "ours (scikit-learn brute force)",
                            better="lower", note=f"recall@{k} {rec:.3f}")
    section.seconds = time.perf_counter() - t_start
    section.load_after = load_average()
    return section


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="collection sizes (tracks)")
    ap.add_argument("--dim", type=int, default=400, help="values per track vector")
    ap.add_argument("--vectors", choices=("lowrank", "gaussian"), default="lowrank",
                    help="32 latent factors + noise (like learned features), or independent values")
    ap.add_argument("--queries", type=int, default=100, help="queries per batch")
    ap.add_argument("--k", type=int, default=10, help="neighbours per query")
    ap.add_argument("--quick", action="store_true", help="1 k and 5 k tracks only (a smoke test)")
    ap.add_argument("--out", default=str(RESULTS), help="where index.json / .md go")
    args = ap.parse_args(argv)
    section = run(args)
    print(section.to_markdown(), flush=True)
    from pathlib import Path

    section.save(Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Random-forest stage: fit / predict cost and accuracy of the forest on learned features; run by hand.

    python -m benchmarks.bench_forest [--data musicspeech|synthetic] [--cache DIR] [--budget 300]
                                      [--n-jobs 2] [--trees 100] [--quick] [--minutes M] [--out DIR]

The features are real learned features, the paper's (Sigtia & Dixon 2014): the hidden
activations of a 513-500-500-500 ReLU + dropout net (packaged config
``sigtia2014-relu-dropout-500``, trained for ``--epochs`` epochs only: the forest's cost does not
depend on how well the net is trained) on the |FFT| frames of

* ``musicspeech`` (default): the GTZAN music/speech collection (``../shared/data/music_speech``,
  128 clips of 30 s, 2 classes), split 0 of ``make_splits(seed=0)`` (the split of
  ``mirlearn reproduce``): ≈ 124 000 training frames (train + valid tracks) and 32 test tracks;
* ``synthetic``: the package's synthetic collection (:mod:`mirlearn.datasets.synthetic`, 10
  classes, ``--synth-clips`` clips of 10 s per class; small), so the multiclass case is covered.

They are computed once (:func:`prepare_features`) into ``--cache`` (default
``$MIRLEARN_HOME/bench_forest/<data>``) as ``fit_X.npy`` [n × 1500, float32, columns = the three
layers], ``fit_y.npy``, ``fit_off.npy`` (track offsets) and the same ``test_*`` files; a folder
that already holds these files is used as it is.

Every forest is fitted and scored in its own (spawned) process, so that a fit can be stopped
once it is over ``--budget`` seconds of an idle machine, counted as ``n_jobs ×`` as many CPU
seconds of that process (read from /proc: other work on a shared machine does not use it up);
the reference, scikit-learn's full bootstrap on all frames, gets 3 ×. Settings of one chain
(e.g. growing training sets, or one histogram forest on 12 500 frames then on all) run from
small to large; once one fit is over budget, or the last one extrapolates past it, the larger
ones are skipped and that is printed. ``--minutes`` stops starting new fits; the section is
saved after every fit. For every forest: fit wall and CPU seconds (CPU time is what other work
on a shared machine barely changes), predict seconds over the test frames, frame accuracy,
and track accuracy by majority vote (:func:`mirlearn.classify.voting.vote`).

1. **scale** — scikit-learn ``RandomForestClassifier`` (100 trees, ``max_features="sqrt"``,
   ``min_samples_leaf=5``, ``n_jobs=2``) through :class:`~mirlearn.classify.TrackForestClassifier`
   on 12 500 / 25 000 / 50 000 / 100 000 training frames (``max_train_frames``: seeded, equal
   share per track) and feature widths 500 (layer 1) and 1500 (all layers). Reference: the same
   forest on the smallest training set (the ratio is the growth of cost).
2. **subsample** (1500 dims) — (a) full bootstrap on all frames (the paper's setting and the
   reference of sections 2 and 3), (b) ``max_samples`` = 5 k / 10 k / 20 k / 25 k / 40 k
   bootstrap rows per tree on all frames, (c) ``max_train_frames`` = 25 k / 100 k for the whole
   forest with the full bootstrap.
3. **hist** (1500 dims, all frames) — histogram forests: LightGBM ``boosting_type="rf"``
   (bagging 0.632 per tree, ``min_child_samples=5``) and XGBoost ``XGBRFClassifier``
   (``tree_method="hist"``, subsample 0.632, leaf-wise to ``max_leaves``) with the feature
   sampling done per node (Breiman's forest: ``feature_fraction_bynode`` / ``colsample_bynode``
   = √d/d) or per tree (``colsample_bytree`` = √d/d: a random-subspace forest, which only
   builds histograms of the tree's √d features), and scikit-learn's ``ExtraTreesClassifier``.
   A library that is not installed is skipped (noted).

Caveats measured on the 2-core development machine: LightGBM preallocates one histogram per
leaf (``histogram_pool_size`` caps it; ``num_leaves=100000`` was OOM-killed) and builds the
histograms of every feature the tree may use, so per-node sampling costs as much as no sampling;
OpenMP libraries (LightGBM, XGBoost) synchronise threads at every split and slow down far more
than scikit-learn's tree-parallel forest when other processes hold the cores.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing as mp
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from benchmarks.common import RESULTS, SHARED_DATA, Section, load_average, timed_section

DATA_CHOICES = ("musicspeech", "synthetic")
FILES = ("fit_X", "fit_y", "fit_off", "test_X", "test_y", "test_off")
SEED = 0
RF_DEFAULTS: dict[str, Any] = {"max_features": "sqrt", "min_samples_leaf": 5}
REFERENCE_CAP = 3.0  #: the reference fit may take this many budgets

#: The lead's earlier measurements (same features, 1500 dims, 100 trees, n_jobs 2; the 100 k
#: subsample there was uniform over frames, here it is stratified per track).
LEAD = {"rf-mtf100000": (112.6, 0.8086, 0.9062), "rf-ms25000": (32.4, 0.8055, 0.9062),
        "rf-ms10000": (11.3, 0.8064, 0.9062)}


# -- features ----------------------------------------------------------------------------------

def default_cache(data: str) -> Path:
    """``$MIRLEARN_HOME/bench_forest/<data>`` (``~/.cache/mirlearn/...`` by default)."""
    home = Path(os.environ.get("MIRLEARN_HOME", Path.home() / ".cache" / "mirlearn"))
    return home / "bench_forest" / data


def _have_features(cache: Path) -> bool:
    return all((cache / f"{name}.npy").is_file() for name in FILES)


def prepare_features(data: str, cache: Path, *, epochs: int = 4, synth_clips: int = 12,
                     synth_classes: int = 10, frames_cache: Path | None = None,
                     music_speech: Path = SHARED_DATA / "music_speech", verbose: bool = True) -> Path:
    """Learned features of the fit (train + valid) and test tracks, computed once into ``cache``.

    The net is the packaged ``sigtia2014-relu-dropout-500`` (513-500-500-500 ReLU + dropout)
    trained for ``epochs`` epochs on split 0 of ``make_splits(tracks, seed=0)``; the features are
    its three hidden layers (``layers="all"``) of every frame. A ``cache`` that already holds
    the six ``.npy`` files is returned untouched.

    Returns
    -------
    Path
        ``cache``, holding ``{fit,test}_{X,y,off}.npy`` and ``meta.json``.
    """
    cache = Path(cache)
    if _have_features(cache):
        return cache
    import torch

    from mirlearn.config import load_config
    from mirlearn.datasets import load_dataset
    from mirlearn.datasets.splits import make_splits
    from mirlearn.features.cache import extract_frames
    from mirlearn.features.settings import FrameSettings
    from mirlearn.learners import MLPLearner

    torch.set_num_threads(2)
    t0 = time.perf_counter()
    cache.mkdir(parents=True, exist_ok=True)
    frames_cache = Path(frames_cache) if frames_cache else cache.parent / "frames"
    if data == "musicspeech":
        if not music_speech.is_dir():
            raise SystemExit(f"{music_speech} not found: use --data synthetic, or --cache with prepared features")
        root = music_speech
    elif data == "synthetic":
        from mirlearn.datasets.synthetic import make_synthetic

        root = make_synthetic(cache / "audio", n_classes=synth_classes, clips_per_class=synth_clips,
                              seconds=10.0, seed=SEED, n_jobs=2)
    else:
        raise ValueError(f"unknown data {data!r}; choose one of {DATA_CHOICES}")
    tracks, _ = load_dataset(root)
    cfg = load_config("sigtia2014-relu-dropout-500", {"training": {"max_epochs": epochs}})
    f = cfg.frames
    fs = extract_frames(tracks, FrameSettings(sr=f.sr, n_fft=f.n_fft, hop_length=f.hop_length),
                        cache_dir=frames_cache, progress=False)
    split = make_splits(tracks, n_splits=1, seed=SEED)[0]
    learner = MLPLearner.from_config(cfg, progress=False).fit(fs.subset(split.train), fs.subset(split.valid))
    for name, ids in (("fit", list(split.train) + list(split.valid)), ("test", list(split.test))):
        feats = learner.transform(fs.subset(ids), layers="all")
        np.save(cache / f"{name}_X.npy", np.ascontiguousarray(feats.X, dtype=np.float32))
        np.save(cache / f"{name}_off.npy", feats.offsets)
        np.save(cache / f"{name}_y.npy", feats.frame_labels())
    meta = {"data": data, "root": str(root), "classes": list(tracks.classes), "epochs": epochs,
            "layer_widths": list(learner.widths_), "split": split.name, "net": learner.training_summary(),
            "seconds": time.perf_counter() - t0}
    (cache / "meta.json").write_text(json.dumps(meta, indent=1))
    if verbose:
        print(f"features prepared in {cache} ({meta['seconds']:.0f} s; net: {meta['net']})", flush=True)
    return cache


def _meta(cache: Path) -> dict[str, Any]:
    path = cache / "meta.json"
    meta = json.loads(path.read_text()) if path.is_file() else {}
    X = np.load(cache / "fit_X.npy", mmap_mode="r")
    y = np.load(cache / "fit_y.npy", mmap_mode="r")
    off = np.load(cache / "fit_off.npy")
    test_off = np.load(cache / "test_off.npy")
    dim = int(X.shape[1])
    widths = meta.get("layer_widths") or ([dim // 3] * 3 if dim % 3 == 0 else [dim])
    n_classes = len(meta["classes"]) if "classes" in meta else int(np.max(y)) + 1
    return {"n_fit": int(X.shape[0]), "dim": dim, "layer_widths": widths, "n_classes": n_classes,
            "n_fit_tracks": len(off) - 1, "n_test_tracks": len(test_off) - 1,
            "n_test": int(test_off[-1]), "net": meta.get("net", "")}


# -- one forest, measured in a child process ----------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """One forest to fit and score.

    ``family``: ``rf`` / ``et`` (scikit-learn through TrackForestClassifier), ``lgbm``, ``xgb``
    (plugged in as ``estimator=``); ``rows``: ``max_train_frames`` (None: all frames);
    ``max_samples``: bootstrap rows per tree (rf/et); ``params``: the estimator's own settings.
    """

    key: str
    label: str
    family: str
    width: int
    rows: int | None = None
    max_samples: int | None = None
    params: tuple[tuple[str, Any], ...] = ()
    chain: str = ""  #: settings of one chain run small to large; over budget skips the rest
    cap: float = 1.0  #: budgets this fit may take

    def size(self, n_fit: int) -> int:
        """Rows one tree is grown on (what the cost scales with)."""
        n = min(self.rows or n_fit, n_fit)
        return min(self.max_samples, n) if self.max_samples else n


def _tracks(y: np.ndarray, off: np.ndarray, n_classes: int) -> Any:
    from mirlearn.datasets.tracks import Track, TrackTable

    classes = [f"c{k:03d}" for k in range(n_classes)]
    labels = y[off[:-1]]
    return TrackTable([Track(f"t{i:05d}", Path("."), classes[int(c)]) for i, c in enumerate(labels)], classes)


def build_classifier(spec: Spec, n_jobs: int, n_features: int, n_estimators: int) -> Any:
    """The :class:`~mirlearn.classify.TrackForestClassifier` of ``spec``."""
    from mirlearn.classify.forest import TrackForestClassifier

    params = dict(spec.params)
    common = {"n_estimators": n_estimators, "max_train_frames": spec.rows, "n_jobs": n_jobs, "random_state": SEED}
    if spec.family in ("rf", "et"):
        return TrackForestClassifier(backend="random_forest" if spec.family == "rf" else "extra_trees",
                                     max_samples=spec.max_samples, **RF_DEFAULTS, **params, **common)
    sqrt_frac = math.sqrt(n_features) / n_features
    resolved = {k: (sqrt_frac if v == "sqrt" else sqrt_frac / params.get("colsample_bytree", 1.0) if v == "sqrt/tree"
                    else v) for k, v in params.items()}
    if spec.family == "lgbm":
        import lightgbm as lgb

        est = lgb.LGBMClassifier(boosting_type="rf", n_estimators=n_estimators, subsample=0.632, subsample_freq=1,
                                 min_child_samples=5, min_child_weight=0.0, reg_lambda=0.0, max_bin=255,
                                 n_jobs=n_jobs, random_state=SEED, verbose=-1, **resolved)
    elif spec.family == "xgb":
        import xgboost as xgb

        est = xgb.XGBRFClassifier(n_estimators=n_estimators, tree_method="hist", grow_policy="lossguide",
                                  max_depth=0, subsample=0.632, min_child_weight=1.0, reg_lambda=1e-5,
                                  max_bin=256, n_jobs=n_jobs, random_state=SEED, **resolved)
    else:
        raise ValueError(f"unknown family {spec.family!r}")
    return TrackForestClassifier(estimator=est, **{k: v for k, v in common.items() if k == "max_train_frames"},
                                 random_state=SEED)


def _child(conn: Any, cache: str, spec: dict[str, Any], n_jobs: int, n_estimators: int) -> None:
    """Load the features, then fit and score one forest, reporting each stage through ``conn``."""
    # OpenMP threads (LightGBM, XGBoost) sleep instead of spinning while they wait: on a machine
    # shared with other work, spinning burns the CPU time the budget is counted in.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        from mirlearn.classify.voting import vote
        from mirlearn.features.frameset import FrameSet

        spec_ = Spec(**{**spec, "params": tuple(tuple(p) for p in spec["params"])})
        root = Path(cache)
        sets = {}
        n_classes = int(max(np.max(np.load(root / "fit_y.npy", mmap_mode="r")),
                            np.max(np.load(root / "test_y.npy", mmap_mode="r")))) + 1
        for part in ("fit", "test"):
            Xm = np.load(root / f"{part}_X.npy", mmap_mode="r")
            X = np.ascontiguousarray(Xm[:, :spec_.width], dtype=np.float32) if spec_.width < Xm.shape[1] \
                else np.array(Xm, dtype=np.float32, order="C")
            y = np.load(root / f"{part}_y.npy")
            off = np.load(root / f"{part}_off.npy")
            sets[part] = FrameSet(X, off, _tracks(y, off, n_classes))
        clf = build_classifier(spec_, n_jobs, spec_.width, n_estimators)
        conn.send(("loaded", None))
        w0, c0 = time.perf_counter(), time.process_time()
        clf.fit(sets["fit"])
        fit = {"fit_s": time.perf_counter() - w0, "fit_cpu_s": time.process_time() - c0,
               "n_train": int(clf.n_train_frames_)}
        conn.send(("fitted", fit))
        test = sets["test"]
        w0, c0 = time.perf_counter(), time.process_time()
        proba = clf.predict_frames(test)
        pred, _ = vote(proba, test.offsets, clf.n_classes_)
        fit.update(predict_s=time.perf_counter() - w0, predict_cpu_s=time.process_time() - c0)
        fit["frame_acc"] = float(np.mean(np.argmax(proba, axis=1) == test.frame_labels()))
        fit["track_acc"] = float(np.mean(pred == test.tracks.y))
        conn.send(("scored", fit))
    except BaseException:  # noqa: BLE001 - reported to the parent
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (all its threads), from /proc; None elsewhere."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _wait(conn: Any, proc: Any, timeout: float, cpu_limit: float | None = None,
          cpu0: float = 0.0) -> tuple[str, Any] | None:
    """The child's next message; None after ``timeout`` wall seconds or once the child has used
    ``cpu_limit`` CPU seconds beyond ``cpu0``; ``("error", ...)`` if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.poll(min(1.0, max(deadline - time.monotonic(), 0.01))):
            try:
                return conn.recv()
            except EOFError:
                return ("error", f"child exited with code {proc.exitcode}")
        if not proc.is_alive() and not conn.poll(0):
            return ("error", f"child exited with code {proc.exitcode}")
        if cpu_limit is not None:
            cpu = _cpu_seconds(proc.pid)
            if cpu is not None and cpu - cpu0 > cpu_limit:
                return None
    return None


def measure(spec: Spec, cache: Path, *, n_jobs: int, n_estimators: int, budget: float,
            wall_factor: float = 40.0) -> dict[str, Any]:
    """Fit and score ``spec`` in a spawned process, stopped once the fit is over budget.

    The budget is ``spec.cap × budget`` seconds of an idle machine: ``n_jobs ×`` that many CPU
    seconds of the child (read from /proc, so a machine shared with other work does not eat
    it), and at most ``wall_factor ×`` that many wall seconds (only wall seconds where /proc is
    missing).

    Returns
    -------
    dict
        ``status`` (``ok``, ``over budget``, ``error``), ``message`` and, when fitted, the
        figures ``fit_s``, ``fit_cpu_s``, ``predict_s``, ``predict_cpu_s``, ``frame_acc``,
        ``track_acc`` and ``n_train``.
    """
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    # Not a daemon: joblib (scikit-learn's n_jobs) runs serially inside daemonic processes.
    proc = ctx.Process(target=_child, args=(send, str(cache), asdict(spec), n_jobs, n_estimators))
    proc.start()
    send.close()
    out: dict[str, Any] = {"status": "error"}
    limit = spec.cap * budget
    try:
        msg = _wait(recv, proc, 1800.0)
        if msg is None or msg[0] != "loaded":
            out["message"] = msg[1] if msg else "loading the features took over 1800 s"
            return out
        cpu0 = _cpu_seconds(proc.pid)
        cpu_limit = None if cpu0 is None else limit * max(n_jobs, 1)
        w0 = time.perf_counter()
        msg = _wait(recv, proc, limit if cpu0 is None else wall_factor * limit, cpu_limit, cpu0 or 0.0)
        if msg is None:
            cpu = _cpu_seconds(proc.pid)
            used = f"{cpu - cpu0:.0f} CPU s, " if cpu is not None and cpu0 is not None else ""
            out.update(status="over budget", message=f"fit stopped after {used}{time.perf_counter() - w0:.0f} s "
                       f"(budget {limit:.0f} s × {max(n_jobs, 1)} CPUs)")
            return out
        if msg[0] != "fitted":
            out["message"] = msg[1]
            return out
        out.update(msg[1])
        msg = _wait(recv, proc, wall_factor * max(limit, 60.0))
        if msg is None or msg[0] != "scored":
            out["message"] = msg[1] if msg else "prediction took too long"
            return out
        out.update(msg[1], status="ok")
        return out
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join(10)
            if proc.is_alive():
                proc.kill()
        proc.join()
        recv.close()


# -- the settings --------------------------------------------------------------------------------

def _available(module: str) -> bool:
    try:
        __import__(module)
        return True
    except Exception:  # noqa: BLE001 - optional libraries
        return False


#: Histogram forests (and extremely randomised trees): (key, label, family, params).
HIST: tuple[tuple[str, str, str, tuple[tuple[str, Any], ...]], ...] = (
    ("et", "sklearn ExtraTrees (no bootstrap)", "et", ()),
    ("lgbm-tree", "LightGBM rf, colsample_bytree=√d/d (per-tree subspace), num_leaves 4096", "lgbm",
     (("colsample_bytree", "sqrt"), ("num_leaves", 4096), ("histogram_pool_size", 1024))),
    ("lgbm-mixed", "LightGBM rf, colsample_bytree=0.2 then bynode → √d per node, num_leaves 4096", "lgbm",
     (("colsample_bytree", 0.2), ("feature_fraction_bynode", "sqrt/tree"), ("num_leaves", 4096),
      ("histogram_pool_size", 1024))),
    ("xgb-tree", "XGBoost RF hist, colsample_bytree=√d/d (per-tree subspace), max_leaves 4096", "xgb",
     (("colsample_bytree", "sqrt"), ("colsample_bynode", 1.0), ("max_leaves", 4096))),
    ("lgbm-node", "LightGBM rf, feature_fraction_bynode=√d/d (Breiman), num_leaves 1024", "lgbm",
     (("feature_fraction_bynode", "sqrt"), ("num_leaves", 1024), ("histogram_pool_size", 1024))),
    ("xgb-node", "XGBoost RF hist, colsample_bynode=√d/d (Breiman), max_leaves 4096", "xgb",
     (("colsample_bynode", "sqrt"), ("max_leaves", 4096))),
)
LIBRARY = {"lgbm": "lightgbm", "xgb": "xgboost"}


def _rf_key(rows: int | None, width: int, dim: int) -> str:
    """One key per distinct full-bootstrap forest, so that the groups share their fits."""
    return ("rf-all" if rows is None else f"rf-mtf{rows}") + ("" if width == dim else f"-w{width}")


def _label_rows(n: int | None) -> str:
    return "all" if n is None else f"{n:,}".replace(",", " ")


@dataclass
class Plan:
    """What to measure, in the order to measure it, and how the table groups it."""

    order: list[Spec] = field(default_factory=list)
    table: list[tuple[str, Spec, str]] = field(default_factory=list)  #: (group, spec, reference key)
    reference: str = "rf-all"
    missing: list[str] = field(default_factory=list)


def make_plan(n_fit: int, dim: int, layer: int, *, quick: bool = False) -> Plan:
    """The settings of the three groups, ordered so that cheap and informative ones run first.

    The reference (full bootstrap on all frames) runs once the cheaper settings have shown
    what fits in the budget; histogram forests run on a small training set first and on all
    frames afterwards, each chain stopping at its first fit over budget.
    """
    small = 12_500
    rows_sweep = [small, 25_000] if quick else [small, 25_000, 50_000, 100_000]
    sample_sweep = [5_000, 10_000] if quick else [5_000, 10_000, 20_000, 25_000, 40_000]
    mtf_sweep = [25_000] if quick else [25_000, 100_000]

    def rows_of(n: int) -> int | None:
        return None if n >= n_fit else n

    plan = Plan(reference=_rf_key(None, dim, dim))
    ref = Spec(plan.reference, "RF full bootstrap, all frames", "rf", dim, chain="ref", cap=REFERENCE_CAP)
    scale: dict[int, list[Spec]] = {}
    for w in sorted({layer, dim}, reverse=True):
        seen: set[int | None] = set()
        for n in rows_sweep:
            r = rows_of(n)
            if r not in seen:
                seen.add(r)
                spec = ref if (r is None and w == dim) else \
                    Spec(_rf_key(r, w, dim), f"RF full bootstrap, {_label_rows(r)} frames, {w} dims", "rf", w,
                         rows=r, chain=f"scale-{w}")
                scale.setdefault(w, []).append(spec)
    sub = [Spec(f"rf-ms{m}", f"RF max_samples={_label_rows(m)} per tree, all frames", "rf", dim, max_samples=m,
                chain="ms") for m in sample_sweep if m < n_fit]
    mtf = [next((s for s in scale[dim] if s.rows == rows_of(m)), None)
           or Spec(_rf_key(rows_of(m), dim, dim), f"RF max_train_frames={_label_rows(m)}, full bootstrap", "rf", dim,
                   rows=rows_of(m), chain=f"scale-{dim}") for m in mtf_sweep if rows_of(m) is not None]
    hist_small, hist_all = [], []
    for key, label, family, params in HIST:
        if quick and key not in ("et", "lgbm-tree", "xgb-tree"):
            continue
        if family in LIBRARY and not _available(LIBRARY[family]):
            if LIBRARY[family] not in plan.missing:
                plan.missing.append(LIBRARY[family])
            continue
        if rows_of(small) is not None:
            hist_small.append(Spec(f"{key}-{small}", f"{label}, {_label_rows(small)} frames", family, dim,
                                   rows=small, params=params, chain=key))
        hist_all.append(Spec(f"{key}-all", f"{label}, all frames", family, dim, params=params, chain=key))
    et_ms = Spec("et-ms10000", "sklearn ExtraTrees, max_samples=10 000 per tree, all frames", "et", dim,
                 max_samples=10_000, chain="et-ms")

    small_rf = scale[dim][0]
    late_scale = [s for s in scale[dim][1:] if s.key != plan.reference]
    slow = [s for s in hist_small + hist_all if s.chain.endswith("-node")]  # per-node sampling: expected slow
    plan.order = sub + [small_rf] + late_scale[:1] + [s for s in hist_small if s not in slow] + [et_ms] \
        + late_scale[1:] + [ref] + [s for s in hist_all if s not in slow] \
        + [s for w, specs in scale.items() if w != dim for s in specs] + slow
    seen_keys: set[str] = set()
    plan.order = [s for s in plan.order if not (s.key in seen_keys or seen_keys.add(s.key))]

    for w, specs in scale.items():
        plan.table += [("scale", s, specs[0].key) for s in specs]
    plan.table += [("subsample", s, plan.reference) for s in [ref] + sub + mtf]
    plan.table += [("hist", s, small_rf.key) for s in hist_small]
    plan.table += [("hist", s, plan.reference) for s in hist_all + [et_ms]]
    return plan


# -- the benchmark ---------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> Section:
    """Measure the three groups of forests (see the module docstring) and return the section."""
    data = getattr(args, "data", "musicspeech")
    cache = Path(getattr(args, "cache", None) or default_cache(data))
    budget = float(getattr(args, "budget", 300.0))
    n_jobs = int(getattr(args, "n_jobs", 2))
    trees = int(getattr(args, "trees", 100))
    quick = bool(getattr(args, "quick", False))
    minutes = getattr(args, "minutes", None)
    deadline = time.monotonic() + 60.0 * float(minutes) if minutes else math.inf
    out_dir = Path(getattr(args, "out", None) or RESULTS)
    prepare_features(data, cache, epochs=int(getattr(args, "epochs", 4)),
                     synth_clips=int(getattr(args, "synth_clips", 12)))
    meta = _meta(cache)
    n_fit, dim = meta["n_fit"], meta["dim"]
    plan = make_plan(n_fit, dim, int(meta["layer_widths"][0]), quick=quick)

    section = Section(
        name="forest",
        title=f"Random forest on learned features ({data}): cost and accuracy",
        command=f"nice -n 19 python -m benchmarks.bench_forest --data {data} --budget {budget:g} --n-jobs {n_jobs}"
                + (f" --trees {trees}" if trees != 100 else "") + (" --quick" if quick else "")
                + (f" --minutes {minutes:g}" if minutes else ""))
    results: dict[str, dict[str, Any]] = {}
    log: list[dict[str, Any]] = []

    def fill(sec: Section) -> None:
        """(Re)build the rows and notes from the results so far."""
        sec.rows.clear()
        sec.notes[:] = [
            f"Features: {n_fit:,} training frames × {dim} dims ({meta['n_fit_tracks']} tracks), "
            f"{meta['n_test']:,} test frames ({meta['n_test_tracks']} tracks), {meta['n_classes']} classes"
            + (f"; net: {meta['net']}" if meta["net"] else "") + f". {trees} trees, n_jobs={n_jobs}, "
            f"min_samples_leaf 5 (LightGBM min_child_samples 5, XGBoost min_child_weight 1), √d features "
            f"per split unless said. Budget {budget:.0f} s per fit on an idle machine, counted as "
            f"{n_jobs} × that many CPU seconds ({REFERENCE_CAP:g}× for the reference).",
            "fit wall seconds on a shared machine mostly measure the other work; the CPU seconds "
            "(all threads of the forest's process) are the comparable figures."]
        if plan.missing:
            sec.notes.append(f"Not installed, skipped: {', '.join(plan.missing)}.")
        for group, spec, ref_key in plan.table:
            res = results.get(spec.key, {})
            rres = results.get(ref_key, {})
            rok = rres.get("status") == "ok" and ref_key != spec.key
            ref_name = next((s.label for s in plan.order if s.key == ref_key), ref_key)
            ref_name = "sklearn " + ref_name if not ref_name.startswith("sklearn") else ref_name
            head = f"{group}: {spec.label}"
            if res.get("status") != "ok":
                if res:
                    sec.notes.append(f"{head}: {res.get('status')} ({res.get('message', '')}).")
                continue
            lead = LEAD.get(spec.key) if data == "musicspeech" and dim == 1500 and trees == 100 else None
            lead_note = f"; the lead measured {lead[0]} s, frame {lead[1]:.4f}, track {lead[2]:.4f}" if lead else ""

            def ref(k: str) -> float | None:
                return rres.get(k) if rok else None

            sec.add(f"{head} — fit, wall", res["fit_s"], "s", ref("fit_s"), ref_name, "lower",
                    note=f"{res['n_train']:,} training frames, load {res.get('load', float('nan')):.1f}{lead_note}")
            sec.add(f"{head} — fit, CPU", res["fit_cpu_s"], "CPU s", ref("fit_cpu_s"), ref_name, "lower")
            sec.add(f"{head} — predict {meta['n_test']:,} frames, wall", res["predict_s"], "s", ref("predict_s"),
                    ref_name, "lower", note=f"CPU {res['predict_cpu_s']:.1f} s")
            sec.add(f"{head} — frame accuracy", res["frame_acc"], "", ref("frame_acc"), ref_name, "higher")
            sec.add(f"{head} — track accuracy (majority vote)", res["track_acc"], "", ref("track_acc"),
                    ref_name, "higher")
        sec.notes.append(_conclusion(results, plan.reference))

    def body(sec: Section) -> None:
        over: dict[str, str] = {}
        last: dict[str, tuple[int, float]] = {}
        for spec in plan.order:
            size = spec.size(n_fit)
            why = over.get(spec.chain)
            if why is None and time.monotonic() > deadline:
                why = f"not run: past --minutes {minutes}"
            if why is None and spec.chain in last:
                prev_size, prev_cpu = last[spec.chain]
                guess = prev_cpu * size / prev_size / max(n_jobs, 1)
                if guess > spec.cap * budget:
                    why = f"extrapolated fit {guess:.0f} s (idle machine) > budget {spec.cap * budget:.0f} s"
            if why is not None:
                results[spec.key] = {"status": "skipped", "message": why}
                print(f"[forest] skip {spec.label}: {why}", flush=True)
                continue
            load = load_average()[0]
            print(f"[forest] {spec.label} (load {load:.1f}) ...", flush=True)
            res = measure(spec, cache, n_jobs=n_jobs, n_estimators=trees, budget=budget)
            res["load"] = (load + load_average()[0]) / 2
            results[spec.key] = res
            log.append({"key": spec.key, "label": spec.label, "family": spec.family, "width": spec.width,
                        "rows": spec.rows, "max_samples": spec.max_samples, "params": dict(spec.params), **res})
            if res["status"] == "ok":
                print(f"[forest]   fit {res['fit_s']:.1f} s (CPU {res['fit_cpu_s']:.1f} s), predict "
                      f"{res['predict_s']:.1f} s, frame {res['frame_acc']:.4f}, track {res['track_acc']:.4f}",
                      flush=True)
                last[spec.chain] = (size, res["fit_cpu_s"])
            else:
                print(f"[forest]   {res['status']}: {res.get('message', '')}", flush=True)
                over[spec.chain] = f"{spec.label}: {res['status']}"
            fill(sec)  # keep what is measured so far on disk: a long run may be stopped
            sec.save(out_dir)
            _write_log(log, out_dir)
        fill(sec)

    return timed_section(section, body)


def _conclusion(results: dict[str, dict[str, Any]], reference: str) -> str:
    """Cheapest forests (CPU seconds) trained on all frames at the reference's accuracy: any
    design, and a scikit-learn random forest (Breiman's method: bootstrap, √d per node)."""
    ref = results.get(reference, {})
    if ref.get("status") != "ok":
        return "The reference (full bootstrap on all frames) has not finished: no conclusion."
    ok = {k: r for k, r in results.items() if r.get("status") == "ok" and "-w" not in k
          and r["n_train"] == ref["n_train"] and r["frame_acc"] >= ref["frame_acc"] - 0.01
          and r["track_acc"] >= ref["track_acc"] - 1e-9}

    def say(k: str) -> str:
        r = ok[k]
        return (f"{k}: {r['fit_cpu_s']:.0f} CPU s = {r['fit_cpu_s'] / ref['fit_cpu_s']:.2f}× the reference's "
                f"{ref['fit_cpu_s']:.0f} (frame {r['frame_acc']:.4f} vs {ref['frame_acc']:.4f}, track "
                f"{r['track_acc']:.4f} vs {ref['track_acc']:.4f})")

    best = min(ok, key=lambda k: ok[k]["fit_cpu_s"])
    rf = min((k for k in ok if k.startswith("rf-")), key=lambda k: ok[k]["fit_cpu_s"])
    text = ("Cheapest fit on all frames at the reference's accuracy (frame ≥ reference − 0.01, "
            f"track ≥ reference): {say(best)}")
    return text + (f"; cheapest random forest: {say(rf)}." if rf != best else ".")


def _write_log(log: list[dict[str, Any]], out_dir: Path) -> None:
    """Every measurement as one CSV row (``forest_runs.csv`` beside the section's files)."""
    if not log:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    keys: list[str] = []
    for row in log:
        keys += [k for k in row if k not in keys]
    with open(out_dir / "forest_runs.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows({k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in row.items()} for row in log)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", choices=DATA_CHOICES, default="musicspeech",
                    help="learned features of the music/speech collection (2 classes) or of the synthetic set "
                         "(10 classes)")
    ap.add_argument("--cache", type=Path, help="folder of the prepared features (default: "
                    "$MIRLEARN_HOME/bench_forest/<data>); made when it lacks them")
    ap.add_argument("--budget", type=float, default=300.0,
                    help="seconds one fit may take on an idle machine, counted as n_jobs × as many CPU seconds "
                         "(reference: 3×)")
    ap.add_argument("--n-jobs", type=int, default=2, help="threads of every forest")
    ap.add_argument("--trees", type=int, default=100, help="trees per forest")
    ap.add_argument("--epochs", type=int, default=4, help="epochs of the feature net when features are made")
    ap.add_argument("--synth-clips", type=int, default=12, help="synthetic clips (10 s) per class")
    ap.add_argument("--quick", action="store_true", help="small settings only (a smoke test)")
    ap.add_argument("--minutes", type=float, help="start no new fit after this many minutes (the rest is "
                    "listed as not run); results so far are saved after every fit")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where forest.json / .md / _runs.csv go")
    args = ap.parse_args(argv)
    section = run(args)
    print(section.to_markdown(), flush=True)
    section.save(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

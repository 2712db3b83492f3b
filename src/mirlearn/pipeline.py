"""The recipe, in one place: split → learner → feature cells → forest → vote; and transfer.

For each split a learner is trained on the training tracks (early stopping on the validation
tracks); every *feature cell* (a layer selection, on frames or aggregated over windows; see
:class:`~mirlearn.learners.layers.FeatureSpec`) then trains a Random Forest on the features of
the training + validation tracks and votes per test track. The same recipe evaluates a
hand-crafted baseline (MFCC, PMSC: the features are the frames themselves) and a trained
learner on another dataset (:func:`transfer`, the paper's Table 2).

Every stored result is tied to its inputs. A learner's folder holds ``net.json`` with the
fingerprint of what it was trained on (data, split, settings); every cell record holds the
fingerprint of its own inputs (that learner, the split, the cell, the forest). On a rerun a
result is reused only when its fingerprint matches; a learner trained on other inputs stops the
run with one line saying what differs, a cell with other inputs is recomputed (and says why).

The CLI (:mod:`mirlearn.cli`), the paper's grid (:mod:`mirlearn.experiments.sigtia2014`) and
:meth:`mirlearn.model.GenreModel.fit` all call this module; where files go is
:mod:`mirlearn.experiments.layout`'s business.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mirlearn.config import Config
from mirlearn.datasets.splits import Split
from mirlearn.distributed import World, world
from mirlearn.errors import MirlearnError
from mirlearn.experiments.layout import RunLayout, SplitLayout, clean_scratch, scratch_dir
from mirlearn.features.frameset import FrameSet
from mirlearn.fingerprint import FINGERPRINT_FORMAT, differences, digest, frames_digest, split_digest
from mirlearn.io import atomic_write_json
from mirlearn.learners import FeatureSpec, Learner, cell_features, learner_from_config, load_learner

__all__ = ["cells_of", "pooling_of", "make_forest", "part_frames", "training_frames", "split_activations", "fit_and_test_parts", "labelled_split_of", "learner_inputs",
           "check_reusable", "train_learner", "evaluate_cells", "run_split", "SplitOutcome", "summarize",
           "format_table", "run_protocol", "predict_spec", "check_frames_fit", "evaluate_own_output", "transfer", "baseline_features", "run_baseline", "fit_model",
           "InputsMismatch"]

Log = Callable[[str], None]


class InputsMismatch(MirlearnError):
    """A stored result was made from other inputs than the ones given now."""


# -- the pieces a configuration chooses --------------------------------------------------------
def cells_of(cfg: Config) -> list[FeatureSpec]:
    """The feature cells a configuration asks for, layers × aggregation."""
    f = cfg.features
    return [FeatureSpec(layers=layer, aggregate=agg, window_seconds=f.window_seconds, hop_seconds=f.hop_seconds,
                        **(pooling_of(cfg) if agg else {}))
            for agg in f.aggregate for layer in f.layers]


def pooling_of(cfg: Config) -> dict[str, Any]:
    """The configuration's ``features.timescales`` and ``features.pool`` as :class:`FeatureSpec`
    arguments of its aggregated cells; only those set (unset, a cell is what it always was)."""
    f = cfg.features
    out: dict[str, Any] = {}
    if getattr(f, "timescales", None) is not None:
        out["timescales"] = tuple(f.timescales)
    if getattr(f, "pool", None) is not None:
        out["pool"] = tuple(f.pool)
    return out


def make_forest(cfg: Config):
    """The track classifier of a configuration (a Random Forest on rows, then a vote)."""
    from mirlearn.classify import TrackForestClassifier

    fc = cfg.forest
    return TrackForestClassifier(n_estimators=fc.n_estimators, max_features=fc.max_features,
                                 min_samples_leaf=fc.min_samples_leaf, max_samples=fc.max_samples,
                                 max_train_frames=fc.max_train_frames, backend=fc.backend,
                                 n_jobs=fc.n_jobs, random_state=fc.seed)


def describe_learner(cfg: Config) -> str:
    """``relu MLP [500, 500, 500] with sgd``, ``CNN schindler-shallow on 80 × 80 patches with adam``
    or ``C-RNN crnn-short on 96 × 40 patches …`` (``RNN bilstm …``)."""
    t = cfg.training
    if cfg.learner == "cnn":
        from mirlearn.nn.patchnets import family

        c = cfg.cnn
        return (f"{family(c.architecture)} {c.architecture} on {cfg.frames.dim} × {c.patch_frames} patches of {cfg.frames.kind} "
                f"with {t.optimizer}")
    n = cfg.network
    units = f"maxout (k = {n.maxout_pieces or 2})" if n.activation == "maxout" else n.activation
    return f"{units} MLP {n.hidden} with {t.optimizer}"


def _time_base(frames: FrameSet) -> dict[str, Any]:
    """Sample rate and hop of frames (Hz, samples), as a cell's fingerprint records them."""
    tb = frames.time_base
    return {"sr": None, "hop_length": None} if tb is None else {"sr": int(tb.sr), "hop_length": int(tb.hop_length)}


# -- frames of a split, bounded memory ---------------------------------------------------------
#: A training or validation part of a memory-mapped frame cache larger than this is copied to a
#: temporary memory-mapped file in a scratch folder instead of into RAM (bytes).
SUBSET_IN_RAM_BYTES = 256 << 20


def part_frames(frames: FrameSet, ids: Sequence[str], path: Path) -> FrameSet:
    """The frames of tracks ``ids``: copied into RAM when small or when ``frames`` is in RAM,
    else into the memory-mapped file ``path`` (whose folder the caller removes)."""
    rows = int(sum(frames.lengths[frames.tracks.position(t)] for t in ids))
    big = rows * frames.dim * frames.X.dtype.itemsize > SUBSET_IN_RAM_BYTES
    return frames.subset(ids, out=path if big and isinstance(frames.X, np.memmap) else None)


def share_frames(frames: FrameSet | None, ranks: World) -> FrameSet:
    """Rank 0's ``frames`` on every rank (the others pass ``None``).

    A memory map is opened by the others from its file (a shared file system, as the frame cache
    needs anyway); a matrix in RAM (small: :func:`part_frames` keeps sets over
    :data:`SUBSET_IN_RAM_BYTES` on disk) is sent whole. One process: ``frames`` itself.
    """
    if not ranks.active:
        assert frames is not None
        return frames
    payload = None
    if ranks.is_main:
        X = frames.X
        path = getattr(X, "filename", None) if isinstance(X, np.memmap) else None
        payload = ("map", os.fspath(path), frames.offsets, frames.tracks, frames.time_base) if path \
            else ("ram", frames)
    payload = ranks.broadcast_object(payload)
    if ranks.is_main:
        return frames
    if payload[0] == "ram":
        return payload[1]
    _, path, offsets, tracks, time_base = payload
    return FrameSet(np.load(path, mmap_mode="r"), offsets, tracks, time_base)


def split_activations(learner: Learner, frames: FrameSet, split: Split, out: Path) -> FrameSet:
    """All-layer activations of the split's tracks, ordered train, valid, test.

    Written to ``out`` (raw float32) and returned memory-mapped; the raw frames of the split
    pass through a scratch memory map beside ``out`` when large (:func:`part_frames`), which a
    later run removes if this one is killed.
    """
    ids = list(split.train) + list(split.valid) + list(split.test)
    with scratch_dir(out.parent, "frames") as tmp:
        split_frames = part_frames(frames, ids, tmp / "split.npy")
        all_layers = learner.transform(split_frames, layers="all", out=out)
        del split_frames  # release the memory map before the folder goes
    return all_layers


def fit_and_test_parts(features: FrameSet, split: Split) -> tuple[FrameSet, FrameSet]:
    """The forest's training part (train + valid tracks) and test part of ``features``.

    Views, not copies, when ``features`` is ordered as :func:`split_activations` orders it
    (a GTZAN-sized all-layer cell would otherwise copy 5.4 GiB into RAM).
    """
    return (features.subset(list(split.train) + list(split.valid), copy=False),
            features.subset(list(split.test), copy=False))


def labelled_split_of(learner: Learner, split: Split, tracks: Any) -> Split:
    """The split as the feature cells' forests see it: with the learner's ``label_fraction``,
    only the training and validation tracks whose labels the learner used (the same seeded,
    stratified pick, :func:`mirlearn.datasets.labelled.labelled_split`), the test tracks whole;
    without one, ``split`` itself. ``tracks``: a TrackTable holding the split's tracks."""
    from mirlearn.datasets.labelled import labelled_split

    return labelled_split(split, tracks, getattr(learner, "label_fraction", None), seed=int(getattr(learner, "seed", 0)))


# -- the learner of a split --------------------------------------------------------------------
def learner_inputs(learner: Learner, frames: FrameSet, split: Split, transforms: Sequence[Any] = ()
                   ) -> dict[str, Any]:
    """The fingerprint of what a learner is trained on: its settings, the split, the frames, and
    the offline augmentations of its training tracks (``transforms``; absent when none)."""
    ids = list(split.train) + list(split.valid)
    inputs = {"format": FINGERPRINT_FORMAT, "learner": {"kind": learner.kind, **learner.saved_params()},
              "split": {"id": split.name, "parts": split_digest({"train": split.train, "valid": split.valid})},
              "data": {"frames": frames_digest(frames, ids), "tracks": len(ids), "dim": frames.dim}}
    if transforms:
        inputs["augment"] = [t.key() for t in transforms]
    return inputs


def training_frames(frames: FrameSet, split: Split, augmented: Sequence[tuple[Any, FrameSet]], path: Path
                    ) -> FrameSet:
    """The frames a learner trains on: the split's training tracks, then the augmented copies of
    those tracks only (a validation or test track's copy never; :mod:`mirlearn.features.augment`).

    ``augmented`` holds ``(transform, frames of every track's copy)`` pairs; copies of tracks
    a variant could not make are left out. Written to ``path`` (memory-mapped) when large.
    """
    from mirlearn.features.augment.transforms import copy_id, source_id
    from mirlearn.features.frameset import concat

    parts, select = [frames], [list(split.train)]
    for transform, copies in augmented:
        parts.append(copies)
        select.append([c for c in (copy_id(t, transform) for t in split.train) if c in copies.tracks])
    rows = sum(int(p.lengths[[p.tracks.position(t) for t in ids]].sum()) for p, ids in zip(parts, select))
    big = rows * frames.dim * frames.X.dtype.itemsize > SUBSET_IN_RAM_BYTES
    train = concat(parts, select=select, out=path if big else None)
    allowed = set(split.train)
    leaked = [t.track_id for t in train.tracks if source_id(t.track_id) not in allowed]
    if leaked:  # cannot happen by construction; a guard worth its cost (no test song in training)
        raise MirlearnError(f"augmented training frames hold tracks outside the training part: {leaked[:5]}")
    return train


def _weights_inputs(learner: Learner) -> dict[str, Any]:
    """The fingerprint of a learner given as it is (trained elsewhere): settings and weights."""
    import hashlib

    import torch

    h = hashlib.sha256()
    for name, t in sorted(learner.net_.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes() if isinstance(t, torch.Tensor) else repr(t).encode())
    return {"format": FINGERPRINT_FORMAT, "learner": {"kind": learner.kind, **learner.saved_params()},
            "weights": h.hexdigest()[:16]}


def _check_same_inputs(stored: dict[str, Any] | None, current: dict[str, Any], where: Path) -> None:
    diff = differences(stored, current)
    if diff:
        raise InputsMismatch(f"{where} holds a net trained on other inputs ({'; '.join(diff)}): give another "
                             f"--out, or remove {where} to train it again")


def check_reusable(cfg: Config, frames: FrameSet, splits: Sequence[Split], run: RunLayout, *group: str) -> None:
    """Stop before any work when a learner in ``run`` was made from other inputs than these.

    Call it before a command writes anything into an existing run folder: a net of other
    inputs would otherwise stop the run half-way, after its provenance was rewritten.
    """
    for split in splits:
        layout = run.split(split.name, *group)
        stored = _read_json(layout.net_json)
        if stored is None and not (layout.net_dir / "featurenet.pt").is_file() \
                and not (layout.net_dir / "checkpoint.pt").is_file():
            continue
        inputs = learner_inputs(learner_from_config(cfg), frames, split, cfg.augment.transforms())
        _check_same_inputs(stored.get("inputs") if stored else None, inputs, layout.net_dir)


def check_frames_fit(cfg: Config, frames: FrameSet) -> None:
    """Stop before any work when the learner cannot use these frames.

    A CNN whose patch is longer than every track would learn from zero padding alone (a track
    shorter than one patch is padded; all of them is a wrong setting). Raises
    :class:`~mirlearn.errors.MirlearnError` (one line).
    """
    if cfg.learner != "cnn" or frames.n_tracks == 0:
        return
    longest = int(frames.lengths.max())
    if longest < cfg.cnn.patch_frames:
        tb = frames.time_base
        secs = "" if tb is None else f" ({cfg.cnn.patch_frames * tb.hop_length / tb.sr:.1f} s)"
        raise MirlearnError(f"config key cnn.patch_frames={cfg.cnn.patch_frames}{secs} is longer than every track "
                            f"(the longest has {longest} frames): every patch would be mostly padding; use a "
                            "shorter patch or an architecture with a smaller input")


def train_learner(cfg: Config, frames: FrameSet, split: Split, layout: SplitLayout, *, device: str = "cpu",
                  progress: bool = True, experiment: dict[str, Any] | None = None,
                  augmented: Sequence[tuple[Any, FrameSet]] = (), log: Log = print) -> Learner:
    """Train the configuration's learner on ``split``, or reuse the one trained on the same inputs.

    ``augmented``: ``(transform, copies)`` pairs of the offline augmentation (see
    :func:`training_frames`); the copies of the training tracks join the training frames.

    The learner's folder (``layout.net_dir``) records the fingerprint of its inputs in
    ``net.json`` before training starts, so that a killed training resumes from its checkpoint
    only with the same inputs. A finished or half-trained learner of other inputs stops the run
    with :class:`InputsMismatch` (nothing is overwritten).
    """
    net_dir = layout.net_dir
    ranks = world()
    learner = learner_from_config(cfg, run_dir=net_dir, device=device, progress=progress)
    inputs = learner_inputs(learner, frames, split, [t for t, _ in augmented])
    stored = _read_json(layout.net_json)
    if stored is not None or (net_dir / "featurenet.pt").is_file() or (net_dir / "checkpoint.pt").is_file():
        _check_same_inputs(stored.get("inputs") if stored else None, inputs, net_dir)
    if (net_dir / "featurenet.pt").is_file():
        log(f"[{split.name}] network: reusing {net_dir / 'featurenet.pt'} (same inputs)")
        return load_learner(net_dir)
    if ranks.is_main:
        net_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(layout.net_json, {"inputs": inputs, "split": split.name, **(experiment or {})})

    def announce(train_fs: FrameSet) -> None:
        copies = f" + {train_fs.n_tracks - len(split.train)} augmented copies" if augmented else ""
        ranks_note = f" on {ranks.size} ranks" if ranks.active else ""
        log(f"[{split.name}] training {describe_learner(cfg)} on {len(train_fs.X)} frames "
            f"({len(split.train)} tracks{copies}){ranks_note}")

    seconds = fit_on_split(learner, frames, split, layout.root, augmented, announce=announce)
    if ranks.is_main:
        learner.save(net_dir)
        atomic_write_json(layout.train_result_json, {**_asdict(learner.train_result_), "wall_seconds": seconds})
    log(f"[{split.name}] network trained in {seconds:.1f} s: {learner.training_summary()}")
    return learner


def fit_on_split(learner: Learner, frames: FrameSet, split: Split, work_dir: Path,
                 augmented: Sequence[tuple[Any, FrameSet]] = (), *,
                 announce: Callable[[FrameSet], None] | None = None) -> float:
    """Fit ``learner`` on the split's training tracks (and the augmented copies of them, see
    :func:`training_frames`) with early stopping on its validation tracks; the wall seconds.

    Large frame matrices go to a scratch folder of ``work_dir``, removed afterwards (or by the
    next run after a kill). Under several ranks rank 0 alone writes them; the others open what
    it wrote (:func:`share_frames`) and all train together; rank 0 removes the folder once every
    rank is done with it. ``announce(training frames)`` is called before training starts.
    """
    ranks = world()
    with (scratch_dir(work_dir, "frames") if ranks.is_main else contextlib.nullcontext()) as tmp:
        train_fs = valid_fs = None
        if ranks.is_main:
            train_fs = training_frames(frames, split, augmented, tmp / "train.npy") if augmented else \
                part_frames(frames, split.train, tmp / "train.npy")
            valid_fs = part_frames(frames, split.valid, tmp / "valid.npy")
        train_fs, valid_fs = share_frames(train_fs, ranks), share_frames(valid_fs, ranks)
        if announce is not None:
            announce(train_fs)
        t0 = time.perf_counter()
        learner.fit(train_fs, valid_fs)
        seconds = time.perf_counter() - t0
        del train_fs, valid_fs  # release the memory maps before the folder goes
        ranks.barrier()  # every rank is done with rank 0's scratch files before they go
    return seconds


# -- feature cells -----------------------------------------------------------------------------
def _cell_inputs(base: dict[str, Any], cfg: Config, split: Split, spec: FeatureSpec, frames: FrameSet
                 ) -> dict[str, Any]:
    """The fingerprint of a cell: what made its features, the split, the cell, the forest."""
    return {"format": FINGERPRINT_FORMAT, "features": digest(base),
            "split": {"id": split.name, "parts": split_digest(split.parts)},
            "cell": spec.to_dict(), "forest": dict(asdict(cfg.forest)), "frames": _time_base(frames)}


def _cell_is_current(path: Path, inputs: dict[str, Any], log: Log, split: Split, name: str) -> dict[str, Any] | None:
    """The stored record of a cell when it was made from ``inputs``; else None (with a log line)."""
    record = _read_json(path)
    if record is None:
        return None
    diff = differences(record.get("inputs"), inputs)
    if not diff:
        return record
    log(f"[{split.name}] {name}: recomputing, the stored cell was made from other inputs ({'; '.join(diff)})")
    return None


def _row_name(features: FrameSet, spec: FeatureSpec) -> str:
    """What a cell's forest classifies: ``window`` (aggregated), ``patch`` (a CNN's rows) or ``frame``."""
    if spec.aggregate:
        return "window"
    return "patch" if getattr(features.time_base, "kind", None) == "patches" else "frame"


def _plural(row: str) -> str:
    return row + ("es" if row.endswith("ch") else "s")


def evaluate_cells(cfg: Config, features: FrameSet, widths: dict[str, int] | Sequence[int] | None, split: Split,
                   layout: SplitLayout | str | Path, cells: Sequence[FeatureSpec], *,
                   inputs: dict[str, Any] | None = None, experiment: dict[str, Any] | None = None,
                   keep_forests: dict[str, Any] | None = None, progress: bool = False,
                   log: Log = print) -> dict[str, dict[str, Any]]:
    """Forest + vote for every feature cell; one JSON per cell, current cells are reused.

    Parameters
    ----------
    features : features of (at least) every track of the split: all feature layers
        concatenated when ``widths`` is given, else one feature matrix (a baseline) whose
        cells must use ``layers="all"``
    widths : the learner's feature layers (name → width, or widths of ``"1"``…), None for a baseline
    split : the forest is fit on train + valid tracks and tested on the test tracks
    layout : the split's folder
    inputs : the fingerprint of what made ``features`` (a learner's, or a baseline's); each
        cell record stores it with the split, cell and forest settings
    experiment : what the cells belong to (table, dataset, net, method, units), stored in each
    keep_forests : cell names (keys) whose fitted forests are wanted; each fitted one is stored
        under its name (a reused cell fits no forest and stores none)
    progress : show each forest's trees as they grow (a bar on a terminal, lines in a pipe)
    """
    from mirlearn.classify import evaluate_tracks, vote, write_predictions
    from mirlearn.runs import git_commit, package_versions

    layout = layout if isinstance(layout, SplitLayout) else SplitLayout(Path(layout))
    base = inputs if inputs is not None else {"features": frames_digest(features)}
    results: dict[str, dict[str, Any]] = {}
    provenance = {"settings": cfg.to_dict(), "versions": package_versions(), "git_commit": git_commit()}
    for spec in cells:
        path = layout.cell_json(spec.name)
        cell_inputs = _cell_inputs(base, cfg, split, spec, features)
        record = _cell_is_current(path, cell_inputs, log, split, spec.name)
        if record is not None:
            results[spec.name] = record
            continue
        t0 = time.perf_counter()
        fs = cell_features(features, widths, spec)
        t_feat = time.perf_counter() - t0
        fit_fs, test_fs = fit_and_test_parts(fs, split)
        t0 = time.perf_counter()
        forest = make_forest(cfg).fit(fit_fs, progress=progress)
        t_fit = time.perf_counter() - t0
        if keep_forests is not None and spec.name in keep_forests:
            keep_forests[spec.name] = forest
        t0 = time.perf_counter()
        frame_proba = forest.predict_frames(test_fs)
        t_pred = time.perf_counter() - t0
        track_pred, track_scores = vote(frame_proba, test_fs.offsets, len(test_fs.tracks.classes))
        m = evaluate_tracks(test_fs.tracks.y, track_pred, test_fs.tracks.classes,
                            frame_true=test_fs.frame_labels(), frame_pred=frame_proba.argmax(1))
        write_predictions(layout.predictions_csv(spec.name), test_fs.tracks.ids, test_fs.tracks.y,
                          track_pred, track_scores, test_fs.tracks.classes)
        n_rows = int(forest.n_train_frames_)
        record = {"cell": spec.name, "layers": spec.layers, "aggregate": spec.aggregate, "split": split.name,
                  "experiment": dict(experiment or {}), "metrics": m.to_dict(), "n_fit_rows": len(fit_fs.X),
                  "n_forest_rows": n_rows, "n_test_rows": len(test_fs.X), "dim": fs.dim,
                  "timings": {"features_s": t_feat, "forest_fit_s": t_fit, "forest_predict_s": t_pred},
                  "split_sizes": {"train": len(split.train), "valid": len(split.valid), "test": len(split.test)},
                  "inputs": cell_inputs, **provenance}
        atomic_write_json(path, record)
        results[spec.name] = record
        rows = _row_name(fs, spec)
        log(f"[{split.name}] {spec.name:<20} track acc {m.accuracy:6.1%}  {rows} acc {m.frame_accuracy:6.1%}"
            f"  (forest fit {t_fit:.1f} s on {n_rows} {_plural(rows)} × {fs.dim})")
    return results


# -- one split, many splits --------------------------------------------------------------------
@dataclass
class SplitOutcome:
    """What one split produced: the cells' metrics and the stage timings (s)."""

    split: str
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)


def run_split(cfg: Config, frames: FrameSet, split: Split, layout: SplitLayout | str | Path, *, device: str = "cpu",
              progress: bool = True, keep_features: bool = False, learner: Learner | None = None,
              experiment: dict[str, Any] | None = None, model_dir: str | Path | None = None,
              model_info: dict[str, Any] | None = None, augmented: Sequence[tuple[Any, FrameSet]] = (),
              log: Log = print) -> SplitOutcome:
    """Train the configuration's learner on one split and evaluate every feature cell.

    Parameters
    ----------
    cfg : the experiment configuration
    frames : raw frames of (at least) every track of the split
    split : train / valid / test track ids
    layout : the split's folder; results of the same inputs found there are reused
    keep_features : keep the all-layer activations on disk after the cells are done
    learner : an already trained learner to evaluate (no training then)
    experiment : stored in every cell record (see :func:`evaluate_cells`)
    model_dir : also save a :class:`~mirlearn.model.GenreModel` there (this split's learner and
        the forest of the configuration's predict cell, fit on train + valid tracks), unless the
        one there was made from the same inputs; ``model_info`` goes into its ``model.json``
    augmented : the offline augmentation's ``(transform, copies)`` pairs: the learner also
        trains on the copies of the training tracks (see :func:`training_frames`); the forests
        and every test see the original tracks only
    """
    layout = layout if isinstance(layout, SplitLayout) else SplitLayout(Path(layout))
    ranks = world()
    if ranks.is_main:  # another rank's scratch may look dead from here (its pid is on another machine)
        layout.root.mkdir(parents=True, exist_ok=True)
        clean_scratch(layout.root)
    ranks.wait_for_all("rank 0 to finish the previous split")  # its forests may take hours
    outcome = SplitOutcome(split=split.name)
    t0 = time.perf_counter()
    if learner is None:
        learner = train_learner(cfg, frames, split, layout, device=device, progress=progress,
                                experiment=experiment, augmented=augmented, log=log)
        inputs = learner_inputs(learner, frames, split, [t for t, _ in augmented])
    else:
        inputs = _weights_inputs(learner)
    outcome.timings["train_s"] = time.perf_counter() - t0
    if not ranks.is_main:
        # The ranks share the training; rank 0 alone computes the features, fits the forests and
        # writes the cells (no collective follows), while the others wait for the next training.
        return outcome
    tr = _read_json(layout.train_result_json)
    outcome.train = tr or {}
    # Few labels (the learner's label_fraction): the forests learn from no label the net did not.
    split = labelled_split_of(learner, split, frames.tracks)

    cells = cells_of(cfg)
    todo = [c for c in cells if _read_current(layout, c, _cell_inputs(inputs, cfg, split, c, frames)) is None]
    model_spec = predict_spec(cfg)
    model_inputs = _cell_inputs(inputs, cfg, split, model_spec, frames)
    need_model = model_dir is not None and not _model_is_current(Path(model_dir), model_inputs)
    if todo or need_model:
        # The activations live in a scratch folder (a kill leaves nothing the next run keeps).
        with scratch_dir(layout.root, "features") as tmp:
            t0 = time.perf_counter()
            all_layers = split_activations(learner, frames, split, tmp / layout.features_file.name)
            outcome.timings["features_s"] = time.perf_counter() - t0
            kept: dict[str, Any] = {model_spec.name: None}
            if todo:
                evaluate_cells(cfg, all_layers, learner.feature_layers_, split, layout, todo, inputs=inputs,
                               experiment=experiment, keep_forests=kept, progress=progress, log=log)
            if need_model:
                t0 = time.perf_counter()
                _save_split_model(cfg, learner, all_layers, split, layout, model_spec, kept[model_spec.name],
                                  Path(model_dir), {**(model_info or {}), "inputs": model_inputs}, progress, log)
                outcome.timings["model_s"] = time.perf_counter() - t0
            del all_layers
            if keep_features:
                os.replace(tmp / layout.features_file.name, layout.features_file)
    for spec in cells:
        outcome.cells[spec.name] = json.loads(layout.cell_json(spec.name).read_text())
    if cfg.features.own_output:
        outcome.cells.update(evaluate_own_output(cfg, learner, frames, split, layout, inputs=inputs,
                                                 experiment=experiment, log=log))
    return outcome


#: The learner's own track decisions: the class of the highest mean probability over a track's
#: rows ("max probability"), and the majority vote of its rows' arg-max.
OWN_OUTPUT_CELLS = {"output-meanprob": "mean", "output-vote": "vote"}


def evaluate_own_output(cfg: Config, learner: Learner, frames: FrameSet, split: Split, layout: SplitLayout, *,
                        inputs: dict[str, Any], experiment: dict[str, Any] | None = None,
                        log: Log = print) -> dict[str, dict[str, Any]]:
    """Score the learner's own output on the split's test tracks, two ways, one record each.

    No forest: the learner's class probabilities per row (frame or patch, :meth:`Learner.output`)
    decide each test track by their mean (``output-meanprob``) and by a majority vote of the
    rows (``output-vote``), as Schindler & Lidy report "max probability" and "majority vote".
    Records are reused when made from the same inputs.
    """
    from mirlearn.classify import evaluate_tracks, vote, write_predictions

    records: dict[str, dict[str, Any]] = {}
    todo = {}
    for name, how in OWN_OUTPUT_CELLS.items():
        cell_inputs = {"format": FINGERPRINT_FORMAT, "features": digest(inputs),
                       "split": {"id": split.name, "parts": split_digest(split.parts)},
                       "cell": {"own_output": how}, "frames": _time_base(frames)}
        record = _cell_is_current(layout.cell_json(name), cell_inputs, log, split, name)
        if record is None:
            todo[name] = cell_inputs
        else:
            records[name] = record
    if not todo:
        return records
    t0 = time.perf_counter()
    with scratch_dir(layout.root, "frames") as tmp:
        test = part_frames(frames, list(split.test), tmp / "test.npy")
        out = learner.output(test)
        del test
    t_out = time.perf_counter() - t0
    n_classes = len(out.tracks.classes)
    P = np.asarray(out.X, dtype=np.float64)
    sums = np.add.reduceat(P, out.offsets[:-1], axis=0) if len(P) else np.zeros((out.n_tracks, n_classes))
    mean_scores = sums / np.maximum(out.lengths, 1)[:, None]
    vote_pred, vote_scores = vote(P, out.offsets, n_classes)
    decisions = {"mean": (mean_scores.argmax(1), mean_scores), "vote": (vote_pred, vote_scores)}
    row_true, row_pred = out.frame_labels(), P.argmax(1)
    for name, cell_inputs in todo.items():
        how = OWN_OUTPUT_CELLS[name]
        pred, scores = decisions[how]
        m = evaluate_tracks(out.tracks.y, pred, out.tracks.classes, frame_true=row_true, frame_pred=row_pred)
        write_predictions(layout.predictions_csv(name), out.tracks.ids, out.tracks.y, pred, scores,
                          out.tracks.classes)
        rows = "patch" if getattr(out.time_base, "kind", None) == "patches" else "frame"
        record = {"cell": name, "own_output": how, "layers": None, "aggregate": None, "split": split.name,
                  "experiment": dict(experiment or {}), "metrics": m.to_dict(), "n_test_rows": len(P),
                  "rows": rows, "timings": {"output_s": t_out},
                  "split_sizes": {"train": len(split.train), "valid": len(split.valid), "test": len(split.test)},
                  "inputs": cell_inputs}
        atomic_write_json(layout.cell_json(name), record)
        records[name] = record
        log(f"[{split.name}] {name:<20} track acc {m.accuracy:6.1%}  (the learner's own output, "
            f"{'mean probability' if how == 'mean' else 'majority vote'} of {len(P)} {_plural(rows)})")
    return records


def predict_spec(cfg: Config) -> FeatureSpec:
    """The feature cell of the forest a configuration saves with its model (for ``predict``)."""
    f = cfg.features
    return FeatureSpec(layers=f.predict_layers, aggregate=f.predict_aggregate, window_seconds=f.window_seconds,
                       hop_seconds=f.hop_seconds, **(pooling_of(cfg) if f.predict_aggregate else {}))


def _model_is_current(model_dir: Path, inputs: dict[str, Any]) -> bool:
    """Whether ``model_dir`` holds a saved model made from ``inputs``."""
    meta = _read_json(model_dir / "model.json")
    return meta is not None and not differences((meta.get("info") or {}).get("inputs"), inputs) \
        and (model_dir / "forest.joblib").is_file()


def _save_split_model(cfg: Config, learner: Learner, all_layers: FrameSet, split: Split, layout: SplitLayout,
                      spec: FeatureSpec, forest: Any, model_dir: Path, info: dict[str, Any], progress: bool,
                      log: Log) -> None:
    """Save the split's learner + the predict cell's forest as a GenreModel in ``model_dir``.

    The forest fit by the cell is reused; when that cell was reused from disk (or is not one
    of the configuration's cells) a forest is fit here on the same train + valid features. The
    folder appears whole: it is written beside and renamed into place.
    """
    import shutil

    from mirlearn.model import GenreModel

    if forest is None:
        fit_fs, _ = fit_and_test_parts(cell_features(all_layers, learner.feature_layers_, spec), split)
        forest = make_forest(cfg).fit(fit_fs, progress=progress)
        del fit_fs
    record = _read_json(layout.cell_json(spec.name)) or {}
    accuracy = (record.get("metrics") or {}).get("accuracy")
    info = {"config": cfg.name, "max_seconds": cfg.frames.max_seconds, "split": split.name,
            "cell": spec.name, "test_track_accuracy": accuracy, **info}
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    with scratch_dir(model_dir.parent, "model") as tmp:
        GenreModel(learner, forest, spec, cfg.frames, info).save(tmp / "model")
        if model_dir.exists():
            shutil.rmtree(model_dir)
        os.replace(tmp / "model", model_dir)
    log(f"[{split.name}] model saved: {model_dir} (learner + forest of {spec.name})")


def _read_current(layout: SplitLayout, spec: FeatureSpec, inputs: dict[str, Any]) -> dict[str, Any] | None:
    record = _read_json(layout.cell_json(spec.name))
    return record if record is not None and not differences(record.get("inputs"), inputs) else None


def summarize(outcomes: Sequence[SplitOutcome], cells: Sequence[FeatureSpec]) -> dict[str, Any]:
    """Mean ± std (over splits) of the track accuracy of every cell."""
    table: dict[str, Any] = {}
    for spec in cells:
        accs = [o.cells[spec.name]["metrics"]["accuracy"] for o in outcomes]
        table[spec.name] = {"layers": spec.layers, "aggregate": spec.aggregate,
                            "mean": float(np.mean(accs)), "std": float(np.std(accs)) if len(accs) > 1 else 0.0,
                            "per_split": accs}
    return table


def summarize_own_output(outcomes: Sequence[SplitOutcome]) -> dict[str, Any]:
    """Mean ± std (over splits) of the track accuracy of the learner's own output cells."""
    table: dict[str, Any] = {}
    for name, how in OWN_OUTPUT_CELLS.items():
        accs = [o.cells[name]["metrics"]["accuracy"] for o in outcomes if name in o.cells]
        if accs:
            table[name] = {"own_output": how, "mean": float(np.mean(accs)),
                           "std": float(np.std(accs)) if len(accs) > 1 else 0.0, "per_split": accs}
    return table


def format_table(summary: dict[str, Any], layers: Sequence[str], aggregate: Sequence[bool], *,
                 rows: str = "frames") -> str:
    """Track accuracy (%) as a text table: rows = layers, columns = ``rows`` (frames, or a CNN's
    patches) / aggregated."""
    head = ["layer"] + ["aggregated" if a else rows for a in aggregate]
    rows = []
    for layer in layers:
        row = [layer]
        for a in aggregate:
            cell = summary[f"layer-{layer}_{'agg' if a else 'frames'}"]
            row.append(f"{100 * cell['mean']:.1f}" + (f" ± {100 * cell['std']:.1f}" if len(cell["per_split"]) > 1 else ""))
        rows.append(row)
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths))  # noqa: E731
    text = "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])
    own = [(name, summary[name]) for name in OWN_OUTPUT_CELLS if name in summary]
    if own:
        text += "\nthe learner's own output (no forest): " + ", ".join(
            f"{'max mean probability' if c['own_output'] == 'mean' else 'majority vote'} {100 * c['mean']:.1f}"
            + (f" ± {100 * c['std']:.1f}" if len(c["per_split"]) > 1 else "") for _, c in own)
    return text


def run_protocol(cfg: Config, frames: FrameSet, splits: Sequence[Split], out_dir: str | Path | RunLayout, *,
                 device: str = "cpu", progress: bool = True, model_info: dict[str, Any] | None = None,
                 augmented: Sequence[tuple[Any, FrameSet]] = (), log: Log = print) -> dict[str, Any]:
    """Run :func:`run_split` on every split and write ``results.json`` with the summary.

    The first split's learner and predict-cell forest are saved as the run's model
    (``RunLayout.model_dir``), for ``predict``, ``features`` and ``evaluate``; ``model_info``
    (where the data and splits are) goes into its ``model.json``. ``augmented``: see
    :func:`run_split`.
    """
    run = out_dir if isinstance(out_dir, RunLayout) else RunLayout(out_dir)
    ranks = world()
    outcomes = [run_split(cfg, frames, split, run.split(split.name), device=device, progress=progress, log=log,
                          model_dir=run.model_dir if i == 0 else None, model_info=model_info, augmented=augmented)
                for i, split in enumerate(splits)]
    if not ranks.is_main:  # the other ranks helped to train; rank 0 has the results
        return {}
    cells = cells_of(cfg)
    summary = summarize(outcomes, cells)
    if cfg.features.own_output:
        summary.update(summarize_own_output(outcomes))
    result = {"config": cfg.name, "splits": [o.split for o in outcomes], "summary": summary,
              "timings": [o.timings for o in outcomes], "train": [o.train for o in outcomes]}
    atomic_write_json(run.results_json, result)
    return result


# -- transfer and baselines --------------------------------------------------------------------
def transfer(cfg: Config, learner_dir: str | Path, frames: FrameSet, split: Split, layout: SplitLayout, *,
             experiment: dict[str, Any] | None = None, log: Log = print) -> dict[str, dict[str, Any]]:
    """A trained learner as a feature extractor on another dataset: every cell on ``split``.

    The learner is not retrained: its features of ``frames`` (the other dataset) feed the same
    cells, forests and votes, trained on the split's train + valid tracks.
    """
    cells = cells_of(cfg)
    learner = load_learner(learner_dir)
    net = _read_json(Path(learner_dir) / "net.json")
    inputs = {"net": net["inputs"] if net else _weights_inputs(learner),
              "data": frames_digest(frames, split.ids)}
    if all(_read_current(layout, c, _cell_inputs(inputs, cfg, split, c, frames)) is not None for c in cells):
        return {c.name: json.loads(layout.cell_json(c.name).read_text()) for c in cells}
    layout.root.mkdir(parents=True, exist_ok=True)
    clean_scratch(layout.root)
    with scratch_dir(layout.root, "features") as tmp:
        feats = split_activations(learner, frames, split, tmp / layout.features_file.name)
        out = evaluate_cells(cfg, feats, learner.feature_layers_, split, layout, cells, inputs=inputs,
                             experiment=experiment, log=log)
        del feats
    return out


def baseline_features(kind: str, frames: FrameSet, split: Split) -> FrameSet:
    """MFCC frames as they are; PMSC = log-mel frames whitened by a PCA fit on training tracks."""
    if kind == "mfcc":
        return frames
    from mirlearn.features.representations.pmsc import PMSC

    pmsc = PMSC().fit(frames.X, rows=frames.frame_rows(list(split.train)))
    return frames.with_rows(pmsc.transform(frames.X), kind="pmsc")


def run_baseline(cfg: Config, kind: str, frames: FrameSet, split: Split, layout: SplitLayout, *,
                 experiment: dict[str, Any] | None = None, log: Log = print) -> dict[str, dict[str, Any]]:
    """A hand-crafted baseline (``"mfcc"`` or ``"pmsc"``) → the same aggregation, forest and vote."""
    cells = [c for c in cells_of(cfg) if c.layers == "all"]
    ids = list(split.train) + list(split.valid) + list(split.test)
    inputs = {"baseline": kind, "data": frames_digest(frames, ids)}
    if all(_read_current(layout, c, _cell_inputs(inputs, cfg, split, c, frames)) is not None for c in cells):
        return {c.name: json.loads(layout.cell_json(c.name).read_text()) for c in cells}
    feats = baseline_features(kind, frames.subset(ids), split)
    return evaluate_cells(cfg, feats, None, split, layout, cells, inputs=inputs, experiment=experiment, log=log)


# -- one model for `predict` -------------------------------------------------------------------
def fit_model(model: Any, frames: FrameSet, split: Split, work_dir: str | Path, *,
              augmented: Sequence[tuple[Any, FrameSet]] = (), log: Log = print):
    """Fit a :class:`~mirlearn.model.GenreModel`'s learner on ``split`` (and the augmented copies
    of its training tracks, :func:`training_frames`) and its forest on the features of the
    split's training + validation tracks; returns the test-track metrics (``None`` on ranks
    other than 0, which only help to train).

    Large frame and feature matrices stay in memory maps in a scratch folder of ``work_dir``
    (removed afterwards, or by the next run after a kill).
    """
    from mirlearn.classify import evaluate_tracks

    work_dir = Path(work_dir)
    learner = model.learner
    seconds = fit_on_split(learner, frames, split, work_dir, augmented)
    log(f"network trained in {seconds:.1f} s: {learner.training_summary()}")
    if not world().is_main:  # the ranks shared the training; rank 0 fits and scores the forest
        return None
    split = labelled_split_of(learner, split, frames.tracks)  # few labels: the forest's too
    with scratch_dir(work_dir, "features") as tmp:
        # As run_split: frames and activations stay on disk when large, the forest's parts are views.
        all_layers = split_activations(learner, frames, split, tmp / "features-all.f32")
        fit, test = fit_and_test_parts(cell_features(all_layers, learner.feature_layers_, model.spec), split)
        model.forest.fit(fit, progress=bool(getattr(learner, "progress", False)))
        m = evaluate_tracks(test.tracks.y, model.forest.predict(test), test.tracks.classes)
        del all_layers, fit, test  # release the memory maps before the folder goes
    return m


# -- helpers -----------------------------------------------------------------------------------
def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _asdict(obj: Any) -> dict[str, Any]:
    import dataclasses

    if dataclasses.is_dataclass(obj):
        return json.loads(json.dumps(dataclasses.asdict(obj), default=lambda o: o.tolist()
                                     if isinstance(o, np.ndarray) else float(o)))
    return dict(obj)

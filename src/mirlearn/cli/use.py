"""Commands that use a trained model on audio files: ``predict`` and ``features``.

Both take files and folders (searched recursively) and decode them in batches of
:data:`~mirlearn.model.BATCH_FILES` files, so that memory stays bounded whatever their number.
A file that cannot be read does not stop the batch: every good file gets its result, every bad
one is named on stderr with its cause, and the exit status is 1 (0 with ``--skip-bad``, which
names them as skipped). Errors in the arguments stop the command before any decoding (exit 2).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from mirlearn.cli import checks, options
from mirlearn.cli.common import check_common
from mirlearn.cli.run import check_model_dir
from mirlearn.errors import MirlearnError

#: Exit status when some inputs could not be read (the others have their results).
PARTIAL = 1

#: The file a combined export gets inside its ``--out`` folder (``--combined``).
COMBINED_STEM = "features"

_LAYERS = re.compile(r"[^,\s]+(,[^,\s]+)*")


def _report_bad(bad: Sequence[tuple[Path, str]], skip_bad: bool) -> None:
    for p, cause in bad:
        print(f"{'skipped' if skip_bad else 'mirlearn: bad file'} {p}: {cause}", file=sys.stderr)


def _finish(n_bad: int, n_files: int, skip_bad: bool) -> int:
    """The exit status of a batch, with one closing line on stderr when files were bad."""
    if not n_bad:
        return 0
    if skip_bad:
        print(f"skipped {n_bad} of {n_files} files (--skip-bad)", file=sys.stderr)
        return 0
    print(f"mirlearn: {n_bad} of {n_files} files could not be read (named above); the others have their "
          "results; --skip-bad exits 0 with them skipped", file=sys.stderr)
    return PARTIAL


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _progress(args: argparse.Namespace, n_files: int, *, enabled: bool = True):
    from mirlearn.progress import Progress

    return Progress(n_files, "decoding", "file", enabled=enabled and not args.no_progress)


def _window_lengths(spec: Any) -> str:
    """``5`` or, pooled over several time scales, ``1.25, 2.5, 5`` (seconds)."""
    return ", ".join(f"{t:g}" for t in (getattr(spec, "timescales", None) or (spec.window_seconds,)))


def _rows_are(spec: Any, model: Any = None) -> str:
    if spec.aggregate:
        return f"{_window_lengths(spec)} s windows"
    return "patches" if getattr(getattr(model, "learner", None), "kind", "mlp") == "cnn" else "frames"


# -- predict --------------------------------------------------------------------------------
def _row(pred: Any, path_w: int, label_w: int, class_w: int, k: int) -> str:
    top = "   ".join(f"{c:<{class_w}} {pred.votes[c]:.2f} ({pred.probabilities[c]:.2f})" for c in pred.top(k))
    return f"{str(pred.path):<{path_w}}  {pred.label:<{label_w}}  {top}".rstrip()


def cmd_predict(args: argparse.Namespace) -> int:
    """The label of each audio file, with its vote shares and mean class probabilities."""
    from mirlearn.inputs import find_audio
    from mirlearn.model import BATCH_FILES, GenreModel

    model_dir = check_model_dir(args.model)
    check_common(args)
    checks.check_at_least(args.top_k, 1, "--top-k")
    inputs = find_audio(args.audio)
    model = GenreModel.load(model_dir)
    model.learner.set_params(device=args.device)
    classes = model.classes
    k = min(args.top_k, len(classes))
    path_w = max([len("path")] + [len(str(p)) for p in inputs.files])
    label_w = max(len("label"), *map(len, classes))
    class_w = max(map(len, classes))
    _report_bad(inputs.bad, args.skip_bad)
    if not args.json and inputs.files:
        print(f"# label: majority vote of each file's {_rows_are(model.spec, model)}; top {k} classes by "
              "share of votes (mean forest probability)")
        print(f"{'path':<{path_w}}  {'label':<{label_w}}  top {k}")
    results, n_bad = [], len(inputs.bad)
    with _progress(args, len(inputs.files)) as progress:
        for batch in _batches(inputs.files, BATCH_FILES):
            preds, bad = model.predict_files(batch, skip_bad=True, n_jobs=args.jobs, progress=progress)
            _report_bad(bad, args.skip_bad)
            n_bad += len(bad)
            if args.json:
                results += [p.to_dict() for p in preds]
            else:
                for p in preds:
                    print(_row(p, path_w, label_w, class_w, k), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    return _finish(n_bad, len(inputs.files) + len(inputs.bad), args.skip_bad)


# -- features -------------------------------------------------------------------------------
def export_target(out: str | Path, fmt: str | None, combined: bool) -> tuple[Path, str, bool]:
    """Where and how ``features`` writes: ``(path, format, combined)``.

    ``--out`` ending in ``.npz``, ``.npy`` or ``.csv`` names one combined file of that format;
    otherwise it is a folder that receives one file per input (or, with ``--combined``, one
    file ``features.<format>``). The format is ``--format``, else the suffix, else npz.

    Raises
    ------
    MirlearnError
        ``--format`` contradicts the suffix of ``--out``.
    """
    from mirlearn.export import FORMATS

    p = Path(out).expanduser()
    suffix = p.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        if fmt is not None and fmt != suffix:
            checks.fail(f"--format {fmt}: contradicts --out {p} (a .{suffix} file); give one of them")
        return p, suffix, True
    fmt = fmt or "npz"
    return (p / f"{COMBINED_STEM}.{fmt}" if combined else p), fmt, combined


def _check_feature_options(args: argparse.Namespace) -> None:
    """The feature choice, before the model is loaded (what needs no model)."""
    if not _LAYERS.fullmatch(args.layer):
        checks.fail(f"--layer {args.layer}: must be all, a layer (1) or layers joined by commas (1,2)")
    for value, option in ((args.window, "--window"), (args.hop, "--hop")):
        if value is None:
            continue
        checks.check_positive(value, option, unit=" s")
        if not args.aggregate:
            fix = "drop --frames" if getattr(args, "command", None) == "embed" else "add --aggregate"
            checks.fail(f"{option} {value:g}: sets the aggregation windows; {fix} (or drop {option})")


def _check_targets(target: Path, fmt: str, combined: bool, names: Sequence[Path]) -> None:
    """Output files: creatable, none of them an existing folder (nor its JSON sidecar)."""
    from mirlearn.export import sidecar_path

    if combined:
        checks.check_out_file(target)
        files = [target]
    else:
        checks.check_out_dir(target)
        files = [target / n for n in names]
    for f in files:
        for g in ([f, sidecar_path(f)] if fmt != "npz" else [f]):
            if g.is_dir():
                checks.fail(f"--out {target}: {g} is a folder; it cannot be replaced by a feature file")


def cmd_features(args: argparse.Namespace) -> int:
    """Write the learned features of audio files, with their times and column names."""
    return _write_learned(args, vectors=False)


def cmd_embed(args: argparse.Namespace) -> int:
    """Write embeddings of audio files: time-stamped windows and one vector per track."""
    return _write_learned(args, vectors=True)


def _write_learned(args: argparse.Namespace, *, vectors: bool) -> int:
    """``features`` and ``embed``: check everything, then write file by file (batches of files)."""
    from mirlearn.distributed import world
    from mirlearn.export import output_names, write_features
    from mirlearn.features.timebase import window_frames
    from mirlearn.inputs import find_audio
    from mirlearn.model import BATCH_FILES, GenreModel

    model_dir = check_model_dir(args.model)
    check_common(args)
    _check_feature_options(args)
    target, fmt, combined = export_target(args.out, args.format, args.combined)
    inputs = find_audio(args.audio)
    names = output_names(inputs.files, inputs.roots, fmt)
    _check_targets(target, fmt, combined, names)
    model = GenreModel.load(model_dir)  # cheap; the layers are checked against it before decoding
    model.learner.set_params(device=args.device)
    try:
        spec = model.feature_spec(args.layer, args.aggregate, args.window, args.hop)
    except MirlearnError:
        checks.fail(f"--layer {args.layer}: not among this model's feature layers "
                    f"{', '.join(model.learner.layer_names())} or all (several joined by commas: 1,2)")
    if spec.aggregate:
        fset = model.frame_settings
        for value, option in ((spec.window_seconds, "--window"), (spec.hop_seconds, "--hop")):
            try:
                window_frames(value, fset.sr, fset.hop_length)
            except ValueError:
                checks.fail(f"{option} {value:g}: shorter than one frame of this model "
                            f"({fset.hop_length / fset.sr * 1000:.1f} ms)")
    ranks = world()
    if ranks.is_main:
        _report_bad(inputs.bad, args.skip_bad)
    # Under several ranks each takes every size-th file and writes its files itself (one file
    # per input, so no two ranks write the same one); a combined file is rank 0's to write.
    mine = ranks.split(list(range(len(inputs.files))))
    combined_items, n_bad, n_done, n_rows, n_cols, n_vector = [], 0, 0, 0, 0, 0
    with _progress(args, len(mine), enabled=ranks.is_main) as progress:
        for batch in _batches(mine, BATCH_FILES):
            paths = [inputs.files[i] for i in batch]
            feats, bad = model.transform_files(paths, spec, skip_bad=True, n_jobs=args.jobs, progress=progress,
                                               vectors=vectors)
            _report_bad(bad, args.skip_bad)
            n_bad += len(bad)
            bad_paths = {p for p, _ in bad}
            good = [i for i in batch if inputs.files[i] not in bad_paths]
            for i, f in zip(good, feats):
                f.extra = {"model": str(model_dir)}
                n_done, n_rows, n_cols = n_done + 1, n_rows + len(f.X), f.X.shape[1]
                n_vector = 0 if f.vector is None else len(f.vector)
                if combined:
                    combined_items.append((i, f))  # one file for all: written once all are done
                else:
                    write_features(target / names[i], [f], fmt)
    if ranks.active:  # every rank ends with the job's counts, so all exit with the same status
        n_bad, n_done, n_rows = (int(v) for v in ranks.sum_floats(n_bad, n_done, n_rows))
        n_cols, n_vector = max(ranks.gather_objects((n_cols, n_vector)))
        if combined:
            combined_items = [item for part in ranks.gather_objects(combined_items) for item in part]
    n_bad += len(inputs.bad)
    if combined_items and ranks.is_main:
        write_features(target, [f for _, f in sorted(combined_items, key=lambda item: item[0])], fmt)
    if n_done:
        rows = (f"windows of {_window_lengths(spec)} s every {spec.hop_seconds:g} s" if spec.aggregate
                else _rows_are(spec, model))
        where = target if combined else \
            f"{target}/ (one .{fmt} per file{', each with a .json sidecar' if fmt != 'npz' else ''})"
        what = "embeddings" if vectors else "features"
        vector = f", and a track vector of {n_vector} values per file" if vectors else ""
        print(f"{what} of {n_done} file{'s' if n_done != 1 else ''}: {n_rows} rows ({rows}) × {n_cols} columns "
              f"(layers {','.join(model.layer_selection(spec.layers))}){vector} → {where}")
    if not ranks.is_main:  # the same status as rank 0, whose closing line speaks for the job
        return PARTIAL if n_bad and not args.skip_bad else 0
    return _finish(n_bad, len(inputs.files) + len(inputs.bad), args.skip_bad)


# -- the parsers ----------------------------------------------------------------------------
_MODEL_HELP = "a model folder (holding model.json) or a run folder of `mirlearn run`, `demo` or `train`"
_AUDIO_HELP = ("audio files or folders (searched recursively for audio files); a file that cannot be read is "
               "named on stderr and the others are still done (exit status 1, or 0 with --skip-bad)")


def _add_export_options(p: argparse.ArgumentParser, old: tuple[str, ...] = ()) -> None:
    """``--out DIR|FILE``, ``--format``, ``--combined`` of ``features`` and ``embed``."""
    o = p.add_argument_group("output")
    options.add_out(o, metavar="DIR|FILE", default=".", old=old,
                    help="folder that receives one file per input, or a .npz/.npy/.csv file for all inputs "
                    "(default: %(default)s)")
    o.add_argument("--format", choices=["npz", "npy", "csv"], default=None,
                   help="file format (default: the suffix of --out, else npz)")
    o.add_argument("--combined", action="store_true",
                   help=f"one file {COMBINED_STEM}.<format> in the --out folder for all inputs (default: off)")


def register(sub: Any) -> None:
    """Add ``predict``, ``features`` and ``embed`` to the subcommands."""
    pr = options.add_command(
        sub, "predict", help="the label of audio files, with vote shares and class probabilities",
        description="Name the class (genre) of audio files with a trained model. Each file's frames (or "
        "windows, as the model was trained) vote with the Random Forest; the label is the majority vote. "
        "Prints aligned columns: path, label, and the top K classes with their share of the votes and, "
        "in parentheses, their mean forest probability. --json prints a list of {path, label, votes, "
        "mean_probabilities, n_votes}, rounded to 4 decimals. Files that cannot be read are named on "
        "stderr; exit status 1 then (0 with --skip-bad).",
        example="mirlearn predict runs/demo song.mp3 ~/Music/album --top-k 5")
    pr.add_argument("model", help=_MODEL_HELP)
    pr.add_argument("audio", nargs="+", help=_AUDIO_HELP)
    pr.add_argument("--top-k", type=int, default=3, metavar="K",
                    help="classes shown per file, by share of votes (default: %(default)s)")
    pr.add_argument("--json", action="store_true", help="print JSON instead of columns (default: off)")
    options.add_skip_bad(pr, batch=True)
    options.add_execution(pr)
    pr.set_defaults(func=cmd_predict)

    fe = options.add_command(
        sub, "features", help="write the learned features of audio files (npz, npy or csv)",
        description="Write the learned features of audio files: one row per frame, or with --aggregate per "
        "window (mean and variance of the frames; window and hop default to the model's own). Every "
        "row has its start and end time in s; every column a name (layer1_unit007, or "
        "layer1_unit007_mean / _var). --out DIR writes one file per input, named after it (a folder's "
        "files keep their path below it; a name taken twice keeps its audio suffix, song.mp3.npz); --out "
        "FILE.npz|.npy|.csv, or --combined, writes one file for all inputs. Formats: npz holds features, "
        "start_s, end_s, timestamps (= start_s), columns, paths, offsets (rows of file i: "
        "features[offsets[i]:offsets[i+1]]), window_s, hop_s, layers, aggregate, meta (JSON); npy holds "
        "the matrix only, and NAME.json beside it the columns, times, paths, offsets and settings; csv "
        "has a header line and the columns path,start_s,end_s,<features>, and NAME.json beside it the "
        "settings. Existing files are replaced.",
        example="mirlearn features runs/demo ~/Music/album --layer all --aggregate --out feats/")
    fe.add_argument("model", help=_MODEL_HELP)
    fe.add_argument("audio", nargs="+", help=_AUDIO_HELP)
    options.add_feature_choice(fe)
    _add_export_options(fe, old=("-o", "--output"))
    options.add_skip_bad(fe, batch=True)
    options.add_execution(fe)
    fe.set_defaults(func=cmd_features)

    em = options.add_command(
        sub, "embed", help="write embeddings of audio files: time-stamped windows and a vector per track",
        description="Embeddings as openl3 and musicnn users expect them, one file per input (or one for all): "
        "the learned features of every window (mean and variance of its frames over the model's window "
        "and hop; --frames for one row per frame) with start_s and end_s in seconds, and one track vector "
        "per file: the mean and variance of all its frame features, for similarity search and classifiers "
        "of whole tracks. npz files hold the rows as `features` does (features, start_s, end_s, columns, "
        "paths, offsets, ...) plus vectors (files × values) and vector_columns; npy and csv exports write "
        "the vectors beside the rows as NAME.vectors.npy or NAME.vectors.csv (path,<columns>), named in "
        "NAME.json. Existing files are replaced.",
        example="mirlearn embed runs/demo ~/Music/album --out embeddings/\n"
                "mirlearn embed runs/demo song.wav --layer 2 --out song.npz")
    em.add_argument("model", help=_MODEL_HELP)
    em.add_argument("audio", nargs="+", help=_AUDIO_HELP)
    options.add_feature_choice(em, windows_by_default=True)
    _add_export_options(em)
    options.add_skip_bad(em, batch=True)
    options.add_execution(em)
    em.set_defaults(func=cmd_embed)

"""Similarity search: ``index``, ``similar`` and ``evaluate-similarity``.

``index`` turns a collection into track vectors (a model's features or MFCC) and saves a
:class:`~mirlearn.similarity.index.TrackIndex` folder; ``similar`` lists the nearest tracks of
audio files; ``evaluate-similarity`` measures the index as music-similarity studies do
(precision at k and MAP, "same label" relevant, optionally with the artist filter).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mirlearn.cli import checks, options
from mirlearn.cli.common import check_common, frame_cache, load_tracks
from mirlearn.errors import MirlearnError

_LAYER_HELP = ("feature layers of the model: all, one layer (2) or several joined by commas (1,2) (default: the "
               "model's own choice; not with mfcc)")


def _check_index_out(path: str) -> Path:
    """``--out``: new, empty, or an index folder made before (then replaced)."""
    out = checks.check_out_dir(path)
    if out.is_dir() and any(out.iterdir()) and not (out / "index.json").is_file():
        checks.fail(f"--out {out}: a non-empty folder that is not a mirlearn index; give a new or empty folder")
    return out


def cmd_index(args: argparse.Namespace) -> int:
    """Track vectors of every track of ``--data``, standardised, saved as an index folder."""
    from mirlearn.similarity.build import MFCC, build_index
    from mirlearn.similarity.distances import check_metric

    if args.out is None:
        checks.fail("--out: required (the index folder)")
    check_common(args)
    source: Path | str = MFCC
    if args.model == MFCC:
        if args.layer is not None:
            checks.fail("--layer: chooses a model's features; the mfcc baseline has none")
    else:
        from mirlearn.cli.run import check_model_dir

        source = check_model_dir(args.model)
    try:
        check_metric(args.metric)
    except MirlearnError as e:
        checks.fail(f"--metric: {e}")
    if args.search == "hnsw":
        from mirlearn.similarity.search import faiss_available

        if not faiss_available():
            checks.fail("--search hnsw: needs FAISS (pip install faiss-cpu, or mirlearn[faiss])")
    out = _check_index_out(args.out)
    tracks, _ = load_tracks(args.data, args.dataset)
    model_split = model = None
    if source != MFCC:  # the layers against the model, before any decoding
        from mirlearn.model import GenreModel

        model = GenreModel.load(source)
        model.layer_selection(args.layer)
        model_split = model.info.get("split")
    if args.learn_distance and len(tracks.classes) < 2:
        checks.fail(f"--learn-distance: learns from pairs of labels; --data {args.data} has fewer than 2 labels")
    if args.learn_distance and args.tracks not in ("test", "valid"):
        checks.fail("--learn-distance: the distance learns from a split's training tracks; index others with "
                    "--tracks test (or valid)")
    part = split = None
    indexed = tracks
    if args.tracks != "all":
        split, part = _split_part(args, tracks, source, model_split)
        indexed = tracks.subset([t for t in getattr(split, args.tracks) if t in set(tracks.ids)])
    framed = indexed
    if args.learn_distance:  # the training (and validation) tracks' vectors too
        known = set(tracks.ids)
        framed = tracks.subset([t for t in (*split.train, *split.valid, *split.test) if t in known])
    index = build_index(framed, source, cache_dir=frame_cache(args), metric=args.metric, layers=args.layer,
                        n_jobs=args.jobs, skip_bad=args.skip_bad, progress=not args.no_progress,
                        device=args.device, model=model)
    if args.learn_distance:
        from mirlearn.similarity.build import with_learned_distance
        from mirlearn.similarity.siamese import DistanceLearner

        have = set(index.ids)
        pick = lambda ids: [t for t in ids if t in have]  # noqa: E731  (tracks --skip-bad left out)
        learner = DistanceLearner(seed=args.seed, device=args.device)
        index = with_learned_distance(index, pick(split.train), pick(split.valid if args.tracks == "test" else []),
                                      pick(getattr(split, args.tracks)), learner)
        epochs = len(learner.history_)
        print(f"learned distance: a siamese net ({learner.hidden} → {learner.n_out}, contrastive loss) trained "
              f"{epochs} epoch(s) on {len(pick(split.train))} training tracks of split {split.name}")
    index.search = args.search
    if part is not None:
        index.source["tracks"] = part
    data = Path(args.data).resolve()
    index.source["root"] = str(data if data.is_dir() else data.parent)  # the explorer serves audio from here only
    index.save(out)
    what = "MFCC (mean and variance of 40 values per frame)" if source == MFCC else \
        f"model {source}, layers {','.join(index.source['layers'])}"
    n_artists = len({a for a in index.artists if a})
    distance = "Euclidean distance between the learned embeddings" if index.learned is not None else \
        f"{index.metric} distance on standardised vectors"
    search = "exact search" if index.search_kind == "exact" else "FAISS HNSW graph"
    print(f"index of {len(index)} tracks × {index.dim} values ({what}; {distance}; {search}; "
          f"{len(set(index.labels))} labels, {n_artists or 'no'} artists) → {out}")
    return 0


def _split_part(args: argparse.Namespace, tracks: Any, source: Path | str, model_split: str | None
                ) -> tuple[Any, dict[str, str]]:
    """The split of ``--tracks PART`` (``--splits``/``--split``, else the model's own run and split),
    and its description for the index."""
    from mirlearn.datasets.splits import load_split_dir, load_splits

    splits_file = Path(args.splits) if args.splits else None
    if splits_file is None and isinstance(source, Path) and (source.parent / "splits.json").is_file():
        splits_file = source.parent / "splits.json"  # the run the model was trained in
    if splits_file is None:
        checks.fail(f"--tracks {args.tracks}: give --splits FILE (and --split K|ID) to say which tracks those are")
    splits = [load_split_dir(splits_file)] if splits_file.is_dir() else load_splits(splits_file)
    wanted = args.split if args.split is not None else (model_split if not args.splits else None)
    if wanted is None:
        split = splits[0]
    else:
        by_name = {s.name: s for s in splits}
        if wanted in by_name:
            split = by_name[wanted]
        elif str(wanted).isdigit() and int(wanted) < len(splits):
            split = splits[int(wanted)]
        else:
            checks.fail(f"--split {wanted}: not in {splits_file} (its splits: {', '.join(by_name)})")
    if not set(getattr(split, args.tracks)) & set(tracks.ids):
        checks.fail(f"--tracks {args.tracks}: split {split.name} of {splits_file} has none of the tracks of --data")
    return split, {"split": split.name, "part": args.tracks, "splits_file": str(splits_file)}


def cmd_similar(args: argparse.Namespace) -> int:
    """The nearest tracks of every audio file, with their distances."""
    from mirlearn.cli.use import _finish, _progress, _report_bad
    from mirlearn.inputs import find_audio
    from mirlearn.similarity.build import query_vectors
    from mirlearn.similarity.index import TrackIndex

    checks.check_at_least(args.k, 1, "-k")
    check_common(args)
    index = TrackIndex.load(args.index)
    inputs = find_audio(args.audio)
    _report_bad(inputs.bad, args.skip_bad)
    with _progress(args, len(inputs.files)) as progress:
        V, good, bad = query_vectors(index, inputs.files, n_jobs=args.jobs, skip_bad=True, progress=progress,
                                     device=args.device)
    _report_bad(bad, args.skip_bad)
    # a query that is in the collection is not its own neighbour
    where = {str(Path(p).resolve()): i for i, p in enumerate(index.paths)}
    exclude = [[where[str(p.resolve())]] if str(p.resolve()) in where else [] for p in good]
    rows, dist = index.query(V, k=min(args.k, len(index)), exclude=exclude)
    results = []
    for q, (r, d) in zip(good, zip(rows, dist)):
        hits = [{"rank": j + 1, "id": index.ids[i], "path": index.paths[i], "label": index.labels[i],
                 "artist": index.artists[i], "distance": round(float(dd), 6)}
                for j, (i, dd) in enumerate(zip(r, d)) if i >= 0]
        results.append({"query": str(q), "neighbors": hits})
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for res in results:
            print(f"{res['query']}")
            label_w = max([len(h["label"]) for h in res["neighbors"]] + [5])
            for h in res["neighbors"]:
                print(f"  {h['rank']:>3}  {h['distance']:.4f}  {h['label']:<{label_w}}  {h['path']}")
    return _finish(len(inputs.bad) + len(bad), len(inputs.files) + len(inputs.bad), args.skip_bad)


def cmd_evaluate_similarity(args: argparse.Namespace) -> int:
    """Precision at k and MAP of the index, overall and per label."""
    from mirlearn.similarity.index import TrackIndex

    checks.check_at_least(args.k, 1, "-k")
    index = TrackIndex.load(args.index)
    if len({lab for lab in index.labels if lab}) < 2:
        checks.fail(f"{args.index}: its tracks have fewer than 2 labels, so 'same label' cannot judge a neighbour "
                    "(an index of a manifest without a label column)")
    if args.artist_filter and not any(index.artists):
        checks.fail(f"--artist-filter: the index {args.index} knows no artists (a manifest's artist column "
                    "gives them)")
    scores = index.evaluate(args.k, artist_filter=args.artist_filter)
    per = scores.per_class()
    if args.json:
        print(json.dumps({"k": args.k, "metric": index.metric, "artist_filter": args.artist_filter,
                          "n_tracks": len(index), f"precision_at_{args.k}": scores.mean_precision_at_k,
                          "map": scores.mean_average_precision,
                          "per_label": {c: {f"precision_at_{args.k}": p, "map": m, "n": n}
                                        for c, (p, m, n) in per.items()}}, indent=2))
        return 0
    filt = ", artist filter" if args.artist_filter else ""
    print(f"# {len(index)} queries (every track against the others; same label relevant; {index.metric}{filt})")
    w = max([len(c) for c in per] + [5])
    print(f"{'label':<{w}}  {'tracks':>6}  {f'P@{args.k}':>6}  {'MAP':>6}")
    for c, (p, m, n) in per.items():
        print(f"{c:<{w}}  {n:>6}  {100 * p:6.1f}  {100 * m:6.1f}")
    print(f"{'all':<{w}}  {len(index):>6}  {100 * scores.mean_precision_at_k:6.1f}  "
          f"{100 * scores.mean_average_precision:6.1f}")
    return 0


def register(sub: Any) -> None:
    """Add ``index``, ``similar`` and ``evaluate-similarity`` to the subcommands."""
    ix = options.add_command(
        sub, "index", help="index a collection's track vectors for similarity search",
        description="Turn every track of --data into a track vector (the mean and variance of its frame "
        "features: a trained model's, or MFCC with `mfcc` instead of a model), standardise the values on the "
        "collection and save the index folder (index.npz, index.json with ids, paths, labels, artists). "
        "Frames come from the frame cache.",
        example="mirlearn index runs/demo --data ~/data/gtzan --out idx/gtzan\n"
                "mirlearn index mfcc --data ~/data/gtzan --out idx/gtzan-mfcc")
    ix.add_argument("model", metavar="MODEL|mfcc", help="a model or run folder, or mfcc for the MFCC baseline")
    g = ix.add_argument_group("data")
    options.add_data(g)  # type: ignore[arg-type]
    options.add_dataset(g)  # type: ignore[arg-type]
    options.add_cache(g)  # type: ignore[arg-type]
    options.add_skip_bad(g)  # type: ignore[arg-type]
    ix.add_argument("--tracks", default="all", choices=["all", "train", "valid", "test"],
                    help="which tracks of --data: all, or one part of a split (test: tracks a model never trained "
                    "on, for an honest evaluation); the split is --split of --splits, else the model's own split of "
                    "its run (default: %(default)s)")
    options.add_splits_file(g)  # type: ignore[arg-type]
    ix.add_argument("--split", default=None, metavar="K|ID",
                    help="the split of --tracks: an index or id in --splits (default: the model's own, else the "
                    "first)")
    ix.add_argument("--layer", default=None, metavar="LAYERS", help=_LAYER_HELP)
    ix.add_argument("--learn-distance", action="store_true",
                    help="learn the distance: a siamese net trained with the contrastive loss on the split's "
                    "training tracks (pairs from their labels; validation tracks stop it early), indexing "
                    "--tracks test with the Euclidean distance between its embeddings (default: off)")
    ix.add_argument("--seed", type=int, default=0, help="seed of the learned distance (default: %(default)s)")
    ix.add_argument("--search", default="auto", choices=["auto", "exact", "hnsw"],
                    help="nearest-neighbour search: exact (scikit-learn brute force), hnsw (a FAISS graph, "
                    "approximate; needs faiss-cpu), auto: hnsw from 50 000 tracks when FAISS is installed, else "
                    "exact (default: %(default)s)")
    ix.add_argument("--metric", default="cosine", choices=["cosine", "euclidean"],
                    help="distance between standardised vectors (default: %(default)s)")
    options.add_out(ix, help="the index folder: new, empty, or an index to replace (required)")
    options.add_execution(ix)
    ix.set_defaults(func=cmd_index)

    si = options.add_command(
        sub, "similar", help="the nearest tracks of audio files in an index",
        description="For every audio file, the K nearest tracks of the index with their distances, labels "
        "and paths (a file that is in the collection is not its own neighbour). Files that cannot be read "
        "are named on stderr; exit status 1 then (0 with --skip-bad).",
        example="mirlearn similar idx/gtzan song.mp3 -k 10")
    si.add_argument("index", help="an index folder of `mirlearn index`")
    si.add_argument("audio", nargs="+", help="audio files or folders (searched recursively)")
    si.add_argument("-k", type=int, default=10, help="neighbours per file (default: %(default)s)")
    si.add_argument("--json", action="store_true", help="print JSON instead of lines (default: off)")
    options.add_skip_bad(si, batch=True)
    options.add_execution(si)
    si.set_defaults(func=cmd_similar)

    ev = options.add_command(
        sub, "evaluate-similarity", help="precision at k and MAP of an index (same label relevant)",
        description="Every track of the index is a query against all the others: precision at k (the share "
        "of the k nearest with the query's label) and mean average precision, overall and per label. "
        "--artist-filter leaves the query's own artist out of its ranking, as music-similarity studies do.",
        example="mirlearn evaluate-similarity idx/gtzan -k 10")
    ev.add_argument("index", help="an index folder of `mirlearn index`")
    ev.add_argument("-k", type=int, default=10, help="cut-off of precision at k (default: %(default)s)")
    ev.add_argument("--artist-filter", action="store_true",
                    help="leave tracks of the query's artist out of its ranking (default: off)")
    ev.add_argument("--json", action="store_true", help="print JSON instead of a table (default: off)")
    ev.set_defaults(func=cmd_evaluate_similarity)

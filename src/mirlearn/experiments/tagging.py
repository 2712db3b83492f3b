"""Auto-tagging runs: a learner trained on tags, scored as MagnaTagATune studies score it.

``mirlearn run --task tags`` on a manifest with a ``tags`` column does, for every split:

1. train the configuration's learner (MLP or CNN) on the training tracks' tags: one sigmoid
   output per tag, binary cross-entropy, early stopping on the validation tracks
   (:func:`mirlearn.pipeline.train_learner`: resumable, reused when its inputs are the same);
2. score its **own outputs** on the test tracks: a track's score for a tag is the mean of its
   frames' (or patches') sigmoid outputs; per-tag and macro ROC-AUC and PR-AUC
   (:mod:`mirlearn.classify.task_metrics`);
3. score its **learned features** the way transfer does (:mod:`mirlearn.experiments.transfer`):
   a forest on aggregation windows and a logistic regression / SVM per tag on track vectors,
   hyper-parameters chosen on validation tracks only; and the same for MFCC when asked.

Every split's scores go to ``SPLIT/tagging.json`` with the fingerprint of the learner's inputs
(reused when current); the run's ``tagging.json``, ``tagging.md`` and ``tagging.html`` give
mean ± std over the splits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mirlearn.classify.task_metrics import tag_scores
from mirlearn.datasets.splits import Split
from mirlearn.experiments.transfer import (FeatureSource, evaluate_source, pct_mean_std, score_blocks,
                                           source_of_learner)
from mirlearn.features.frameset import FrameSet
from mirlearn.io import atomic_write_json, atomic_write_text

__all__ = ["own_output_scores", "tag_split", "write_tagging", "rebuild_tagging"]

Log = Callable[[str], None]


def own_output_scores(learner: Any, frames: FrameSet) -> tuple[np.ndarray, list[str]]:
    """Per-track tag scores of a learner trained on tags: the mean of its rows' sigmoid outputs.

    Returns
    -------
    scores : np.ndarray [shape=(n_tracks, n_tags)], float64, in ``frames.tracks`` order
    tags : the learner's tags (its ``classes_``), in column order
    """
    from mirlearn.classify.voting import mean_per_track

    out = learner.output(frames)
    return mean_per_track(out.X, out.offsets, track_ids=frames.tracks.ids), list(learner.classes_)


def tag_split(cfg: Any, frames: FrameSet, split: Split, layout: Any, *, device: str = "cpu", progress: bool = True,
              augmented: Sequence[tuple[Any, FrameSet]] = (), baselines: Sequence[FeatureSource] = (),
              log: Log = print) -> dict[str, Any]:
    """Train on the tags of one split and score the net's outputs and features on its test tracks.

    Parameters
    ----------
    cfg : a :class:`~mirlearn.config.Config` with ``training.task = "tags"``
    frames : frames of every track of the split (their tracks carry tags)
    layout : the split's :class:`~mirlearn.experiments.layout.SplitLayout`
    baselines : other feature sources of the same tracks (e.g. MFCC), scored beside the features

    Returns
    -------
    dict
        ``own output`` (tag scores of the net's sigmoid outputs), ``sources`` → classifier → tag
        scores, ``inputs`` (the learner's fingerprint), ``split``.
    """
    from mirlearn.distributed import world
    from mirlearn.pipeline import learner_inputs, make_forest, train_learner
    from mirlearn.learners import learner_from_config

    path = layout.root / "tagging.json"
    inputs = learner_inputs(learner_from_config(cfg), frames, split, [t for t, _ in augmented])
    inputs["baselines"] = [b.name for b in baselines]
    inputs["forest"] = make_forest(cfg).get_params()
    inputs["features"] = {"layers": cfg.features.predict_layers, "window_seconds": cfg.features.window_seconds,
                          "hop_seconds": cfg.features.hop_seconds}
    if path.is_file():
        import json

        stored = json.loads(path.read_text())
        if stored.get("inputs") == json.loads(json.dumps(inputs)):
            log(f"[{split.name}] tagging: reusing {path} (same inputs)")
            return stored
    learner = train_learner(cfg, frames, split, layout, device=device, progress=progress, augmented=augmented,
                            log=log)
    if not world().is_main:  # the ranks shared the training; rank 0 scores and writes
        return {}
    test = frames.subset(list(split.test), copy=False)
    scores, tags = own_output_scores(learner, test)
    own = tag_scores(test.tracks.tag_matrix(tags), scores, tags)
    log(f"[{split.name}] own sigmoid outputs: ROC-AUC {100 * own['roc_auc']:.1f}%, PR-AUC {100 * own['pr_auc']:.1f}% "
        f"({own['n_scored']} tags scored)")
    layers = learner.select(cfg.features.predict_layers)
    sources = [source_of_learner("learned features", learner, layers, frames, cfg.features.window_seconds,
                                 cfg.features.hop_seconds), *baselines]
    per_source: dict[str, Any] = {}
    for src in sources:
        res = evaluate_source(src, split, make_forest(cfg), seed=cfg.training.seed, task="tags")
        per_source[src.name] = res
        log(f"[{split.name}] {src.name:<16} ROC-AUC: " +
            ", ".join(f"{c} {100 * r['roc_auc']:.1f}%" for c, r in res.items()))
    record = {"split": split.name, "inputs": inputs, "layers": list(layers), "own output": own,
              "sources": per_source}
    atomic_write_json(path, record)
    return record


def write_tagging(records: Sequence[dict[str, Any]], out: str | Path, *, name: str, data: str,
                  tag_names: Sequence[str]) -> tuple[Path, Path]:
    """``tagging.json``, ``tagging.md`` and ``tagging.html`` of a run's split records."""
    from mirlearn.experiments.report.render import Block, render_html, render_markdown

    out = Path(out)
    splits = [r["split"] for r in records]
    sources = list(records[0]["sources"])
    result = {"format": "mirlearn.tagging", "version": 1, "config": name, "data": data, "task": "tags",
              "splits": splits, "sources": sources, "tag_names": list(tag_names),
              "classifiers": list(records[0]["sources"][sources[0]]),
              "own_output": {r["split"]: r["own output"] for r in records},
              "per_split": {r["split"]: r["sources"] for r in records}}
    atomic_write_json(out / "tagging.json", result)

    own = [result["own_output"][s] for s in splits]
    blocks = [Block("h1", f"Auto-tagging: {name} → {data}"),
              Block("p", f"The network is trained on the training tracks' tags (one sigmoid output per tag, binary "
                         f"cross-entropy, early stopping on the validation tracks). A test track's score for a tag "
                         f"is the mean of its rows' sigmoid outputs. Mean ± std over {len(splits)} split(s) "
                         f"({', '.join(splits)}); tags without positive and negative test tracks are left out of "
                         "the macro means."),
              Block("table", header=["", "ROC-AUC, macro (%)", "PR-AUC, macro (%)", "tags scored"],
                    rows=[["network's own outputs", pct_mean_std([o["roc_auc"] for o in own]),
                           pct_mean_std([o["pr_auc"] for o in own]), " / ".join(str(o["n_scored"]) for o in own)]])]
    rows = []
    for g in tag_names:
        per = [o["per_tag"].get(g, {}) for o in own]
        rows.append([g, f"{np.mean([p.get('positives', 0) for p in per]):.1f}",
                     pct_mean_std([p.get("roc_auc") for p in per]), pct_mean_std([p.get("pr_auc") for p in per])])
    blocks += [Block("h2", "Per tag (the network's own outputs)"),
               Block("table", header=["tag", "test positives", "ROC-AUC (%)", "PR-AUC (%)"], rows=rows),
               Block("h2", "The learned features under other classifiers")]
    blocks += score_blocks(result, frozen=False)
    atomic_write_text(out / "tagging.md", render_markdown(blocks))
    atomic_write_text(out / "tagging.html", render_html(blocks, blocks[0].text))
    return out / "tagging.md", out / "tagging.html"


def rebuild_tagging(run_dir: str | Path) -> tuple[Path, Path]:
    """Write a tagging run's report again from its JSON alone (``tagging.json`` and the splits')."""
    import json

    run_dir = Path(run_dir)
    doc = json.loads((run_dir / "tagging.json").read_text())
    from mirlearn.experiments.layout import RunLayout

    layout = RunLayout(run_dir)
    records = [json.loads((layout.split(s).root / "tagging.json").read_text()) for s in doc["splits"]]
    return write_tagging(records, run_dir, name=doc["config"], data=doc["data"], tag_names=doc["tag_names"])

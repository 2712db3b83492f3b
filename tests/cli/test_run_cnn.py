"""A CNN config through the command line: run → own output + forest cells → model → predict /
features; and the CNN's bad inputs, each one line before any work."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mirlearn.cli import main

#: The MIREX 2015 CNN scaled to seconds: 1 split, 4 epochs, 20 trees, 1 s windows.
SMALL_CNN = ["--config", "mirex2015", "--set", "splits.n_splits=1", "--set", "training.max_epochs=4",
             "--set", "training.patches_per_track=4", "--set", "forest.n_estimators=20",
             "--set", "features.window_seconds=2.0", "--set", "features.hop_seconds=1.0"]


@pytest.fixture(scope="module")
def cnn_run(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn") / "run"
    cache = out.parent / "cache"
    args = ["run", "--data", str(synth), "--out", str(out), "--cache", str(cache), "-j", "1", "--no-progress",
            *SMALL_CNN]
    assert main(args) == 0
    return out, args


def test_cnn_run_scores_forest_cells_and_its_own_output(cnn_run, capsys):
    out, _ = cnn_run
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert set(summary) == {f"layer-{l}_{a}" for l in ("conv1", "dense", "all") for a in ("frames", "agg")} \
        | {"output-meanprob", "output-vote"}
    assert max(c["mean"] for c in summary.values()) > 0.5  # chance is 0.25 with 4 classes
    cell = json.loads(next(out.glob("split-*/cells/layer-dense_frames.json")).read_text())
    assert cell["dim"] == 200
    log = next(out.glob("split-*/net/train_log.csv")).read_text().splitlines()
    assert len(log) == 1 + 4  # header + one row per epoch


def test_cnn_model_predicts_and_exports_named_patch_features(cnn_run, synth, tmp_path, capsys):
    out, _ = cnn_run
    clip = sorted(synth.rglob("*.wav"))[0]
    capsys.readouterr()
    assert main(["predict", str(out), str(clip), "--json", "--no-progress"]) == 0
    pred = json.loads(capsys.readouterr().out)[0]
    assert pred["label"] in pred["votes"]
    assert main(["features", str(out), str(clip), "--layer", "conv1", "--out", str(tmp_path / "f.npz"),
                 "--no-progress"]) == 0
    with np.load(tmp_path / "f.npz") as z:
        assert z["features"].shape[1] == 15 and str(z["columns"][0]) == "conv1_unit000"
        hop = 40 * 512 / 22050  # a patch every 40 frames
        np.testing.assert_allclose(np.diff(z["start_s"]), hop, rtol=1e-6)
        np.testing.assert_allclose(z["end_s"] - z["start_s"], (79 * 512 + 1024) / 22050, rtol=1e-6)


def test_a_rerun_reuses_the_cnn_and_its_cells(cnn_run, capsys):
    out, args = cnn_run
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("cells/*.json")}
    capsys.readouterr()
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "reusing" in text and "training CNN" not in text
    assert {p: p.stat().st_mtime_ns for p in out.rglob("cells/*.json")} == stamps


@pytest.mark.parametrize("extra, named", [
    (["--set", "frames.n_mels=10"], "frames.n_mels=10"),                 # below the net's 13-band minimum
    (["--set", "network.hidden=[10]"], "mixes learner families"),         # an MLP key in a CNN config
    (["--set", "training.optimizer=hf"], "training.optimizer"),
    (["--set", "cnn.patch_frames=400"], "longer than every track"),      # clips of 4 s: 172 frames
])
def test_cnn_bad_input_is_one_line_before_any_work(extra, named, synth, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", "--data", str(synth), "--out", str(out), "--cache", str(tmp_path / "cache"), "-j", "1",
            "--no-progress", *SMALL_CNN, *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0], err
    assert not out.exists()


def test_an_mlp_model_file_given_as_a_cnn_is_named(cnn_run, tmp_path):
    """A saved learner of an unknown family is one line naming the file and the kinds known."""
    import torch

    from mirlearn.errors import MirlearnError
    from mirlearn.learners import load_learner

    out, _ = cnn_run
    blob = torch.load(out / "model" / "featurenet.pt", weights_only=False)
    blob["kind"] = "rnn"
    torch.save(blob, tmp_path / "featurenet.pt")
    with pytest.raises(MirlearnError, match=re.escape("unknown learner kind 'rnn'")):
        load_learner(tmp_path)


def test_a_trained_cnn_refuses_frames_of_other_bands(cnn_run):
    """40-band frames into an 80-band model (here: 80 into the 40-band MIREX net): one line."""
    from mirlearn.datasets.tracks import Track, TrackTable
    from mirlearn.errors import MirlearnError
    from mirlearn.features.frameset import FrameSet
    from mirlearn.learners import load_learner

    out, _ = cnn_run
    learner = load_learner(out / "model")
    frames = FrameSet(np.zeros((100, 80), np.float32), np.array([0, 100]), TrackTable([Track("t", "t.wav", "")]))
    with pytest.raises(MirlearnError, match="takes frames of 40 bands, got 80"):
        learner.transform(frames)

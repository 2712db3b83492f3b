"""A recurrent net's config through the command line (the C-RNN of crnn2017-short, scaled to
seconds): run → own output + forest cells on its recurrent state → model → predict / features;
bad recurrent settings are one line before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mirlearn.cli import main

#: crnn2017-short scaled to seconds: 40-frame patches, 1 split, 2 epochs, 20 trees, 2 s windows.
SMALL_CRNN = ["--config", "crnn2017-short", "--set", "splits.n_splits=1", "--set", "cnn.patch_frames=40",
              "--set", "cnn.patch_hop=20", "--set", "training.max_epochs=2", "--set", "training.patches_per_track=2",
              "--set", "forest.n_estimators=20", "--set", "features.window_seconds=2.0",
              "--set", "features.hop_seconds=1.0"]


@pytest.fixture(scope="module")
def crnn_run(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("crnn") / "run"
    args = ["run", "--data", str(synth), "--out", str(out), "--cache", str(out.parent / "cache"), "-j", "1",
            "--no-progress", *SMALL_CRNN]
    assert main(args) == 0
    return out


def test_crnn_run_scores_its_recurrent_state_and_own_output(crnn_run, capsys):
    out = crnn_run
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert set(summary) == {f"layer-{l}_{a}" for l in ("gru2", "all") for a in ("frames", "agg")} \
        | {"output-meanprob", "output-vote"}
    assert all(0.0 <= c["mean"] <= 1.0 for c in summary.values())
    assert json.loads(next(out.glob("split-*/cells/layer-gru2_frames.json")).read_text())["dim"] == 32
    assert json.loads(next(out.glob("split-*/cells/layer-all_frames.json")).read_text())["dim"] == 64 + 3 * 128 + 2 * 32
    log = next(out.glob("split-*/net/train_log.csv")).read_text().splitlines()
    assert len(log) == 1 + 2
    assert (out / "report.html").is_file() and "gru2" in (out / "report.md").read_text()


def test_crnn_model_predicts_and_exports_its_gru_state(crnn_run, synth, tmp_path, capsys):
    clip = sorted(synth.rglob("*.wav"))[0]
    capsys.readouterr()
    assert main(["predict", str(crnn_run), str(clip), "--json", "--no-progress"]) == 0
    pred = json.loads(capsys.readouterr().out)[0]
    assert pred["label"] in pred["votes"]
    assert main(["features", str(crnn_run), str(clip), "--layer", "gru2", "--out", str(tmp_path / "f.npz"),
                 "--no-progress"]) == 0
    with np.load(tmp_path / "f.npz") as z:
        assert z["features"].shape[1] == 32 and str(z["columns"][0]) == "gru2_unit000"
        np.testing.assert_allclose(np.diff(z["start_s"]), 20 * 512 / 22050, rtol=1e-6)


@pytest.mark.parametrize("extra, named", [
    (["--set", "cnn.architecture=bilstm", "--set", "features.layers=['lstm2']", "--set", "features.predict_layers=lstm2",
      "--set", "cnn.activation=elu"], "cnn.activation='elu': architecture 'bilstm' has no conv layers"),
    (["--set", "frames.n_mels=64"], "frames.n_mels=64"),                                  # below the 96-band minimum
    (["--set", "cnn.architecture=crnn-choi2017"], "cnn.patch_frames=40"),               # Choi's pools: 96 frames
    (["--set", "features.layers=['dense']"], "features.layers"),
])
def test_bad_recurrent_settings_are_one_line_before_any_work(extra, named, synth, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", "--data", str(synth), "--out", str(out), "--cache", str(tmp_path / "cache"), "-j", "1",
            "--no-progress", *SMALL_CRNN, *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0], err
    assert not out.exists()

"""`mirlearn run` with [augment]: copies of the training tracks cached as frames and trained on,
per-batch augmentation in the CNN loop, off with one --set, bad values refused before work."""

from __future__ import annotations

import json

import pytest

from mirlearn.cli import main

from tests.cli.test_run_cnn import SMALL_CNN

AUGMENT = ["--set", "augment.enabled=true", "--set", "augment.time_stretch=[]", "--set", "augment.pitch_shift=[]",
           "--set", "augment.gain_db=[6.0]", "--set", "augment.noise_snr_db=[20.0]",
           "--set", "augment.time_masks=1", "--set", "augment.time_mask_frames=8", "--set", "augment.mixup_alpha=0.2"]


@pytest.fixture(scope="module")
def aug_run(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("aug") / "run"
    args = ["run", "--data", str(synth), "--out", str(out), "--cache", str(out.parent / "cache"), "-j", "1",
            "--no-progress", *SMALL_CNN, *AUGMENT]
    assert main(args) == 0
    return out, args


def test_the_learner_trains_on_the_training_tracks_and_their_copies(aug_run, capsys):
    out, _ = aug_run
    splits = json.loads((out / "splits.json").read_text())["splits"][0]
    net = json.loads(next(out.glob("split-*/net/net.json")).read_text())
    assert [a["kind"] for a in net["inputs"]["augment"]] == ["gain", "noise"]
    assert net["inputs"]["learner"]["augment"]["mixup_alpha"] == 0.2
    log = next(out.glob("split-*/net/train_log.csv")).read_text().splitlines()
    assert len(log) == 1 + 4
    toml = (out / "config.toml").read_text()
    assert "[augment]" in toml and "noise_snr_db = [20.0]" in toml
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert max(c["mean"] for c in summary.values()) > 0.5
    assert not any("~" in t for part in splits.values() if isinstance(part, list) for t in part)  # copies are no tracks of the split


def test_a_rerun_reuses_everything_and_augment_off_is_another_learner(aug_run, capsys):
    out, args = aug_run
    capsys.readouterr()
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "reusing" in text and "augmentation: 2 variant(s)" in text
    # the same folder without augmentation: the stored net was trained on other inputs → one line, nothing lost
    assert main(args + ["--set", "augment.enabled=false"]) == 2
    err = capsys.readouterr().err
    assert "other inputs" in err and "augment" in err


@pytest.mark.parametrize("bad,match", [
    (["--set", "augment.time_stretch=[0.0]"], "rate"),
    (["--set", "augment.pitch_shift=[30.0]"], "24"),
    (["--set", "augment.time_mask_frames=500", "--set", "augment.time_masks=1"], "time_mask_frames"),
    (["--set", "augment.backend=sox"], "augment.backend"),
])
def test_bad_augmentation_is_one_line_before_any_work(tiny, tmp_path, capsys, bad, match):
    out = tmp_path / "run"
    assert main(["run", "--data", str(tiny), "--out", str(out), "--cache", str(tmp_path / "c"), "--no-progress",
                 *SMALL_CNN, "--set", "augment.enabled=true", *bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]
    assert not out.exists() and not (tmp_path / "c").exists()


def test_the_report_names_the_augmentation(aug_run):
    out, _ = aug_run
    md = (out / "report.md").read_text()
    assert "**Augmentation** (training tracks only" in md
    assert "gain +6 dB" in md and "noise at 20.0 dB SNR" in md and "mixup (α = 0.2)" in md


def test_an_mlp_trains_on_offline_copies_with_frequency_masks_and_mixup(synth, tmp_path, small, capsys):
    out = tmp_path / "mlp"
    assert main(["run", "--data", str(synth), "--config", "demo", "--out", str(out), "--cache", str(tmp_path / "c"),
                 "-j", "1", "--no-progress", *small, "--set", "splits.n_splits=1", "--set", "augment.enabled=true",
                 "--set", "augment.time_stretch=[]", "--set", "augment.pitch_shift=[]",
                 "--set", "augment.gain_db=[-6.0]", "--set", "augment.freq_masks=1",
                 "--set", "augment.freq_mask_bands=20", "--set", "augment.mixup_alpha=0.2"]) == 0
    text = capsys.readouterr().out
    assert "augmented copies)" in text
    net = json.loads(next(out.glob("split-*/net/net.json")).read_text())
    assert net["inputs"]["learner"]["augment"]["freq_masks"] == 1 and net["inputs"]["augment"][0]["kind"] == "gain"
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert max(c["mean"] for c in summary.values()) > 0.5

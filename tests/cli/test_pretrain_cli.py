"""``mirlearn run`` with pre-training and few labels, from the command line."""

from __future__ import annotations

import json

from mirlearn.cli import main


def test_run_with_rbm_pretraining_and_a_quarter_of_the_labels(synth, home, small, common, capsys):
    out = home / "run-dbn"
    args = ["run", "--data", str(synth), "--config", "demo", "--out", str(out), *small,
            "--set", "network.activation=sigmoid", "--set", "training.max_epochs=3",
            "--set", "pretrain.method=rbm", "--set", "pretrain.epochs=2", "--set", "training.label_fraction=0.5",
            "--set", "features.layers=['all']", *common]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "rbm pre-training: layer 1 best epoch" in captured.out
    assert "pretrain rbm layer 3 epoch 2/2" in captured.err  # logged like training, per epoch
    (split_dir,) = out.glob("split-*")
    for k in (1, 2, 3):
        layer = split_dir / "net" / "pretrain" / f"layer-{k}"
        assert all((layer / f).is_file() for f in ("checkpoint.pt", "train_log.csv", "result.json"))
    toml = (out / "config.toml").read_text()
    assert "[pretrain]" in toml and 'method = "rbm"' in toml and "label_fraction = 0.5" in toml
    cell = json.loads((split_dir / "cells" / "layer-all_frames.json").read_text())
    assert cell["split_sizes"] == {"train": 12, "valid": 8, "test": 12}  # 3 + 2 of 6 + 3 per class
    # A rerun reuses the net and its pre-training (no epoch runs again).
    assert main(args) == 0
    assert "epoch" not in capsys.readouterr().err


def test_bad_pretraining_settings_fail_in_one_line(synth, home, common, capsys):
    for setting, words in (("pretrain.method=rbm", "use method 'dae'"),
                           ("pretrain.corruption=salt", "pretrain.corruption='salt'"),
                           ("training.label_fraction=2", "training.label_fraction=2.0")):
        code = main(["run", "--data", str(synth), "--config", "demo", "--out", str(home / "bad"),
                     "--set", "pretrain.method=dae" if "corruption" in setting else "pretrain.method=none",
                     "--set", setting, *common])
        err = capsys.readouterr().err.strip()
        assert code == 2 and words in err and len(err.splitlines()) == 1, err
        assert not (home / "bad").exists()

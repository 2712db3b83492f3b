"""The greedy stack: trained layers become the MLP's hidden weights; logged, resumable, checked."""

import csv
import io
import json

import numpy as np
import pytest
import torch

from mirlearn.errors import ConfigError, TrainingError
from mirlearn.nn.mlp import MLP
from mirlearn.nn.pretrain.settings import PretrainSettings
from mirlearn.nn.pretrain.stack import layer_dir, pretrain_mlp, pretrain_summary
from mirlearn.nn.train.checkpoint import load_checkpoint


@pytest.fixture
def frames(rng):
    centres = rng.normal(0, 2, (3, 12))
    X = (centres[rng.integers(0, 3, 900)] + rng.normal(0, 0.5, (900, 12))).astype(np.float32)
    return X[:700], X[700:]


def net(activation="sigmoid"):
    return MLP(12, (10, 8, 6), 3, activation=activation, seed=0)


SETTINGS = dict(epochs=4, patience=0, batch_size=50, lr=0.05, input_lr=0.01)


@pytest.mark.parametrize("method, activation", [("rbm", "sigmoid"), ("dae", "sigmoid"), ("dae", "relu")])
def test_the_stack_writes_each_layers_weights_into_the_mlp(frames, tmp_path, method, activation):
    X, Xv = frames
    mlp = net(activation)
    initial = {k: v.clone() for k, v in mlp.state_dict().items()}
    # ReLU activations are unbounded: a smaller rate on the layers above (squared error summed per frame).
    lr = 0.01 if activation == "relu" else SETTINGS["lr"]
    results = pretrain_mlp(mlp, X, Xv, PretrainSettings(method=method, **{**SETTINGS, "lr": lr}), seed=1,
                           run_dir=tmp_path, epoch_lines=False)
    assert len(results) == 3
    for k in range(1, 4):
        best = load_checkpoint(layer_dir(tmp_path, k) / "checkpoint.pt")["progress"]["best_state"]
        bias = best["hidden_bias"] if method == "rbm" else best["bias"]
        assert torch.equal(mlp.layers[k - 1].weight, best["weight"]) and torch.equal(mlp.layers[k - 1].bias, bias)
        assert not torch.equal(mlp.layers[k - 1].weight, initial[f"layers.{k - 1}.weight"])
        # Each layer above the first modelled the activations of the layers below (its width).
        cfg = json.loads((layer_dir(tmp_path, k) / "result.json").read_text())["model_config"]
        assert cfg.get("n_visible", cfg.get("n_in")) == (12 if k == 1 else mlp.widths[k - 2])
    if method == "rbm":
        assert [json.loads((layer_dir(tmp_path, k) / "result.json").read_text())["model_config"]["visible"]
                for k in (1, 2, 3)] == ["gaussian", "bernoulli", "bernoulli"]
    else:
        decoders = [json.loads((layer_dir(tmp_path, k) / "result.json").read_text())["model_config"]["decoder"]
                    for k in (1, 2, 3)]
        assert decoders == (["linear", "sigmoid", "sigmoid"] if activation == "sigmoid" else ["linear"] * 3)
    # The output layer keeps its own initialisation.
    assert torch.equal(mlp.layers[3].weight, initial["layers.3.weight"])
    assert pretrain_summary(method, results).startswith(f"{method} pre-training: layer 1 best epoch")


def test_logged_like_training(frames, tmp_path):
    X, Xv = frames
    out = io.StringIO()
    pretrain_mlp(net(), X, Xv, PretrainSettings(method="rbm", **SETTINGS), run_dir=tmp_path, progress=False,
                 stream=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 12 and lines[0].startswith("pretrain rbm layer 1 epoch 1/4: train loss ")
    assert "valid loss" in lines[0] and "valid acc" not in lines[0]
    rows = list(csv.DictReader((layer_dir(tmp_path, 2) / "train_log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    assert [float(r["momentum"]) for r in rows] == [0.5, 0.5, 0.5, 0.5]  # the first 5 epochs
    assert float(rows[0]["lr"]) == 0.05
    assert float(next(csv.DictReader((layer_dir(tmp_path, 1) / "train_log.csv").open()))["lr"]) == 0.01
    # A finished stack is read back, not retrained: no epoch line the second time.
    again = io.StringIO()
    pretrain_mlp(net(), X, Xv, PretrainSettings(method="rbm", **SETTINGS), run_dir=tmp_path, progress=False,
                 stream=again)
    assert again.getvalue() == ""


@pytest.mark.parametrize("method", ["rbm", "dae"])
def test_a_killed_pretraining_resumes_bitwise(frames, tmp_path, method):
    X, Xv = frames
    settings = PretrainSettings(method=method, **{**SETTINGS, "epochs": 7})  # momentum switches at epoch 6
    whole = net()
    pretrain_mlp(whole, X, Xv, settings, seed=3, run_dir=tmp_path / "whole", epoch_lines=False)

    def kill(layer, epoch, row):
        if (layer, epoch) == (2, 3):
            raise KeyboardInterrupt

    killed = net()
    with pytest.raises(KeyboardInterrupt):
        pretrain_mlp(killed, X, Xv, settings, seed=3, run_dir=tmp_path / "killed", epoch_lines=False, callback=kill)
    assert not (layer_dir(tmp_path / "killed", 2) / "result.json").exists()
    assert not layer_dir(tmp_path / "killed", 3).exists()
    resumed = net()
    out = io.StringIO()
    pretrain_mlp(resumed, X, Xv, settings, seed=3, run_dir=tmp_path / "killed", progress=False, stream=out)
    assert out.getvalue().splitlines()[0].startswith(f"pretrain {method} layer 2: resuming after epoch 3 of 7")
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_another_runs_checkpoint_is_refused(frames, tmp_path):
    X, Xv = frames
    pretrain_mlp(net(), X, Xv, PretrainSettings(method="dae", **SETTINGS), run_dir=tmp_path, epoch_lines=False)
    with pytest.raises(ConfigError, match="belongs to another run.*corruption_level"):
        pretrain_mlp(net(), X, Xv, PretrainSettings(method="dae", **SETTINGS, corruption_level=0.5), run_dir=tmp_path,
                     epoch_lines=False)


def test_same_seed_same_weights_in_memory(frames):
    X, Xv = frames
    a, b = net(), net()
    for m in (a, b):
        pretrain_mlp(m, X, None, PretrainSettings(method="rbm", **SETTINGS), seed=5, epoch_lines=False)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_what_does_not_fit_is_refused_in_one_line(frames):
    X, Xv = frames
    with pytest.raises(ConfigError, match=r"pretrain.method='rbm'.*sigmoid.*use method 'dae'"):
        pretrain_mlp(net("relu"), X, Xv, PretrainSettings(method="rbm"))
    with pytest.raises(ConfigError, match="nothing to pre-train"):
        pretrain_mlp(net(), X, Xv, PretrainSettings())
    with pytest.raises(ValueError, match=r"\(n > 0, 12\)"):
        pretrain_mlp(net(), X[:, :5], Xv, PretrainSettings(method="dae"))


def test_a_diverging_layer_names_the_rate_to_lower(frames):
    X, Xv = frames
    with pytest.raises(TrainingError, match=r"non-finite training loss .* of layer 1: lower pretrain.input_lr "
                                            r"\(now 10.0\); no checkpoint was written"):
        pretrain_mlp(net("relu"), X * 100, Xv, PretrainSettings(method="dae", **{**SETTINGS, "input_lr": 10.0}),
                     epoch_lines=False)

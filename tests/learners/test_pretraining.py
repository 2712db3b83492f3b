"""The MLP learner with pre-training and few labels: API, what each stage sees, one-line errors."""

from pathlib import Path

import numpy as np
import pytest
import torch

from mirlearn.config import dump_toml, load_config, packaged_configs
from mirlearn.datasets.labelled import labelled_ids
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import ConfigError
from mirlearn.features.frameset import FrameSet
from mirlearn.learners import MLPLearner, learner_from_config
from mirlearn.learners.pretraining import labelled_frames
from mirlearn.nn.train.checkpoint import load_checkpoint
from tests.learners.blobs import blobs

PRETRAIN = {"method": "rbm", "epochs": 3, "patience": 0, "batch_size": 32, "lr": 0.05, "input_lr": 0.01}
KW = dict(hidden=(8, 6, 4), lr=0.05, batch_size=32, max_epochs=3, progress=False)


@pytest.fixture
def parts(rng):
    fs = blobs(rng, n_tracks=24, frames=30)
    ids = fs.tracks.ids
    return fs, fs.subset(ids[:12]), fs.subset(ids[12:18])


def test_pretrained_weights_start_the_supervised_training(parts, tmp_path, monkeypatch):
    import mirlearn.nn.train as train_mod

    fs, train, valid = parts
    start = {}
    real = train_mod.train_sgd

    def spy(net, *args, **kw):
        start.update({k: v.clone() for k, v in net.mlp.state_dict().items()})
        return real(net, *args, **kw)

    monkeypatch.setattr(train_mod, "train_sgd", spy)
    learner = MLPLearner(**KW, activation="sigmoid", pretrain=PRETRAIN, run_dir=tmp_path / "net").fit(train, valid)
    for k in (1, 2, 3):
        layer = tmp_path / "net" / "pretrain" / f"layer-{k}"
        assert {p.name for p in layer.iterdir()} >= {"checkpoint.pt", "train_log.csv", "result.json"}
        best = load_checkpoint(layer / "checkpoint.pt")["progress"]["best_state"]
        assert torch.equal(start[f"layers.{k - 1}.weight"], best["weight"])
        assert torch.equal(start[f"layers.{k - 1}.bias"], best["hidden_bias"])
    assert (tmp_path / "net" / "checkpoint.pt").is_file()  # then fine-tuning, in the net's own folder
    assert len(learner.pretrain_results_) == 3
    assert learner.training_summary().startswith("rbm pre-training: layer 1 best epoch")
    assert "; then best epoch" in learner.training_summary()
    # Saved with the learner; a loaded learner has the same parameters and features.
    assert learner.saved_params()["pretrain"]["method"] == "rbm"
    learner.save(tmp_path / "m")
    again = MLPLearner.load(tmp_path / "m")
    assert again.pretrain == learner.pretrain
    np.testing.assert_array_equal(again.transform(fs).X, learner.transform(fs).X)


def test_dae_pretraining_of_a_relu_net_from_the_config(parts, tmp_path):
    _, train, valid = parts
    cfg = load_config("demo", {"network": {"hidden": [8, 6, 4]}, "training": {"max_epochs": 2},
                               "pretrain": {"method": "dae", "epochs": 2, "corruption": "gaussian",
                                            "corruption_level": 0.3}})
    learner = learner_from_config(cfg, run_dir=tmp_path, progress=False)
    assert learner.pretrain["corruption"] == "gaussian" and learner.label_fraction is None
    learner.fit(train, valid)
    assert learner.training_summary().startswith("dae pre-training")
    assert (tmp_path / "pretrain" / "layer-3" / "result.json").is_file()


def test_few_labels_train_the_net_pretraining_sees_every_frame(parts, monkeypatch):
    import mirlearn.nn.pretrain.stack as stack
    import mirlearn.nn.train as train_mod

    _, train, valid = parts
    seen = {}
    real_sgd, real_pre = train_mod.train_sgd, stack.pretrain_mlp

    def spy_sgd(net, X, y, Xv, yv, *args, **kw):
        seen.update(X=np.array(X), Xv=np.array(Xv), mean=net.mean.clone())
        return real_sgd(net, X, y, Xv, yv, *args, **kw)

    def spy_pre(mlp, X, Xv, *args, **kw):
        seen.update(pre_X=np.array(X), pre_Xv=np.array(Xv))
        return real_pre(mlp, X, Xv, *args, **kw)

    monkeypatch.setattr(train_mod, "train_sgd", spy_sgd)
    monkeypatch.setattr(stack, "pretrain_mlp", spy_pre)
    MLPLearner(**KW, activation="sigmoid", pretrain=PRETRAIN, label_fraction=0.25, seed=2).fit(train, valid)
    # 12 training tracks of 3 classes: 1 of 4 per class; 6 validation tracks: 1 of 2 per class.
    keep = labelled_ids(train.tracks.ids, train.tracks.labels, 0.25, seed=2)
    keep_valid = labelled_ids(valid.tracks.ids, valid.tracks.labels, 0.25, seed=2)
    assert len(keep) == 3 and len(keep_valid) == 3
    np.testing.assert_array_equal(seen["X"], train.subset(keep).X)
    np.testing.assert_array_equal(seen["Xv"], valid.subset(keep_valid).X)
    # Labels are not needed to standardise or to pre-train: every training (and validation) frame.
    np.testing.assert_array_equal(seen["pre_X"], train.X)
    np.testing.assert_array_equal(seen["pre_Xv"], valid.X)
    np.testing.assert_allclose(seen["mean"].numpy(), train.X.mean(0), rtol=1e-4, atol=1e-3)


def test_an_augmented_copy_follows_its_source_track(rng):
    fs = blobs(rng, n_tracks=8, frames=5)
    copies = [Track(f"{t.track_id}~stretch1.2", t.path, t.label) for t in fs.tracks]
    both = FrameSet(np.concatenate([fs.X, fs.X]), np.arange(17) * 5, TrackTable([*fs.tracks, *copies]))
    picked = labelled_frames(both, 0.4, seed=0).tracks.ids
    originals = [t for t in picked if "~" not in t]
    assert originals == labelled_ids(fs.tracks.ids, fs.tracks.labels, 0.4, seed=0)
    assert sorted(t for t in picked if "~" in t) == sorted(f"{t}~stretch1.2" for t in originals)
    assert labelled_frames(both, None, seed=0) is both


def test_earlier_runs_stay_current():
    for name in packaged_configs():
        if name == "dbn-sigmoid-500":
            continue
        cfg = load_config(name)
        params = learner_from_config(cfg).saved_params()
        assert "pretrain" not in params and "label_fraction" not in params, name
        assert "pretrain" not in cfg.to_dict() and "label_fraction" not in cfg.to_dict()["training"], name
        assert "[pretrain]" not in dump_toml(cfg) and "label_fraction" not in dump_toml(cfg), name
    few = learner_from_config(load_config("demo", {"training": {"label_fraction": 0.1}})).saved_params()
    assert few["label_fraction"] == 0.1
    # every label (1) is the run without the option: same settings, same learner, reused
    every = load_config("demo", {"training": {"label_fraction": 1.0}})
    assert every.to_dict() == load_config("demo").to_dict() and "label_fraction" not in dump_toml(every)
    assert learner_from_config(every).saved_params() == learner_from_config(load_config("demo")).saved_params()
    assert MLPLearner(label_fraction=1).saved_params() == MLPLearner().saved_params()


def test_the_packaged_dbn_and_its_arm_without_pretraining():
    cfg = load_config("dbn-sigmoid-500")
    assert cfg.network.activation == "sigmoid" and cfg.pretrain.method == "rbm" and cfg.pretrain.cd_k == 1
    assert learner_from_config(cfg).pretrain["input_lr"] == 0.01
    # Without pre-training the net is the same sigmoid net, its settings as if [pretrain] never existed.
    none = load_config("dbn-sigmoid-500", {"pretrain": {"method": "none"}})
    assert "pretrain" not in learner_from_config(none).saved_params() and "[pretrain]" not in dump_toml(none)
    dae = learner_from_config(load_config("dbn-sigmoid-500", {"pretrain": {"method": "dae"}}))
    assert dae.pretrain["method"] == "dae" and dae.activation == "sigmoid"


@pytest.mark.parametrize("kw, match", [
    (dict(activation="relu", pretrain={"method": "rbm"}), r"pretrain.method='rbm'.*use method 'dae'"),
    (dict(pretrain={"method": "dae", "corruption_level": 1.5}), r"pretrain.corruption_level=1.5"),
    (dict(pretrain={"methd": "dae"}), r"unknown pretrain option.*methd"),
    (dict(label_fraction=0.0), r"label_fraction=0.0: must be a share"),
    (dict(label_fraction=1.5), r"label_fraction=1.5"),
    (dict(label_fraction=0.5, task="tags"), r"label_fraction.*task 'label'"),
])
def test_bad_options_fail_in_one_line_before_any_work(parts, kw, match):
    _, train, valid = parts
    with pytest.raises(ConfigError, match=match) as err:
        MLPLearner(**{**KW, **kw}).fit(train, valid)
    assert "\n" not in str(err.value)


def test_hessian_free_fine_tunes_the_pretrained_net(parts, tmp_path, monkeypatch):
    import mirlearn.nn.train as train_mod

    _, train, valid = parts
    start = {}
    real = train_mod.train_hf

    def spy(net, *args, **kw):
        start.update({k: v.clone() for k, v in net.mlp.state_dict().items()})
        return real(net, *args, **kw)

    monkeypatch.setattr(train_mod, "train_hf", spy)
    learner = MLPLearner(**{**KW, "max_epochs": 2}, activation="sigmoid", optimizer="hf", max_cg_iters=5,
                         pretrain={**PRETRAIN, "method": "dae"}, label_fraction=0.5, run_dir=tmp_path).fit(train, valid)
    for k in (1, 2, 3):  # Hessian-Free starts from the pre-trained layers
        best = load_checkpoint(tmp_path / "pretrain" / f"layer-{k}" / "checkpoint.pt")["progress"]["best_state"]
        assert torch.equal(start[f"layers.{k - 1}.weight"], best["weight"])
        assert torch.equal(start[f"layers.{k - 1}.bias"], best["bias"])
    assert not torch.equal(start["layers.0.weight"], learner.net_.mlp.layers[0].weight)  # and fine-tuned
    assert learner.training_summary().startswith("dae pre-training") and "HF step" in learner.training_summary()

"""Maxout nets through the learners and the configuration: fit, features of the units' widths,
save/load, the random-weights copy, the packaged comparison configs, one-line config errors,
and the saved parameters (fingerprints) of the configurations made before maxout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirlearn.config import config_from_dict, dump_toml, load_config, packaged_configs
from mirlearn.errors import ConfigError
from mirlearn.fingerprint import digest
from mirlearn.learners import CNNLearner, MLPLearner, learner_from_config, load_learner
from mirlearn.nn.mlp import maxout_width, mlp_parameters
from tests.learners.blobs import blobs


def test_mlp_learner_with_maxout_units_fits_extracts_saves_and_loads(tmp_path, rng):
    fs = blobs(rng)
    ids = fs.tracks.ids
    learner = MLPLearner(hidden=(8, 6, 4), activation="maxout", maxout_pieces=3, dropout=0.25, lr=0.05,
                         batch_size=32, max_epochs=20, patience=5, progress=False)
    learner.fit(fs.subset(ids[:8]), fs.subset(ids[8:]))
    assert learner.net_.mlp.pieces == 3 and learner.net_.mlp.layers[0].out_features == 24
    assert learner.feature_layers_ == {"1": 8, "2": 6, "3": 4}
    feats = learner.transform(fs, layers="all")
    assert feats.X.shape == (len(fs.X), 18)
    np.testing.assert_allclose(learner.transform(fs, layers=2).X, feats.X[:, 8:14], rtol=1e-6)
    with torch.inference_mode():  # the features are the units' maxima on standardised frames
        net = learner.net_.mlp
        h1 = net.layers[0](learner.net_.standardize(torch.from_numpy(fs.X[:5]))).view(5, 8, 3).max(-1).values
    np.testing.assert_allclose(feats.X[:5, :8], h1.numpy(), rtol=1e-5, atol=1e-6)
    assert (learner.predict_proba(fs).argmax(1) == fs.frame_labels()).mean() > 0.9
    learner.save(tmp_path / "m")
    blob = torch.load(tmp_path / "m" / "featurenet.pt", weights_only=False)
    assert blob["config"]["mlp"]["maxout_pieces"] == 3 and blob["params"]["maxout_pieces"] == 3
    for again in (MLPLearner.load(tmp_path / "m"), load_learner(tmp_path / "m")):
        assert again.activation == "maxout" and again.maxout_pieces == 3
        np.testing.assert_array_equal(again.transform(fs).X, feats.X)
        np.testing.assert_array_equal(again.predict_proba(fs), learner.predict_proba(fs))
    rand = learner.randomized(seed=1)
    assert rand.net_.mlp.pieces == 3 and rand.transform(fs).X.shape == feats.X.shape


def test_cnn_learner_with_a_maxout_dense_layer_fits_saves_and_loads(tmp_path, rng):
    fs = blobs(rng, n_tracks=8, frames=50, dim=80, n_classes=2)  # 80 "bands" per frame
    ids = fs.tracks.ids
    learner = CNNLearner(architecture="schindler-shallow", patch_frames=40, patch_hop=20, max_epochs=1,
                         patches_per_track=2, dense_activation="maxout", progress=False)
    learner.fit(fs.subset(ids[:6]), fs.subset(ids[6:]))
    assert learner.net_.dense.out_features == 400 and learner.feature_layers_["dense"] == 200
    dense = learner.transform(fs, layers="dense")
    assert dense.X.shape[1] == 200 and np.isfinite(dense.X).all()
    learner.save(tmp_path / "c")
    again = load_learner(tmp_path / "c")
    assert isinstance(again, CNNLearner) and again.dense_activation == "maxout" and again.net_.maxout_pieces == 2
    np.testing.assert_array_equal(again.transform(fs, layers="dense").X, dense.X)
    rand = learner.randomized(seed=2)
    assert rand.net_.dense.out_features == 400


def test_the_packaged_maxout_configs_match_the_relu_nets_parameters_and_nothing_else():
    for width in (50, 500):
        relu, mx = load_config(f"sigtia2014-relu-dropout-{width}"), load_config(f"maxout-dropout-{width}")
        n_in = relu.frames.dim
        m = maxout_width(n_in, relu.network.hidden, 10, pieces=2)
        assert mx.network.hidden == [m] * 3 and mx.network.activation == "maxout" and mx.network.maxout_pieces == 2
        a, b = relu.to_dict(), mx.to_dict()
        for d in (a, b):
            del d["name"], d["description"], d["network"]
        assert a == b  # the same frames, training, features, forest and splits: only the units differ
        n_relu, n_mx = mlp_parameters(n_in, relu.network.hidden, 10), mlp_parameters(n_in, [m] * 3, 10, pieces=2)
        assert abs(n_mx - n_relu) / n_relu < 0.01
        learner = learner_from_config(mx)
        assert learner.activation == "maxout" and learner.maxout_pieces == 2 and learner.dropout == 0.25
    assert {"maxout-dropout-50", "maxout-dropout-500"} <= set(packaged_configs())


def test_maxout_configurations_read_dump_and_reload():
    from mirlearn import config as config_mod
    from mirlearn.nn import mlp as mlp_mod

    cfg = load_config("demo", {"network": {"activation": "maxout"}})
    assert cfg.network.maxout_pieces is None
    assert learner_from_config(cfg).maxout_pieces == 2  # unset and 2 are one learner
    assert cfg.to_dict()["network"]["maxout_pieces"] == 2 == config_mod.DEFAULT_MAXOUT_PIECES == \
        mlp_mod.DEFAULT_MAXOUT_PIECES  # the saved settings name k resolved
    assert learner_from_config(load_config("demo", {"network": {"activation": "maxout", "maxout_pieces": 2}})
                               ).saved_params() == learner_from_config(cfg).saved_params()
    cfg = load_config("maxout-dropout-500", {"network": {"maxout_pieces": 3}})
    again = config_from_dict(__import__("tomllib").loads(dump_toml(cfg)))
    assert again.network == cfg.network
    # HF trains maxout nets (the general curvature operator): the configuration is accepted
    assert load_config("sigtia2014-sigmoid-hf-50", {"network": {"activation": "maxout"}}).training.optimizer == "hf"
    cnn = load_config("schindler2016-shallow", {"cnn": {"dense_activation": "maxout", "maxout_pieces": 3}})
    learner = learner_from_config(cnn)
    assert learner.dense_activation == "maxout" and learner.maxout_pieces == 3
    assert "dense_activation = \"maxout\"" in dump_toml(cnn)
    # the dense layer's width, e.g. maxout at the ReLU layer's parameter count (100 units × 2 pieces)
    cnn = load_config("schindler2016-shallow", {"cnn": {"dense_activation": "maxout", "dense_units": 100}})
    learner = learner_from_config(cnn)
    assert learner.dense_units == 100 and learner.saved_params()["dense_units"] == 100
    assert "dense_units = 100" in dump_toml(cnn)
    assert config_from_dict(__import__("tomllib").loads(dump_toml(cnn))).cnn.dense_units == 100


@pytest.mark.parametrize("name, over, match", [
    ("demo", {"network": {"activation": "tanh"}}, "network.activation='tanh': must be 'relu', 'sigmoid' or 'maxout'"),
    ("demo", {"network": {"maxout_pieces": 3}}, "network.maxout_pieces=3: is read only with network.activation = 'maxout'"),
    ("demo", {"network": {"activation": "maxout", "maxout_pieces": 1}}, "network.maxout_pieces=1: must be >= 2"),
    ("demo", {"network": {"activation": "maxout", "maxout_pieces": 2.0}}, "network.maxout_pieces: 2.0 is not of type"),
    ("schindler2016-shallow", {"cnn": {"activation": "maxout"}}, "cnn.activation='maxout': maxout units are for the dense"),
    ("schindler2016-shallow", {"cnn": {"dense_activation": "softplus"}}, "cnn.dense_activation='softplus': must be one of"),
    ("schindler2016-shallow", {"cnn": {"maxout_pieces": 3}}, "cnn.maxout_pieces=3: is read only with cnn.dense_activation"),
    ("schindler2016-shallow", {"cnn": {"dense_activation": "maxout", "maxout_pieces": 0}}, "cnn.maxout_pieces=0: must be >= 2"),
    ("choi2017", {"cnn": {"dense_activation": "maxout"}}, "architecture 'choi2017' has no hidden dense layer"),
    ("choi2017", {"cnn": {"dense_units": 100}}, "cnn.dense_units=100: architecture 'choi2017' has no hidden dense layer"),
    ("crnn2017-short", {"cnn": {"dense_units": 100}}, "cnn.dense_units=100: architecture 'crnn-short' has no hidden dense"),
    ("schindler2016-shallow", {"cnn": {"dense_units": 0}}, "cnn.dense_units=0: must be a positive number of units"),
])
def test_bad_maxout_settings_are_one_line_config_errors(name, over, match):
    with pytest.raises(ConfigError, match=match) as e:
        load_config(name, over)
    assert "\n" not in str(e.value)


#: The learner part of the fingerprint (kind + saved parameters) of two configurations made
#: before maxout units: a stored result of theirs is reused only while these stay the same.
PINNED = {"sigtia2014-relu-dropout-500": "a9ff24562a1700e3", "schindler2016-shallow": "0024570fdaca80f0"}


def test_configurations_made_before_maxout_keep_their_saved_parameters_and_settings():
    for name in packaged_configs():
        if name.startswith("maxout-"):
            continue
        cfg = load_config(name)
        learner = learner_from_config(cfg)
        params = learner.saved_params()
        assert not {"maxout_pieces", "dense_activation", "dense_units"} & set(params), name
        section = cfg.to_dict()["network" if cfg.learner == "mlp" else "cnn"]
        assert not {"maxout_pieces", "dense_activation", "dense_units"} & set(section), name
        assert "maxout" not in dump_toml(cfg), name
        if name in PINNED:
            assert digest({"kind": learner.kind, **params}) == PINNED[name], name

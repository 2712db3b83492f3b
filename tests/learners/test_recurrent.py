"""The recurrent nets as architectures of the CNN learner family: fit / transform / predict /
save / load / randomized through :class:`CNNLearner`, padded tracks, and their configuration
errors (one line each, before any work)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mirlearn.config import CNNConfig, load_config
from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import ConfigError
from mirlearn.features.frameset import FrameSet
from mirlearn.learners import learner_from_config, load_learner
from mirlearn.learners.cnn import CNNLearner
from mirlearn.pipeline import describe_learner


def _frames(rng, lengths, dim) -> FrameSet:
    """Tracks of two classes (a band offset of ±1 in noise), of the given lengths in frames."""
    tracks = [Track(f"t{i}", Path(f"t{i}.wav"), f"c{i % 2}") for i in range(len(lengths))]
    X = np.concatenate([rng.standard_normal((n, dim)) + (2 * (i % 2) - 1) for i, n in enumerate(lengths)])
    return FrameSet(X.astype(np.float32), np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                    TrackTable(tracks))


@pytest.mark.parametrize("architecture, dim, widths", [
    ("bilstm", 12, {"lstm1": 128, "lstm2": 128}),
    ("crnn-short", 96, {"conv1": 64, "conv2": 128, "conv3": 128, "conv4": 128, "gru1": 32, "gru2": 32}),
])
def test_a_recurrent_learner_fits_transforms_predicts_and_round_trips(rng, tmp_path, architecture, dim, widths):
    lengths = [30, 6, 25, 28, 22, 9, 26, 24]        # two tracks shorter than a 12-frame patch
    fs = _frames(rng, lengths, dim)
    ids = fs.tracks.ids
    learner = CNNLearner(architecture=architecture, patch_frames=12, patch_hop=6, max_epochs=2, patches_per_track=2,
                         lr=3e-3, progress=False).fit(fs.subset(ids[:6]), fs.subset(ids[6:]))
    assert learner.feature_layers_ == widths and learner.layer_names() == list(widths)
    assert "2 training track(s) shorter than one patch were zero-padded" in learner.training_summary()
    feats = learner.transform(fs, layers="all")
    last = list(widths)[-1]
    one = learner.transform(fs, layers=last)
    assert feats.X.shape == (feats.offsets[-1], sum(widths.values())) and np.isfinite(feats.X).all()
    np.testing.assert_array_equal(one.X, feats.X[:, -widths[last]:])
    assert np.diff(feats.offsets)[1] == 1 and np.diff(feats.offsets)[0] == (30 - 12) // 6 + 1
    proba = learner.predict_proba(fs)
    assert proba.shape == (len(feats.X), 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    learner.save(tmp_path / "m")
    again = load_learner(tmp_path / "m")
    assert type(again.net_).__name__ == "PatchRNN" and again.get_params() == {**learner.get_params(), "device": "cpu",
                                                                             "run_dir": None, "progress": False}
    np.testing.assert_array_equal(again.transform(fs, layers="all").X, feats.X)
    np.testing.assert_array_equal(again.predict_proba(fs), proba)
    rand = learner.randomized(seed=5)
    assert not np.array_equal(rand.transform(fs, layers=last).X, one.X)


def test_a_padded_track_is_scored_as_its_frames_alone(rng):
    """The learner's features of a 5-frame track in 12-frame patches are those of its 5 frames
    given to the net alone (the padding is masked all the way from the frames)."""
    import torch

    fs = _frames(rng, [20, 5, 20, 18], 8)
    ids = fs.tracks.ids
    learner = CNNLearner(architecture="bilstm", patch_frames=12, patch_hop=6, max_epochs=1, patches_per_track=1,
                         progress=False).fit(fs.subset(ids[:2]), fs.subset(ids[2:]))
    f = learner.transform(fs.subset([ids[1]]), layers="lstm2").X
    x = learner.standardizer_.transform(fs.X[20:25].T[None])
    with torch.no_grad():
        alone = learner.net_.features(torch.from_numpy(x), ["lstm2"])["lstm2"].numpy()
    np.testing.assert_allclose(f, alone, rtol=1e-5, atol=1e-6)


def test_packaged_recurrent_configs_build_their_learners():
    for name, arch, layer in (("crnn2017", "crnn-choi2017", "gru2"), ("crnn2017-short", "crnn-short", "gru2"),
                              ("bilstm", "bilstm", "lstm2")):
        cfg = load_config(name)
        learner = learner_from_config(cfg)
        assert isinstance(learner, CNNLearner) and learner.architecture == arch
        assert layer in learner.layer_names() and cfg.features.own_output
        assert describe_learner(cfg).split()[0] == ("RNN" if arch == "bilstm" else "C-RNN")
    assert describe_learner(load_config("schindler2016-shallow")).startswith("CNN schindler-shallow")


@pytest.mark.parametrize("name, over, named", [
    ("bilstm", {"cnn": {"activation": "relu"}}, "config key cnn.activation='relu': architecture 'bilstm' has no conv"),
    ("bilstm", {"cnn": {"batch_norm": True}}, "config key cnn.batch_norm=True: architecture 'bilstm' has no conv"),
    ("bilstm", {"features": {"layers": ["dense"]}}, "features.layers='dense': is not one of lstm1, lstm2, all"),
    ("crnn2017", {"cnn": {"patch_frames": 40}}, "cnn.patch_frames=40: architecture 'crnn-choi2017' needs patches "
                                                "of at least 96 frames"),
    ("crnn2017-short", {"frames": {"n_mels": 80}}, "frames.n_mels=80: logmel frames of 80 values; architecture "
                                                   "'crnn-short' needs at least 96 bands"),
    ("crnn2017-short", {"cnn": {"activation": "tanh"}}, "cnn.activation='tanh': must be one of"),
    ("crnn2017-short", {"cnn": {"dropout": 1.5}}, "cnn.dropout=1.5"),
    ("crnn2017-short", {"cnn": {"architecture": "gru"}}, "cnn.architecture='gru': must be one of mirex2015"),
])
def test_bad_recurrent_settings_are_one_line_config_errors(name, over, named):
    with pytest.raises(ConfigError) as e:
        load_config(name, over)
    assert named in str(e.value) and "\n" not in str(e.value)


@pytest.mark.skipif("dense_activation" not in {f.name for f in dataclasses.fields(CNNConfig)},
                    reason="maxout dense layers not in this tree")
def test_a_dense_layer_option_on_a_recurrent_net_is_refused():
    with pytest.raises(ConfigError, match="cnn.dense_activation='maxout': architecture 'crnn-short' has no hidden "
                                          "dense layer"):
        load_config("crnn2017-short", {"cnn": {"dense_activation": "maxout"}})

from pathlib import Path

import pytest

from mirlearn.config import Config, config_from_dict, dump_toml, load_config, packaged_configs
from mirlearn.errors import ConfigError


def test_packaged_configs_hold_the_papers_settings():
    names = packaged_configs()
    for n in ("sigtia2014-relu-sgd-50", "sigtia2014-relu-sgd-500", "sigtia2014-relu-dropout-50",
              "sigtia2014-relu-dropout-500", "demo"):
        assert n in names
    c = load_config("sigtia2014-relu-dropout-500")
    assert c.network.hidden == [500, 500, 500] and c.network.dropout == 0.25 and c.network.input_dropout == 0
    assert c.training.lr == 0.01 and c.training.patience == 10 and c.training.optimizer == "sgd"
    assert (c.frames.sr, c.frames.n_fft, c.frames.hop_length) == (22050, 1024, 512)
    assert c.features.window_seconds == 5.0 and c.features.hop_seconds == 2.5
    assert c.splits.n_splits == 4 and c.splits.fractions == [0.5, 0.25, 0.25]
    assert load_config("sigtia2014-relu-sgd-50").network.dropout == 0.0


def test_unknown_key_is_an_error_naming_it():
    with pytest.raises(ConfigError, match="lr2"):
        load_config("demo", {"training": {"lr2": 0.1}})
    with pytest.raises(ConfigError, match="netwrk"):
        config_from_dict({"netwrk": {}})


def test_wrong_type_and_bad_value_are_errors():
    with pytest.raises(ConfigError, match="training.lr"):
        config_from_dict({"training": {"lr": "fast"}})
    with pytest.raises(ConfigError, match="activation"):
        config_from_dict({"network": {"activation": "tanh"}})
    with pytest.raises(ConfigError, match="features.layers"):
        config_from_dict({"features": {"layers": ["4"]}})
    with pytest.raises(ConfigError, match="fractions"):
        config_from_dict({"splits": {"fractions": [0.5, 0.5, 0.5]}})


def test_int_accepted_for_float_and_overrides_merge():
    c = load_config("demo", {"training": {"lr": 1, "max_epochs": 3}})
    assert c.training.lr == 1.0 and isinstance(c.training.lr, float) and c.training.max_epochs == 3
    assert c.network.hidden == [64, 64, 64]  # untouched keys keep the file's values


def test_dump_round_trips(tmp_path: Path):
    c = load_config("sigtia2014-relu-dropout-50", {"frames": {"max_seconds": 30.0}})
    p = tmp_path / "c.toml"
    p.write_text(dump_toml(c))
    assert load_config(p) == c


def test_missing_file_and_unknown_name(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="no config named"):
        load_config("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text("[training\nlr = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_defaults_are_valid():
    assert Config().validate().training.lr == 0.01


# -- every bad value fails when the config is loaded, in one line naming key and value -------
@pytest.mark.parametrize("section, key, value", [
    ("frames", "hop_length", 0),
    ("frames", "n_fft", -5),
    ("frames", "sr", 0),
    ("frames", "hop_length", 4096),  # longer than the 1024-sample frame: samples skipped
    ("frames", "max_seconds", -1),
    ("frames", "max_seconds", 0),
    ("frames", "kind", "wavelet"),
    ("forest", "min_samples_leaf", 0),
    ("forest", "max_features", "bogus"),
    ("forest", "max_features", 0),
    ("forest", "max_features", 1.5),
    ("forest", "max_features", 0.0),
    ("forest", "max_samples", 0),
    ("forest", "max_samples", 2.0),
    ("forest", "max_train_frames", 0),
    ("forest", "n_estimators", 0),
    ("forest", "n_jobs", 0),
    ("forest", "seed", -1),
    ("training", "lr", 0),
    ("training", "lr", float("nan")),
    ("training", "batch_size", 0),
    ("training", "max_epochs", 0),
    ("training", "patience", -1),
    ("training", "init_damping", 0),
    ("training", "max_cg_iters", 0),
    ("training", "seed", -3),
    ("network", "dropout", 1.0),
    ("network", "dropout", -0.1),
    ("splits", "n_splits", 0),
    ("splits", "fractions", [0.5, 0.5]),
    ("splits", "fractions", [1.0, 0.5, -0.5]),
    ("splits", "seed", -1),
    ("features", "window_seconds", 0),
    ("features", "hop_seconds", 0),
    ("features", "hop_seconds", -2.5),
    ("features", "layers", []),
    ("features", "aggregate", []),
    ("features", "predict_layers", "7"),
])
def test_bad_value_is_a_config_error_naming_key_and_value(section: str, key: str, value) -> None:
    with pytest.raises(ConfigError) as e:
        load_config("demo", {section: {key: value}})
    msg = str(e.value)
    assert f"{section}.{key}=" in msg and repr(value) in msg and "\n" not in msg


@pytest.mark.parametrize("value", ["sqrt", "log2", 1, 7, 0.25, 1.0])
def test_valid_max_features(value) -> None:
    assert load_config("demo", {"forest": {"max_features": value}}).forest.max_features == value


def test_frames_section_is_the_frame_settings_type() -> None:
    from mirlearn.config import FramesConfig
    from mirlearn.features.settings import FrameSettings

    c = load_config("sigtia2014-relu-dropout-500", {"frames": {"max_seconds": 30, "kind": "logmel"}})
    assert FramesConfig is FrameSettings and isinstance(c.frames, FrameSettings)
    assert c.frames == FrameSettings(kind="logmel", max_seconds=30.0)
    assert c.frames.dim == 128 and c.frames.time_base.hop_length == 512
    assert c.frames.replace(kind="fft").dim == 513
    with pytest.raises(ConfigError, match="frames.window"):
        load_config("demo", {"frames": {"window": 3}})


# -- learner families ------------------------------------------------------------------------
def test_an_mlp_configuration_reads_and_dumps_as_before():
    cfg = load_config("sigtia2014-relu-dropout-500")
    d = cfg.to_dict()
    assert "cnn" not in d and "learner" not in d and "momentum" not in d["training"]
    text = dump_toml(cfg)
    assert "[cnn]" not in text and "learner" not in text and "patches_per_track" not in text


@pytest.mark.parametrize("data, named", [
    ({"learner": "cnn", "network": {"hidden": [10]}}, "[network]"),
    ({"cnn": {"architecture": "mirex2015"}}, "[cnn]"),
    ({"learner": "cnn", "training": {"optimizer": "adam", "init_damping": 3.0}}, "training.init_damping"),
    ({"training": {"momentum": 0.9}}, "training.momentum"),
])
def test_a_configuration_mixing_mlp_and_cnn_keys_is_one_error(data, named):
    with pytest.raises(ConfigError, match="mixes learner families") as e:
        config_from_dict(data)
    assert named in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("data, key", [
    ({"learner": "rnn"}, "learner"),
    ({"learner": "cnn", "training": {"optimizer": "hf"}}, "training.optimizer"),
    ({"training": {"optimizer": "adam"}}, "training.optimizer"),
])
def test_optimizers_belong_to_their_family(data, key):
    with pytest.raises(ConfigError, match=key):
        config_from_dict(data)

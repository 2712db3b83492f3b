from pathlib import Path

import numpy as np
import pytest

from mirlearn.datasets.tracks import Track, TrackTable
from mirlearn.errors import MirlearnError
from mirlearn.features.frameset import FrameSet
from mirlearn.learners.layers import (FeatureSpec, cell_features, check_layer_names, layer_columns, parse_layers,
                                      select_layers)


def test_parse_layers():
    assert parse_layers("all", 3) == (1, 2, 3)
    assert parse_layers("2", 3) == (2,)
    assert parse_layers(3, 3) == (3,)
    assert parse_layers((1, 3), 3) == (1, 3)
    with pytest.raises(MirlearnError):
        parse_layers(4, 3)
    with pytest.raises(MirlearnError):
        parse_layers((), 3)


def test_select_layers_by_name():
    names = ["conv1", "conv2", "dense"]
    assert select_layers("all", names) == ("conv1", "conv2", "dense")
    assert select_layers("conv2", names) == ("conv2",)
    assert select_layers(["dense", "conv1"], names) == ("dense", "conv1")
    with pytest.raises(MirlearnError, match="conv1, conv2, dense"):
        select_layers("conv3", names)


def test_check_layer_names_names_the_key_and_the_valid_layers():
    check_layer_names(["1", "all"], ["1", "2", "3"])
    with pytest.raises(MirlearnError, match=r"features\.layers='4': is not one of 1, 2, 3, all"):
        check_layer_names(["1", "4"], ["1", "2", "3"])


def test_layer_columns():
    assert layer_columns([2, 3, 4], (2,)).tolist() == [2, 3, 4]
    assert layer_columns([2, 3, 4], (1, 3)).tolist() == [0, 1, 5, 6, 7, 8]
    assert layer_columns({"a": 2, "b": 1}, ("b",)).tolist() == [2]


def _features(n_tracks=3, frames=200, widths=(2, 3, 4)):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_tracks * frames, sum(widths))).astype(np.float32)
    tracks = TrackTable([Track(f"t{i}", Path(f"t{i}.wav"), "a") for i in range(n_tracks)])
    return FrameSet(X, np.arange(n_tracks + 1) * frames, tracks)


def test_cell_features_slices_named_layers_including_non_adjacent_ones():
    fs = _features()
    widths = {"1": 2, "2": 3, "3": 4}
    one = cell_features(fs, widths, FeatureSpec("2", aggregate=False))
    np.testing.assert_array_equal(one.X, fs.X[:, 2:5])
    assert cell_features(fs, widths, FeatureSpec("all", aggregate=False)).X is fs.X
    with pytest.raises(MirlearnError):
        cell_features(fs, None, FeatureSpec("2", aggregate=False))


def test_cell_features_aggregates_with_the_given_time_base():
    fs = _features()
    agg = cell_features(fs, [2, 3, 4], FeatureSpec("1", aggregate=True, window_seconds=1.0, hop_seconds=0.5),
                        sr=1000, hop_length=100)
    assert agg.dim == 4 and agg.n_tracks == 3
    # a 20 s track of 10 frames/s: windows of 1 s every 0.5 s
    assert 30 <= agg.lengths[0] <= 40

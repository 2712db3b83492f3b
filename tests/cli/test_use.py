"""``predict`` and ``features``: every argument is checked before the model is even loaded.

The model folder here holds only an empty ``model.json``: a check that came after loading the
model (or after computing features) would fail differently, with a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mirlearn.cli import main
from mirlearn.cli.use import features_path


@pytest.fixture
def fake_model(tmp_path) -> Path:
    d = tmp_path / "model"
    d.mkdir()
    (d / "model.json").write_text("{}")
    return d


@pytest.fixture
def song(tiny) -> Path:
    return sorted(tiny.rglob("*.wav"))[0]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mirlearn: error: "), err
    return lines[0]


def test_features_out_is_a_folder_or_an_npz_file(tmp_path):
    assert features_path(tmp_path / "feats") == tmp_path / "feats" / "features.npz"
    assert features_path(tmp_path / "my.npz") == tmp_path / "my.npz"


@pytest.mark.parametrize("command", ["predict", "features"])
def test_not_a_model_folder(command, tmp_path, song, capsys):
    assert main([command, str(tmp_path), str(song)]) == 2
    assert "not a mirlearn model folder" in _one_error_line(capsys)


@pytest.mark.parametrize("command", ["predict", "features"])
@pytest.mark.parametrize("bad, named", [
    (["-j", "0"], "-j/--jobs 0"),
    (["--device", "cuda"], "--device cuda"),
])
def test_execution_options_checked(command, bad, named, fake_model, song, capsys):
    assert main([command, str(fake_model), str(song), *bad]) == 2
    assert named in _one_error_line(capsys)


@pytest.mark.parametrize("command", ["predict", "features"])
def test_missing_audio(command, fake_model, tmp_path, capsys):
    assert main([command, str(fake_model), str(tmp_path / "nope.wav")]) == 2
    assert "nope.wav" in _one_error_line(capsys)


def test_features_into_a_folder_that_cannot_be_written(fake_model, song, tmp_path, capsys):
    (tmp_path / "plain").write_text("x")
    assert main(["features", str(fake_model), str(song), "--out", str(tmp_path / "plain" / "feats")]) == 2
    assert "is a file" in _one_error_line(capsys)
    if Path("/proc/self").is_dir():
        assert main(["features", str(fake_model), str(song), "--out", "/proc/feats"]) == 2
        assert "cannot write in /proc" in _one_error_line(capsys)


def test_features_out_names_a_file_that_is_a_folder(fake_model, song, tmp_path, capsys):
    (tmp_path / "x.npz").mkdir()
    assert main(["features", str(fake_model), str(song), "-o", str(tmp_path / "x.npz")]) == 2
    assert "is a folder" in _one_error_line(capsys)
    (tmp_path / "out" / "features.npz").mkdir(parents=True)
    assert main(["features", str(fake_model), str(song), "--out", str(tmp_path / "out")]) == 2
    assert "is a folder" in _one_error_line(capsys)


@pytest.mark.parametrize("bad, named", [
    (["--layer", "top"], "--layer top"),
    (["--aggregate", "--window", "0"], "--window 0"),
    (["--aggregate", "--hop", "-1"], "--hop -1"),
])
def test_feature_choice_checked(bad, named, fake_model, song, tmp_path, capsys):
    assert main(["features", str(fake_model), str(song), "--out", str(tmp_path / "f"), *bad]) == 2
    assert named in _one_error_line(capsys)
    assert not (tmp_path / "f").exists()

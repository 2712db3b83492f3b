"""``predict`` and ``features``: arguments checked before any work, batches with bad files,
the output of ``predict``, and the files ``features`` writes (issue #11 findings 3-7).

``fake_model`` holds only an empty ``model.json``: a check that came after loading the model
(or after computing features) would fail differently. ``model`` is a real one, trained in
seconds on the ``tiny`` set with aggregation windows of 0.5 s every 0.25 s (neither the paper's
5 s nor the demo's 2 s), so that a default taken from anywhere but the model shows.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from mirlearn.cli import main
from mirlearn.cli.use import export_target


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


def test_features_out_is_a_folder_or_one_file(tmp_path):
    assert export_target(tmp_path / "feats", None, False) == (tmp_path / "feats", "npz", False)
    assert export_target(tmp_path / "feats", "csv", True) == (tmp_path / "feats" / "features.csv", "csv", True)
    for fmt in ("npz", "npy", "csv"):
        assert export_target(tmp_path / f"my.{fmt}", None, False) == (tmp_path / f"my.{fmt}", fmt, True)


@pytest.mark.parametrize("command", ["predict", "features"])
def test_not_a_model_folder(command, tmp_path, song, capsys):
    assert main([command, str(tmp_path), str(song)]) == 2
    assert "not a mirlearn model or run folder" in _one_error_line(capsys)


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
    (tmp_path / "out" / f"{song.stem}.npz").mkdir(parents=True)
    assert main(["features", str(fake_model), str(song), "--out", str(tmp_path / "out")]) == 2
    assert "is a folder" in _one_error_line(capsys)
    assert main(["features", str(fake_model), str(song), "-o", str(tmp_path / "x.npy"), "--format", "csv"]) == 2
    assert "--format csv: contradicts" in _one_error_line(capsys)


@pytest.mark.parametrize("bad, named", [
    (["--layer", "1,,2"], "--layer 1,,2"),
    (["--aggregate", "--window", "0"], "--window 0"),
    (["--aggregate", "--hop", "-1"], "--hop -1"),
    (["--window", "2"], "--window 2: sets the aggregation windows; add --aggregate"),
])
def test_feature_choice_checked(bad, named, fake_model, song, tmp_path, capsys):
    assert main(["features", str(fake_model), str(song), "--out", str(tmp_path / "f"), *bad]) == 2
    assert named in _one_error_line(capsys)
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize("command", ["predict", "features"])
def test_a_folder_without_audio_is_one_error_before_any_work(command, fake_model, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no audio here")
    (tmp_path / "x.wav").mkdir()  # a folder named like a file
    for folder in ("empty", "x.wav"):
        assert main([command, str(fake_model), str(tmp_path / folder), "--out", str(tmp_path / "f")]
                    if command == "features" else [command, str(fake_model), str(tmp_path / folder)]) == 2
        assert f"{folder}: is a folder with no audio files in it" in _one_error_line(capsys)
    assert not (tmp_path / "f").exists()


# -- on a trained model ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def model(tiny_model) -> Path:
    return tiny_model


@pytest.fixture
def songs(tiny) -> list[Path]:
    return sorted(tiny.rglob("*.wav"))[:2]


def test_predict_aligned_columns_with_a_header(model, songs, capsys):
    assert main(["predict", str(model), *map(str, songs), "--top-k", "2", "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("# label: majority vote of each file's 0.5 s windows; top 2 classes by share of votes "
                               "(mean forest probability)")
    assert lines[1].split() == ["path", "label", "top", "2"]
    rows = lines[2:]
    assert len(rows) == 2 and [r.split()[0] for r in rows] == list(map(str, songs))
    starts = {line.index(line.split()[1], len(line.split()[0])) for line in lines[1:]}
    assert len(starts) == 1  # the label column starts at the same place on every line
    for r in rows:
        words = r.split()
        assert words[1] in ("synth0", "synth1") and words[2] == words[1]  # the top class is the label
        assert len(words) == 2 + 2 * 3 and words[4].startswith("(") and words[4].endswith(")")


def test_predict_json_votes_and_mean_probabilities(model, songs, capsys):
    assert main(["predict", str(model), *map(str, songs), "--json", "--no-progress"]) == 0
    preds = json.loads(capsys.readouterr().out)
    assert [p["path"] for p in preds] == list(map(str, songs))
    for p in preds:
        assert set(p) == {"path", "label", "votes", "mean_probabilities", "n_votes"}
        assert p["votes"][p["label"]] == max(p["votes"].values())  # the vote decides
        for shares in (p["votes"], p["mean_probabilities"]):
            assert abs(sum(shares.values()) - 1) < 1e-3 and all(round(v, 4) == v for v in shares.values())
        assert p["n_votes"] == 6  # 85 frames in 2 s: windows of 22 frames (0.5 s) every 11 (0.25 s)


def test_a_bad_file_in_a_batch_is_named_and_the_others_done(model, tiny, tmp_path, capsys):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wav file")
    good = sorted(tiny.rglob("*.wav"))
    folder = tmp_path / "album"
    shutil.copytree(tiny / "synth0", folder)
    shutil.copy(bad, folder / "broken.wav")
    (folder / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    for inputs, n_good, n_bad in (([good[0], bad, good[1]], 2, 1), ([folder], 4, 2)):
        assert main(["predict", str(model), *map(str, inputs), "--no-progress"]) == 1
        out, err = capsys.readouterr()
        assert len(out.splitlines()) == 2 + n_good
        errs = err.strip().splitlines()
        assert len(errs) == n_bad + 1 and f"{n_bad} of {n_good + n_bad} files could not be read" in errs[-1]
        assert any(e.startswith("mirlearn: bad file ") and "broken.wav: " in e for e in errs)
        if n_bad == 2:
            assert any("gone.wav: dangling symlink to " in e for e in errs)
    assert main(["predict", str(model), str(folder), "--skip-bad", "--no-progress", "--json"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 4 and "skipped " in err and "broken.wav" in err
    # features: the same rule, and the good files written
    assert main(["features", str(model), str(good[0]), str(bad), "--out", str(tmp_path / "f"), "--no-progress"]) == 1
    assert "broken.wav" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == [f"{good[0].stem}.npz"]


def test_features_windows_default_to_the_models_and_carry_times_and_columns(model, songs, tmp_path, capsys):
    out = tmp_path / "one.npz"
    assert main(["features", str(model), *map(str, songs), "--aggregate", "--out", str(out), "--no-progress"]) == 0
    assert "windows of 0.5 s every 0.25 s" in capsys.readouterr().out
    with np.load(out) as z:
        assert z["features"].shape == (12, 48) and list(z["offsets"]) == [0, 6, 12]
        assert list(z["paths"]) == list(map(str, songs))
        assert z["columns"][0] == "layer1_unit000_mean" and z["columns"][24] == "layer1_unit000_var"
        np.testing.assert_allclose(z["start_s"][:6], np.arange(6) * 11 * 512 / 22050)  # 0.25 s = 11 frames
        assert np.all(z["end_s"] > z["start_s"]) and z["end_s"].max() <= 2.0
        np.testing.assert_array_equal(z["timestamps"], z["start_s"])
        assert float(z["window_s"]) == pytest.approx((22 - 1) * 512 / 22050 + 1024 / 22050)
        assert float(z["hop_s"]) == pytest.approx(11 * 512 / 22050)
        meta = json.loads(str(z["meta"]))
        assert meta["aggregate_window_s"] == 0.5 and meta["aggregate_hop_s"] == 0.25 and meta["aggregate"]


def test_features_npy_is_a_matrix_with_a_json_sidecar_and_csv_is_labelled(model, songs, tmp_path, capsys):
    npy = tmp_path / "x.npy"
    assert main(["features", str(model), *map(str, songs), "--layer", "1,2", "-o", str(npy), "--no-progress"]) == 0
    X = np.load(npy)  # a real .npy: the matrix itself
    side = json.loads((tmp_path / "x.json").read_text())
    assert X.shape == (len(side["start_s"]), 16) and side["columns"][8] == "layer2_unit000"
    assert side["offsets"][-1] == len(X) and side["paths"] == list(map(str, songs)) and not side["aggregate"]
    assert side["hop_s"] == pytest.approx(512 / 22050) and side["window_s"] == pytest.approx(1024 / 22050)
    assert main(["features", str(model), str(songs[0]), "--layer", "3", "--format", "csv", "--aggregate",
                 "--window", "1", "--hop", "0.5", "--out", str(tmp_path / "c"), "--no-progress"]) == 0
    lines = (tmp_path / "c" / f"{songs[0].stem}.csv").read_text().splitlines()
    assert lines[0].split(",")[:4] == ["path", "start_s", "end_s", "layer3_unit000_mean"]
    assert len(lines) == 1 + 2 and lines[1].startswith(f"{songs[0]},0,")
    assert json.loads((tmp_path / "c" / f"{songs[0].stem}.json").read_text())["aggregate_window_s"] == 1.0


def test_embed_one_file_per_input_with_windows_and_a_track_vector(model, songs, tmp_path, capsys):
    out = tmp_path / "emb"
    assert main(["embed", str(model), *map(str, songs), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "embeddings of 2 files" in printed and "a track vector of 48 values per file" in printed
    frames = tmp_path / "frames.npz"
    assert main(["features", str(model), str(songs[0]), "--out", str(frames), "--no-progress"]) == 0
    with np.load(out / f"{songs[0].stem}.npz") as z, np.load(frames) as f:
        assert z["features"].shape == (6, 48) and z["columns"][0] == "layer1_unit000_mean"  # windows by default
        assert z["vectors"].shape == (1, 48) and list(z["vector_columns"][:1]) == ["layer1_unit000_mean"]
        x = f["features"].astype(np.float64)   # every frame of the file: the vector is their mean and variance
        np.testing.assert_allclose(z["vectors"][0], np.concatenate([x.mean(0), x.var(0)]), rtol=1e-4, atol=1e-6)
    assert main(["embed", str(model), str(songs[0]), "--frames", "--format", "csv", "--out", str(tmp_path / "c"),
                 "--no-progress"]) == 0
    c = tmp_path / "c"
    assert (c / f"{songs[0].stem}.vectors.csv").read_text().splitlines()[1].startswith(f"{songs[0]},")
    side = json.loads((c / f"{songs[0].stem}.json").read_text())
    assert side["vectors"] == f"{songs[0].stem}.vectors.csv" and not side["aggregate"]
    assert main(["embed", str(model), str(songs[0]), "--frames", "--window", "1", "--out", str(tmp_path / "x")]) == 2
    assert "--window 1: sets the aggregation windows; drop --frames" in capsys.readouterr().err


def test_features_one_file_per_input_named_after_it(model, tiny, tmp_path, capsys):
    # two files of the same name (from two folders) and a folder argument whose layout is kept
    a = tmp_path / "a" / "song.wav"
    b = tmp_path / "b" / "song.wav"
    for p in (a, b):
        p.parent.mkdir()
        shutil.copy(sorted(tiny.rglob("*.wav"))[0], p)
    out = tmp_path / "feats"
    assert main(["features", str(model), str(a), str(b), str(tiny), "--out", str(out), "--no-progress"]) == 0
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*.npz"))
    assert names == sorted(["song.npz", "song.wav.npz"] + [f"synth{c}/synth{c}.0000{k}.npz" for c in (0, 1)
                                                            for k in range(4)])
    with np.load(out / "song.npz") as z, np.load(out / "song.wav.npz") as w:
        assert list(z["paths"]) == [str(a)] and list(w["paths"]) == [str(b)]
        np.testing.assert_array_equal(z["features"], w["features"])
    assert main(["features", str(model), str(a), "--combined", "--format", "npy", "--out", str(out)]) == 0
    assert (out / "features.npy").is_file() and (out / "features.json").is_file()


def test_features_layers_checked_against_the_model_before_decoding(model, songs, tmp_path, monkeypatch, capsys):
    import mirlearn.audio

    def no_decoding(*a, **k):
        raise AssertionError("decoded audio before checking the arguments")

    monkeypatch.setattr(mirlearn.audio, "load", no_decoding)
    for layer in ("4", "top", "1,4"):
        assert main(["features", str(model), *map(str, songs), "--layer", layer, "--out", str(tmp_path / "f")]) == 2
        assert (f"--layer {layer}: not among this model's feature layers 1, 2, 3 or all"
                in _one_error_line(capsys))
    assert main(["features", str(model), *map(str, songs), "--aggregate", "--window", "0.01",
                 "--out", str(tmp_path / "f")]) == 2
    assert "--window 0.01: shorter than one frame" in _one_error_line(capsys)
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize("command", ["predict", "features"])
def test_progress_of_decoding_in_a_pipe(command, model, songs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MIRLEARN_PROGRESS", "lines")
    args = [command, str(model), *map(str, songs)] + (["--out", str(tmp_path / "f")] if command == "features" else [])
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "decoding: 2/2 files (100%)" in err and "\r" not in err
    assert main(args + ["--no-progress"]) == 0
    assert capsys.readouterr().err == ""

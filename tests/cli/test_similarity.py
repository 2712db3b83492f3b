"""`mirlearn index`, `similar` and `evaluate-similarity` on the tiny synthetic set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mirlearn.cli import main
from mirlearn.similarity.index import TrackIndex


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture(scope="module")
def mfcc_index(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("ix") / "mfcc"
    cache = tmp_path_factory.mktemp("cache")
    assert main(["index", "mfcc", "--data", str(tiny), "--out", str(out), "--cache", str(cache),
                 "--no-progress"]) == 0
    return out


def test_index_evaluate_and_similar_with_mfcc(mfcc_index, tiny, capsys):
    idx = TrackIndex.load(mfcc_index)
    assert len(idx) == 8 and idx.dim == 80 and set(idx.labels) == {"synth0", "synth1"}
    assert main(["evaluate-similarity", str(mfcc_index), "-k", "3", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_tracks"] == 8 and set(doc["per_label"]) == {"synth0", "synth1"}
    scores = idx.evaluate(3)
    assert doc["precision_at_3"] == pytest.approx(scores.mean_precision_at_k)
    assert main(["evaluate-similarity", str(mfcc_index)]) == 0
    table = capsys.readouterr().out
    assert "P@10" in table and table.strip().splitlines()[-1].startswith("all")
    song = sorted(tiny.rglob("*.wav"))[0]
    assert main(["similar", str(mfcc_index), str(song), "-k", "20", "--json", "--no-progress"]) == 0
    [res] = json.loads(capsys.readouterr().out)
    paths = [h["path"] for h in res["neighbors"]]
    assert len(paths) == 7 and str(song) not in paths          # capped at the others; never itself
    d = [h["distance"] for h in res["neighbors"]]
    assert d == sorted(d) and [h["rank"] for h in res["neighbors"]] == list(range(1, 8))
    assert main(["similar", str(mfcc_index), str(song), "-k", "2", "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(song) and len(lines) == 3 and lines[1].split()[0] == "1"


def test_index_of_a_model_and_its_queries(tiny_model, tiny, tmp_path, capsys):
    out = tmp_path / "ix"
    assert main(["index", str(tiny_model), "--data", str(tiny), "--layer", "2", "--metric", "euclidean",
                 "--out", str(out), "--cache", str(tmp_path / "cache"), "--no-progress"]) == 0
    assert "index of 8 tracks × 16 values" in capsys.readouterr().out
    idx = TrackIndex.load(out)
    assert idx.metric == "euclidean" and idx.source["layers"] == ["2"]
    song = sorted(tiny.rglob("*.wav"))[3]
    copy = tmp_path / "copy.wav"
    copy.write_bytes(song.read_bytes())
    assert main(["similar", str(out), str(copy), "-k", "1", "--json", "--no-progress"]) == 0
    [res] = json.loads(capsys.readouterr().out)
    # a copy of a collection track (another path) finds that track at distance 0
    assert res["neighbors"][0]["path"] == str(song) and res["neighbors"][0]["distance"] == pytest.approx(0, abs=1e-4)


def test_artist_filter_from_a_manifest(tiny, tmp_path, capsys):
    files = sorted(tiny.rglob("*.wav"))
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,artist\n" + "".join(f"{f},{f.parent.name},a{i // 2}\n"
                                                        for i, f in enumerate(files)))
    out = tmp_path / "ix"
    assert main(["index", "mfcc", "--data", str(manifest), "--out", str(out), "--cache", str(tmp_path / "c"),
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["evaluate-similarity", str(out), "-k", "2", "--artist-filter", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    idx = TrackIndex.load(out)
    ref = idx.evaluate(2, artist_filter=True)
    assert doc["artist_filter"] and doc["map"] == pytest.approx(ref.mean_average_precision)
    assert not np.array_equal(ref.average_precision, idx.evaluate(2).average_precision)


def test_bad_arguments_are_one_line_before_any_work(mfcc_index, tiny_model, tiny, tmp_path, capsys):
    out = tmp_path / "new"
    assert main(["index", "mfcc", "--data", str(tiny), "--layer", "2", "--out", str(out)]) == 2
    assert "--layer: chooses a model's features; the mfcc baseline has none" in _one_error_line(capsys)
    assert main(["index", str(tiny_model), "--data", str(tiny), "--layer", "7", "--out", str(out)]) == 2
    assert "layer 7 is not a feature layer of this model" in _one_error_line(capsys)
    assert main(["index", "mfcc", "--data", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "--data" in _one_error_line(capsys)
    assert main(["index", "mfcc", "--data", str(tiny), "--out", str(tiny)]) == 2
    assert "not a mirlearn index" in _one_error_line(capsys)
    assert main(["index", "mfcc", "--data", str(tiny)]) == 2
    assert "--out: required" in _one_error_line(capsys)
    assert not out.exists()
    song = str(sorted(tiny.rglob("*.wav"))[0])
    assert main(["similar", str(tiny), song]) == 2
    assert "not an index folder (no index.json)" in _one_error_line(capsys)
    assert main(["similar", str(mfcc_index), song, "-k", "0"]) == 2
    assert "-k" in _one_error_line(capsys)
    assert main(["evaluate-similarity", str(mfcc_index), "--artist-filter"]) == 2
    assert "knows no artists" in _one_error_line(capsys)


def test_index_of_one_part_of_a_split(tiny, tmp_path, capsys):
    splits = tmp_path / "splits.json"
    assert main(["splits", "--data", str(tiny), "--out", str(splits), "--n-splits", "2"]) == 0
    doc = json.loads(splits.read_text())
    out = tmp_path / "ix"
    assert main(["index", "mfcc", "--data", str(tiny), "--tracks", "train", "--splits", str(splits), "--split", "1",
                 "--out", str(out), "--cache", str(tmp_path / "c"), "--no-progress"]) == 0
    idx = TrackIndex.load(out)
    assert idx.ids == doc["splits"][1]["train"] and idx.source["tracks"]["split"] == doc["splits"][1]["name"]
    capsys.readouterr()
    assert main(["index", "mfcc", "--data", str(tiny), "--tracks", "test", "--out", str(tmp_path / "x")]) == 2
    assert "--tracks test: give --splits FILE" in _one_error_line(capsys)
    assert main(["index", "mfcc", "--data", str(tiny), "--tracks", "test", "--splits", str(splits), "--split", "9",
                 "--out", str(tmp_path / "x")]) == 2
    assert "--split 9: not in" in _one_error_line(capsys)


def test_index_with_a_learned_distance(tiny, tmp_path, capsys):
    splits = tmp_path / "splits.json"
    assert main(["splits", "--data", str(tiny), "--out", str(splits), "--n-splits", "1"]) == 0
    doc = json.loads(splits.read_text())["splits"][0]
    out = tmp_path / "ix"
    assert main(["index", "mfcc", "--data", str(tiny), "--tracks", "test", "--splits", str(splits),
                 "--learn-distance", "--out", str(out), "--cache", str(tmp_path / "c"), "--no-progress"]) == 0
    assert "learned distance: a siamese net" in capsys.readouterr().out
    idx = TrackIndex.load(out)
    assert idx.ids == doc["test"] and idx.learned is not None and idx.metric == "euclidean"
    assert idx.source["learned_distance"]["train_tracks"] == len(doc["train"])
    assert main(["evaluate-similarity", str(out), "-k", "1"]) == 0
    assert main(["index", "mfcc", "--data", str(tiny), "--learn-distance", "--out", str(tmp_path / "x")]) == 2
    assert "--learn-distance: the distance learns from a split's training tracks" in _one_error_line(capsys)


def test_explore_exports_a_static_page_and_checks_its_arguments(mfcc_index, tmp_path, capsys):
    site = tmp_path / "site"
    assert main(["explore", str(mfcc_index), "--export", str(site), "-k", "3", "--map", "pca"]) == 0
    assert "explorer of 8 tracks" in capsys.readouterr().out
    html = (site / "index.html").read_text()
    assert "window.EXPLORER_STATIC" in html and len(list((site / "audio").glob("*.wav"))) == 8
    assert main(["explore", str(mfcc_index), "-k", "0"]) == 2
    assert "-k 0: must be within 1..100" in _one_error_line(capsys)
    assert main(["explore", str(mfcc_index), "--port", "70000"]) == 2
    assert "--port 70000" in _one_error_line(capsys)
    assert main(["explore", str(tmp_path)]) == 2
    assert "not an index folder" in _one_error_line(capsys)


def test_index_with_an_hnsw_graph_and_its_check(tiny, tmp_path, capsys, monkeypatch):
    pytest.importorskip("faiss")
    out, cache = tmp_path / "hnsw", tmp_path / "c"
    assert main(["index", "mfcc", "--data", str(tiny), "--search", "hnsw", "--out", str(out), "--cache", str(cache),
                 "--no-progress"]) == 0
    assert "FAISS HNSW graph" in capsys.readouterr().out and (out / "hnsw.faiss").is_file()
    song = sorted(tiny.rglob("*.wav"))[0]
    assert main(["similar", str(out), str(song), "-k", "3", "--json", "--no-progress"]) == 0
    [res] = json.loads(capsys.readouterr().out)
    assert len(res["neighbors"]) == 3 and str(song) not in [h["path"] for h in res["neighbors"]]
    # without FAISS the option fails in one line, before any work
    import mirlearn.similarity.search as search

    monkeypatch.setattr(search, "faiss_available", lambda: False)
    assert main(["index", "mfcc", "--data", str(tiny), "--search", "hnsw", "--out", str(tmp_path / "x")]) == 2
    assert "--search hnsw: needs FAISS" in _one_error_line(capsys) and not (tmp_path / "x").exists()


def test_label_less_collections_are_refused_where_labels_judge(tagged_manifest, tmp_path, capsys):
    m, _ = tagged_manifest
    out = tmp_path / "ix"
    assert main(["index", "mfcc", "--data", str(m), "--learn-distance", "--tracks", "test", "--out", str(out)]) == 2
    assert "--learn-distance: learns from pairs of labels" in _one_error_line(capsys) and not out.exists()
    assert main(["index", "mfcc", "--data", str(m), "--out", str(out), "--cache", str(tmp_path / "c"),
                 "--no-progress", "-j", "1"]) == 0
    capsys.readouterr()
    assert main(["evaluate-similarity", str(out)]) == 2
    assert "fewer than 2 labels" in _one_error_line(capsys)

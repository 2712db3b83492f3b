"""Which layout ``load_dataset(kind='auto')`` (and ``reproduce``) reads a path as."""

from __future__ import annotations

from mirlearn.datasets import detect_kind, looks_like_gtzan


def _dirs(root, *names):
    for n in names:
        (root / n).mkdir(parents=True)
    return root


def test_gtzan_at_the_top_under_genres_and_under_genres_original(tmp_path):
    assert detect_kind(_dirs(tmp_path / "a", "blues", "rock")) == "gtzan"
    assert detect_kind(_dirs(tmp_path / "b", "genres/jazz", "genres/pop", "__MACOSX")) == "gtzan"
    assert looks_like_gtzan(_dirs(tmp_path / "c", "genres_original/metal", "genres_original/disco"))


def test_other_folders_and_manifests(tmp_path):
    assert detect_kind(_dirs(tmp_path / "a", "blues")) == "folder"           # one genre name only
    assert detect_kind(_dirs(tmp_path / "b", "blues", "rock", "speech")) == "folder"  # a foreign label
    assert detect_kind(_dirs(tmp_path / "c", "music", "speech")) == "folder"
    m = tmp_path / "m.csv"
    m.write_text("path,label\n")
    assert detect_kind(m) == "manifest"
    assert detect_kind(str(tmp_path / "a")) == "folder"

"""``splits`` and ``synth`` through the command line."""

from __future__ import annotations

import json

from mirlearn.cli import main


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mirlearn: error: "), err
    return lines[0]


def test_splits_writes_the_file(tiny, tmp_path, capsys):
    out = tmp_path / "s" / "splits.json"
    assert main(["splits", "--data", str(tiny), "--n-splits", "2", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [s["name"] for s in doc["splits"]] == ["random-seed0-0", "random-seed0-1"]
    old = tmp_path / "old.json"  # the former -o spelling
    assert main(["splits", "--data", str(tiny), "--n-splits", "2", "-o", str(old)]) == 0
    assert old.read_text() == out.read_text()


def test_splits_into_an_existing_folder(tiny, tmp_path, capsys):
    folder = tmp_path / "existing"
    folder.mkdir()
    assert main(["splits", "--data", str(tiny), "--out", str(folder)]) == 2
    assert "is a folder" in _one_error_line(capsys)
    assert list(folder.iterdir()) == []


def test_splits_bad_numbers(tiny, tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["splits", "--data", str(tiny), "--n-splits", "0", "--out", str(out)]) == 2
    assert "--n-splits 0" in _one_error_line(capsys)
    assert main(["splits", "--data", str(tiny), "--fractions", "0.5", "0.5", "0.5", "--out", str(out)]) == 2
    assert "--fractions" in _one_error_line(capsys)
    assert not out.exists()


def test_synth_out_and_old_positional(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["synth", "--out", str(a), "--classes", "2", "--clips", "1", "--seconds", "0.5"]) == 0
    assert main(["synth", str(b), "--classes", "2", "--clips", "1", "--seconds", "0.5"]) == 0
    names = lambda d: sorted(p.relative_to(d).as_posix() for p in d.rglob("*.wav"))  # noqa: E731
    assert names(a) == names(b) and len(names(a)) == 2


def test_synth_checks(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "x"), "--classes", "1"]) == 2
    assert "--classes 1" in _one_error_line(capsys)
    assert main(["synth", "--classes", "2"]) == 2
    assert "--out DIR" in _one_error_line(capsys)
    (tmp_path / "file").write_text("")
    assert main(["synth", "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in _one_error_line(capsys)
    assert not (tmp_path / "x").exists()

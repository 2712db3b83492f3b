"""`mirlearn augment`: the offline variants as audio files and a manifest that --data reads."""

from __future__ import annotations

import csv

import soundfile as sf

from mirlearn.cli import main


def test_writes_one_file_per_track_and_variant_and_a_manifest(tiny, tmp_path, capsys):
    out = tmp_path / "aug"
    args = ["augment", "--data", str(tiny), "--out", str(out), "--limit", "8", "--no-progress",
            "--set", "augment.time_stretch=[2.0]", "--set", "augment.pitch_shift=[]", "--set", "augment.gain_db=[6.0]"]
    assert main(args) == 0
    rows = list(csv.DictReader(open(out / "augmented.csv", encoding="utf-8")))
    assert len(rows) == 8 * 2
    assert {r["track_id"].split("~")[1] for r in rows} == {"stretch2", "gain+6dB"}
    for r in rows:
        info = sf.info(out / r["path"])
        assert info.samplerate == 22050 and info.subtype == "FLOAT"
        assert abs(info.duration - (1.0 if "stretch" in r["path"] else 2.0)) < 0.02  # 2 s clips
    # a second call keeps what is there; the manifest is a dataset
    capsys.readouterr()
    assert main(args) == 0
    assert "wrote 0 file(s), kept 16" in capsys.readouterr().out
    assert main(["splits", "--data", str(out / "augmented.csv"), "--n-splits", "1", "--out", str(tmp_path / "s.json")]) == 0


def test_bad_values_and_no_variant_are_one_line_before_any_work(tiny, tmp_path, capsys):
    out = tmp_path / "aug"
    for bad, match in ((["--set", "augment.time_stretch=[-1.0]"], "rate"),
                       (["--set", "augment.time_stretch=[]", "--set", "augment.pitch_shift=[]"], "nothing to write"),
                       (["--limit", "0"], "--limit")):
        assert main(["augment", "--data", str(tiny), "--out", str(out), *bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and match in err[0]
    assert not out.exists()

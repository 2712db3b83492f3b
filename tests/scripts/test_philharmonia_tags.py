"""The Philharmonia tagging manifest: tags and MIDI pitch read from the sample names."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from mirlearn.datasets.manifest import load_manifest

_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "philharmonia_tags.py"
_spec = importlib.util.spec_from_file_location("philharmonia_tags", _SCRIPT)
tags_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tags_script)


def test_midi_pitch():
    assert tags_script.midi_pitch("A4") == 69 and tags_script.midi_pitch("As2") == 46
    assert tags_script.midi_pitch("C4") == 60 and tags_script.midi_pitch("Cs1") == 25
    with pytest.raises(ValueError):
        tags_script.midi_pitch("H2")


def test_manifest_of_sample_names(tmp_path):
    for rel in ("cor_anglais/english-horn_A3_025_forte_normal.mp3", "cello/cello_C2_1_pianissimo_arco-normal.mp3",
                "flute/flute_C6_05_mezzo-forte_normal.mp3"):
        (tmp_path / "ph" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "ph" / rel).write_bytes(b"")
    assert tags_script.main([str(tmp_path / "ph"), str(tmp_path / "m.csv")]) == 0
    with open(tmp_path / "m.csv") as f:
        got = {Path(r["path"]).parent.name: (r["tags"], int(r["target"])) for r in csv.DictReader(f)}
    assert got == {"cor_anglais": ("woodwind;double reed;loud;middle register", 57),
                   "cello": ("strings;soft;low register", 36),
                   "flute": ("woodwind;loud;high register", 84)}
    tracks, _ = load_manifest(tmp_path / "m.csv")
    assert tracks.has_targets and "double reed" in tracks.tag_names
    assert "cello/cello_C2_1_pianissimo_arco-normal" in tracks.ids      # the folder dataset's id

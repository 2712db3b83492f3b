"""Runs side by side: paired differences over shared splits, and the checks that keep them honest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mirlearn.errors import MirlearnError
from mirlearn.experiments.report.compare import (COMPARE_FIGURE, accuracy_table, cell_title, compare_runs,
                                                 read_run, write_comparison)

SPLITS = {"s0": (["a", "b"], ["c"], ["d"]), "s1": (["b", "c"], ["d"], ["a"]), "s2": (["c", "d"], ["a"], ["b"])}


def _run(root: Path, per_split: dict[str, list[float]], *, splits=("s0", "s1", "s2"), membership=SPLITS,
         config: str = 'name = "x"\n[features]\npredict_layers = "all"\npredict_aggregate = true\n') -> Path:
    """A run folder as `mirlearn run` leaves it: results.json, splits.json, config.toml."""
    root.mkdir(parents=True)
    summary = {cell: {"mean": float(np.mean(v)), "std": float(np.std(v)), "per_split": v}
               for cell, v in per_split.items()}
    (root / "results.json").write_text(json.dumps({"config": "x", "splits": list(splits), "summary": summary}))
    doc = {"format": "mirlearn.splits", "version": 1,
           "splits": [{"name": s, "train": membership[s][0], "valid": membership[s][1], "test": membership[s][2]}
                      for s in splits]}
    (root / "splits.json").write_text(json.dumps(doc))
    (root / "config.toml").write_text(config)
    return root


def test_paired_differences_split_by_split(tmp_path):
    a = _run(tmp_path / "base", {"layer-all_agg": [0.80, 0.90, 0.70], "output-vote": [0.5, 0.5, 0.5]})
    b = _run(tmp_path / "aug", {"layer-all_agg": [0.85, 0.90, 0.80], "output-vote": [0.6, 0.4, 0.5]},
             config='name = "x"\n[augment]\nenabled = true\n[features]\npredict_layers = "all"\n'
                    'predict_aggregate = true\n')
    c = compare_runs([read_run(a), read_run(b)])
    assert c.splits == ("s0", "s1", "s2") and c.headline == "layer-all_agg"
    np.testing.assert_allclose(c.deltas(1, "layer-all_agg"), [0.05, 0.0, 0.10], atol=1e-12)
    header, rows = accuracy_table(c)
    assert header == ["cell", "base", "aug", "Δ aug − base", "better / same / worse"]
    row = dict((r[0], r) for r in rows)["all, windows"]
    # base: mean 80.0, std 8.2; aug: 85.0 ± 4.1; Δ = +5.0 ± 4.1 (paired), better on 2, same on 1
    assert row[1:] == ["80.0 ± 8.2", "85.0 ± 4.1", "+5.0 ± 4.1", "2 / 1 / 0"]
    assert dict((r[0], r) for r in rows)["own output, vote"][3:] == ["+0.0 ± 8.2", "1 / 1 / 1"]
    assert ("augment.enabled", ("—", "true")) in c.differences
    assert [r[0] for r in rows] == ["all, windows", "own output, vote"]


def test_only_shared_splits_are_compared_and_the_rest_named(tmp_path):
    a = _run(tmp_path / "a", {"layer-1_frames": [0.5, 0.6, 0.7]})
    b = _run(tmp_path / "b", {"layer-1_frames": [0.9, 0.8]}, splits=("s2", "s0"))
    c = compare_runs([read_run(a), read_run(b)])
    assert c.splits == ("s0", "s2")
    assert c.values(1, "layer-1_frames") == [0.8, 0.9]
    np.testing.assert_allclose(c.deltas(1, "layer-1_frames"), [0.3, 0.2])
    assert any("s1 left out" in n for n in c.notes)
    assert c.headline == "layer-1_frames"   # the predict cell is absent: the best layer cell instead


def test_same_split_id_with_other_tracks_is_refused(tmp_path):
    other = dict(SPLITS, s1=(["a", "c"], ["d"], ["b"]))
    a = _run(tmp_path / "a", {"layer-1_frames": [0.5, 0.6, 0.7]})
    b = _run(tmp_path / "b", {"layer-1_frames": [0.5, 0.6, 0.7]}, membership=other)
    with pytest.raises(MirlearnError, match=r"split 's1' has other tracks in .*b/splits.json"):
        compare_runs([read_run(a), read_run(b)])


def test_bad_inputs_are_one_line_naming_the_file(tmp_path):
    a = _run(tmp_path / "a", {"layer-1_frames": [0.5, 0.6, 0.7]})
    with pytest.raises(MirlearnError, match="at least two"):
        compare_runs([read_run(a)])
    with pytest.raises(MirlearnError, match="labelled 'a'"):
        compare_runs([read_run(a), read_run(a)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(MirlearnError, match=r"empty/results.json: not found"):
        read_run(tmp_path / "empty")
    with pytest.raises(MirlearnError, match="run folder not found"):
        read_run(tmp_path / "nope")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "results.json").write_text("{\"splits\": [\"s0\"]}")
    with pytest.raises(MirlearnError, match="not the results of `mirlearn run`"):
        read_run(bad)
    b = _run(tmp_path / "b", {"layer-1_frames": [0.5]}, splits=("zz",), membership={"zz": ([], [], [])})
    with pytest.raises(MirlearnError, match="share no split"):
        compare_runs([read_run(a), read_run(b)])


def test_written_report_json_and_figure(tmp_path):
    a = _run(tmp_path / "a", {"layer-all_agg": [0.80, 0.90, 0.70]})
    b = _run(tmp_path / "b", {"layer-all_agg": [0.85, 0.90, 0.80]})
    c = compare_runs([read_run(a, "without"), read_run(b, "with")])
    md, html = write_comparison(c, tmp_path / "out")
    text = md.read_text()
    assert "| all, windows | 80.0 ± 8.2 | 85.0 ± 4.1 | +5.0 ± 4.1 | 2 / 1 / 0 |" in text
    assert "The configurations are identical." in text
    assert (tmp_path / "out" / "figures" / COMPARE_FIGURE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in html.read_text()
    doc = json.loads((tmp_path / "out" / "compare.json").read_text())
    d = doc["cells"]["layer-all_agg"]["runs"]["with"]["delta"]
    np.testing.assert_allclose(d["per_split"], [0.05, 0.0, 0.10], atol=1e-12)
    assert doc["baseline"] == "without" and doc["splits"] == ["s0", "s1", "s2"]


def test_cell_titles():
    assert cell_title("layer-dense_agg") == "dense, windows"
    assert cell_title("layer-all_frames") == "all, frames"
    assert cell_title("output-meanprob") == "own output, mean probability"
    assert cell_title("output-vote") == "own output, vote"

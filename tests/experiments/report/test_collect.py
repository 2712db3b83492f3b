"""Collecting a run's cell JSONs and gathering them over splits."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mirlearn.experiments import published as pub
from mirlearn.experiments.report.collect import best_cell, collect, key_of, summarize_cells


def test_collect_includes_run_json(full_run: Path):
    entries = collect(full_run)
    runs = [e for e in entries if e["_kind"] == "run"]
    assert len(runs) == 1 and runs[0]["profile"] == "quick" and entries[-1] is runs[0]
    assert sum(e["_kind"] == "cell" for e in entries) == 6 * 8 * 4 + 8 + 2 * 2 * (1 + 4)
    with pytest.raises(FileNotFoundError):
        collect(full_run / "nope")


def test_collect_skips_temporaries_and_reports_broken_files(tmp_path: Path, fake):
    fake.gtzan_cell(tmp_path, "ReLU+SGD", 50, "1", False, 0, 0.5)
    cells_dir = tmp_path / "gtzan" / "relu-50" / "split-0" / "cells"
    (cells_dir / ".layer-2_frames.json.x1.tmp.json").write_text("{half")  # an interrupted atomic write
    (cells_dir / "layer-3_frames.json").write_text("{broken")
    with pytest.warns(UserWarning, match="layer-3_frames"):
        entries = collect(tmp_path)
    assert [e["_kind"] for e in entries] == ["cell", "error"]


def test_cells_are_identified_by_content_not_folder(tmp_path: Path, fake):
    # A Table 1 cell filed under a folder that says something else entirely.
    fake.write_cell(tmp_path, "misc/whatever", table=1, dataset="gtzan", method="Sigmoid+HF", units=500, layers="3",
                    aggregate=True, split="random-seed0-2", acc=0.75)
    (cell,) = [e for e in collect(tmp_path) if e["_kind"] == "cell"]
    assert key_of(cell) == (1, "gtzan", "Sigmoid+HF", 500, "3", True)
    st = summarize_cells([cell])[key_of(cell)]
    assert st.splits == ["random-seed0-2"] and st.accuracies == [75.0]


def test_fewer_splits_and_duplicates_ignored(tmp_path: Path, fake):
    for k in range(4):
        fake.gtzan_cell(tmp_path, "ReLU+SGD", 50, "1", False, k, 0.6)
    fake.gtzan_cell(tmp_path, "ReLU+SGD", 50, "2", False, 0, 0.7)
    # The same split again, in another folder: kept once.
    fake.write_cell(tmp_path, "copy/split-0", table=1, dataset="gtzan", method="ReLU+SGD", units=50, layers="2",
                    aggregate=False, split="random-seed0-0", acc=0.9)
    notes: list[str] = []
    stats = summarize_cells(collect(tmp_path), notes)
    assert stats[pub.cell_key(1, "ReLU+SGD", 50, "2", False)].accuracies == [90.0]  # "copy/" sorts first
    assert any("second result" in n for n in notes)


def test_mean_std_and_published(full_run: Path, fake):
    st = summarize_cells(collect(full_run))[pub.cell_key(1, "ReLU+SGD+Dropout", 500, "all", True)]
    assert st.n_splits == 4
    assert st.mean == pytest.approx(82.5)
    assert st.std == pytest.approx(math.sqrt(31.25))
    assert st.published.value == 83.0 and st.diff == pytest.approx(-0.5)


def test_best_cell_and_summed_confusion(full_run: Path, fake):
    best = best_cell(collect(full_run))
    assert (best.method, best.units, best.layers, best.aggregate) == ("ReLU+SGD+Dropout", 500, "all", True)
    assert best.classes == fake.CLASSES
    assert best.confusion.sum() == 4 * 20
    assert np.trace(best.confusion) == sum(round(a * 20) for a in fake.BEST_ACCS)


def test_best_cell_prefers_higher_mean(tmp_path: Path, fake):
    fake.gtzan_cell(tmp_path, "ReLU+SGD", 50, "1", False, 0, 0.9)
    fake.gtzan_cell(tmp_path, "ReLU+SGD", 50, "1", False, 1, 0.5)  # mean 70
    fake.gtzan_cell(tmp_path, "Sigmoid+HF", 500, "3", True, 0, 0.75)  # mean 75, one split
    best = best_cell(collect(tmp_path))
    assert (best.method, best.units, best.layers) == ("Sigmoid+HF", 500, "3")
    assert best_cell(collect(tmp_path), table=2) is None

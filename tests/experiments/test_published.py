"""The paper's published values: every cell of Tables 1 and 2, with provenance."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mirlearn.experiments import published as pub

SHARED_PUBLISHED = Path(__file__).resolve().parents[2].parent / "shared" / "PUBLISHED.md"


def test_sample_of_table1_values_pinned():
    assert pub.published_value(1, "ReLU+SGD", 50, "1", False) == 75.0
    assert pub.published(1, "ReLU+SGD", 50, 1, False).std == 1.3
    assert pub.published_value(1, "ReLU+SGD", 500, "3", True) == 83.0
    assert pub.published(1, "relu + sgd + dropout", 500, "all", True).std == 1.1
    assert pub.published_value(1, "ReLU+SGD+Dropout", 500, "all", False) == 80.5
    assert pub.published_value(1, "Sigmoid+HF", 50, "all", True) == 82.1
    assert pub.published_value(1, "Sigmoid+HF", 500, "1", False) == 65.6
    p = pub.published(1, "Sigmoid+HF", 500, "3", True)
    assert (p.value, p.std, p.text) == (77.1, 2.36, "77.1 ± 2.36")  # printed with two decimals
    assert pub.published(1, "ReLU+SGD", 50, "all", False).text == "79.0 ± 2.0"
    assert "Table 1" in p.source


def test_sample_of_table2_values_and_baselines_pinned():
    assert pub.published_value(2, "ReLU+SGD+Dropout", 500, "all", True, "ismir2004") == 73.46
    assert pub.published_value(2, "ReLU+SGD", 50, "1", True) == 70.50
    assert pub.published(2, "ReLU+SGD", 500, "all", True).text == "72.30"
    assert pub.published_value(2, "ReLU+SGD+Dropout", 50, "2", True) == 66.94
    assert pub.published_value(2, "Sigmoid+HF", 500, "2", True) == 68.32
    assert pub.published(2, "Sigmoid+HF", 50, "3", True).std is None  # one split: no std
    assert pub.published_value("baseline", "MFCC", None, "all", True, "ismir2004") == 67.21
    assert pub.published_value(2, "pmsc", None, "all", True) == 68.45


def test_every_cell_has_exactly_one_value_and_nothing_else():
    table1 = [(1, "gtzan", m, u, layer, agg) for m in pub.METHODS for u in pub.UNITS for layer in pub.LAYERS
              for agg in (False, True)]
    table2 = [(2, "ismir2004", m, u, layer, True) for m in pub.METHODS for u in pub.UNITS for layer in pub.LAYERS]
    baselines = [("baseline", "ismir2004", b, None, "all", True) for b in pub.BASELINES]
    expected = table1 + table2 + baselines
    assert len(set(expected)) == 48 + 24 + 2
    assert sorted(map(str, pub.PUBLISHED)) == sorted(map(str, expected))  # keys are unique in a dict
    for key in expected:
        assert pub.published(*key[:1], *key[2:], dataset=key[1]) is pub.PUBLISHED[key]
    # The paper has no Table 2 cell on single frames, and nothing on other data sets.
    assert pub.published_value(2, "ReLU+SGD", 50, "1", False) is None
    assert pub.published_value(1, "ReLU+SGD", 50, "1", True, "synthetic") is None
    assert pub.published_value("baseline", "MFCC", None, "all", True, "gtzan") is None


def test_other_papers_are_apart():
    papers = {r.paper for r in pub.OTHER_REFERENCES}
    assert any(p.startswith("Hamel & Eck") for p in papers) and any(p.startswith("Schindler") for p in papers)
    hamel_all = [r for r in pub.OTHER_REFERENCES if r.paper.startswith("Hamel") and "all layers" in r.system]
    assert [(r.dataset, r.value) for r in hamel_all] == [("gtzan", 84.3)]
    # Never a cell of the paper's tables.
    assert all(isinstance(v, pub.Published) for v in pub.PUBLISHED.values())
    assert not any("Hamel" in v.source or "Schindler" in v.source for v in pub.PUBLISHED.values())


def _markdown_rows(text: str, heading: str) -> list[list[str]]:
    section = text[text.index(heading):]
    section = section[:section.index("\n## ", 1)]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.match(r"\d+\.\d", cells[-1]):
            rows.append(cells)
    return rows


@pytest.mark.skipif(not SHARED_PUBLISHED.is_file(), reason="shared/PUBLISHED.md not found")
def test_tables_match_the_transcription():
    text = SHARED_PUBLISHED.read_text(encoding="utf-8")
    t1 = _markdown_rows(text, "## Sigtia & Dixon, ICASSP 2014 — Table 1")
    assert len(t1) == 6
    for row in t1:
        agg = row[0].startswith("aggregated")
        got = [pub.published(1, row[1], u, layer, agg).text.replace(" ", "") for u in pub.UNITS for layer in pub.LAYERS]
        assert got == row[2:], row
    t2 = _markdown_rows(text, "## Table 2")
    assert len(t2) == 3
    for row in t2:
        got = [pub.published(2, row[0], u, layer, True).text for u in pub.UNITS for layer in pub.LAYERS]
        assert got == row[1:], row
    for method, value in re.findall(r"(MFCC|PMSC) (\d+\.\d+) %", text.split("Baselines on ISMIR 2004:")[1][:60]):
        assert pub.published(2, method, None, "all", True).value_text == value

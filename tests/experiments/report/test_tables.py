"""Table 1 and Table 2: layout, published values beside every cell, CSV against the golden files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from mirlearn.experiments import published as pub
from mirlearn.experiments.report import write_report
from mirlearn.experiments.report.collect import collect
from mirlearn.experiments.report.tables import (format_table1_markdown, format_table2_markdown, table1, table1_csv,
                                                table2, table2_csv)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_table1_layout_and_a_published_value_beside_every_cell(full_run: Path):
    rows = table1(collect(full_run))
    assert [(r.method, r.units) for r in rows] == [(m, u) for m in pub.METHODS for u in pub.UNITS]
    assert all(len(r.cells) == 8 for r in rows)
    md = format_table1_markdown(rows).splitlines()
    assert len(md) == 2 + 6
    assert all(line.count("|") == 10 for line in md)  # net + 8 columns
    assert "82.5 ± 5.6 (paper 83.0 ± 1.1, Δ -0.5)" in md[2 + 3]
    assert md[2 + 3].startswith("| ReLU+SGD+Dropout 500 |")
    assert sum(line.count("(paper ") for line in md) == 48 and sum(line.count(", Δ ") for line in md) == 48
    assert "(paper 77.1 ± 2.36, Δ " in md[2 + 5]


def test_table1_missing_cells_show_dash_and_the_paper(tmp_path: Path, fake):
    fake.gtzan_cell(tmp_path, "ReLU+SGD", 50, "1", False, 0, 0.6)
    rows = table1(collect(tmp_path))
    assert rows[0].cells[("1", False)].mean == pytest.approx(60.0)
    assert rows[0].cells[("1", True)] is None
    md = format_table1_markdown(rows)
    assert md.count("—") == 47
    assert "60.0 (paper 75.0 ± 1.3, Δ -15.0)" in md
    assert "— (paper 83.0 ± 1.1)" in md and "— (paper 65.6 ± 1.6)" in md


def test_no_published_value_on_another_dataset(synthetic_run: Path):
    rows = table1(collect(synthetic_run), "synthetic")
    assert all(st is not None for r in rows for st in r.cells.values())
    assert "paper" not in format_table1_markdown(rows)
    assert all(r["published"] == "" and r["diff"] == "" for r in _rows(table1_csv(rows)))


def test_table1_csv_long_form(full_run: Path):
    rows = _rows(table1_csv(table1(collect(full_run))))
    assert len(rows) == 48
    assert list(rows[0]) == ["method", "units", "layers", "aggregate", "n_splits", "mean", "std", "published", "diff"]
    best = [r for r in rows if r["method"] == "ReLU+SGD+Dropout" and r["units"] == "500" and r["layers"] == "all"
            and r["aggregate"] == "true"][0]
    assert (best["n_splits"], float(best["mean"]), best["published"], float(best["diff"])) == ("4", 82.5, "83.0", -0.5)
    for r in rows:
        p = pub.published(1, r["method"], int(r["units"]), r["layers"], r["aggregate"] == "true")
        assert float(r["published"]) == p.value
        assert float(r["diff"]) == pytest.approx(float(r["mean"]) - p.value, abs=1e-4)


def test_table2_rows_with_every_published_net(full_run: Path):
    rows = table2(collect(full_run))
    transfer = [r for r in rows if r.section == "transfer"]
    base = [r for r in rows if r.section == "baseline"]
    assert len(transfer) == 6 * 8 and len(base) == 8
    assert [(r.method, r.units) for r in transfer[::8]] == [(m, u) for m in pub.METHODS for u in pub.UNITS]
    # Every cell of the paper's Table 2 is listed with its value; single frames have none.
    assert all((r.published is not None) == r.aggregate for r in transfer)
    assert {r.published.value for r in transfer if r.aggregate} == {v for row in pub.TABLE2_ROWS.values() for v in row}
    top = [r for r in transfer if (r.method, r.units, r.layers, r.aggregate) == ("ReLU+SGD+Dropout", 500, "all", True)]
    assert top[0].stat.mean == pytest.approx(75.0) and top[0].published.value == 73.46
    assert top[0].diff == pytest.approx(75.0 - 73.46)
    assert [(r.dataset, r.method, r.aggregate) for r in base] == [
        (d, m, a) for d in ("ismir2004", "gtzan") for m in ("MFCC", "PMSC") for a in (False, True)]
    mfcc_agg = [r for r in base if (r.dataset, r.method, r.aggregate) == ("ismir2004", "MFCC", True)][0]
    assert mfcc_agg.published.value == 67.21 and mfcc_agg.diff == pytest.approx(60.0 - 67.21)
    gtzan_mfcc = [r for r in base if r.dataset == "gtzan" and r.method == "MFCC" and r.aggregate][0]
    assert gtzan_mfcc.stat.n_splits == 4 and gtzan_mfcc.stat.mean == pytest.approx(67.5)
    assert gtzan_mfcc.published is None
    md = format_table2_markdown(rows)
    assert "| ReLU+SGD+Dropout 500 | ISMIR 2004 | all | aggregated | 75.00 | 73.46 | +1.54 |" in md
    assert "| ReLU+SGD+Dropout 500 | ISMIR 2004 | 1 | aggregated | 60.00 | 70.09 | -10.09 |" in md
    assert "| Sigmoid+HF 50 | ISMIR 2004 | 1 | aggregated | — | 68.72 | — |" in md
    assert "| ReLU+SGD 500 | ISMIR 2004 | all | aggregated | — | 72.30 | — |" in md
    assert "| MFCC | GTZAN | all | aggregated | 67.50 ± 5.59 | — | — |" in md


def test_table2_of_another_dataset_keeps_only_the_reference_values(tmp_path: Path, fake):
    rows = table2([], "synthetic")
    assert len(rows) == 16 and all(r.stat is None for r in rows)
    shown = [(r.method, r.units, r.layers, r.aggregate, r.published.value) for r in rows if r.published]
    assert shown == [("ReLU+SGD+Dropout", 500, "all", True, 73.46), ("MFCC", None, "all", True, 67.21),
                     ("PMSC", None, "all", True, 68.45)]
    # Nets of another data set transferred to ISMIR 2004 are not the paper's: no difference taken.
    fake.write_cell(tmp_path, "ismir2004/relu-dropout-500", table=2, dataset="ismir2004", method="ReLU+SGD+Dropout",
                    units=500, layers="all", aggregate=True, split="train-development", acc=0.75)
    (top,) = [r for r in table2(collect(tmp_path), "synthetic") if r.stat is not None]
    assert top.reference and top.published.value == 73.46 and top.diff is None
    assert "| ReLU+SGD+Dropout 500 | ISMIR 2004 | all | aggregated | 75.00 | 73.46 | — |" in format_table2_markdown(
        table2(collect(tmp_path), "synthetic"))


def test_table2_of_an_empty_gtzan_run_lists_every_published_cell():
    rows = table2([])
    assert len(rows) == 6 * 8 + 8
    assert sum(r.published is not None for r in rows) == 24 + 2


# ----------------------------------------------------------------------------------------------
# Against the tables the report wrote before it became a package (tests/.../golden)


def test_synthetic_tables_byte_identical_to_golden(synthetic_run: Path, fake):
    write_report(synthetic_run)
    for name in ("table1.csv", "table2.csv"):
        assert (synthetic_run / name).read_bytes() == (fake.GOLDEN / f"synthetic_{name}").read_bytes(), name


def test_gtzan_tables_differ_from_golden_only_by_the_new_published_values(full_run: Path, fake):
    write_report(full_run)
    ours_cols = ("method", "units", "layers", "aggregate", "n_splits", "mean", "std")
    new1, old1 = _rows((full_run / "table1.csv").read_text()), _rows((fake.GOLDEN / "gtzan_table1.csv").read_text())
    assert [[r[c] for c in ours_cols] for r in new1] == [[r[c] for c in ours_cols] for r in old1]
    cols2 = ("section", "dataset") + ours_cols
    new2, old2 = _rows((full_run / "table2.csv").read_text()), _rows((fake.GOLDEN / "gtzan_table2.csv").read_text())
    kept = [r for r in new2 if not (r["section"] == "transfer" and r["n_splits"] == "0")]
    assert [[r[c] for c in cols2] for r in kept] == [[r[c] for c in cols2] for r in old2]
    for new, old in zip(kept, old2):
        if old["published"]:  # the values the report showed before keep their place
            assert float(new["published"]) == float(old["published"])
            assert new["diff"] == old["diff"]

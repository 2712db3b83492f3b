"""The whole report: files, self-contained HTML, partial and empty runs, and the golden text."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

from mirlearn.experiments.report import write_report
from mirlearn.experiments.report.collect import collect

FIGURES = ("layer_accuracy.png", "confusion_best.png", "learning_curves.png", "ours_vs_published.png")
#: Sections added since the golden reports were written (issue #11): left out of the comparison
#: with them, and tested on their own; the time table is now in words.
NEW_SECTIONS = ("## Data", "## Per-class accuracy of each net", "## Time per stage")


def _without_sections(lines: list[str], titles=NEW_SECTIONS) -> list[str]:
    """``lines`` of a Markdown report without the sections headed by ``titles``."""
    out, skip = [], False
    for line in lines:
        if line.startswith("## "):
            skip = line in titles
        if not skip:
            out.append(line)
    return out


def test_write_report_files_and_self_contained_html(full_run: Path):
    md_path, html_path = write_report(full_run)
    assert md_path == full_run / "report.md" and html_path == full_run / "report.html"
    for name in ("table1.csv", "table2.csv") + tuple(f"figures/{f}" for f in FIGURES):
        assert (full_run / name).is_file(), name
        if name.endswith(".png"):
            assert (full_run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in full_run.rglob(".*") if p.is_file()]  # no temporaries left
    html = html_path.read_text()
    assert html.count("data:image/png;base64,") == 4
    assert 'src="http' not in html and "<link" not in html and "<script" not in html and "url(" not in html
    md = md_path.read_text()
    for text in ("Profile: **quick**", "2 splits of GTZAN instead of 4", "forest.n_estimators", "last invocation: training",
                 "82.5 ± 5.6 (paper 83.0 ± 1.1, Δ -0.5)", "73.46", "67.21", "68.45", "abc123", "numpy",
                 "figures/confusion_best.png", "net training: ReLU+SGD 50 (GTZAN) (4 run(s))",
                 "cells, forest fits, Table 1 (GTZAN) (192 cells)", "ReLU+SGD+Dropout 500, all layers, aggregated (GTZAN)",
                 "Table 1: 48 of 48 cells have results (up to 4 split(s) each).",
                 "![ours vs published](figures/ours_vs_published.png)",
                 "Every cell with both our result and a published value (54 cells)"):
        assert text in md, text
    # 48 cells × 4 splits × 10 s of forest fit, in words.
    assert "| cells, forest fits, Table 1 (GTZAN) (192 cells) | 32 min 00 s |" in md


def test_out_dir(full_run: Path, tmp_path: Path):
    md_path, _ = write_report(full_run, tmp_path / "elsewhere")
    assert md_path == tmp_path / "elsewhere" / "report.md"
    assert (tmp_path / "elsewhere" / "figures" / "ours_vs_published.png").is_file()
    assert not (full_run / "report.md").exists()


def test_report_rebuilt_from_json_alone_without_torch(full_run: Path):
    md1, _ = write_report(full_run)
    first = md1.read_text()
    csv1 = (full_run / "table1.csv").read_text()
    for p in ("report.md", "report.html", "table1.csv", "table2.csv"):
        (full_run / p).unlink()
    for p in (full_run / "figures").iterdir():
        p.unlink()
    code = ("import sys; from mirlearn.experiments.report import write_report; "
            f"write_report({str(full_run)!r}); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert (full_run / "report.md").read_text() == first
    assert (full_run / "table1.csv").read_text() == csv1
    assert (full_run / "report.html").is_file()


def test_synthetic_run_says_there_is_nothing_to_compare(synthetic_run: Path, fake):
    stale = synthetic_run / "figures" / "ours_vs_published.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")  # from an earlier report in the same folder
    md_path, html_path = write_report(synthetic_run)
    assert not stale.exists()
    md = md_path.read_text()
    assert "— no cell has both our result and a published value" in md
    assert html_path.read_text().count("data:image/png;base64,") == 3
    # Against the report written before it became a package: only the intended lines changed.
    old = _without_sections((fake.GOLDEN / "synthetic_report.md").read_text().splitlines())
    diff = [d for d in difflib.unified_diff(old, _without_sections(md.splitlines()), lineterm="", n=0)
            if d[:1] in "+-" and not d.startswith(("+++", "---"))]
    removed = [d[1:] for d in diff if d.startswith("-")]
    added = [d[1:] for d in diff if d.startswith("+")]
    assert len(removed) == 3 and "where transcribed" in removed[0] and "Only the cells transcribed" in removed[2]
    assert "the HF step for Hessian-Free nets" in removed[1]  # the report no longer asks which trainer ran
    assert [a for a in added if a] == [
        removed[0].replace("where transcribed", "on GTZAN only").replace(", on GTZAN only", " (on GTZAN only)"),
        "Training loss (dashed) and validation loss (solid) of each net, and its validation frame accuracy below, "
        "against its epoch (a Hessian-Free epoch is one HF step), from the nets' training logs; one colour per split.",
        "## Ours vs published",
        "— no cell has both our result and a published value (the paper's cells are GTZAN nets, on GTZAN and "
        "on ISMIR 2004).",
        added[-1]]
    assert "every cell of its Tables 1 and 2" in added[-1]


def test_partial_run_report(tmp_path: Path, fake):
    run = tmp_path / "partial"
    fake.gtzan_cell(run, "ReLU+SGD+Dropout", 500, "all", True, 0, 0.8)
    fake.gtzan_cell(run, "ReLU+SGD+Dropout", 500, "all", True, 1, 0.85)
    fake.gtzan_cell(run, "ReLU+SGD", 50, "1", False, 0, 0.5)
    (run / "gtzan" / "relu-50" / "split-0" / "cells" / "layer-3_frames.json").write_text("{broken")
    with pytest.warns(UserWarning):
        collect(run)
    md_path, html_path = write_report(run)
    md = md_path.read_text()
    assert "Table 1: 2 of 48 cells have results (up to 2 split(s) each)." in md
    assert "the paper's protocol uses 4" in md
    assert "Table 1, ReLU+SGD 50: fewer splits than the other cells: L1 frames (n=1)." in md
    assert "Table 1, Sigmoid+HF 500: missing L1 frames, L1 agg" in md
    assert "layer-3_frames.json: unreadable" in md
    assert "Table 2, ReLU+SGD+Dropout 500 on ISMIR 2004: missing" in md
    assert "82.5 ± 2.5 (paper 83.0 ± 1.1, Δ -0.5)" in md
    assert "Profile: unknown" in md and "No `environment.json`" in md and "no training logs found" in md
    assert "(2 cells)" in md
    assert (run / "figures" / "confusion_best.png").is_file()
    assert not (run / "figures" / "learning_curves.png").exists()
    assert html_path.read_text().count("data:image/png;base64,") == 3


def test_empty_run_report(tmp_path: Path):
    md_path, html_path = write_report(tmp_path)
    md = md_path.read_text()
    assert "Table 1: 0 of 48 cells have results." in md
    assert "no results yet" in md
    assert "data:image" not in html_path.read_text()


def test_gtzan_report_changed_only_where_published_values_were_added(tmp_path: Path, fake):
    md = _without_sections(write_report(fake.make_full_run(tmp_path / "gtzan"))[0].read_text().splitlines())
    old = _without_sections((fake.GOLDEN / "gtzan_report.md").read_text().splitlines())  # named as the golden run
    diff = [d for d in difflib.unified_diff(old, md, lineterm="", n=0)
            if d[:1] in "+-" and not d.startswith(("+++", "---"))]
    intended = ("| ",  # table rows: the published value beside every cell
                "- Table 2, ",  # the paper's Table 2 nets that the run has not transferred
                "**ReLU+SGD+Dropout 500, all layers, aggregated (GTZAN)**: 82.50 ± 5.59 % over 4 split(s) (paper 83",
                "Track accuracy (%), mean ± std", "Validation loss and accuracy of each net",
                "Training loss (dashed) and validation loss", "## Ours vs published",
                "Every cell with both our result", "![ours vs published]", "Published values: ")
    assert [d for d in diff if d[1:] and not d[1:].startswith(intended)] == []
    assert sum(d.startswith("+| ") for d in diff) == 6 + 5 * 8 + 3  # Table 1 rows, new Table 2 rows, 3 changed

"""Figures: the data of "ours vs published", and that every figure is a PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirlearn.experiments.report.collect import collect, summarize_cells
from mirlearn.experiments.report.figures import comparison_points, plot_ours_vs_published
from mirlearn.experiments.report.tables import table1, table2


def _points(run: Path, dataset: str = "gtzan"):
    stats = summarize_cells(collect(run))
    return comparison_points(table1(stats, dataset), table2(stats, dataset))


def test_one_point_per_cell_with_ours_and_published(full_run: Path):
    points = _points(full_run)
    # 48 Table 1 cells; Table 2: the 4 aggregated cells of the one net run; the 2 ISMIR 2004 baselines.
    assert len(points) == 48 + 4 + 2
    assert [sum(p.group == g for p in points) for g in ("Table 1, frames", "Table 1, aggregated", "Table 2",
                                                         "baselines")] == [24, 24, 4, 2]
    best = [p for p in points if p.label == "ReLU+SGD+Dropout 500, all layers, aggregated (GTZAN)"][0]
    assert (best.published, best.published_std, best.ours, best.n_splits) == (83.0, 1.1, 82.5, 4)
    assert best.ours_std == pytest.approx(31.25 ** 0.5)
    t2 = [p for p in points if p.group == "Table 2" and "all layers" in p.label][0]
    assert (t2.published, t2.published_std, t2.ours, t2.ours_std) == (73.46, None, 75.0, None)


def test_partial_gtzan_run(tmp_path: Path, fake):
    fake.gtzan_cell(tmp_path, "Sigmoid+HF", 500, "3", True, 0, 0.8)
    fake.gtzan_cell(tmp_path, "Sigmoid+HF", 500, "3", True, 1, 0.7)
    (p,) = _points(tmp_path)
    assert (p.group, p.method, p.published, p.published_std, p.ours) == ("Table 1, aggregated", "Sigmoid+HF", 77.1,
                                                                          2.36, 75.0)
    path = plot_ours_vs_published([p], tmp_path / "fig.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_point_for_another_dataset(synthetic_run: Path):
    assert _points(synthetic_run, "synthetic") == []
    with pytest.raises(ValueError):
        plot_ours_vs_published([], synthetic_run / "fig.png")

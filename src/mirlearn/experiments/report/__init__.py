"""The report of any run folder: tables, figures and timings, from JSON alone.

Everything here reads the files a run leaves behind (see :mod:`mirlearn.experiments.layout`):
one JSON per result cell, the nets' training logs, ``results.json`` or ``run.json``,
``splits.json``, ``config.toml`` and ``environment.json`` — never a model, so a report can be
rebuilt at any time, also from a copied or half-finished run. Which command wrote the folder is
told from its files (:func:`~mirlearn.experiments.report.kinds.detect_kind`): the grid of
``mirlearn reproduce sigtia2014`` gets the paper's tables, one of ``reproduce schindler2016`` its own; a ``run`` / ``demo``, ``train`` or
``evaluate`` folder gets the report of one configuration. :func:`write_report` adds::

    RUN/report.md  RUN/report.html  RUN/figures/confusion_best.png  RUN/figures/learning_curves.png
    (a grid also) RUN/table1.csv  RUN/table2.csv  RUN/figures/layer_accuracy.png  RUN/figures/ours_vs_published.png

The command line is ``mirlearn report RUN``. Modules, from the bottom up:

- :mod:`~mirlearn.experiments.report.collect`: the cell JSONs, one :class:`CellStat` per cell;
- :mod:`~mirlearn.experiments.report.curves`: the nets' learning curves;
- :mod:`~mirlearn.experiments.report.facts`: configuration, data set size, environment, per-class accuracy;
- :mod:`~mirlearn.experiments.report.timing`: the time table in words;
- :mod:`~mirlearn.experiments.report.kinds`: which command wrote a folder;
- :mod:`~mirlearn.experiments.report.tables`: Table 1, Table 2, as Markdown and CSV;
- :mod:`~mirlearn.experiments.report.figures`: the PNG figures;
- :mod:`~mirlearn.experiments.report.schindler`: a ``reproduce schindler2016`` run (each CNN's own
  output and best forest cell beside the paper's accuracy);
- :mod:`~mirlearn.experiments.report.render`: blocks → Markdown and self-contained HTML;
- :mod:`~mirlearn.experiments.report.run_report`: the report of a run / demo, train or evaluate folder;
- :mod:`~mirlearn.experiments.report.document`: the grid's sections, :func:`write_report`.

All accuracies in the tables are track accuracies in percent; "mean ± std" is over the splits
of a cell, with the population standard deviation (``ddof = 0``), as in
:func:`mirlearn.pipeline.summarize`. Missing cells are shown as "—".

Examples
--------
>>> md_path, html_path = write_report("runs/sigtia2014")  # doctest: +SKIP
"""

from mirlearn.experiments.report.collect import STD_DDOF, CellStat, best_cell, collect, summarize_cells
from mirlearn.experiments.report.curves import NetCurves, read_learning_curves
from mirlearn.experiments.report.document import write_report
from mirlearn.experiments.report.figures import plot_confusion, plot_layer_accuracy, plot_learning_curves
from mirlearn.experiments.report.kinds import detect_kind
from mirlearn.experiments.report.tables import (TABLE1_COLUMNS, Table1Row, Table2Row, format_cell,
                                                format_table1_markdown, format_table2_markdown, table1, table1_csv,
                                                table2, table2_csv)

__all__ = ["CellStat", "Table1Row", "Table2Row", "NetCurves", "TABLE1_COLUMNS", "STD_DDOF", "collect",
           "summarize_cells", "table1", "format_cell", "format_table1_markdown", "table1_csv", "table2",
           "format_table2_markdown", "table2_csv", "best_cell", "read_learning_curves", "plot_layer_accuracy",
           "plot_confusion", "plot_learning_curves", "write_report", "detect_kind"]

"""Old home of the evaluation protocol; the recipe now lives in :mod:`mirlearn.pipeline`."""

from mirlearn.pipeline import (SUBSET_IN_RAM_BYTES, SplitOutcome, cells_of, evaluate_cells,  # noqa: F401
                               fit_and_test_parts, format_table, make_forest, part_frames, run_protocol, run_split,
                               split_activations, summarize, train_network)
from mirlearn.learners import cell_features  # noqa: F401

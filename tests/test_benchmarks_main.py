"""``python -m benchmarks``: one section's own options after ``--only NAME``; BENCHMARKS.md assembled."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # the benchmarks package lives beside src/, not in it
    sys.path.insert(0, str(_ROOT))

from benchmarks import __main__ as bench_main  # noqa: E402


def test_section_options_go_to_that_section(monkeypatch):
    import benchmarks.bench_cnn as bench_cnn

    seen = {}
    monkeypatch.setattr(bench_cnn, "main", lambda argv: seen.setdefault("argv", argv))
    monkeypatch.setattr(bench_main, "assemble", lambda: Path("BENCHMARKS.md"))
    bench_main.main(["--only", "cnn", "--quick", "--models", "mirex2015"])
    assert seen["argv"] == ["--quick", "--models", "mirex2015"]


@pytest.mark.parametrize("argv", [["--quick"], ["--only", "cnn", "train", "--quick"]])
def test_section_options_without_one_section_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as e:
        bench_main.main(argv)
    assert e.value.code == 2
    assert "--only cnn --quick" in capsys.readouterr().err

"""The README's Python examples run as they are written (in a temporary folder)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    section = README.read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_python_example_runs_verbatim(tmp_path, monkeypatch, capsys):
    """The first example is run exactly as written: a new user pastes it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIRLEARN_PROGRESS", "lines")
    first, second = _python_blocks()
    scope: dict = {}
    exec(compile(first, "README.md", "exec"), scope)
    out = capsys.readouterr().out
    acc = int(re.search(r"test track accuracy: (\d+)%", out).group(1))
    assert 0 <= acc <= 100
    assert (tmp_path / "runs" / "api" / "model" / "model.json").is_file()
    p, f = scope["p"], scope["f"]
    assert p.label in p.votes and abs(sum(p.probabilities.values()) - 1) < 1e-6
    assert f.X.shape == (len(f.start_s), len(f.columns)) and np.all(f.end_s > f.start_s)

    # the second example (the estimators one by one) continues from the first's variables,
    # scaled down: the paper's sizes are what it shows
    code = (second.replace("(500, 500, 500), dropout=0.25", "(16, 16, 16), dropout=0.25, max_epochs=3, progress=False")
            .replace("n_estimators=500", "n_estimators=10")
            .replace("window_seconds=5.0, hop_seconds=2.5", "window_seconds=1.0, hop_seconds=0.5"))
    assert code != second
    exec(compile(code, "README.md", "exec"), scope)
    assert 0.0 <= float(capsys.readouterr().out.strip().splitlines()[-1]) <= 1.0

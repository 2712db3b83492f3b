"""The README's Python example runs (on a small synthetic set instead of GTZAN)."""

from __future__ import annotations

import re
from pathlib import Path

from mirlearn.datasets.synthetic import make_synthetic

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, capsys):
    block = re.search(r"## Python API\s+```python\n(.*?)```", README.read_text(), re.S).group(1)
    data = make_synthetic(tmp_path / "synth", n_classes=3, clips_per_class=8, seconds=3.0, seed=2)
    code = (block.replace('"~/data/gtzan"', repr(str(data)))
            .replace('cache_dir="cache"', f"cache_dir={str(tmp_path / 'cache')!r}, progress=False")
            .replace("(500, 500, 500), dropout=0.25", "(16, 16, 16), dropout=0.25, max_epochs=5, progress=False")
            .replace("n_estimators=500", "n_estimators=20")
            .replace("window_seconds=5.0, hop_seconds=2.5", "window_seconds=1.0, hop_seconds=0.5")
            .replace('load_config("sigtia2014-relu-dropout-500")',
                     'load_config("demo", {"network": {"hidden": [16, 16, 16]}, "training": {"max_epochs": 3}, '
                     '"forest": {"n_estimators": 10}, "features": {"window_seconds": 1.0, "hop_seconds": 0.5}})')
            .replace("GenreModel.from_config(cfg)", "GenreModel.from_config(cfg, progress=False)")
            .replace('"runs/x', '"' + str(tmp_path / "runs" / "x")))
    assert code != block
    exec(compile(code, "README.md", "exec"), {})
    out = [line for line in capsys.readouterr().out.strip().splitlines() if not line.startswith("network trained")]
    acc = float(out[-1])
    assert 0.0 <= acc <= 1.0
    assert (tmp_path / "runs" / "x" / "model" / "model.json").is_file()

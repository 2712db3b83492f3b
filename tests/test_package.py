import subprocess
import sys

import mirlearn


def test_top_level_names_resolve():
    for name in mirlearn.__all__:
        assert getattr(mirlearn, name) is not None


def test_import_and_help_stay_light():
    # `mirlearn --help` must not import torch or scikit-learn (seconds of start-up).
    code = ("import sys, mirlearn, mirlearn.cli; "
            "p = mirlearn.cli.build_parser(); "
            "print(sorted(m for m in ('torch', 'sklearn', 'librosa') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

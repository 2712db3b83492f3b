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


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "mirlearn", "configs"], capture_output=True, text=True, check=True)
    assert "sigtia2014-relu-dropout-500" in out.stdout


def test_output_into_a_closed_pipe_is_not_an_error():
    """``mirlearn ... | head``: the reader leaves early; no traceback, no BrokenPipeError."""
    proc = subprocess.Popen([sys.executable, "-m", "mirlearn", "configs", "demo", "--full"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # before the command has written anything
    err = proc.stderr.read()
    assert proc.wait() == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err

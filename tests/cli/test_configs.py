"""``mirlearn configs`` and ``mirlearn --version``."""

from __future__ import annotations

import tomllib

from mirlearn import __version__
from mirlearn.cli import main
from mirlearn.config import config_from_dict, load_config


def test_configs_demo_prints_the_file_with_its_reduction_comments(capsys):
    assert main(["configs", "demo"]) == 0
    text = capsys.readouterr().out
    assert text.count("# reduction:") >= 5  # every reduction the README promises is named
    assert config_from_dict(tomllib.loads(text)) == load_config("demo")  # and it is the same config


def test_configs_full_prints_every_setting(capsys):
    assert main(["configs", "demo", "--full"]) == 0
    text = capsys.readouterr().out
    assert "# reduction:" not in text and "max_train_frames" in text and "patience" in text
    assert config_from_dict(tomllib.loads(text)) == load_config("demo")


def test_configs_lists_every_packaged_config(capsys):
    assert main(["configs"]) == 0
    assert "sigtia2014-relu-dropout-500" in capsys.readouterr().out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mirlearn {__version__}"

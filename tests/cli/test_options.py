"""Every command's help: each option states its default, each --help ends with an example."""

from __future__ import annotations

import argparse

import pytest

from mirlearn.cli import build_parser, main


def _commands() -> dict[str, argparse.ArgumentParser]:
    p = build_parser()
    (sub,) = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


COMMANDS = sorted(_commands())


def test_every_command_is_there():
    assert set(COMMANDS) == {"demo", "run", "train", "evaluate", "predict", "features", "splits", "synth",
                             "reproduce", "report", "configs", "augment", "compare", "embed", "index", "similar", "evaluate-similarity", "transfer", "explore"}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_states_its_default(name):
    parser = _commands()[name]
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        text = parser._get_formatter()._expand_help(action)
        assert "default" in text or "required" in text, (name, action.option_strings, text)
        assert "None" not in text, (name, action.option_strings, text)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_help_ends_with_an_example(name):
    parser = _commands()[name]
    lines = parser.format_help().rstrip().splitlines()
    k = max(i for i, line in enumerate(lines) if line == "example:")
    assert lines[k + 1:] and all(line.startswith(f"  mirlearn {name}") for line in lines[k + 1:]), lines[k:]


@pytest.mark.parametrize("option", ["--device", "--jobs", "--no-progress"])
@pytest.mark.parametrize("name", ["demo", "run", "train", "evaluate", "predict", "features", "reproduce"])
def test_commands_that_run_a_net_take_device_jobs_progress(name, option):
    assert option in _commands()[name].format_help()


@pytest.mark.parametrize("name", COMMANDS)
def test_one_output_spelling(name):
    text = _commands()[name].format_help()
    assert "--output" not in text and " -o " not in text


def test_help_exits_zero(capsys):
    assert main(["run", "--help"]) == 0
    assert "example:" in capsys.readouterr().out


def test_usage_error_is_one_line(capsys):
    assert main(["run", "--data"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mirlearn: error: argument --data")


def test_no_progress_help_says_the_log_stays():
    text = " ".join(_commands()["train"].format_help().split())
    assert "--no-progress no progress bars or progress lines; the log (one line per epoch" in text

"""The argument checks, one at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirlearn.cli import checks
from mirlearn.errors import MirlearnError

NAMES = ["random-seed0-0", "random-seed0-1", "random-seed0-2", "random-seed0-3"]


@pytest.mark.parametrize("jobs", [1, 2, 64, -1])
def test_jobs_accepted(jobs):
    assert checks.check_jobs(jobs) == jobs


@pytest.mark.parametrize("jobs", [0, -2, -3])
def test_jobs_refused(jobs):
    with pytest.raises(MirlearnError, match=f"-j/--jobs {jobs}: must be"):
        checks.check_jobs(jobs)


def test_split_tokens_by_index_and_id():
    assert checks.resolve_split_tokens(["2", "random-seed0-0"], NAMES) == [2, 0]


@pytest.mark.parametrize("tokens, match", [
    (["4"], "--split 4: out of range; there are 4 split"),
    (["-1"], "--split -1: split indices are 0-based"),
    (["random-seed1-0"], "--split random-seed1-0: no split with this id"),
    (["1", "1"], "--split 1: given twice"),
    (["0", "random-seed0-0"], "names a split given twice"),
])
def test_split_tokens_refused(tokens, match):
    with pytest.raises(MirlearnError, match=match):
        checks.resolve_split_tokens(tokens, NAMES)


def test_negative_split_refused_before_the_splits_are_known():
    with pytest.raises(MirlearnError, match="--split -1"):
        checks.check_split_tokens(["0", "-1"])


def test_writable_really_tries(tmp_path):
    assert checks.writable(tmp_path) is None
    assert list(tmp_path.iterdir()) == []  # the probe is gone
    if Path("/proc/self").is_dir():
        assert checks.writable(Path("/proc")) is not None


def test_out_dir(tmp_path):
    assert checks.check_out_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()
    (tmp_path / "f").write_text("x")
    with pytest.raises(MirlearnError, match="is a file, not a folder"):
        checks.check_out_dir(tmp_path / "f")
    with pytest.raises(MirlearnError, match="is a file, so no folder can be made"):
        checks.check_out_dir(tmp_path / "f" / "sub")


def test_out_dir_for_a_run(tmp_path):
    (tmp_path / "empty").mkdir()
    checks.check_out_dir(tmp_path / "empty", run_folder=True)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.toml").write_text("")
    checks.check_out_dir(tmp_path / "run", run_folder=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("")
    with pytest.raises(MirlearnError, match="not a mirlearn run folder"):
        checks.check_out_dir(tmp_path / "other", run_folder=True)


def test_out_file(tmp_path):
    assert checks.check_out_file(tmp_path / "a" / "s.json") == tmp_path / "a" / "s.json"
    with pytest.raises(MirlearnError, match="is a folder"):
        checks.check_out_file(tmp_path)


@pytest.mark.parametrize("device, ok", [("cpu", True), ("gpu", False), ("cuda:x", False)])
def test_device_names(device, ok):
    if ok:
        assert checks.check_device(device) == device
    else:
        with pytest.raises(MirlearnError, match=f"--device {device}: not a device"):
            checks.check_device(device)


def test_device_cpu_only_commands_refuse_others():
    with pytest.raises(MirlearnError, match="runs the network on the CPU only"):
        checks.check_device("cuda", cpu_only="predict")


@pytest.mark.parametrize("fractions, ok", [([0.5, 0.25, 0.25], True), ([0.5, 0.5, 0.0], False),
                                           ([0.6, 0.3, 0.3], False)])
def test_fractions(fractions, ok):
    if ok:
        assert checks.check_fractions(fractions) == fractions
    else:
        with pytest.raises(MirlearnError, match="--fractions"):
            checks.check_fractions(fractions)


def test_dataset_kind():
    assert checks.check_dataset_kind("gtzan") == "gtzan"
    with pytest.raises(MirlearnError, match="--dataset /data/x: unknown layout"):
        checks.check_dataset_kind("/data/x")


@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_refused_in_one_line_when_torch_has_none(device, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(MirlearnError, match=f"--device {device}: CUDA is not available on this machine"):
        checks.check_device(device)


@pytest.mark.parametrize("command", [["train"], ["run"], ["demo", "--classes", "2", "--clips", "1"]])
def test_cuda_without_cuda_stops_every_training_command_before_work(command, tiny, tmp_path, monkeypatch, capsys):
    """Issue #11 finding 4: `train --device cuda` on a CPU-only torch raised a bare AssertionError
    after frame extraction; now one line, and nothing is written (no cache, no run, no data)."""
    import torch

    from mirlearn.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("MIRLEARN_HOME", str(tmp_path / "home"))
    data = ["--data", str(tmp_path / "gen")] if command[0] == "demo" else ["--data", str(tiny)]
    assert main([*command, *data, "--device", "cuda", "--out", str(tmp_path / "run"),
                 "--cache", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["mirlearn: error: --device cuda: CUDA is not available on this machine"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []

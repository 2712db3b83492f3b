"""Run provenance: written once per invocation, never overwriting a run's own record."""

from __future__ import annotations

import json

from mirlearn.runs import is_run_dir, record_run, run_dir_path


def test_first_invocation_writes_config_environment_and_invocation(tmp_path):
    rec = record_run(tmp_path, 'name = "a"\n', {"data": "/d"})
    assert (tmp_path / "config.toml").read_text() == 'name = "a"\n'
    env = json.loads((tmp_path / "environment.json").read_text())
    assert env["data"] == "/d" and "packages" in env
    inv = json.loads(rec.invocation.read_text())
    assert rec.invocation.parent == tmp_path / "invocations"
    assert inv["config_toml"] == 'name = "a"\n' and not rec.config_differs


def test_later_invocations_never_overwrite(tmp_path):
    record_run(tmp_path, 'name = "a"\n', {"data": "/d"})
    before = {f: ((tmp_path / f).read_bytes(), (tmp_path / f).stat().st_mtime_ns)
              for f in ("config.toml", "environment.json")}
    same = record_run(tmp_path, 'name = "a"\n', {"data": "/d"})
    other = record_run(tmp_path, 'name = "b"\n', {"data": "/e"})
    assert not same.config_differs and other.config_differs
    assert {f: ((tmp_path / f).read_bytes(), (tmp_path / f).stat().st_mtime_ns) for f in before} == before
    assert json.loads(other.invocation.read_text())["config_toml"] == 'name = "b"\n'
    assert len(list((tmp_path / "invocations").iterdir())) == 3


def test_run_dir_path_makes_nothing(tmp_path):
    p = run_dir_path(None, "demo", root=tmp_path / "runs")
    assert p.parent == tmp_path / "runs" and p.name.endswith("-demo")
    assert not (tmp_path / "runs").exists()


def test_is_run_dir(tmp_path):
    assert not is_run_dir(tmp_path)
    (tmp_path / "results.json").write_text("{}")
    assert is_run_dir(tmp_path)

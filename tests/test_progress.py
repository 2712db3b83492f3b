"""Progress: a bar on a terminal, log lines in a pipe, nothing when disabled."""

import io

from mirlearn.progress import Progress, format_seconds, is_terminal


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_pipe_gets_lines_without_carriage_returns(monkeypatch):
    monkeypatch.delenv("MIRLEARN_PROGRESS", raising=False)
    out = io.StringIO()
    with Progress(100, "frames", "track", stream=out, min_interval_s=0) as p:
        for _ in range(100):
            p.update(1)
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert 5 <= len(lines) <= 11
    assert lines[-1].startswith("frames: 100/100 tracks (100%)")


def test_disabled_writes_nothing():
    out = io.StringIO()
    with Progress(10, "x", stream=out, enabled=False) as p:
        p.update(10)
    assert out.getvalue() == "" and p.mode == "off"


def test_terminal_gets_a_bar(monkeypatch):
    monkeypatch.delenv("MIRLEARN_PROGRESS", raising=False)
    out = _Tty()
    with Progress(3, "epoch", "epoch", stream=out) as p:
        assert p.mode == "bar"
        p.update(1, loss=0.5)
    assert "\r" in out.getvalue()


def test_env_forces_lines(monkeypatch):
    monkeypatch.setenv("MIRLEARN_PROGRESS", "lines")
    assert not is_terminal(_Tty())


def test_last_count_written_on_close_and_postfix_shown(monkeypatch):
    monkeypatch.delenv("MIRLEARN_PROGRESS", raising=False)
    out = io.StringIO()
    p = Progress(None, "trees", "tree", stream=out, min_interval_s=3600)
    p.update(1)  # first line is due at once
    p.update(4, acc=0.5)
    p.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("trees: 1 tree,") and lines[-1].startswith("trees: 5 trees") and "acc 0.5" in lines[-1]


def test_format_seconds():
    assert format_seconds(4.25) == "4.2 s" or format_seconds(4.25) == "4.3 s"
    assert format_seconds(185) == "3 min 05 s"
    assert format_seconds(3720) == "1 h 02 min"

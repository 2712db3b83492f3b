"""Progress of long loops: a redrawn bar on a terminal, plain log lines in a pipe or a file.

tqdm redraws its bar with carriage returns; in a log file that is kilobytes of noise. So a
:class:`Progress` is a tqdm bar only when its stream is a terminal; otherwise it writes one
line now and then (every ``log_every`` of the total, at most one per ``min_interval_s``
seconds, and always the last) of the form::

    frames: 120/1000 tracks (12%), 3.1 s, ~23 s left

``enabled=False`` (the CLI's ``--no-progress``) writes nothing at all. This module is the
lowest layer: it imports nothing of mirlearn.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

__all__ = ["Progress", "is_terminal", "format_seconds"]


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default: stderr) is an interactive terminal.

    ``MIRLEARN_PROGRESS=bar`` or ``=lines`` forces one behaviour (for tests and odd terminals).
    """
    forced = os.environ.get("MIRLEARN_PROGRESS", "").strip().lower()
    if forced in ("bar", "lines"):
        return forced == "bar"
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``: a duration a person reads at a glance."""
    s = max(0.0, float(seconds))
    if s < 60:
        return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m} min {sec:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


class Progress:
    """Count work done out of ``total``; show it as a bar (terminal) or as log lines (otherwise).

    Parameters
    ----------
    total : how many units the work has (``None``: unknown; lines then show only the count)
    desc : what is being done (``"frames"``, ``"forest"``, ``"epoch"``)
    unit : what one unit is (``"track"``, ``"tree"``, ``"epoch"``)
    enabled : ``False`` writes nothing
    initial : units already done (a resumed run)
    stream : where to write (default: stderr)
    log_every : in line mode, write a line each time this fraction of ``total`` is passed
    min_interval_s : in line mode, at most one line per this many seconds (the last always)

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, total: int | None, desc: str, unit: str = "it", *, enabled: bool = True,
                 initial: int = 0, stream: TextIO | None = None, log_every: float = 0.1,
                 min_interval_s: float = 5.0) -> None:
        self.total = None if total is None else int(total)
        self.desc = desc
        self.unit = unit
        self.enabled = bool(enabled)
        self.n = int(initial)
        self.stream = sys.stderr if stream is None else stream
        self.log_every = float(log_every)
        self.min_interval_s = float(min_interval_s)
        self.postfix: dict[str, Any] = {}
        self._start_n = self.n
        self._t0 = time.perf_counter()
        self._last_line_t = -1e18
        self._last_line_n = self.n
        self._closed = False
        self._bar = None
        if self.enabled and is_terminal(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, initial=self.n, desc=desc, unit=unit, file=self.stream,
                             dynamic_ncols=True)

    @property
    def mode(self) -> str:
        """``'bar'``, ``'lines'`` or ``'off'``."""
        if not self.enabled:
            return "off"
        return "bar" if self._bar is not None else "lines"

    def update(self, n: int = 1, **postfix: Any) -> None:
        """``n`` more units are done; ``postfix`` (name → value) is shown beside the count."""
        self.n += int(n)
        if postfix:
            self.postfix = {k: v for k, v in postfix.items()}
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix({k: _fmt(v) for k, v in postfix.items()}, refresh=False)
            self._bar.update(n)
        elif self.enabled and self._line_due():
            self._write_line()

    def _line_due(self) -> bool:
        now = time.perf_counter()
        done = self.total is not None and self.n >= self.total
        if done:
            return True
        if now - self._last_line_t < self.min_interval_s:
            return False
        if self.total:
            step = max(1, int(round(self.log_every * self.total)))
            return self.n - self._last_line_n >= step
        return True

    def _write_line(self) -> None:
        elapsed = time.perf_counter() - self._t0
        count = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        parts = [f"{self.desc}: {count} {self.unit}{'' if self.n == 1 and self.total is None else 's'}"]
        if self.total:
            parts[0] += f" ({100 * self.n / self.total:.0f}%)"
        parts.append(format_seconds(elapsed))
        rate_n = self.n - self._start_n
        if self.total is not None and 0 < rate_n and self.n < self.total:
            parts.append(f"~{format_seconds(elapsed / rate_n * (self.total - self.n))} left")
        if self.postfix:
            parts.append(" ".join(f"{k} {_fmt(v)}" for k, v in self.postfix.items()))
        print(", ".join(parts), file=self.stream, flush=True)
        self._last_line_t = time.perf_counter()
        self._last_line_n = self.n

    def close(self) -> None:
        """Finish the bar; in line mode, write the last count if it was not written yet."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self.enabled and self.n != self._last_line_n and self.n > self._start_n:
            self._write_line()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)

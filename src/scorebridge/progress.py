"""Progress of long steps (pull per stream, rescore, push per system, backtest): rich bars on a
terminal, a log line every few seconds otherwise, nothing when quiet.

Owns: the choice between bars, log lines and silence, the rate (items/s) and the ETA, and one
live display on stderr shared by every step in progress (log lines print above it). Progress is
shown while the logger ``scorebridge.progress`` logs at INFO, so ``--quiet`` (or ``--json``,
which logs only warnings) silences it; it never writes to stdout, which ``--json`` keeps for its
one document. :func:`configure` pins the mode, the clock and the stream (tests, the daemon).
Must not: decide anything about the work it reports, or read the wall clock but through the
injected :class:`~scorebridge.clock.Clock`.

Use::

    with track("pull mautic contacts", unit="rows") as bar:
        bar.total(page.total)      # when known
        bar.advance(len(page.rows))
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from scorebridge.clock import Clock, SystemClock

log = logging.getLogger("scorebridge.progress")

Mode = Literal["auto", "bars", "lines", "off"]
LOG_EVERY = 5.0
"""Seconds between two log lines of one step (when stderr is not a terminal)."""


@dataclass
class _Config:
    mode: Mode = "auto"
    clock: Clock = field(default_factory=SystemClock)
    stream: TextIO | None = None


_config = _Config()
_lock = threading.Lock()
_live: Progress | None = None
_open = 0
_swapped: list[tuple[logging.StreamHandler[TextIO], TextIO]] = []
"""Log handlers writing through the live display while it runs, and their own streams."""


def configure(
    *, mode: Mode | None = None, clock: Clock | None = None, stream: TextIO | None = None
) -> None:
    """Pin how progress is shown (``auto``: bars on a terminal, lines otherwise, off when the
    ``scorebridge.progress`` logger is quieter than INFO), its clock and its stream (stderr)."""
    if mode is not None:
        _config.mode = mode
    if clock is not None:
        _config.clock = clock
    if stream is not None:
        _config.stream = stream


def _mode() -> Mode:
    if not log.isEnabledFor(logging.INFO):
        return "off"
    if _config.mode != "auto":
        return _config.mode
    stream = _config.stream or sys.stderr
    return "bars" if stream.isatty() else "lines"


class Tracker:
    """One step's progress; :meth:`advance` as work completes (any thread)."""

    def __init__(self, name: str, total: int | None, unit: str) -> None:
        self.name = name
        self.unit = unit
        self.done = 0
        self._total = total
        self._guard = threading.Lock()

    def total(self, total: int | None) -> None:
        """The amount of work, once known (``None``: unknown)."""
        self._total = total

    def advance(self, n: int = 1) -> None:
        """``n`` more items done."""
        with self._guard:
            self.done += n

    def close(self) -> None:
        """The step ended."""


class _Lines(Tracker):
    """A log line at most every :data:`LOG_EVERY` seconds, and one at the end of a long step."""

    def __init__(self, name: str, total: int | None, unit: str) -> None:
        super().__init__(name, total, unit)
        self._started = self._last = _config.clock.monotonic()

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        now = _config.clock.monotonic()
        if now - self._last >= LOG_EVERY:
            self._last = now
            log.info("%s", self.line(now))

    def close(self) -> None:
        now = _config.clock.monotonic()
        if now - self._started >= LOG_EVERY:
            log.info("%s (done)", self.line(now))

    def line(self, now: float) -> str:
        """``pull mautic contacts: 1200/10000 rows, 240/s, ETA 37 s``."""
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        count = f"{self.done}/{self._total}" if self._total is not None else f"{self.done}"
        text = f"{self.name}: {count} {self.unit}, {rate:.0f}/s"
        if self._total is not None and rate > 0 and self.done < self._total:
            text += f", ETA {(self._total - self.done) / rate:.0f} s"
        return text


class _Bar(Tracker):
    """A task on the shared live display."""

    def __init__(self, name: str, total: int | None, unit: str, live: Progress) -> None:
        super().__init__(name, total, unit)
        self._live = live
        self._task: TaskID = live.add_task(name, total=total, unit=unit)

    def total(self, total: int | None) -> None:
        super().total(total)
        self._live.update(self._task, total=total)

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        self._live.advance(self._task, n)

    def close(self) -> None:
        self._live.remove_task(self._task)


class _Rate(ProgressColumn):
    """Items per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


def _start_live() -> Progress:
    global _live
    if _live is None:
        console = Console(file=_config.stream or sys.stderr, stderr=_config.stream is None)
        _live = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            _Rate(),
            TimeRemainingColumn(),
            console=console,
            get_time=_config.clock.monotonic,
            redirect_stderr=True,
            transient=True,
        )
        _live.start()
        # log lines go through the live display (above the bars), not across them
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.__stderr__:
                original = handler.setStream(sys.stderr)
                if original is not None:
                    _swapped.append((handler, original))
    return _live


def _stop_live() -> None:
    global _live
    if _live is not None:
        for handler, stream in _swapped:
            handler.setStream(stream)
        _swapped.clear()
        _live.stop()
        _live = None


@contextmanager
def track(name: str, *, total: int | None = None, unit: str = "rows") -> Iterator[Tracker]:
    """Show the progress of one step while the block runs (see the module docstring)."""
    global _open
    mode = _mode()
    tracker: Tracker
    if mode == "bars":
        with _lock:
            _open += 1
            tracker = _Bar(name, total, unit, _start_live())
    elif mode == "lines":
        tracker = _Lines(name, total, unit)
    else:
        tracker = Tracker(name, total, unit)
    try:
        yield tracker
    finally:
        tracker.close()
        if mode == "bars":
            with _lock:
                _open -= 1
                if _open == 0:
                    _stop_live()

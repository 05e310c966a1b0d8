"""Progress: bars on a terminal, a log line every few seconds otherwise, silence when quiet,
never on stdout."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from scorebridge import progress
from scorebridge.clock import FrozenClock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FrozenClock]:
    frozen = FrozenClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    monkeypatch.setattr(progress, "_config", progress._Config(clock=frozen))
    logging.getLogger("scorebridge.progress").setLevel(logging.INFO)
    yield frozen
    logging.getLogger("scorebridge.progress").setLevel(logging.NOTSET)


def test_without_a_terminal_a_log_line_every_few_seconds_with_rate_and_eta(
    clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    progress.configure(mode="lines")
    caplog.set_level(logging.INFO, logger="scorebridge.progress")
    with progress.track("pull mautic contacts", total=1000) as bar:
        for _ in range(9):
            clock.advance(1)
            bar.advance(50)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "pull mautic contacts: 250/1000 rows, 50/s, ETA 15 s",  # after 5 s
        "pull mautic contacts: 450/1000 rows, 50/s, ETA 11 s (done)",  # a long step's end
    ]


def test_a_quick_step_logs_nothing(clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    progress.configure(mode="lines")
    caplog.set_level(logging.INFO, logger="scorebridge.progress")
    with progress.track("push mautic", total=10, unit="writes") as bar:
        bar.advance(10)
    assert caplog.records == []


def test_quiet_silences_bars_and_lines(
    clock: FrozenClock, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = io.StringIO()
    progress.configure(mode="bars", stream=stream)
    logging.getLogger("scorebridge.progress").setLevel(logging.WARNING)  # -q, --json
    with progress.track("rescore", total=10, unit="contacts") as bar:
        clock.advance(10)
        bar.advance(10)
    assert stream.getvalue() == ""
    assert caplog.records == []
    assert capsys.readouterr().out == ""


def test_bars_go_to_stderr_never_to_stdout(
    clock: FrozenClock, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = io.StringIO()
    progress.configure(mode="bars", stream=stream)
    with progress.track("push crm", total=4, unit="writes") as bar, progress.track("x") as other:
        bar.advance(2)
        other.advance(1)
        assert bar.done == 2
    assert progress._live is None  # the display ends with the last step
    assert capsys.readouterr().out == ""

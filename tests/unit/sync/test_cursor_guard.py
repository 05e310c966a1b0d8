"""A cursor found in the future (clock skew, a restored store, a resync into the future) is put
back before a pull reads from it, so the pull stores what happened since instead of nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scorebridge.store import Store, cursors, open_store
from scorebridge.sync.cursor_guard import clamp_future_cursors, latest_time

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WRITTEN = NOW - timedelta(hours=3)
FUTURE = datetime(2999, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'sb.db'}") as opened:
        yield opened


def put(store: Store, source: str, stream: str, value: object, at: datetime = WRITTEN) -> None:
    with store.write() as conn:
        cursors.set(conn, source, stream, json.dumps(value), at)


def read(store: Store, source: str, stream: str) -> object:
    with store.read() as conn:
        return json.loads(cursors.get(conn, source, stream))


def test_a_future_cursor_goes_back_to_when_it_was_written(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    put(store, "mautic", "email_stats", {"since": FUTURE.isoformat()})
    with caplog.at_level(logging.WARNING), store.write() as conn:
        clamped = clamp_future_cursors(conn, "mautic", NOW)
    assert [(c.stream, c.was, c.now) for c in clamped] == [("email_stats", FUTURE, WRITTEN)]
    assert read(store, "mautic", "email_stats") == {"since": WRITTEN.isoformat()}
    assert "mautic/email_stats was in the future" in caplog.text
    assert "2999-01-01" in caplog.text


def test_a_cursor_written_by_a_clock_that_ran_ahead_goes_back_to_the_pull_start(
    store: Store,
) -> None:
    ahead = NOW + timedelta(days=2)
    put(store, "hubspot", "contacts", {"since": ahead.isoformat()}, at=ahead)
    with store.write() as conn:
        clamp_future_cursors(conn, "hubspot", NOW)
    assert read(store, "hubspot", "contacts") == {"since": NOW.isoformat()}


def test_a_window_in_progress_with_a_future_part_restarts_from_a_true_time(store: Store) -> None:
    window = {
        "base": FUTURE.isoformat(),
        "from": (FUTURE - timedelta(minutes=10)).isoformat(),
        "after": 812,
        "newest": FUTURE.isoformat(),
    }
    put(store, "mautic", "contacts", window)
    with store.write() as conn:
        clamp_future_cursors(conn, "mautic", NOW)
    assert read(store, "mautic", "contacts") == {"since": WRITTEN.isoformat()}


def test_true_cursors_id_cursors_owner_lists_and_other_sources_are_left_alone(
    store: Store,
) -> None:
    put(store, "mautic", "contacts", {"since": (NOW - timedelta(minutes=1)).isoformat()})
    put(store, "mautic", "page_hits", {"after": 10**12})
    put(store, "hubspot", "owners", [{"id": "7", "email": "a@example.com"}])
    put(store, "hubspot", "contacts", {"since": FUTURE.isoformat()})
    with store.read() as conn:
        before = cursors.list_all(conn)
    with store.write() as conn:
        assert clamp_future_cursors(conn, "mautic", NOW) == []
    with store.read() as conn:
        assert cursors.list_all(conn) == before


def test_latest_time_reads_every_time_key_and_ignores_what_is_no_time() -> None:
    assert latest_time('{"since": "2026-01-01T00:00:00"}') == datetime(2026, 1, 1, tzinfo=UTC)
    stamps = {"base": "2026-01-01T00:00:00+00:00", "newest": "2026-02-01T00:00:00+01:00"}
    assert latest_time(json.dumps(stamps)) == datetime(2026, 1, 31, 23, tzinfo=UTC)
    for value in ("", "12", '{"after": 5}', "[1, 2]", '{"since": "soon"}', "not json"):
        assert latest_time(value) is None

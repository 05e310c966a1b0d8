"""A cursor moves only together with the rows it covers."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from scorebridge.store import cursors
from scorebridge.store.tables import Event

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_an_unread_stream_has_no_cursor(store) -> None:
    with store.read() as conn:
        assert cursors.get(conn, "mautic", "page_hits") == ""


def test_set_then_move_a_cursor(store) -> None:
    with store.write() as conn:
        cursors.set(conn, "mautic", "page_hits", "100", now=NOW)
    with store.write() as conn:
        cursors.set(conn, "mautic", "page_hits", "250", now=NOW)
        cursors.set(conn, "mautic", "contacts", "2026-03-01 11:50:00", now=NOW)
    with store.read() as conn:
        assert cursors.get(conn, "mautic", "page_hits") == "250"
        states = cursors.list_all(conn)
    assert [(c.stream, c.value, c.updated_at) for c in states] == [
        ("contacts", "2026-03-01 11:50:00", NOW),
        ("page_hits", "250", NOW),
    ]


def test_a_crash_before_commit_loses_both_the_page_and_the_cursor_move(store, contact_id) -> None:
    with store.write() as conn:
        cursors.set(conn, "mautic", "page_hits", "100", now=NOW)

    def store_page_then_crash() -> None:
        with store.write() as conn:
            conn.execute(
                sa.insert(Event.__table__).values(
                    source="mautic",
                    stream="page_hits",
                    external_id="101",
                    contact_id=contact_id,
                    kind="page.hit",
                    occurred_at=NOW,
                    attributes={},
                )
            )
            cursors.set(conn, "mautic", "page_hits", "101", now=NOW)
            raise ConnectionError("network gone before commit")

    with pytest.raises(ConnectionError):
        store_page_then_crash()
    with store.read() as conn:
        assert cursors.get(conn, "mautic", "page_hits") == "100"
        assert conn.execute(sa.select(sa.func.count()).select_from(Event.__table__)).scalar() == 0


def test_delete_cursors_forgets_one_source_or_some_streams(store) -> None:
    with store.write() as conn:
        for stream in ("contacts", "page_hits", "email_stats"):
            cursors.set(conn, "mautic", stream, "1", now=NOW)
        cursors.set(conn, "hubspot", "contacts", "1", now=NOW)
        assert cursors.delete(conn, "mautic", ["page_hits"]) == 1
    with store.read() as conn:
        assert cursors.get(conn, "mautic", "page_hits") == ""
        assert cursors.get(conn, "mautic", "contacts") == "1"
    with store.write() as conn:
        assert cursors.delete(conn, "mautic") == 2
    with store.read() as conn:
        assert [(c.source, c.stream) for c in cursors.list_all(conn)] == [("hubspot", "contacts")]

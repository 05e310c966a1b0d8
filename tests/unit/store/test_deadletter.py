"""Dead letters keep a redacted reason and can be listed, replayed and dropped."""

import pytest

from scorebridge.errors import StateError
from scorebridge.redaction import register_secret
from scorebridge.store import deadletter


def add_record(conn, clock, record_id: str = "5", reason: str = "bad date") -> int:
    return deadletter.add(
        conn,
        kind="record",
        source="mautic.page_hits",
        record_id=record_id,
        reason=reason,
        payload={"id": record_id},
        now=clock.now(),
    )


def test_the_reason_is_redacted(store, clock) -> None:
    register_secret("pa55-deadletter-word")
    reason = "401 for Authorization: Bearer abc.def.ghi with pa55-deadletter-word"
    with store.write() as conn:
        entry = deadletter.get(conn, add_record(conn, clock, reason=reason))
    assert entry.reason == "401 for Authorization: *** with ***"


def test_list_filters_and_orders_newest_first(store, clock) -> None:
    with store.write() as conn:
        first = add_record(conn, clock, "1")
        second = add_record(conn, clock, "2")
        deadletter.add(
            conn,
            kind="operation",
            source="hubspot",
            record_id="k",
            reason="x",
            payload={},
            now=clock.now(),
        )
        deadletter.resolve(conn, first, now=clock.now())
        assert [e.record_id for e in deadletter.list_entries(conn)] == ["k", "2"]
        assert [e.id for e in deadletter.list_entries(conn, kind="record")] == [second]
        assert len(deadletter.list_entries(conn, include_resolved=True)) == 3
        assert deadletter.list_entries(conn, source="hubspot")[0].kind == "operation"
        assert deadletter.count_open(conn) == 2


def test_replaying_a_record_marks_it_for_the_next_pull(store, clock) -> None:
    with store.write() as conn:
        entry_id = add_record(conn, clock)
        assert deadletter.records_to_repull(conn, "mautic.page_hits") == []
        assert deadletter.replay(conn, entry_id, now=clock.now()).status == "replay"
        (due,) = deadletter.records_to_repull(conn, "mautic.page_hits")
        assert due.record_id == "5"
        deadletter.resolve(conn, entry_id, now=clock.now())
        assert deadletter.records_to_repull(conn, "mautic.page_hits") == []
        with pytest.raises(StateError, match="already resolved"):
            deadletter.replay(conn, entry_id, now=clock.now())


def test_drop_deletes_and_unknown_ids_are_clear_errors(store, clock) -> None:
    with store.write() as conn:
        entry_id = add_record(conn, clock)
        deadletter.drop(conn, entry_id)
        assert deadletter.count_open(conn) == 0
        with pytest.raises(StateError, match=f"no dead letter with id {entry_id}"):
            deadletter.drop(conn, entry_id)
        with pytest.raises(StateError, match="no dead letter with id 999"):
            deadletter.replay(conn, 999, now=clock.now())


def test_the_same_bad_record_seen_again_is_one_entry(store, clock) -> None:
    with store.write() as conn:
        first = add_record(conn, clock, "7", reason="bad date")
        again = add_record(conn, clock, "7", reason="bad date again")
        (entry,) = deadletter.list_entries(conn)
        deadletter.resolve(conn, first, now=clock.now())
        later = add_record(conn, clock, "7")
    assert again == first
    assert (entry.reason, entry.attempts) == ("bad date again", 1)
    assert later != first

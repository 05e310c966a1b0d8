"""Outbox operations: exactly-once enqueue, claims that survive a crash, retries, dead letters."""

from datetime import timedelta

import pytest

from scorebridge.logging import register_secret
from scorebridge.store import deadletter, outbox
from scorebridge.store.outbox import NewOperation


def op(key: str, system: str = "mautic", **payload) -> NewOperation:
    return NewOperation(key, system, "set_field", payload or {"v": key})


def test_enqueueing_the_same_key_twice_is_a_no_op(store, clock) -> None:
    with store.write() as conn:
        assert outbox.enqueue(conn, [op("a"), op("b")], now=clock.now()) == 2
    with store.write() as conn:
        assert outbox.enqueue(conn, [op("a", v="changed"), op("c")], now=clock.now()) == 1
        assert outbox.enqueue(conn, [], now=clock.now()) == 0
        due = outbox.claim_due(conn, "mautic", 10, now=clock.now())
    assert [(o.idempotency_key, o.payload) for o in due] == [
        ("a", {"v": "a"}),
        ("b", {"v": "b"}),
        ("c", {"v": "c"}),
    ]


def test_claim_respects_system_limit_and_order(store, clock) -> None:
    with store.write() as conn:
        outbox.enqueue(conn, [op("m1"), op("h1", "hubspot"), op("m2"), op("m3")], now=clock.now())
        first = outbox.claim_due(conn, "mautic", 2, now=clock.now())
        second = outbox.claim_due(conn, "mautic", 2, now=clock.now())
        assert outbox.depth(conn, "mautic") == {"pending": 0, "in_flight": 3}
        assert outbox.depth(conn) == {"pending": 1, "in_flight": 3}
    assert [o.idempotency_key for o in first] == ["m1", "m2"]
    assert [o.idempotency_key for o in second] == ["m3"]


def test_an_unacked_claim_comes_back_after_its_hold(store, clock) -> None:
    with store.write() as conn:
        outbox.enqueue(conn, [op("a")], now=clock.now())
        assert len(outbox.claim_due(conn, "mautic", 10, now=clock.now())) == 1
    # the process died between send and ack
    clock.advance(outbox.DEFAULT_HOLD.total_seconds() - 1)
    with store.write() as conn:
        assert outbox.claim_due(conn, "mautic", 10, now=clock.now()) == []
    clock.advance(1)
    with store.write() as conn:
        again = outbox.claim_due(conn, "mautic", 10, now=clock.now())
    assert [o.idempotency_key for o in again] == ["a"]


def test_ack_finishes_an_operation_and_keeps_its_result(store, clock) -> None:
    with store.write() as conn:
        outbox.enqueue(conn, [op("a"), op("b")], now=clock.now())
        a, b = outbox.claim_due(conn, "mautic", 10, now=clock.now())
        outbox.ack(conn, [a.id, b.id], now=clock.now(), results={a.id: {"remote_id": "77"}})
        assert outbox.depth(conn) == {"pending": 0, "in_flight": 0}
        clock.advance(3600)
        assert outbox.claim_due(conn, "mautic", 10, now=clock.now()) == []
        row = conn.exec_driver_sql("SELECT status, result FROM outbox WHERE id = ?", (a.id,)).one()
    assert row == ("done", '{"remote_id": "77"}')


def test_retry_later_counts_attempts_and_waits(store, clock) -> None:
    register_secret("tok-outbox-secret")
    with store.write() as conn:
        outbox.enqueue(conn, [op("a")], now=clock.now())
        (a,) = outbox.claim_due(conn, "mautic", 10, now=clock.now())
        later = clock.now() + timedelta(minutes=2)
        assert (
            outbox.retry_later(conn, a.id, "503 from ?access_token=tok-outbox-secret", later) == 1
        )
        assert outbox.claim_due(conn, "mautic", 10, now=clock.now()) == []
        (again,) = outbox.claim_due(conn, "mautic", 10, now=later)
        assert outbox.retry_later(conn, a.id, "quota", later, count_attempt=False) == 1
        assert outbox.retry_later(conn, a.id, "503", later) == 2
    assert again.attempts == 1
    assert "tok-outbox-secret" not in (again.last_error or "")
    assert again.last_error == "503 from ?access_token=***"


def test_a_dead_operation_leaves_the_queue_and_can_be_replayed(store, clock) -> None:
    with store.write() as conn:
        outbox.enqueue(conn, [op("a"), op("b")], now=clock.now())
        a, _ = outbox.claim_due(conn, "mautic", 10, now=clock.now())
        outbox.retry_later(conn, a.id, "422", clock.now())
        dead_id = outbox.to_dead_letter(conn, a.id, "422 invalid field", now=clock.now())
        assert outbox.depth(conn, "mautic") == {"pending": 0, "in_flight": 1}
        (entry,) = deadletter.list_entries(conn)
        assert (entry.id, entry.kind, entry.source, entry.record_id, entry.attempts) == (
            dead_id,
            "operation",
            "mautic",
            "a",
            1,
        )
        clock.advance(600)
        assert [
            o.idempotency_key for o in outbox.claim_due(conn, "mautic", 9, now=clock.now())
        ] == ["b"]
        replayed = deadletter.replay(conn, dead_id, now=clock.now())
        (back,) = outbox.claim_due(conn, "mautic", 10, now=clock.now())
    assert replayed.status == "resolved"
    assert (back.idempotency_key, back.attempts, back.payload) == ("a", 0, {"v": "a"})


def test_replay_recreates_an_operation_whose_row_was_removed(store, clock) -> None:
    with store.write() as conn:
        outbox.enqueue(conn, [op("a")], now=clock.now())
        (a,) = outbox.claim_due(conn, "mautic", 10, now=clock.now())
        dead_id = outbox.to_dead_letter(conn, a.id, "gone", now=clock.now())
        conn.exec_driver_sql("DELETE FROM outbox")
        deadletter.replay(conn, dead_id, now=clock.now())
        (back,) = outbox.claim_due(conn, "mautic", 10, now=clock.now())
    assert (back.idempotency_key, back.op, back.payload) == ("a", "set_field", {"v": "a"})


@pytest.mark.parametrize("limit", [1, 5])
def test_claim_never_returns_more_than_the_limit(store, clock, limit: int) -> None:
    with store.write() as conn:
        outbox.enqueue(conn, [op(str(i)) for i in range(7)], now=clock.now())
        assert len(outbox.claim_due(conn, "mautic", limit, now=clock.now())) == limit

"""Draining the outbox with fake writers: per-item acks, retries, dead letters, crashes, quota."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
import sqlalchemy as sa

from scorebridge.clock import FrozenClock
from scorebridge.crashpoints import InjectedCrash, armed
from scorebridge.crm.base import Capabilities, DealSpec, FieldSpec, TaskSpec, WriteItem
from scorebridge.errors import (
    AuthError,
    ItemResult,
    QuotaExhausted,
    ShutdownRequested,
    TransientError,
)
from scorebridge.http import BucketRegistry, RetryPolicy
from scorebridge.http.bounds import request_bounds
from scorebridge.mautic import BasicAuth, MauticClient
from scorebridge.mautic.schemas import Note
from scorebridge.store import Store, open_store, outbox
from scorebridge.store.tables import Contact, DeadLetter, Outbox, Written
from scorebridge.sync.crm_writer import CrmWriter
from scorebridge.sync.mautic_writer import MauticWriter
from scorebridge.sync.push import (
    MAX_ATTEMPTS,
    MAX_WAIT,
    STOPPED,
    Claimed,
    Outcome,
    prioritize,
    push,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
_outbox = Outbox.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/store.db")
    with opened.write() as conn:
        conn.execute(
            sa.insert(_contact),
            [
                {
                    "id": i,
                    "mautic_id": 100 + i,
                    "email": f"c{i}@example.com",
                    "fields": {},
                    "crm_fields": {},
                    "crm_id": "9001" if i == 1 else None,
                }
                for i in (1, 2, 3)
            ],
        )
    yield opened
    opened.close()


def enqueue(store: Store, *ops: tuple[str, str, str, int, dict[str, Any]]) -> None:
    with store.write() as conn:
        outbox.enqueue(
            conn,
            [
                outbox.NewOperation(key, system, op, payload, cid)
                for key, system, op, cid, payload in ops
            ],
            now=NOW,
        )


def rows(store: Store) -> dict[str, Any]:
    with store.read() as conn:
        return {r.idempotency_key: r for r in conn.execute(sa.select(_outbox))}


def written(store: Store) -> dict[tuple[str, int, str], str]:
    with store.read() as conn:
        table = Written.__table__  # type: ignore[attr-defined]
        return {(r.system, r.contact_id, r.target): r.value for r in conn.execute(sa.select(table))}


class ScriptedWriter:
    """Answers each op by its key: ``ok``, ``retry`` or ``dead``; or raises ``error``."""

    link_kind = "contact"

    def __init__(self, system: str, answers: dict[str, str], error: Exception | None = None):
        self.system = system
        self.batch_size = 2
        self.answers = answers
        self.error = error
        self.calls: list[list[str]] = []

    def write(self, items: Sequence[Claimed]) -> list[Outcome]:
        self.calls.append([i.op.idempotency_key for i in items])
        if self.error is not None:
            raise self.error
        return [
            Outcome(i.op.id, self.answers.get(i.op.idempotency_key, "ok"), "item said no")  # type: ignore[arg-type]
            for i in items
        ]


def test_an_op_waiting_for_its_contact_counts_no_attempts_and_gives_up_after_a_week(
    store: Store,
) -> None:
    """A task whose contact is not in the CRM yet (its creation failing for a while) must not
    burn its attempts: it waits, then is dead-lettered only after MAX_WAIT."""
    enqueue(store, ("t", "crm", "crm.task", 2, {}))
    writer = ScriptedWriter("crm", {"t": "wait"})
    for n in range(MAX_ATTEMPTS * 2):
        push(store, [writer], NOW + timedelta(hours=n))
    row = rows(store)["t"]
    assert (row.status, row.attempts) == ("pending", 0)
    push(store, [writer], NOW + MAX_WAIT)
    assert rows(store)["t"].status == "dead"
    with store.read() as conn:
        (dead,) = conn.execute(sa.select(DeadLetter.__table__)).all()  # type: ignore[attr-defined]
    assert dead.reason == "gave up after 7 days: item said no"


def test_each_item_is_acked_retried_or_dead_lettered_on_its_own(store: Store) -> None:
    enqueue(
        store,
        (
            "a",
            "mautic",
            "mautic.fields",
            1,
            {"fields": {"sb_score": 5}, "written": {"field:sb_score": "5"}},
        ),
        ("b", "mautic", "mautic.fields", 2, {"written": {"field:sb_score": "6"}}),
        ("c", "mautic", "mautic.fields", 3, {"written": {"field:sb_score": "7"}}),
    )
    writer = ScriptedWriter("mautic", {"b": "retry", "c": "dead"})
    report = push(store, [writer], NOW)
    state = rows(store)
    assert state["a"].status == "done"
    assert (state["b"].status, state["b"].attempts) == ("pending", 1)
    assert state["b"].next_attempt_at == NOW + timedelta(minutes=1)
    assert state["c"].status == "dead"
    assert written(store) == {("mautic", 1, "field:sb_score"): "5"}
    with store.read() as conn:
        dead = conn.execute(sa.select(DeadLetter.__table__)).all()  # type: ignore[attr-defined]
    assert [(d.record_id, d.reason) for d in dead] == [("c", "item said no")]
    assert report.as_dict()["systems"]["mautic"] | {} == {
        "batches": 2,
        "ok": 1,
        "retry": 1,
        "dead": 1,
        "waiting": 0,
        "released": 0,
        "stopped": None,
        "paused_until": None,
    }
    assert push(store, [writer], NOW).systems["mautic"].batches == 0  # nothing due any more


def test_a_failure_that_keeps_coming_back_ends_in_the_dead_letters(store: Store) -> None:
    enqueue(store, ("a", "crm", "crm.update", 1, {}))
    writer = ScriptedWriter("crm", {"a": "retry"})
    now = NOW
    for _ in range(MAX_ATTEMPTS):
        push(store, [writer], now)
        now += timedelta(days=1)
    assert rows(store)["a"].status == "dead"
    assert len(writer.calls) == MAX_ATTEMPTS


def test_a_whole_batch_transient_failure_retries_every_item(store: Store) -> None:
    enqueue(store, ("a", "crm", "crm.update", 1, {}), ("b", "crm", "crm.update", 2, {}))
    push(store, [ScriptedWriter("crm", {}, TransientError("503", system="crm"))], NOW)
    assert {k: (r.status, r.attempts) for k, r in rows(store).items()} == {
        "a": ("pending", 1),
        "b": ("pending", 1),
    }


def test_quota_exhaustion_pauses_that_system_only_and_keeps_its_queue(store: Store) -> None:
    reset = NOW + timedelta(hours=9)
    enqueue(
        store,
        ("m1", "mautic", "mautic.fields", 1, {}),
        ("c1", "crm", "crm.update", 1, {}),
        ("c2", "crm", "crm.update", 2, {}),
        ("c3", "crm", "crm.update", 3, {}),
    )
    crm = ScriptedWriter("crm", {}, QuotaExhausted("daily", system="crm", reset_at=reset))
    report = push(store, [crm, ScriptedWriter("mautic", {})], NOW)
    state = rows(store)
    assert state["m1"].status == "done"
    assert {
        (state[k].status, state[k].attempts, state[k].next_attempt_at) for k in ("c1", "c2", "c3")
    } == {("pending", 0, reset)}
    assert len(crm.calls) == 1  # stopped after the first refusal
    assert report.systems["crm"].stopped == "quota exhausted"
    assert report.systems["crm"].paused_until == reset
    crm.error = None
    assert push(store, [crm], reset - timedelta(seconds=1)).systems["crm"].batches == 0
    push(store, [crm], reset)
    assert {rows(store)[k].status for k in ("c1", "c2", "c3")} == {"done"}


def test_an_auth_failure_stops_the_system_without_spending_attempts(store: Store) -> None:
    enqueue(store, ("a", "crm", "crm.update", 1, {}))
    report = push(store, [ScriptedWriter("crm", {}, AuthError("401", system="crm"))], NOW)
    assert (rows(store)["a"].status, rows(store)["a"].attempts) == ("pending", 0)
    assert "401" in (report.systems["crm"].stopped or "")


def test_dry_run_lists_the_due_writes_and_sends_nothing(store: Store) -> None:
    enqueue(store, ("a", "mautic", "mautic.fields", 1, {"fields": {"sb_score": 3}}))
    writer = ScriptedWriter("mautic", {})
    report = push(store, [writer], NOW, dry_run=True)
    assert writer.calls == []
    assert [p["idempotency_key"] for p in report.as_dict()["planned"]] == ["a"]
    assert rows(store)["a"].status == "pending"


def test_should_stop_ends_the_push_between_batches(store: Store) -> None:
    enqueue(store, *[(k, "mautic", "mautic.fields", 1, {}) for k in "abcd"])
    writer = ScriptedWriter("mautic", {})
    push(store, [writer], NOW, should_stop=lambda: len(writer.calls) >= 1)
    assert len(writer.calls) == 1
    assert sorted(r.status for r in rows(store).values()) == ["done", "done", "pending", "pending"]


class FakeCrm:
    """An in-memory CRM: tasks and deals findable by their key, contacts by email."""

    name = "fake"

    def __init__(self) -> None:
        self.tasks: dict[str, TaskSpec] = {}
        self.deals: dict[str, DealSpec] = {}
        self.contacts: dict[str, str] = {}
        self.updates: list[WriteItem] = []

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(max_batch=100, supports_upsert=True, search_page_size=100)

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        return []

    def create_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        out = []
        for n, item in enumerate(items):
            crm_id = self.contacts.setdefault(str(item.email), str(7000 + len(self.contacts)))
            out.append(ItemResult(index=n, ok=True, remote_id=crm_id))
        return out

    def update_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        self.updates.extend(items)
        return [
            ItemResult(index=n, ok=n % 2 == 0, status=400, message="bad") for n in range(len(items))
        ]

    def find_open_task(self, idempotency_key: str, contact_id: str) -> str | None:
        return idempotency_key if idempotency_key in self.tasks else None

    def create_task(self, spec: TaskSpec) -> str:
        self.tasks[spec.idempotency_key] = spec
        return spec.idempotency_key

    def find_deal(self, idempotency_key: str, contact_id: str) -> str | None:
        return idempotency_key if idempotency_key in self.deals else None

    def create_deal(self, spec: DealSpec) -> str:
        self.deals[spec.idempotency_key] = spec
        return spec.idempotency_key


TASK = {
    "rendered": {
        "task": {
            "subject": "Warm",
            "body": "why",
            "due_at": NOW.isoformat(),
            "owner_id": None,
            "priority": "medium",
        }
    }
}


def test_a_crash_after_the_crm_accepted_a_task_never_makes_a_second_one(store: Store) -> None:
    crm = FakeCrm()
    writer = CrmWriter(crm, [])  # type: ignore[arg-type]
    enqueue(store, ("warm:1:1", "crm", "crm.task", 1, TASK))
    with armed("push.after_remote_write"), pytest.raises(InjectedCrash):
        push(store, [writer], NOW)
    assert len(crm.tasks) == 1
    assert rows(store)["warm:1:1"].status == "in_flight"
    push(store, [writer], NOW)  # still held by the crashed claim
    later = NOW + timedelta(minutes=6)
    push(store, [CrmWriter(crm, [])], later)  # type: ignore[arg-type]
    assert len(crm.tasks) == 1
    assert rows(store)["warm:1:1"].status == "done"
    assert rows(store)["warm:1:1"].result == {"task_id": "warm:1:1", "found": True}


def test_created_contacts_are_linked_and_their_tasks_follow_in_the_same_batch(
    store: Store,
) -> None:
    crm = FakeCrm()
    enqueue(
        store,
        ("t", "crm", "crm.task", 2, TASK),
        (
            "c",
            "crm",
            "crm.create",
            2,
            {"email": "c2@example.com", "properties": {"s": 1}, "written": {"prop:s": "1"}},
        ),
    )
    push(store, [CrmWriter(crm, [])], NOW)  # type: ignore[arg-type]
    with store.read() as conn:
        linked = conn.execute(sa.select(_contact).where(_contact.c.id == 2)).one()
    assert (linked.crm_kind, linked.crm_id) == ("fake", "7000")
    assert crm.tasks["t"].contact_id == "7000"
    assert written(store) == {("crm", 2, "prop:s"): "1"}


def test_a_207_update_acks_the_good_items_and_dead_letters_the_bad(store: Store) -> None:
    crm = FakeCrm()
    enqueue(
        store,
        ("u1", "crm", "crm.update", 1, {"properties": {"s": 1}, "written": {"prop:s": "1"}}),
        ("u3", "crm", "crm.update", 3, {"properties": {"s": 3}}),
    )
    with store.write() as conn:
        conn.execute(sa.update(_contact).where(_contact.c.id == 3).values(crm_id="9003"))
    push(store, [CrmWriter(crm, [])], NOW)  # type: ignore[arg-type]
    assert (rows(store)["u1"].status, rows(store)["u3"].status) == ("done", "dead")
    assert written(store) == {("crm", 1, "prop:s"): "1"}


class NotesUntilLocked:
    """A Mautic that takes ``allowed`` notes, then refuses the login (the password changed)."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.notes: list[Note] = []

    def create_note(self, contact_id: int, text: str, *, note_type: str) -> Note:
        if len(self.notes) >= self.allowed:
            raise AuthError("HTTP 401: invalid credentials", system="mautic", status=401)
        self.notes.append(
            Note(id=len(self.notes) + 1, text=text, type=note_type, contact_id=contact_id)
        )
        return self.notes[-1]

    def list_contact_notes(self, contact_id: int, *, start: int, limit: int) -> list[Note]:
        mine = [n for n in reversed(self.notes) if n.contact_id == contact_id]
        return mine[start : start + limit]


def test_notes_a_push_stopped_by_a_refused_login_had_sent_are_not_sent_twice(
    store: Store,
) -> None:
    enqueue(
        store,
        *[
            (f"call:{i}:1:note", "mautic", "mautic.note", i, {"text": f"Call {i}"})
            for i in (1, 2, 3)
        ],
    )
    mautic = NotesUntilLocked(allowed=2)
    writer = MauticWriter(mautic, score_field="sb_score", band_field="sb_band")  # type: ignore[arg-type]
    report = push(store, [writer], NOW)
    assert report.systems["mautic"].error is not None  # the sync stops: exit 1
    assert len(mautic.notes) == 2  # applied before the login was refused
    statuses = {k: r.status for k, r in rows(store).items()}
    # each note is recorded as its call comes back (the per-item pool): the refused one waits
    assert statuses == {
        "call:1:1:note": "done",
        "call:2:1:note": "done",
        "call:3:1:note": "pending",
    }
    mautic.allowed = 99  # the operator fixed the password
    push(store, [writer], NOW + timedelta(minutes=2))
    assert sorted(n.text.split("\n")[0] for n in mautic.notes) == ["Call 1", "Call 2", "Call 3"]
    results = {k: r.result for k, r in rows(store).items()}
    assert results["call:3:1:note"] == {"note_id": 3}


# -- a stop request inside a batch (issue 15 item 6) -------------------------------------------

MAUTIC = "https://mautic.example.test"


class StopAfter:
    """A SIGTERM that arrives once ``answered`` reaches ``after``."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.answered = 0

    def __call__(self) -> bool:
        return self.answered >= self.after


def mautic_client(stop: StopAfter, clock: FrozenClock) -> MauticClient:
    """A Mautic client whose point-group writes are answered (and counted) by ``responses``."""

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        stop.answered += 1
        return 200, {}, '{"groupScore": {"score": 1, "group": {"id": 6, "name": "A"}}}'

    route = re.compile(rf"{MAUTIC}/api/contacts/\d+/points/groups/6/set/\d+")
    responses.add_callback(responses.POST, route, answer)
    return MauticClient(
        f"{MAUTIC}/api",
        BasicAuth("api-user", "pa55word-basic"),
        clock=clock,
        retry=RetryPolicy(max_attempts=3, deadline=60, base=1),
        buckets=BucketRegistry(),
        rng=random.Random(1),
    )


@responses.activate
def test_a_stop_mid_batch_acks_what_was_sent_and_puts_the_rest_back(store: Store) -> None:
    enqueue(
        store,
        *[
            (f"g{i}", "mautic", "mautic.groups", i, {"groups": {"A": i}, "written": {"g:A": "1"}})
            for i in (1, 2, 3)
        ],
    )
    stop, clock = StopAfter(1), FrozenClock(NOW)
    writer = MauticWriter(mautic_client(stop, clock), score_field="", band_field="")
    writer._groups = {"A": 6}  # noqa: SLF001 - read by an earlier batch
    with request_bounds(clock=clock, should_stop=stop):
        report = push(store, [writer], NOW, should_stop=stop)

    assert len(responses.calls) == 1, "no request is sent once the stop was requested"
    state = rows(store)
    assert state["g1"].status == "done"
    assert written(store) == {("mautic", 1, "g:A"): "1"}, "what was sent is remembered"
    for key in ("g2", "g3"):
        back = state[key]
        assert (back.status, back.attempts, back.last_error) == ("pending", 0, STOPPED)
        assert back.next_attempt_at == NOW
    system = report.as_dict()["systems"]["mautic"]
    assert (system["ok"], system["released"], system["stopped"]) == (1, 2, None)


def test_a_batch_refused_as_a_whole_goes_back_without_an_attempt(store: Store) -> None:
    enqueue(store, ("a", "crm", "crm.update", 1, {}), ("b", "crm", "crm.update", 2, {}))
    refused = ShutdownRequested("stop requested; the request was not sent")
    report = push(store, [ScriptedWriter("crm", {}, refused)], NOW)
    assert {k: (r.status, r.attempts, r.last_error) for k, r in rows(store).items()} == {
        "a": ("pending", 0, STOPPED),
        "b": ("pending", 0, STOPPED),
    }
    system = report.as_dict()["systems"]["crm"]
    assert (system["released"], system["stopped"]) == (2, None), "a stop is no problem"


@responses.activate
def test_a_retry_wait_ends_as_soon_as_a_stop_is_requested() -> None:
    responses.get(f"{MAUTIC}/api/points/groups", status=429, headers={"Retry-After": "50"})
    clock = FrozenClock(NOW)
    client = mautic_client(StopAfter(99), clock)
    with (
        request_bounds(clock=clock, should_stop=lambda: clock.monotonic() >= 2),
        pytest.raises(ShutdownRequested),
    ):
        client.list_point_groups()
    assert clock.monotonic() <= 2.5, "the 50 s wait was cut short"
    assert len(responses.calls) == 1


class PerItem:
    """A writer whose notes cost one call each: the first ``workers`` pool calls wait for one
    another (so they must be in flight together); the ``quota_on``-th call says the quota is
    spent."""

    system = "mautic"
    batch_size = 100
    link_kind = ""
    concurrent_ops = frozenset({"mautic.note"})

    def __init__(self, workers: int, quota_on: int | None = None) -> None:
        self.workers = workers
        self.quota_on = quota_on
        self.barrier = threading.Barrier(workers, timeout=10)
        self.lock = threading.Lock()
        self.calls = self.active = self.peak = 0
        self.sent: list[str] = []

    def write(self, items: Sequence[Claimed]) -> list[Outcome]:
        with self.lock:
            self.calls += 1
            call = self.calls
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if 2 <= call <= 1 + self.workers:  # the first call goes alone; then a full pool
                self.barrier.wait()
            if call == self.quota_on:
                raise QuotaExhausted("daily quota spent", system="mautic")
            with self.lock:
                self.sent += [i.op.idempotency_key for i in items]
            return [Outcome(i.op.id, "ok") for i in items]
        finally:
            with self.lock:
                self.active -= 1


def notes(store: Store, n: int) -> list[str]:
    keys = [f"note:{k}" for k in range(n)]
    enqueue(store, *((key, "mautic", "mautic.note", 1, {"text": key}) for key in keys))
    return keys


def test_per_item_ops_go_out_over_a_bounded_pool_each_exactly_once(store: Store) -> None:
    keys = notes(store, 20)
    writer = PerItem(workers=4)
    report = push(store, [writer], NOW, workers=4)
    assert writer.peak == 4  # four in flight at once, never more
    assert sorted(writer.sent) == sorted(keys)  # each once
    assert {r.status for r in rows(store).values()} == {"done"}
    assert report.systems["mautic"].outcomes["ok"] == 20


def test_a_quota_spent_mid_pool_keeps_what_was_sent_and_queues_the_rest_unattempted(
    store: Store,
) -> None:
    keys = notes(store, 20)
    writer = PerItem(workers=4, quota_on=6)
    report = push(store, [writer], NOW, workers=4)
    system = report.systems["mautic"]
    assert system.stopped == "quota exhausted"
    ops = rows(store)
    done = {k for k in keys if ops[k].status == "done"}
    assert done == set(writer.sent)  # every call that went out is recorded
    assert len(done) >= 5  # the warm-up and the calls in flight with the failing one
    waiting = [ops[k] for k in keys if k not in done]
    assert waiting
    assert {(r.status, r.attempts) for r in waiting} == {("pending", 0)}
    assert {r.next_attempt_at for r in waiting} == {system.paused_until}


def test_prioritized_ops_are_claimed_hot_first_and_in_queue_order_within_a_rank(
    store: Store,
) -> None:
    enqueue(
        store,
        *(
            (key, "crm", "crm.update", 1, {"properties": {}, "priority": rank})
            for key, rank in (("cold1", 0), ("hot1", 2), ("warm", 1), ("cold2", 0), ("hot2", 2))
        ),
        ("old", "crm", "crm.update", 1, {"properties": {}}),  # no priority: the lowest
    )
    prioritize(store, "crm", NOW)
    with store.write() as conn:
        claimed = outbox.claim_due(conn, "crm", 10, now=NOW)  # every one still due
    assert [o.idempotency_key for o in claimed] == ["hot1", "hot2", "warm", "cold1", "cold2", "old"]

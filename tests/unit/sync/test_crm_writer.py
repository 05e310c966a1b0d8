"""The CRM writer's deals against the contract suite's fake CRM: one open deal per contact and
pipeline, a "Hot again" task on it for a re-armed crossing, each exactly once."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "contract"))

from fake_crm import FakeBackdoor, FakeCrm  # noqa: E402

from scorebridge.clock import FrozenClock  # noqa: E402
from scorebridge.store.outbox import Operation  # noqa: E402
from scorebridge.sync.crm_writer import CrmWriter, hot_again_key  # noqa: E402
from scorebridge.sync.push import Claimed, Outcome, Target  # noqa: E402

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DEAL = {"name": "Ada Lovelace (scorebridge: hot)", "pipeline": None, "stage": None,
        "amount": None, "owner_id": "61"}  # fmt: skip


@pytest.fixture
def crm() -> FakeCrm:
    return FakeCrm(FrozenClock(NOW))


@pytest.fixture
def lead(crm: FakeCrm) -> str:
    return FakeBackdoor(crm).add_contact("ada@example.com", {})


def deal_op(
    crm_id: str, episode: int, *, status: str = "pending", task: dict[str, Any] | None = None
) -> Claimed:
    rendered: dict[str, Any] = {"deal": DEAL}
    if task is not None:
        rendered["task"] = task
    operation = Operation(
        id=episode,
        idempotency_key=f"turned-hot:7:{episode}",
        system="crm",
        op="crm.deal",
        payload={"rendered": rendered},
        contact_id=7,
        status=status,
        attempts=0,
        next_attempt_at=None,
        last_error=None,
    )
    return Claimed(operation, Target(7, 107, crm_id, None))


def write(crm: FakeCrm, item: Claimed) -> Outcome:
    [outcome] = CrmWriter(crm, [], FrozenClock(NOW)).write([item])
    assert outcome.status == "ok", outcome.message
    return outcome


def test_a_re_armed_crossing_adds_a_task_to_the_open_deal_and_no_second_deal(
    crm: FakeCrm, lead: str
) -> None:
    first = write(crm, deal_op(lead, 1))
    deal_id = first.result["deal_id"]
    again = write(crm, deal_op(lead, 2))
    assert len(crm.pipeline_deals) == 1
    task_id = again.result["task_id"]
    assert again.result == {"deal_id": deal_id, "deal_reused": True, "task_id": task_id}
    _, task = crm.tasks[task_id]
    assert (task.deal_id, task.contact_id, task.owner_id) == (deal_id, lead, "61")
    assert task.subject == "Hot again: Ada Lovelace (scorebridge: hot)"
    assert 'while the deal "Ada Lovelace (scorebridge: hot)" is open' in task.body
    assert task.due_at == NOW + timedelta(days=1)
    assert task.idempotency_key == hot_again_key("turned-hot:7:2")


def test_the_hot_again_task_is_made_once_even_when_the_deal_closes_before_the_retry(
    crm: FakeCrm, lead: str
) -> None:
    deal_id = write(crm, deal_op(lead, 1)).result["deal_id"]
    sent = write(crm, deal_op(lead, 2))
    # a crash before the outcome was recorded; meanwhile the rep wins the deal
    FakeBackdoor(crm).close_deal(deal_id, won=True)
    retried = write(crm, deal_op(lead, 2, status="in_flight"))
    assert retried.result == {"deal_reused": True, "task_id": sent.result["task_id"], "found": True}
    assert (len(crm.pipeline_deals), len(crm.tasks)) == (1, 1)


def test_a_new_deal_only_after_the_open_one_closed(crm: FakeCrm, lead: str) -> None:
    first = write(crm, deal_op(lead, 1)).result["deal_id"]
    FakeBackdoor(crm).close_deal(first, won=False)
    second = write(crm, deal_op(lead, 2))
    assert second.result["deal_id"] != first
    assert "deal_reused" not in second.result
    assert len(crm.pipeline_deals) == 2
    assert crm.tasks == {}


def test_a_deal_a_rep_opened_counts_and_the_rendered_task_is_used(crm: FakeCrm, lead: str) -> None:
    by_rep = FakeBackdoor(crm).add_open_deal(lead, "Renewal 2027")
    rendered = {
        "subject": "Ada Lovelace is hot: 82 points",
        "body": "Ada scores 82 (hot). Why:\n- Requested a demo: +30",
        "due_at": (NOW + timedelta(days=2)).isoformat(),
        "owner_id": "62",
        "priority": "high",
    }
    outcome = write(crm, deal_op(lead, 1, task=rendered))
    assert outcome.result["deal_id"] == by_rep
    _, task = crm.tasks[outcome.result["task_id"]]
    assert task.subject == "Hot again: Ada Lovelace is hot: 82 points"
    assert task.body == rendered["body"]
    assert (task.due_at, task.owner_id) == (NOW + timedelta(days=2), "62")
    assert len(crm.pipeline_deals) == 1


def test_a_deal_created_before_a_crash_is_found_not_created_again(crm: FakeCrm, lead: str) -> None:
    made = write(crm, deal_op(lead, 1)).result["deal_id"]
    again = write(crm, deal_op(lead, 1, status="in_flight"))
    assert again.result == {"deal_id": made, "found": True}
    assert (len(crm.pipeline_deals), len(crm.tasks)) == (1, 0)


def test_an_e_mail_change_to_a_taken_e_mail_goes_to_the_dead_letters_not_a_merge(
    crm: FakeCrm, lead: str
) -> None:
    holder = FakeBackdoor(crm).add_contact("taken@example.com", {})
    operation = Operation(
        id=9,
        idempotency_key="crm.update:7:abc",
        system="crm",
        op="crm.update",
        payload={"properties": {"email": "taken@example.com"}},
        contact_id=7,
        status="pending",
        attempts=0,
        next_attempt_at=None,
        last_error=None,
    )
    [outcome] = CrmWriter(crm, []).write([Claimed(operation, Target(7, 107, lead, None))])
    assert outcome.status == "dead"
    assert (
        outcome.message
        == f"HTTP 409: e-mail taken@example.com already belongs to CRM contact {holder}"
    )
    assert crm.contacts[lead].props["email"] == "ada@example.com"

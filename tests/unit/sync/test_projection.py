"""Projections: the requests the queued write-back needs and its time under the limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scorebridge.sync.projection import Limits, project

RESET = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def ops() -> list[tuple[str, str, dict[str, Any]]]:
    out: list[tuple[str, str, dict[str, Any]]] = []
    out += [("mautic", "mautic.fields", {"fields": {"sb_score": 5}})] * 400
    out += [("mautic", "mautic.fields", {"fields": {"sb_score": 0}})] * 50  # read + PUT
    out += [("mautic", "mautic.stage", {"stage": "MQL"})] * 300
    out += [("mautic", "mautic.groups", {"groups": {"A": 3, "B": 1}})]
    out += [("mautic", "mautic.groups", {"groups": {"A": 2}})]
    out += [("mautic", "mautic.segment.add", {"params": {"segment": "Warm"}})] * 3
    out += [("mautic", "mautic.note", {"text": "x"})] * 2
    out += [("crm", "crm.update", {"properties": {}})] * 250
    out += [("crm", "crm.task", {"rendered": {}})] * 5
    return out


def test_requests_follow_the_batches_and_per_item_calls_of_each_api() -> None:
    projected = project(ops(), Limits(mautic_per_hour=1000, crm_per_10s=100, crm_batch=100))
    mautic = projected.systems["mautic"]
    assert dict(mautic.by_op) == {
        "mautic batch edit: fields": 2,
        "mautic batch edit: fields (zero)": 2,
        "mautic batch edit: stage": 2,
        "mautic.groups": 3,
        "mautic.segment.add": 1,
        "mautic.note": 2,
    }
    assert (mautic.operations, mautic.requests) == (757, 12)
    assert mautic.seconds == 12 * 3.6  # 1000 an hour
    crm = projected.systems["crm"]
    assert dict(crm.by_op) == {"crm.update": 3, "crm.task": 10}  # a lookup before each create
    assert crm.seconds == 1.3  # 100 per 10 s
    assert crm.days == 1


def test_a_write_back_beyond_the_daily_quota_is_spread_over_days() -> None:
    limits = Limits(crm_per_10s=100, crm_daily_quota=5, crm_daily_remaining=4, crm_reset_at=RESET)
    projected = project(ops(), limits)
    crm = projected.systems["crm"]
    assert (crm.requests, crm.daily_remaining, crm.days) == (13, 4, 3)  # 4 today, 5, 4
    assert crm.as_dict()["exceeds_daily_quota"] is True
    (line, _) = projected.lines()  # crm, then mautic
    assert "spread over 3 days" in line
    assert RESET.isoformat() in line
    assert projected.systems["mautic"].seconds is None  # no Mautic limit configured

"""Projections (DESIGN §6): how many requests the queued write-back needs per system and how
long it takes under the configured limits, before anything is sent.

Owns: the request model of each outbox operation — the batches and per-item calls the writers
make (``mautic_writer``, ``crm_writer``): Mautic batch edits of 200 (score and group fields,
stage moves, tags; a 0 in a field takes a read and a PUT), segment changes of 200 per segment,
one call per point-group set and per note; CRM creates and updates in batches of the adapter's
``max_batch``, a lookup plus a create per task or deal — and the arithmetic against Mautic's
``requests_per_hour``, the CRM's per-10-second rate and its daily quota (today's remaining as
the CRM last reported it, then ``[crm] daily_quota`` a day). Setup calls (field, group, stage
lists) are a few per run and not counted.
Must not: send anything, or change the outbox.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from scorebridge.config import Settings
from scorebridge.store import outbox
from scorebridge.store.engine import Store
from scorebridge.store.tables import Outbox

MAUTIC_BATCH = 200
UNLIMITED_RATE = 10
"""Requests a second to estimate with when no limit is configured (a real Mautic: 10-20)."""
_outbox = Outbox.__table__  # type: ignore[attr-defined]
#: ops sent together in one Mautic batch edit of up to 200 contacts (a zero-field apart)
_MAUTIC_EDITS = {"mautic.fields": "fields", "mautic.stage": "stage", "mautic.tag.add": "tags",
                 "mautic.tag.remove": "tags"}  # fmt: skip
_PER_ITEM = {"mautic.note": 1}  # the CRM's tasks and deals: its capabilities say


@dataclass(frozen=True)
class Limits:
    """What paces each system (``None``: no limit configured or nothing reported)."""

    mautic_per_hour: int | None = None
    crm_per_10s: int | None = None
    crm_batch: int = 100
    crm_task_requests: int = 2
    crm_deal_requests: int = 3
    crm_daily_quota: int | None = None
    crm_daily_remaining: int | None = None
    crm_reset_at: datetime | None = None


def limits_for(settings: Settings, crm: Any = None) -> Limits:
    """The limits from the settings and, when given, the CRM adapter (``capabilities`` and the
    last ``usage()`` it saw; no request is sent)."""
    usage = crm.usage() if crm is not None else None
    on = crm is not None and settings.crm.kind != "none"
    return Limits(
        mautic_per_hour=settings.mautic.requests_per_hour,
        crm_per_10s=settings.crm.requests_per_10s if on else None,
        crm_batch=crm.capabilities.max_batch if on else 100,
        crm_task_requests=crm.capabilities.task_requests if on else 2,
        crm_deal_requests=crm.capabilities.deal_requests if on else 3,
        crm_daily_quota=settings.crm.daily_quota if on else None,
        crm_daily_remaining=usage.daily_remaining if usage is not None else None,
        crm_reset_at=usage.reset_at if usage is not None else None,
    )


@dataclass
class SystemProjection:
    """One system's queued work and its time at the configured pace."""

    operations: int = 0
    requests: int = 0
    by_op: Counter[str] = field(default_factory=Counter)
    seconds: float | None = None
    """At the configured rate limit (None: no limit configured)."""
    limit: str = ""
    days: int = 1
    """Calendar days the daily quota spreads the work over (1: it fits today)."""
    daily_remaining: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "operations": self.operations,
            "requests": self.requests,
            "requests_by_op": dict(sorted(self.by_op.items())),
            "limit": self.limit,
            "seconds_at_limit": None if self.seconds is None else round(self.seconds, 1),
            "days": self.days,
            "exceeds_daily_quota": self.days > 1,
            "daily_remaining": self.daily_remaining,
        }


@dataclass
class Projection:
    """The queued work of every system."""

    systems: dict[str, SystemProjection] = field(default_factory=dict)
    reset_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The ``projection`` object of ``sync --json`` (dry runs included) and ``doctor``."""
        return {name: p.as_dict() for name, p in sorted(self.systems.items())}

    def lines(self) -> list[str]:
        """One line per system, as an operator reads it."""
        out = []
        for name, p in sorted(self.systems.items()):
            pace = (
                f"about {_duration(p.seconds)} at {p.limit}"
                if p.seconds is not None
                else f"no rate limit configured (at {UNLIMITED_RATE} requests/s, as a real "
                f"Mautic may serve: about {_duration(p.requests / UNLIMITED_RATE)})"
            )
            line = f"{name}: {p.operations} queued write(s) need {p.requests} request(s), {pace}"
            if p.days > 1:
                when = f" (resets {self.reset_at.isoformat()})" if self.reset_at else ""
                line += (
                    f"; more than the daily quota left ({p.daily_remaining}): spread over "
                    f"{p.days} days{when}, hot leads first"
                )
            out.append(line)
        return out


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and int(value) == 0


def requests_by_op(
    system: str, ops: Iterable[tuple[str, Mapping[str, Any]]], limits: Limits | None = None
) -> Counter[str]:
    """Requests each kind of ``(op, payload)`` of one system needs (see the module docstring)."""
    limits = limits or Limits()
    crm_batch = limits.crm_batch
    per_item = {**_PER_ITEM, "crm.task": limits.crm_task_requests,
                "crm.deal": limits.crm_deal_requests}  # fmt: skip
    edits: Counter[str] = Counter()
    segments: dict[str, Counter[str]] = defaultdict(Counter)
    out: Counter[str] = Counter()
    for op, payload in ops:
        if op in _MAUTIC_EDITS:
            fields = payload.get("fields") or {}
            zero = op == "mautic.fields" and any(_is_zero(v) for v in fields.values())
            edits[f"{_MAUTIC_EDITS[op]}{' (zero)' if zero else ''}"] += 1
        elif op.startswith("mautic.segment."):
            name = str((payload.get("params") or {}).get("segment") or "")
            segments[op][name] += 1
        elif op == "mautic.groups":
            out[op] += len(payload.get("groups") or {})
        elif op in ("crm.create", "crm.update", "crm.email"):
            edits[op] += 1
        else:
            out[op] += per_item.get(op, 1)
    for unit, n in edits.items():
        size = crm_batch if unit.startswith("crm.") else MAUTIC_BATCH
        calls = math.ceil(n / size) * (2 if unit.endswith("(zero)") else 1)  # read + PUT
        key = unit if unit.startswith("crm.") else f"mautic batch edit: {unit}"
        out[key] += calls
    for op, by_segment in segments.items():
        out[op] += sum(math.ceil(n / MAUTIC_BATCH) for n in by_segment.values())
    return out


def project(ops: Iterable[tuple[str, str, Mapping[str, Any]]], limits: Limits) -> Projection:
    """The projection of ``(system, op, payload)`` operations under ``limits``."""
    by_system: dict[str, list[tuple[str, Mapping[str, Any]]]] = defaultdict(list)
    for system, op, payload in ops:
        by_system[system].append((op, payload))
    result = Projection(reset_at=limits.crm_reset_at)
    for system, items in by_system.items():
        p = result.systems[system] = SystemProjection(operations=len(items))
        p.by_op = requests_by_op(system, items, limits)
        p.requests = sum(p.by_op.values())
        if system == "mautic" and limits.mautic_per_hour:
            p.limit = f"{limits.mautic_per_hour} requests/hour"
            p.seconds = p.requests * 3600 / limits.mautic_per_hour
        elif system != "mautic" and limits.crm_per_10s:
            p.limit = f"{limits.crm_per_10s} requests/10 s"
            p.seconds = p.requests * 10 / limits.crm_per_10s
            _spread(p, limits)
    return result


def _spread(p: SystemProjection, limits: Limits) -> None:
    """How many calendar days the CRM's daily quota spreads the requests over."""
    quota = limits.crm_daily_quota
    today = limits.crm_daily_remaining if limits.crm_daily_remaining is not None else quota
    p.daily_remaining = today
    if quota is None or today is None or p.requests <= today:
        return
    p.days = 1 + math.ceil((p.requests - today) / quota)


def project_outbox(store: Store, limits: Limits) -> Projection:
    """The projection of every operation queued in the outbox (pending or in flight)."""
    with store.read() as conn:
        rows = conn.execute(
            sa.select(_outbox.c.system, _outbox.c.op, _outbox.c.payload).where(
                _outbox.c.status.in_((outbox.PENDING, outbox.IN_FLIGHT))
            )
        ).all()
    return project(((r.system, r.op, r.payload or {}) for r in rows), limits)

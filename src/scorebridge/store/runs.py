"""Run records: one row per cycle or per CLI command that did part of one.

Owns: starting a run, finishing it with its outcome, counts and requests per endpoint, and
reading the recent ones (``scorebridge status``, the run report).
Must not: compute the counts (``sync/report.py`` does) or read the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.redaction import redact
from scorebridge.store.lease import LeaseInfo, holder_alive, this_holder
from scorebridge.store.tables import Run

_run = Run.__table__  # type: ignore[attr-defined]

Outcome = Literal["ok", "failed", "interrupted"]
PROCESS_KEY = "process"


@dataclass(frozen=True)
class RunRecord:
    """A stored run. ``outcome`` is ``running`` until it finishes."""

    id: int
    command: str
    started_at: datetime | None
    finished_at: datetime | None
    outcome: str
    counts: dict[str, Any]
    requests: dict[str, Any]
    error: str | None

    @property
    def process(self) -> str | None:
        """``host:pid`` of the process running it (while ``running``)."""
        value = self.counts.get(PROCESS_KEY) if isinstance(self.counts, dict) else None
        return str(value) if value else None

    def shown_outcome(self, lease: LeaseInfo | None, now: datetime) -> str:
        """The outcome, or ``interrupted`` for a ``running`` run whose process is gone: dead on
        this host, or on another host without a live lease (a run without a recorded process
        is judged by the lease alone)."""
        if self.outcome != "running":
            return self.outcome
        live_lease = lease is not None and (lease.expires_at is None or lease.expires_at > now)
        if lease is not None and live_lease and lease.holder == self.process:
            return "running"
        alive = holder_alive(self.process) if self.process else None
        if alive is None:  # another host: only its lease can vouch for it
            return "running" if live_lease else "interrupted"
        return "running" if alive else "interrupted"

    @property
    def duration_seconds(self) -> float | None:
        """Wall time, once finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def start_run(conn: Connection, command: str, *, now: datetime) -> int:
    """Open a run row (outcome ``running``, the process ``host:pid`` kept in its counts until
    it finishes, so ``status`` can tell a run whose process died); returns its id."""
    result = conn.execute(
        sa.insert(_run)
        .values(
            command=command,
            started_at=now,
            outcome="running",
            counts={PROCESS_KEY: this_holder()},
            requests={},
        )
        .returning(_run.c.id)
    )
    return int(result.scalar_one())


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    now: datetime,
    outcome: Outcome,
    counts: Mapping[str, Any] | None = None,
    requests: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Close a run with its outcome, counts, requests per endpoint and (redacted) error."""
    conn.execute(
        sa.update(_run)
        .where(_run.c.id == run_id)
        .values(
            finished_at=now,
            outcome=outcome,
            counts=dict(counts or {}),
            requests=dict(requests or {}),
            error=None if error is None else redact(error),
        )
    )


def recent_runs(conn: Connection, limit: int = 10, command: str | None = None) -> list[RunRecord]:
    """The latest runs, newest first."""
    stmt = sa.select(_run).order_by(_run.c.id.desc()).limit(limit)
    if command is not None:
        stmt = stmt.where(_run.c.command == command)
    return [
        RunRecord(
            r.id, r.command, r.started_at, r.finished_at, r.outcome, r.counts, r.requests, r.error
        )
        for r in conn.execute(stmt)
    ]


def last_finished(conn: Connection, command: str, outcome: Outcome = "ok") -> datetime | None:
    """When the latest ``command`` run with ``outcome`` finished (``None``: never)."""
    stmt = (
        sa.select(_run.c.finished_at)
        .where(_run.c.command == command, _run.c.outcome == outcome)
        .order_by(_run.c.id.desc())
        .limit(1)
    )
    found: datetime | None = conn.execute(stmt).scalar()
    return found

"""The store's tables (DESIGN §3). This module owns the schema and nothing else.

Bulk reads and writes go through SQLAlchemy Core on ``Model.__table__``; the SQLModel classes
exist for typing, Alembic and the occasional single-row read. Every datetime column is
:class:`UTCDateTime`: stored as naive UTC, returned as aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as naive UTC and handed back as aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC without tzinfo."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Attach UTC."""
        return None if value is None else value.replace(tzinfo=UTC)


def _dt(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default: Any = dict) -> Any:
    return Field(default_factory=default, sa_column=sa.Column(sa.JSON, nullable=False))


class Contact(SQLModel, table=True):
    """One person, linked to its Mautic contact and CRM record by stored ids."""

    __table_args__ = (sa.UniqueConstraint("crm_kind", "crm_id", name="uq_contact_crm"),)

    id: int | None = Field(default=None, primary_key=True)
    mautic_id: int | None = Field(default=None, unique=True)
    crm_kind: str | None = None
    crm_id: str | None = None
    email: str | None = Field(default=None, index=True)
    mautic_owner_id: int | None = None
    crm_owner_id: str | None = None
    fields: dict[str, Any] = _json()
    crm_fields: dict[str, Any] = _json()
    mautic_points: int = 0
    stage: str | None = None
    stage_entered_at: datetime | None = _dt()
    last_activity_at: datetime | None = _dt()
    mautic_date_modified: datetime | None = _dt()
    rescore_needed: bool = Field(default=True, index=True)
    placeholder: bool = False
    deleted: bool = False
    created_at: datetime | None = _dt()
    updated_at: datetime | None = _dt()


class Event(SQLModel, table=True):
    """One behaviour event, unique by (source, stream, external_id)."""

    __table_args__ = (
        sa.UniqueConstraint("source", "stream", "external_id", name="uq_event_origin"),
        sa.Index("ix_event_contact_time", "contact_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str
    stream: str
    external_id: str
    contact_id: int = Field(foreign_key="contact.id")
    kind: str
    occurred_at: datetime = _dt(nullable=False)
    attributes: dict[str, Any] = _json()


class Shape(SQLModel, table=True):
    """A distinct ``(kind, attributes)`` pair of events; ``attributes`` is canonical JSON text."""

    __tablename__ = "event_shape"
    __table_args__ = (sa.UniqueConstraint("kind", "attributes", name="uq_event_shape"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    attributes: str


class Digest(SQLModel, table=True):
    """A contact's events packed for rescoring (``store.digests``); ``event`` stays the truth.

    ``occurred_us`` holds little-endian int64 microseconds since the epoch and ``shape_ids``
    little-endian int32 ``event_shape`` ids, one per event in event id order; ``event_count``
    tells a stale digest from a fresh one.
    """

    __tablename__ = "event_digest"

    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    event_count: int = 0
    occurred_us: bytes = Field(default=b"", sa_column=sa.Column(sa.LargeBinary, nullable=False))
    shape_ids: bytes = Field(default=b"", sa_column=sa.Column(sa.LargeBinary, nullable=False))


class Cursor(SQLModel, table=True):
    """One bookmark per (source, stream), moved in the transaction that stores its rows."""

    source: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    value: str = ""
    updated_at: datetime | None = _dt()


#: ``score.group_key`` of the lifetime score (with the band) and of the stage score.
TOTAL_KEY = "total"
STAGE_SCORE_KEY = "stage_score"


class Score(SQLModel, table=True):
    """The current score of a contact per topic group; ``group_key = "total"`` holds the
    lifetime score and the band, ``group_key = "stage_score"`` the score counted since the entry
    into the contact's ``reset_score`` stage (equal to the total outside one).

    On SQLite a ``WITHOUT ROWID`` table: a row lives in its primary-key B-tree alone, one insert
    per row for the millions a full rescore writes (migration 0003).
    """

    __table_args__ = {"sqlite_with_rowid": False}

    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    group_key: str = Field(primary_key=True)
    value: int = 0
    exact: float = 0.0
    band: str | None = None
    rule_version: str = ""
    computed_at: datetime | None = _dt()


class TriggerState(SQLModel, table=True):
    """Edge-trigger state per (contact, trigger): armed/fired and the episode number."""

    __tablename__ = "trigger_state"

    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    trigger_id: str = Field(primary_key=True)
    armed: bool = True
    episode: int = 0
    primed: bool = False
    fired_at: datetime | None = _dt()
    silenced: bool = False
    """Episode 1 was recorded without actions (``notify_existing = false``, migration 0004)."""


class StageEntry(SQLModel, table=True):
    """A contact's move into a funnel stage and the lifetime score it entered with."""

    __tablename__ = "stage_entry"

    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    stage: str = Field(primary_key=True)
    entered_at: datetime = Field(
        sa_column=sa.Column(UTCDateTime(), primary_key=True, nullable=False)
    )
    score: int = 0


class Written(SQLModel, table=True):
    """The value last written successfully to a remote target: the basis of diffing."""

    system: str = Field(primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    target: str = Field(primary_key=True)
    value: str = ""
    written_at: datetime | None = _dt()


class Outbox(SQLModel, table=True):
    """A pending remote operation, unique by its idempotency key."""

    __table_args__ = (sa.Index("ix_outbox_due", "system", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True)
    system: str
    op: str
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    payload: dict[str, Any] = _json()
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = _dt()
    last_error: str | None = None
    result: dict[str, Any] = _json()
    created_at: datetime | None = _dt()
    done_at: datetime | None = _dt()


class DeadLetter(SQLModel, table=True):
    """A record or an operation that failed permanently, with a redacted reason."""

    __tablename__ = "dead_letter"

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    source: str
    record_id: str = ""
    reason: str
    payload: dict[str, Any] = _json()
    attempts: int = 0
    created_at: datetime | None = _dt()
    replay_requested_at: datetime | None = _dt()
    resolved_at: datetime | None = _dt()


class Run(SQLModel, table=True):
    """One cycle (or one CLI command that did part of one)."""

    id: int | None = Field(default=None, primary_key=True)
    command: str = "cycle"
    started_at: datetime | None = _dt()
    finished_at: datetime | None = _dt()
    outcome: str = "running"
    counts: dict[str, Any] = _json()
    requests: dict[str, Any] = _json()
    error: str | None = None


class Lease(SQLModel, table=True):
    """The single-instance guard, with a heartbeat."""

    name: str = Field(primary_key=True)
    holder: str
    acquired_at: datetime | None = _dt()
    heartbeat_at: datetime | None = _dt()
    expires_at: datetime | None = _dt()


class Prediction(SQLModel, table=True):
    """The predictive score of a contact (``[predict]``): the calibrated probability of a won
    deal within the window, the model row that made it, and the signals that raise it most."""

    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    probability: float = 0.0
    model_id: int = 0
    reasons: list[str] = _json(list)
    computed_at: datetime | None = _dt()


class PredictionModel(SQLModel, table=True):
    """One refit of the predictive score (or a skipped one): when, on which rules, its held-out
    figures and top features (``report``). The latest row says when the next refit is due."""

    __tablename__ = "prediction_model"

    id: int | None = Field(default=None, primary_key=True)
    fitted_at: datetime | None = _dt()
    status: str = "fitted"
    rule_version: str = ""
    report: dict[str, Any] = _json()


ALL_TABLES = [
    Contact,
    Event,
    Shape,
    Digest,
    Cursor,
    Score,
    TriggerState,
    StageEntry,
    Written,
    Outbox,
    DeadLetter,
    Run,
    Lease,
    Prediction,
    PredictionModel,
]

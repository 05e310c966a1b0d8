"""Event digests: distinct event shapes and one packed row of events per contact.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Rescoring reads ``event_digest`` instead of every ``event`` row (``store.digests``). An upgraded
store starts without digests; the first rescore that covers a contact builds its digest from its
events (``rescore --all`` builds them all).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "event_shape",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("attributes", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "attributes", name="uq_event_shape"),
    )
    op.create_table(
        "event_digest",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("occurred_us", sa.LargeBinary(), nullable=False),
        sa.Column("shape_ids", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("contact_id"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("event_digest")
    op.drop_table("event_shape")

"""Stage entries and silenced triggers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

``stage_entry`` keeps each move of a contact into a funnel stage with the lifetime score it
entered with (``explain`` shows what made it); ``trigger_state.silenced`` says that the first
episode of a trigger was recorded without actions (``notify_existing = false`` on a contact that
existed before the first completed sync). Score rows of the implicit group "general" (no longer a
topic group: ungrouped points count in the total) are removed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stage_entry",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("contact_id", "stage", "entered_at"),
    )
    with op.batch_alter_table("trigger_state") as batch:
        batch.add_column(
            sa.Column("silenced", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("DELETE FROM score WHERE group_key = 'general'")


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("trigger_state") as batch:
        batch.drop_column("silenced")
    op.drop_table("stage_entry")

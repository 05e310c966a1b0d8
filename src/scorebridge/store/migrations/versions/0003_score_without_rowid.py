"""Score rows keyed by (contact, group) alone: no rowid table, no index on band.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

A full rescore writes one row per contact and group (five million rows for a million contacts
under the example rules). On SQLite each row cost three B-tree inserts: the rowid table, the
primary-key index and the ``band`` index, which no query needed (``leads --band`` filters the
total rows it reads anyway). A ``WITHOUT ROWID`` table stores the rows in the primary-key B-tree
itself: one insert per row, about a third less time for the whole save. PostgreSQL only loses
the index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "contact_id, group_key, value, exact, band, rule_version, computed_at"


def _score_table(name: str, *, with_rowid: bool) -> None:
    op.create_table(
        name,
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("exact", sa.Float(), nullable=False),
        sa.Column("band", sa.String(), nullable=True),
        sa.Column("rule_version", sa.String(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("contact_id", "group_key"),
        sqlite_with_rowid=with_rowid,
    )


def _rebuild(*, with_rowid: bool) -> None:
    _score_table("score_rebuilt", with_rowid=with_rowid)
    op.execute(f"INSERT INTO score_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM score")
    op.drop_table("score")
    op.rename_table("score_rebuilt", "score")


def upgrade() -> None:
    """Apply this revision."""
    op.drop_index("ix_score_band", table_name="score")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(with_rowid=False)


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(with_rowid=True)
    op.create_index("ix_score_band", "score", ["band"], unique=False)

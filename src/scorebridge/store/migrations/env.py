"""Alembic environment for the store.

``store.engine`` runs it programmatically, handing over its open write transaction in
``config.attributes["connection"]``. Run standalone (``alembic revision --autogenerate`` during
development, or ``--sql`` to print the DDL for a DBA) it uses the ``sqlalchemy.url`` option.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import scorebridge.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
url = config.get_main_option("sqlalchemy.url") or "sqlite://"
if connection is not None:
    _run(connection)
elif context.is_offline_mode():
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    with sa.create_engine(url).begin() as conn:
        _run(conn)

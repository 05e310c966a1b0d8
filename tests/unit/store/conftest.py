from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from scorebridge.clock import FrozenClock
from scorebridge.store import Store, open_store
from scorebridge.store.tables import Contact


@pytest.fixture
def store(tmp_path: Path):
    opened = open_store(f"sqlite:///{tmp_path}/store.db")
    yield opened
    opened.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def contact_id(store: Store) -> int:
    """A stored contact to hang events and operations on."""
    table = Contact.__table__
    with store.write() as conn:
        return int(
            conn.execute(
                sa.insert(table).values(mautic_id=1, fields={}, crm_fields={}).returning(table.c.id)
            ).scalar_one()
        )

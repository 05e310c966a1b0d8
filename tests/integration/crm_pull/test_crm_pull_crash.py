"""A crash in the middle of a CRM stream, then a rerun, loses nothing and duplicates nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from scorebridge.crashpoints import InjectedCrash, armed
from scorebridge.store.tables import Contact, Cursor, Event

from .conftest import KIND, CrmWorld

pytestmark = pytest.mark.slow


def snapshot(world: CrmWorld) -> dict[str, list[tuple[object, ...]]]:
    runtime = world.world.runtime()
    event, contact, cursor = Event.__table__, Contact.__table__, Cursor.__table__  # type: ignore[attr-defined]
    with runtime.store.read() as conn:
        contacts = sorted(
            (
                r.mautic_id or 0,
                r.crm_id or "",
                r.email or "",
                str(r.crm_fields),
                r.crm_owner_id or "",
            )
            for r in conn.execute(sa.select(contact))
        )
        events = sorted(
            conn.execute(
                sa.select(event.c.external_id, event.c.kind, contact.c.crm_id)
                .join(contact, contact.c.id == event.c.contact_id)
                .where(event.c.source == KIND)
            ).all()
        )
        cursors = sorted(
            conn.execute(sa.select(cursor.c.stream, cursor.c.value).where(cursor.c.source == KIND))
        )
    runtime.close()
    return {"contacts": contacts, "events": events, "cursors": cursors}


def with_crm_id(snap: dict[str, list[tuple[object, ...]]]) -> int:
    return sum(1 for contact in snap["contacts"] if contact[1])


@pytest.mark.parametrize(
    ("point", "nth"),
    [("crm_pull.after_page_commit", 2), ("crm_pull.inside_page_transaction", 3)],
)
def test_crash_mid_stream_then_rerun_equals_a_clean_pull(
    crm_world: CrmWorld, point: str, nth: int
) -> None:
    clean = crm_world.with_store("clean")
    clean.pull_mautic()
    clean.pull_crm(page_size=50)

    crashed = crm_world.with_store("crashed")
    crashed.pull_mautic()
    with armed(point, nth), pytest.raises(InjectedCrash):
        crashed.pull_crm(page_size=50)
    full, half = snapshot(clean), snapshot(crashed)
    assert 0 < with_crm_id(half) < with_crm_id(full), "the crash hit the middle of a stream"

    crashed.pull_crm(page_size=50)
    assert snapshot(crashed) == snapshot(clean)

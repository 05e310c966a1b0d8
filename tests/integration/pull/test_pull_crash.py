"""A crash in the middle of a stream, then a rerun, loses nothing and duplicates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from scorebridge.crashpoints import InjectedCrash, armed
from scorebridge.store.tables import Contact, Cursor, Event
from scorebridge.sync.pull import Puller

from .conftest import World


def snapshot(world: World) -> dict[str, object]:
    runtime = world.runtime()
    event, contact, cursor = Event.__table__, Contact.__table__, Cursor.__table__
    with runtime.store.read() as conn:
        events = sorted(
            conn.execute(
                sa.select(
                    event.c.stream, event.c.external_id, event.c.kind, contact.c.mautic_id
                ).join(contact, contact.c.id == event.c.contact_id)
            ).all()
        )
        contacts = sorted(conn.execute(sa.select(contact.c.mautic_id, contact.c.email)).all())
        cursors = sorted(conn.execute(sa.select(cursor.c.stream)).scalars())
    runtime.close()
    return {"events": events, "contacts": contacts, "cursors": cursors}


def other_store(world: World, tmp_path: Path, name: str) -> World:
    config = tmp_path / f"{name}.toml"
    config.write_text(world.config.read_text().replace("scorebridge.db", f"{name}.db"))
    return World(world.sandbox, world.info, config)


@pytest.mark.parametrize(
    ("point", "nth"),
    [("pull.after_page_commit", 10), ("pull.inside_page_transaction", 12)],
)
def test_crash_mid_stream_then_rerun_equals_a_clean_pull(
    small_world: World, tmp_path: Path, point: str, nth: int
) -> None:
    clean = other_store(small_world, tmp_path, "clean")
    runtime = clean.runtime()
    Puller(runtime.store, runtime.mautic, runtime.clock, runtime.pull_options()).pull()
    runtime.close()

    crashed = other_store(small_world, tmp_path, "crashed")
    runtime = crashed.runtime()
    options = runtime.pull_options()
    small_pages = type(options)(
        **{**vars(options), "stats_page_size": 100, "contacts_page_size": 50}
    )
    with armed(point, nth), pytest.raises(InjectedCrash):
        Puller(runtime.store, runtime.mautic, runtime.clock, small_pages).pull()
    runtime.close()
    half = snapshot(crashed)
    full = snapshot(clean)
    assert half["contacts"] == full["contacts"]
    assert 0 < len(half["events"]) < len(full["events"]), "the crash hit the middle of a stream"

    runtime = crashed.runtime()
    Puller(runtime.store, runtime.mautic, runtime.clock, small_pages).pull()
    runtime.close()
    assert snapshot(crashed) == snapshot(clean)

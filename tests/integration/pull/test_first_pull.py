"""The first pull of a seeded world matches the sandbox's own truth exactly (issue 3)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from scorebridge.store.tables import Contact, Event
from scorebridge.sync.pull import Puller

from .conftest import World, start_world

pytestmark = pytest.mark.slow

# stats table -> (stream name in the store, which truth rows become events)
STREAMS = {
    "lead_points_change_log": ("points", lambda row: True),
    "page_hits": ("page_hits", lambda row: True),
    "form_submissions": ("form_submissions", lambda row: True),
    "asset_downloads": ("asset_downloads", lambda row: True),
    "lead_donotcontact": ("dnc", lambda row: str(row["reason"]) in ("1", "2", "3")),
    "lead_stages_change_log": ("stages", lambda row: True),
    "email_stats": ("email_stats", lambda row: str(row.get("is_read")) in ("1", "True")),
}


def truth_ids(world: World) -> dict[str, set[str]]:
    """External ids the store must hold per stream, from the emulator's own tables."""
    with world.sandbox.servers["mautic"].lock:
        tables = world.sandbox.mautic.state.tables
        return {
            stream: {str(row["id"]) for row in tables[table] if keep(row)}
            for table, (stream, keep) in STREAMS.items()
        }


def stored_ids(world: World) -> dict[str, list[str]]:
    runtime = world.runtime()
    event = Event.__table__
    found: dict[str, list[str]] = {}
    with runtime.store.read() as conn:
        for stream, external_id in conn.execute(sa.select(event.c.stream, event.c.external_id)):
            found.setdefault(stream, []).append(external_id)
    runtime.close()
    return found


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> World:
    world = start_world(tmp_path_factory.mktemp("first-pull"), contacts=2000, days=60, seed=3)
    yield world
    world.sandbox.stop()


def test_first_pull_matches_the_sandbox_truth_exactly(seeded: World) -> None:
    runtime = seeded.runtime()
    report = Puller(runtime.store, runtime.mautic, runtime.clock, runtime.pull_options()).pull()

    truth = truth_ids(seeded)
    stored = stored_ids(seeded)
    for stream, ids in truth.items():
        assert len(stored.get(stream, [])) == len(set(stored.get(stream, []))), stream
        assert set(stored.get(stream, [])) == ids, f"{stream}: store differs from the sandbox"
    assert report.total("rejects") == 0

    contact = Contact.__table__
    with runtime.store.read() as conn:
        rows = conn.execute(
            sa.select(contact.c.mautic_id, contact.c.email, contact.c.placeholder)
        ).all()
    with seeded.sandbox.servers["mautic"].lock:
        mautic_contacts = {c.id for c in seeded.sandbox.mautic.state.contacts.values()}
    assert {r.mautic_id for r in rows} == mautic_contacts
    assert not any(r.placeholder for r in rows), "every contact was read, none left a placeholder"
    assert Counter(r.mautic_id for r in rows).most_common(1)[0][1] == 1
    runtime.close()


def test_second_pull_reads_nothing_new(seeded: World) -> None:
    runtime = seeded.runtime()
    puller = Puller(runtime.store, runtime.mautic, runtime.clock, runtime.pull_options())
    puller.pull()
    before = seeded.requests_made()
    assert before["GET /api/points/groups"] == 1  # the point log named groups
    report = puller.pull()
    after = seeded.requests_made()
    assert report.total("new_events") == 0
    sent = sum(after.values()) - sum(before.values())
    streams = len(runtime.pull_options().streams)
    # one request per stream and the contact overlap window; no point-group list: no group rows
    assert sent <= streams + 1, (before, after)
    assert after["GET /api/points/groups"] == 1
    runtime.close()


def test_behaviour_recorded_in_the_sandbox_appears_in_the_next_pull(small_world: World) -> None:
    runtime = small_world.runtime()
    puller = Puller(runtime.store, runtime.mautic, runtime.clock, runtime.pull_options())
    puller.pull()
    small_world.control(
        "POST",
        "events",
        [
            {
                "contact_id": 5,
                "kind": "page.hit",
                "url": "https://www.nordlicht-analytics.example/pricing",
            },
            {"contact_id": 5, "kind": "form.submit", "form_id": 3},
            {"contact_id": 5, "kind": "asset.download", "asset_id": 1},
        ],
    )
    report = puller.pull()
    assert report.streams["page_hits"].new_events == 1
    assert report.streams["form_submissions"].new_events == 1
    assert report.streams["asset_downloads"].new_events == 1
    event = Event.__table__
    contact = Contact.__table__
    with runtime.store.read() as conn:
        kinds = {
            (kind, rescore)
            for kind, rescore in conn.execute(
                sa.select(event.c.kind, contact.c.rescore_needed)
                .join(contact, contact.c.id == event.c.contact_id)
                .where(
                    contact.c.mautic_id == 5, event.c.kind.in_(["form.submit", "asset.download"])
                )
            )
        }
    assert kinds == {("form.submit", True), ("asset.download", True)}
    runtime.close()


def test_a_pull_with_429_bursts_and_5xx_converges_to_the_same_store(
    small_world: World, tmp_path: Path
) -> None:
    clean = small_world.runtime()
    Puller(clean.store, clean.mautic, clean.clock, clean.pull_options()).pull()
    expected = stored_ids(small_world)
    clean.close()

    faulty_config = tmp_path / "faulty.toml"
    text = small_world.config.read_text().replace("scorebridge.db", "faulty.db")
    faulty_config.write_text(text)
    small_world.faults(rate_limit_burst=3, error_ratio=0.05, seed=5)
    faulty = World(small_world.sandbox, small_world.info, faulty_config)
    runtime = faulty.runtime()
    Puller(runtime.store, runtime.mautic, runtime.clock, runtime.pull_options()).pull()
    runtime.close()
    small_world.faults()
    got = stored_ids(faulty)
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in expected.items()}

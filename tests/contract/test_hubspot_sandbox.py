"""HubSpot-specific behaviour of :class:`HubSpotAdapter` over real sockets against the emulator:
the 10,000-result search cap, search-index lag, the unique deal key, the daily quota, 207
batches and 5xx retries.

The vendor-neutral behaviour is in ``test_crm_contract.py``; these are the HubSpot quirks an
emulator written independently from the reference can confirm.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hubspot_sandbox import HubSpotBackdoor

from scorebridge.crm import CrmError, DealSpec, FieldSpec, TaskSpec, WriteItem
from scorebridge.crm.hubspot import HubSpotAdapter
from scorebridge.http import BucketRegistry, RetryPolicy
from scorebridge.sandbox.base import Faults, RunningServer
from scorebridge.sandbox.hubspot import HubSpotEmulator, LimitSettings
from scorebridge.sandbox.hubspot.properties import new_property

SCORE = FieldSpec("scorebridge_score", "scorebridge score", "number")


@pytest.fixture
def sandbox(
    hubspot_emulator: tuple[RunningServer, HubSpotEmulator],
) -> Iterator[tuple[HubSpotAdapter, RunningServer, HubSpotEmulator]]:
    server, emulator = hubspot_emulator
    with server.lock:
        emulator.reset()
    server.set_faults(Faults())
    adapter = HubSpotAdapter(
        token=emulator.token,
        base_url=server.url,
        burst_per_10s=100_000,
        search_per_second=1_000,
        buckets=BucketRegistry(),
        retry=RetryPolicy(max_attempts=4, deadline=10.0, base=0.01, max_wait=0.05),
    )
    yield adapter, server, emulator
    server.set_faults(Faults())
    with server.lock:
        emulator.reset()


def _set_limits(server: RunningServer, emulator: HubSpotEmulator, **limits: int) -> None:
    with server.lock:
        emulator.limiter.settings = LimitSettings(**limits)


def test_changed_since_pages_past_the_10000_cap_without_losing_or_repeating(
    sandbox: tuple[HubSpotAdapter, RunningServer, HubSpotEmulator],
) -> None:
    adapter, server, emulator = sandbox
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with server.lock:
        for n in range(10_250):  # pairs share a timestamp: ties straddle the re-window
            at = start + timedelta(seconds=n // 2)
            emulator.state.create("contacts", {"email": f"c{n}@example.com"}, at=at)
    seen = [c.id for page in adapter.contacts_changed_since(start) for c in page.items]
    assert len(seen) == 10_250
    assert len(set(seen)) == 10_250


def test_task_and_deal_are_found_right_after_creation_despite_search_lag(
    sandbox: tuple[HubSpotAdapter, RunningServer, HubSpotEmulator],
) -> None:
    adapter, server, emulator = sandbox
    backdoor = HubSpotBackdoor(server, emulator)
    _set_limits(server, emulator, ten_secondly=100_000, search_per_second=1_000)
    with server.lock:
        emulator.state.search_lag_ms = 60_000
    adapter.ensure_schema([SCORE])
    contact_id = backdoor.add_contact("lag@example.com", {})
    spec = TaskSpec(
        "t:1", "Call", "why", datetime(2026, 11, 22, tzinfo=UTC), None, "low", contact_id
    )
    task_id = adapter.create_task(spec)
    # a crash right here, then the rerun: the task is found, not created a second time
    assert adapter.find_open_task("t:1", contact_id) == task_id
    deal = DealSpec("d:1", "Hot lead", None, None, None, None, contact_id)
    deal_id = adapter.create_deal(deal)
    assert adapter.find_deal("d:1", contact_id) == deal_id


def test_daily_quota_stops_with_quota_exhausted_and_a_reset_time(
    sandbox: tuple[HubSpotAdapter, RunningServer, HubSpotEmulator],
) -> None:
    adapter, server, emulator = sandbox
    _set_limits(server, emulator, ten_secondly=100_000, daily=2, search_per_second=1_000)
    adapter.owners()  # one request each
    adapter.owners()
    assert adapter.usage().daily_remaining == 0
    with pytest.raises(CrmError) as caught:
        adapter.owners()
    assert caught.value.kind == "quota_exhausted"
    reset_at = caught.value.reset_at  # type: ignore[attr-defined]
    assert reset_at > datetime.now(UTC)
    assert (reset_at.hour, reset_at.minute) == (0, 0)  # the account (UTC) midnight


def test_207_items_fail_individually_and_the_rest_is_written(
    sandbox: tuple[HubSpotAdapter, RunningServer, HubSpotEmulator],
) -> None:
    adapter, server, emulator = sandbox
    backdoor = HubSpotBackdoor(server, emulator)
    adapter.ensure_schema([SCORE])
    ids = [backdoor.add_contact(f"b{n}@example.com", {}) for n in range(40)]
    server.set_faults(Faults(batch_item_failure_ratio=0.3, seed=7, path_prefix="/crm/v3/objects"))
    results = adapter.update_contacts(
        [WriteItem(crm_id=i, properties={"scorebridge_score": 50}) for i in ids]
    )
    failed = [r for r in results if not r.ok]
    assert 0 < len(failed) < len(ids)
    server.set_faults(Faults())
    found = adapter.find_by_email([f"b{n}@example.com" for n in range(40)])
    written = {c.id for c in found.values() if c.properties.get("scorebridge_score") == "50"}
    assert written == {ids[r.index] for r in results if r.ok}


def test_server_errors_are_retried_until_the_write_lands(
    sandbox: tuple[HubSpotAdapter, RunningServer, HubSpotEmulator],
) -> None:
    adapter, server, emulator = sandbox
    backdoor = HubSpotBackdoor(server, emulator)
    adapter.ensure_schema([SCORE])
    contact_id = backdoor.add_contact("flaky@example.com", {})
    server.set_faults(Faults(error_ratio=0.5, error_status=502, seed=3))
    results = adapter.update_contacts(
        [WriteItem(crm_id=contact_id, properties={"scorebridge_score": 12})]
    )
    assert results[0].ok


def _searches(server: RunningServer) -> int:
    return sum(n for route, n in server.request_counts().items() if route.endswith("/search"))


def test_the_deal_key_is_unique_so_a_repeated_create_answers_the_first_deal(
    sandbox: tuple[HubSpotAdapter, RunningServer, HubSpotEmulator],
) -> None:
    adapter, server, emulator = sandbox
    backdoor = HubSpotBackdoor(server, emulator)
    adapter.ensure_schema([SCORE])
    with server.lock:
        assert emulator.state.properties["deals"]["scorebridge_key"].has_unique_value
    contact_id = backdoor.add_contact("twice@example.com", {})
    backdoor.lag_search()
    spec = DealSpec("turned-hot:1:1", "Hot lead", None, None, None, None, contact_id)
    first = adapter.create_deal(spec)
    # a lookup that missed (or a second process) sends the create again: HubSpot refuses the
    # taken key and the adapter answers the deal that holds it
    assert adapter.create_deal(spec) == first
    assert backdoor.deal_count() == 1
    before = _searches(server)
    assert adapter.find_deal("turned-hot:1:1", contact_id) == first
    assert _searches(server) == before  # read by the unique key, never searched


def test_a_portal_whose_key_property_is_not_unique_finds_deals_through_the_contact(
    sandbox: tuple[HubSpotAdapter, RunningServer, HubSpotEmulator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter, server, emulator = sandbox
    backdoor = HubSpotBackdoor(server, emulator)
    older = {  # what scorebridge created before the key had unique values
        "name": "scorebridge_key",
        "label": "scorebridge idempotency key",
        "type": "string",
        "fieldType": "text",
        "groupName": "dealinformation",
    }
    with server.lock:
        new_property(emulator.state, "deals", older)
    adapter.ensure_schema([SCORE])
    assert "no unique values" in caplog.text
    contact_id = backdoor.add_contact("older@example.com", {})
    backdoor.lag_search()
    before = _searches(server)
    deal_id = adapter.create_deal(
        DealSpec("turned-hot:2:1", "Hot lead", None, None, None, None, contact_id)
    )
    assert adapter.find_deal("turned-hot:2:1", contact_id) == deal_id
    assert adapter.find_deal("turned-hot:2:2", contact_id) is None
    assert _searches(server) == before


def test_open_deals_are_per_pipeline_and_follow_the_pipelines_closed_stages(
    sandbox: tuple[HubSpotAdapter, RunningServer, HubSpotEmulator],
) -> None:
    adapter, server, emulator = sandbox
    backdoor = HubSpotBackdoor(server, emulator)
    adapter.ensure_schema([SCORE])
    with server.lock:
        partners = copy.deepcopy(emulator.state.pipelines[0])
        partners.update(id="partners", label="Partners")
        for stage in partners["stages"]:
            stage["id"] = f"p-{stage['id']}"
        emulator.state.pipelines.append(partners)
    contact_id = backdoor.add_contact("pipes@example.com", {})
    backdoor.lag_search()
    ours = adapter.create_deal(
        DealSpec("turned-hot:5:1", "Partner deal", "partners", None, None, None, contact_id)
    )
    assert adapter.open_deals(contact_id, None) == []
    [found] = adapter.open_deals(contact_id, "partners")
    assert (found.id, found.pipeline, found.stage) == (ours, "partners", "p-appointmentscheduled")
    with server.lock:
        record = emulator.state.get("deals", ours)
        assert record is not None
        emulator.state.update(record, {"pipeline": "partners", "dealstage": "p-closedwon"})
    assert adapter.open_deals(contact_id, "partners") == []

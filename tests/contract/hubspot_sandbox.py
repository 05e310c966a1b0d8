"""The contract suite's HubSpot parametrization: :class:`HubSpotAdapter` over real sockets against
the HubSpot emulator of :mod:`scorebridge.sandbox.hubspot` on 127.0.0.1, and a backdoor that
seeds the emulated account directly (under the server's lock), as a HubSpot user would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from crm_backdoor import CrmUnderTest

from scorebridge.crm.hubspot import HubSpotAdapter
from scorebridge.http import BucketRegistry
from scorebridge.sandbox.base import RunningServer
from scorebridge.sandbox.hubspot import HubSpotEmulator, LimitSettings
from scorebridge.sandbox.hubspot.state import Owner

#: Logical standard names → HubSpot contact properties, written down here from the reference
#: (crm-apis.md §1), not taken from the adapter's own table.
CONTACT_PROPERTIES = {
    "email": "email",
    "first_name": "firstname",
    "last_name": "lastname",
    "company": "company",
    "job_title": "jobtitle",
    "phone": "phone",
    "country": "country",
    "lifecycle": "lifecyclestage",
    "lead_status": "hs_lead_status",
    "owner_id": "hubspot_owner_id",
}
#: Limits high enough that pacing never slows the suite (pacing has its own unit tests).
_FAST = LimitSettings(ten_secondly=100_000, daily=1_000_000, search_per_second=1_000)


@dataclass
class HubSpotBackdoor:
    """Seeds and inspects the emulated account."""

    server: RunningServer
    emulator: HubSpotEmulator

    def add_owner(self, email: str, first: str, last: str) -> str:
        with self.server.lock:
            owners = self.emulator.state.owners
            owner_id = str(61_500_000 + len(owners))
            owners.append(
                Owner(owner_id, 1_300_000 + len(owners), email, first, last, datetime.now(UTC))
            )
            return owner_id

    def add_contact(self, email: str, properties: dict[str, str]) -> str:
        values = {CONTACT_PROPERTIES.get(k, k): v for k, v in properties.items()}
        with self.server.lock:
            return self.emulator.state.create("contacts", {"email": email, **values}).id

    def add_closed_deal(self, *, won: bool, amount: float, contact_id: str) -> str:
        values = {
            "dealname": f"Deal for {contact_id}",
            "amount": str(amount),
            "pipeline": "default",
            "dealstage": "closedwon" if won else "closedlost",
            "closedate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        with self.server.lock:
            state = self.emulator.state
            deal = state.create("deals", values)
            state.associate("deals", deal.id, "contacts", contact_id)
            return deal.id

    def tasks_of(self, contact_id: str) -> list[str]:
        with self.server.lock:
            return list(self.emulator.state.associated("contacts", contact_id, "tasks"))

    def deal_count(self) -> int:
        with self.server.lock:
            return sum(1 for d in self.emulator.state.records["deals"].values() if not d.archived)

    def add_open_deal(self, contact_id: str, name: str) -> str:
        values = {"dealname": name, "pipeline": "default", "dealstage": "appointmentscheduled"}
        with self.server.lock:
            state = self.emulator.state
            deal = state.create("deals", values)
            state.associate("deals", deal.id, "contacts", contact_id)
            return deal.id

    def close_deal(self, deal_id: str, *, won: bool) -> None:
        with self.server.lock:
            state = self.emulator.state
            record = state.get("deals", deal_id)
            assert record is not None
            state.update(record, {"dealstage": "closedwon" if won else "closedlost"})

    def standard_values(self, contact_id: str) -> dict[str, str]:
        with self.server.lock:
            record = self.emulator.state.get("contacts", contact_id)
            assert record is not None
            props = record.properties
        return {
            logical: str(props[name])
            for logical, name in CONTACT_PROPERTIES.items()
            if props.get(name)
        }

    def deals_of_task(self, task_id: str) -> list[str]:
        with self.server.lock:
            return list(self.emulator.state.associated("tasks", task_id, "deals"))

    def lag_search(self) -> None:
        with self.server.lock:
            self.emulator.state.search_lag_ms = 60_000


def start_emulator() -> tuple[RunningServer, HubSpotEmulator]:
    """An emulator on an ephemeral loopback port (stop the server when done)."""
    emulator = HubSpotEmulator(limits=_FAST)
    return RunningServer(emulator), emulator


def hubspot_sandbox(server: RunningServer, emulator: HubSpotEmulator) -> CrmUnderTest:
    """An emptied emulated account and a fresh adapter pointed at it over real sockets."""
    with server.lock:
        emulator.reset()
    adapter = HubSpotAdapter(
        token=emulator.token,
        base_url=server.url,
        burst_per_10s=100_000,
        search_per_second=1_000,
        buckets=BucketRegistry(),
    )
    return CrmUnderTest(adapter, HubSpotBackdoor(server, emulator))

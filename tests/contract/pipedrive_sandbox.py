"""The contract suite's Pipedrive parametrization: :class:`PipedriveAdapter` over real sockets
against the Pipedrive emulator of :mod:`scorebridge.sandbox.pipedrive` on 127.0.0.1, and a
backdoor that acts as a Pipedrive user would: through the company's own API with the API token
(persons, deals, activities), or on the emulated company directly where the API offers no write
(users are read-only in the API).

How Pipedrive stores the standard names is written down here from the reference (crm-apis.md
§2.3, §2.4), not taken from the adapter: e-mail and phone are the primary entries, first and last
name come from ``name``, and company, job title, country are the custom person fields of those
names that scorebridge keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from crm_backdoor import CrmUnderTest

from scorebridge.crm.pipedrive import PipedriveAdapter
from scorebridge.http import BucketRegistry
from scorebridge.sandbox.base import RunningServer
from scorebridge.sandbox.pipedrive import LimitSettings, PipedriveEmulator
from scorebridge.sandbox.pipedrive.loader import user_record

#: Limits high enough that pacing never slows the suite (pacing has its own tests).
FAST = LimitSettings(
    burst_api_token=100_000,
    burst_oauth=100_000,
    search_burst=100_000,
    daily_token_budget=100_000_000,
    daily_post_put=1_000_000,
)
#: Standard logical names kept in custom person fields, by the field's name.
CUSTOM_NAMES = {"company": "company", "job_title": "job title", "country": "country"}


@dataclass
class PipedriveBackdoor:
    """Seeds and inspects the emulated company."""

    server: RunningServer
    emulator: PipedriveEmulator

    def _api(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"x-api-token": self.emulator.credentials()["token"]}
        answer = requests.request(method, self.server.url + path, headers=headers, timeout=10, **kw)
        assert answer.ok, answer.text
        return answer.json()["data"]

    def add_owner(self, email: str, first: str, last: str) -> str:
        with self.server.lock:
            users = self.emulator.company.users
            user_id = max(users) + 1
            users[user_id] = user_record(
                user_id, f"{first} {last}", email, False, self.emulator.company.now()
            )
            return str(user_id)

    def add_contact(self, email: str, properties: dict[str, str]) -> str:
        name = " ".join(p for p in (properties.get("first_name"), properties.get("last_name")) if p)
        body = {"name": name or email, "emails": [{"value": email, "primary": True}]}
        return str(self._api("POST", "/api/v2/persons", json=body)["id"])

    def add_closed_deal(self, *, won: bool, amount: float, contact_id: str) -> str:
        body = {
            "title": f"Deal for {contact_id}",
            "person_id": int(contact_id),
            "value": amount,
            "status": "won" if won else "lost",
        }
        return str(self._api("POST", "/api/v2/deals", json=body)["id"])

    def tasks_of(self, contact_id: str) -> list[str]:
        found = self._api("GET", "/api/v2/activities", params={"person_id": contact_id})
        return [str(a["id"]) for a in found]

    def deal_count(self) -> int:
        return len(self._api("GET", "/api/v2/deals", params={"limit": 500}))

    def add_open_deal(self, contact_id: str, name: str) -> str:
        body = {"title": name, "person_id": int(contact_id)}
        return str(self._api("POST", "/api/v2/deals", json=body)["id"])

    def close_deal(self, deal_id: str, *, won: bool) -> None:
        self._api("PATCH", f"/api/v2/deals/{deal_id}", json={"status": "won" if won else "lost"})

    def standard_values(self, contact_id: str) -> dict[str, str]:
        person = self._api("GET", f"/api/v2/persons/{contact_id}")
        codes = {
            f["field_name"].lower(): f["field_code"]
            for f in self._api("GET", "/api/v2/personFields", params={"limit": 500})
        }
        found = {
            "email": next((e["value"] for e in person["emails"] if e["primary"]), None),
            "phone": next((p["value"] for p in person["phones"] if p["primary"]), None),
            "first_name": person.get("first_name"),
            "last_name": person.get("last_name"),
            "owner_id": str(person["owner_id"]) if person.get("owner_id") else None,
        }
        for logical, field_name in CUSTOM_NAMES.items():
            code = codes.get(field_name)
            found[logical] = (person.get("custom_fields") or {}).get(code) if code else None
        return {k: str(v) for k, v in found.items() if v and k != "owner_id"}

    def deals_of_task(self, task_id: str) -> list[str]:
        deal = self._api("GET", f"/api/v2/activities/{task_id}").get("deal_id")
        return [str(deal)] if deal else []

    def lag_search(self) -> None:
        with self.server.lock:
            self.emulator.company.search_lag_ms = 60_000


def start_emulator() -> tuple[RunningServer, PipedriveEmulator]:
    """An emulator on an ephemeral loopback port (stop the server when done)."""
    emulator = PipedriveEmulator(limits=FAST)
    return RunningServer(emulator), emulator


def pipedrive_sandbox(server: RunningServer, emulator: PipedriveEmulator) -> CrmUnderTest:
    """An emptied emulated company and a fresh adapter pointed at it over real sockets."""
    with server.lock:
        emulator.reset()
    adapter = PipedriveAdapter(
        base_url=server.url,
        token=emulator.credentials()["token"],
        burst_per_2s=100_000,
        buckets=BucketRegistry(),
    )
    return CrmUnderTest(adapter, PipedriveBackdoor(server, emulator))

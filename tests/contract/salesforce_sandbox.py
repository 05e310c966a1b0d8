"""The contract suite's Salesforce parametrization: :class:`SalesforceAdapter` over real sockets
against the Salesforce emulator of :mod:`scorebridge.sandbox.salesforce` on 127.0.0.1, and a
backdoor that acts as a Salesforce admin would: through the org's REST API with a session of its
own (records), or on the emulated org directly where the API offers no write (users).

Contacts the backdoor adds are Contacts (an opportunity needs one); contacts the adapter creates
are Leads. Where Salesforce keeps the standard names is written down here from the reference
(crm-apis.md §3.3, §3.4), not taken from the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from crm_backdoor import CrmUnderTest

from scorebridge.crm.salesforce import SalesforceAdapter
from scorebridge.http import BucketRegistry
from scorebridge.sandbox.base import RunningServer
from scorebridge.sandbox.salesforce import SalesforceEmulator
from scorebridge.sandbox.salesforce.loader import add_user

API = "/services/data/v62.0"
#: Logical standard names → fields, per object (crm-apis.md §3.4).
FIELDS = {
    "Lead": {
        "email": "Email",
        "first_name": "FirstName",
        "last_name": "LastName",
        "company": "Company",
        "job_title": "Title",
        "phone": "Phone",
        "country": "Country",
    },
    "Contact": {
        "email": "Email",
        "first_name": "FirstName",
        "last_name": "LastName",
        "job_title": "Title",
        "phone": "Phone",
        "country": "MailingCountry",
    },
}


@dataclass
class SalesforceBackdoor:
    """Seeds and inspects the emulated org."""

    server: RunningServer
    emulator: SalesforceEmulator
    _token: str | None = None

    def _api(self, method: str, path: str, **kw: Any) -> Any:
        if self._token is None:
            creds = self.emulator.credentials()
            answer = requests.post(
                self.server.url + "/services/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                },
                timeout=10,
            )
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        headers = {"Authorization": f"Bearer {self._token}"}
        answer = requests.request(
            method, self.server.url + API + path, headers=headers, timeout=10, **kw
        )
        assert answer.ok, answer.text
        return answer.json() if answer.content else None

    def _query(self, soql: str) -> list[dict[str, Any]]:
        return list(self._api("GET", "/query", params={"q": soql})["records"])

    def add_owner(self, email: str, first: str, last: str) -> str:
        with self.server.lock:
            org = self.emulator.org
            return str(add_user(org, first, last, email, org.now())["Id"])

    def add_contact(self, email: str, properties: dict[str, str]) -> str:
        body = {FIELDS["Contact"][k]: v for k, v in properties.items()}
        body.setdefault("LastName", email.split("@")[0])
        return str(self._api("POST", "/sobjects/Contact", json={"Email": email, **body})["id"])

    def _opportunity(self, contact_id: str, name: str, stage: str, amount: float | None) -> str:
        close = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        body = {"Name": name, "StageName": stage, "CloseDate": close, "Amount": amount}
        deal_id = str(self._api("POST", "/sobjects/Opportunity", json=body)["id"])
        role = {"OpportunityId": deal_id, "ContactId": contact_id, "IsPrimary": True}
        self._api("POST", "/sobjects/OpportunityContactRole", json=role)
        return deal_id

    def add_closed_deal(self, *, won: bool, amount: float, contact_id: str) -> str:
        stage = "Closed Won" if won else "Closed Lost"
        return self._opportunity(contact_id, f"Deal for {contact_id}", stage, amount)

    def tasks_of(self, contact_id: str) -> list[str]:
        return [r["Id"] for r in self._query(f"SELECT Id FROM Task WHERE WhoId = '{contact_id}'")]

    def deal_count(self) -> int:
        return len(self._query("SELECT Id FROM Opportunity"))

    def add_open_deal(self, contact_id: str, name: str) -> str:
        return self._opportunity(contact_id, name, "Prospecting", None)

    def close_deal(self, deal_id: str, *, won: bool) -> None:
        stage = "Closed Won" if won else "Closed Lost"
        self._api("PATCH", f"/sobjects/Opportunity/{deal_id}", json={"StageName": stage})

    def standard_values(self, contact_id: str) -> dict[str, str]:
        object_name = "Lead" if contact_id.startswith("00Q") else "Contact"
        fields = FIELDS[object_name]
        record = self._api("GET", f"/sobjects/{object_name}/{contact_id}")
        return {k: str(record[f]) for k, f in fields.items() if record.get(f)}

    def deals_of_task(self, task_id: str) -> list[str]:
        what = self._api("GET", f"/sobjects/Task/{task_id}").get("WhatId")
        return [what] if what else []

    def lag_search(self) -> None:
        """Salesforce's search (SOSL) is not used: SOQL reads the records themselves."""


def start_emulator() -> tuple[RunningServer, SalesforceEmulator]:
    """An emulator on an ephemeral loopback port (stop the server when done)."""
    emulator = SalesforceEmulator()
    server = RunningServer(emulator)
    emulator.base_url = server.url
    return server, emulator


def salesforce_sandbox(server: RunningServer, emulator: SalesforceEmulator) -> CrmUnderTest:
    """An emptied emulated org and a fresh adapter pointed at it over real sockets."""
    with server.lock:
        emulator.reset()
    creds = emulator.credentials()
    adapter = SalesforceAdapter(
        base_url=server.url,
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        buckets=BucketRegistry(),
    )
    return CrmUnderTest(adapter, SalesforceBackdoor(server, emulator))

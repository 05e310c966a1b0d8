"""The baseline of the sync benchmark: a naive per-contact bridge, the way Mautic's legacy CRM
plugins work. For every contact, one after the other: ``GET`` the Mautic contact, ``PATCH`` its
score fields; ``GET`` the CRM contact, ``PATCH`` its score properties. No batching, no
concurrency, one keep-alive ``requests.Session`` per system (which is kind to the baseline).

It writes values it is given (the benchmark hands it exactly the values scorebridge wrote), so
both bridges write the same scores. Owns nothing else: no store, no diffing, no retries (a
failed call is counted and the contact moves on). Only talks to the loopback sandbox.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass(frozen=True)
class NaiveContact:
    """One contact to write: its ids in each system and the values for each."""

    mautic_id: int | None
    mautic_fields: Mapping[str, Any]
    crm_id: str | None
    crm_properties: Mapping[str, Any]


@dataclass
class NaiveReport:
    """What a naive run did."""

    contacts: int = 0
    requests: int = 0
    failures: int = 0
    seconds: float = 0.0
    by_call: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        rate = self.contacts / self.seconds if self.seconds else 0.0
        return {
            "contacts": self.contacts,
            "requests": self.requests,
            "failures": self.failures,
            "seconds": round(self.seconds, 3),
            "contacts_per_second": round(rate, 2),
            "requests_per_contact": round(self.requests / max(1, self.contacts), 3),
            "by_call": self.by_call,
        }


class NaiveBridge:
    """A per-contact read-then-write bridge over plain ``requests``."""

    def __init__(
        self, mautic_url: str, mautic_auth: tuple[str, str], crm_url: str, crm_token: str
    ) -> None:
        self.mautic_url = mautic_url.rstrip("/")
        self.crm_url = crm_url.rstrip("/")
        self.mautic = requests.Session()
        self.mautic.auth = mautic_auth
        self.crm = requests.Session()
        self.crm.headers["Authorization"] = f"Bearer {crm_token}"
        self.report = NaiveReport()

    def _call(self, name: str, session: requests.Session, method: str, url: str, **kw: Any) -> None:
        self.report.requests += 1
        self.report.by_call[name] = self.report.by_call.get(name, 0) + 1
        response = session.request(method, url, timeout=30, **kw)
        if response.status_code >= 400:
            self.report.failures += 1

    def sync(self, contacts: Sequence[NaiveContact]) -> NaiveReport:
        """Write every contact's values, one contact and one call at a time; timed."""
        started = time.perf_counter()
        for contact in contacts:
            if contact.mautic_id is not None and contact.mautic_fields:
                url = f"{self.mautic_url}/api/contacts/{contact.mautic_id}"
                self._call("mautic GET contact", self.mautic, "GET", url)
                self._call(
                    "mautic PATCH contact",
                    self.mautic,
                    "PATCH",
                    f"{url}/edit",
                    json=dict(contact.mautic_fields),
                )
            if contact.crm_id is not None and contact.crm_properties:
                url = f"{self.crm_url}/crm/v3/objects/contacts/{contact.crm_id}"
                self._call("crm GET contact", self.crm, "GET", url)
                body = {"properties": dict(contact.crm_properties)}
                self._call("crm PATCH contact", self.crm, "PATCH", url, json=body)
            self.report.contacts += 1
        self.report.seconds += time.perf_counter() - started
        return self.report

    def close(self) -> None:
        """Close both sessions."""
        self.mautic.close()
        self.crm.close()

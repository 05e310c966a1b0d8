"""Shared helpers for the Mautic emulator tests: a tiny hand-built world, the emulator served on
a clock that stands still, and a requests session with Basic auth.

The exact bodies below are the reference's samples (shared/reference/samples/mautic), copied
here so the tests run on a fresh clone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from scorebridge.sandbox.base import RunningServer, SandboxClock
from scorebridge.sandbox.mautic import MauticEmulator, MauticSettings
from scorebridge.sandbox.world import PAGES, Activity, Company, Person, User, World

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)

# Exact bodies from the reference (samples/mautic/*.json).
EMPTY_LIST = {"total": "0", "contacts": {}}
API_DISABLED = {
    "errors": [
        {
            "message": "API disabled. You need to enable the API in the API settings of "
            "Mautic's Configuration.",
            "code": 403,
            "type": "api_disabled",
        }
    ]
}
INVALID_CLIENT = {
    "errors": [
        {"message": "The client credentials are invalid", "code": 400, "type": "invalid_client"}
    ]
}
INVALID_TOKEN = {
    "errors": [
        {"message": "The access token provided is invalid.", "code": 401, "type": "invalid_grant"}
    ]
}
NOT_FOUND = {
    "errors": [{"code": 404, "message": "Item was not found.", "details": [], "type": None}]
}


class StillClock(SandboxClock):
    """Stands at ``NOW`` until a test moves it (``offset`` or the clock_offset fault)."""

    def now(self) -> datetime:
        """``NOW`` plus the offset."""
        return NOW + self.offset


def small_world() -> World:
    """Two reps, two companies, five persons in Mautic (one more only in the CRM), activity."""
    users = [
        User(1, "Anna", "Berg", "anna.berg@nordlicht-analytics.example"),
        User(2, "Bela", "Kovacs", "bela.kovacs@nordlicht-analytics.example"),
    ]
    companies = [
        Company(1, "Fjordvik Logistics AS", "fjordvik.no", 250, "Logistics", "Norway", "Oslo"),
        Company(2, "Duna Energia Kft", "dunaenergia.hu", 40, "Energy", "Hungary", "Budapest"),
    ]
    day = timedelta(days=1)
    start = NOW - 10 * day

    def person(pid: int, first: str, last: str, position: str, company: int, owner: int) -> Person:
        return Person(
            id=pid,
            first_name=first,
            last_name=last,
            email=f"{first.lower()}.{last.lower()}@example.com",
            position=position,
            company_id=company,
            country="Norway" if company == 1 else "Hungary",
            city="Oslo" if company == 1 else "Budapest",
            phone="+47 555 0100",
            intent=0.5,
            created_at=start + pid * timedelta(hours=1),
            owner_id=owner,
        )

    persons = [
        person(1, "Kari", "Nordmann", "CEO", 1, 1),
        person(2, "Ola", "Hansen", "Engineer", 1, 1),
        person(3, "Eva", "Szabo", "Director of Operations", 2, 2),
        person(4, "Peter", "Nagy", "Student", 2, 2),
        person(5, "Liv", "Dahl", "Buyer", 1, 2),
        person(6, "Crm", "Only", "CFO", 1, 1),
    ]
    persons[5].in_mautic = False
    persons[5].in_crm = True
    at = start + 2 * day

    def act(pid: int, kind: str, hours: int, **attrs: Any) -> Activity:
        return Activity(pid, kind, at + timedelta(hours=hours), attrs)

    activities = [
        act(1, "page.hit", 1, url=PAGES["pricing"]),
        act(1, "page.hit", 2, url=PAGES["product_a"]),
        act(1, "form.submit", 3, form_id=3),
        act(2, "asset.download", 4, asset_id=2),
        act(3, "email.send", 5, email_id=2),
        act(3, "email.open", 6, email_id=2, user_agent="Mozilla/5.0"),
        act(3, "email.click", 7, email_id=2, url=PAGES["pricing"]),
        act(4, "email.send", 8, email_id=2),
        act(4, "unsubscribe", 9, channel="email"),
        act(5, "email.send", 10, email_id=3),
        act(5, "bounce", 11, channel="email"),
        act(2, "form.submit", 12, form_id=1),
    ]
    return World(
        seed=0,
        now=NOW,
        days=10,
        users=users,
        companies=companies,
        persons=persons,
        activities=activities,
        deals=[],
    )


@dataclass
class Box:
    """A served emulator and a Basic-auth session against it."""

    emulator: MauticEmulator
    server: RunningServer
    session: requests.Session

    @property
    def url(self) -> str:
        """The base URL."""
        return self.server.url

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET with Basic auth."""
        return self.session.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """POST with Basic auth."""
        return self.session.post(self.url + path, timeout=10, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        """PATCH with Basic auth."""
        return self.session.patch(self.url + path, timeout=10, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        """PUT with Basic auth."""
        return self.session.put(self.url + path, timeout=10, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        """DELETE with Basic auth."""
        return self.session.delete(self.url + path, timeout=10, **kwargs)

    def control(self, method: str, route: str, **kwargs: Any) -> Any:
        """Call ``/_sandbox/<route>`` (no auth) and return the JSON answer."""
        answer = requests.request(method, f"{self.url}/_sandbox/{route}", timeout=30, **kwargs)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def truth(self, contact_id: int | None = None) -> Any:
        """``GET /_sandbox/truth``."""
        params = {} if contact_id is None else {"contact_id": contact_id}
        return self.control("GET", "truth", params=params)

    def event(self, contact_id: int, kind: str, **attrs: Any) -> Any:
        """Record one event through the control path."""
        return self.control(
            "POST", "events", json={"contact_id": contact_id, "kind": kind, **attrs}
        )

    def stats(self, table: str, **params: Any) -> Any:
        """``GET /api/stats/{table}`` as JSON."""
        answer = self.get(f"/api/stats/{table}", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()


@contextmanager
def running(world: World | None = None, **settings: Any) -> Iterator[Box]:
    """The emulator (loaded with ``world``, default the small one) on a still clock."""
    emulator = MauticEmulator(MauticSettings(**settings), StillClock())
    emulator.load(world or small_world())
    server = RunningServer(emulator)
    session = requests.Session()
    session.auth = (emulator.settings.username, emulator.settings.password)
    try:
        yield Box(emulator, server, session)
    finally:
        session.close()
        server.stop()


def php_params(spec: dict[str, Any]) -> dict[str, str]:
    """Flatten nested params (``{"where": [{"col": ..}]}``) into PHP bracket keys."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}[{key}]", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        else:
            out[prefix] = str(value)

    for key, value in spec.items():
        walk(key, value)
    return out

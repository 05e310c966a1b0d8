"""Shared helpers for the HubSpot emulator tests: a served emulator on a manual clock, a tiny
hand-built world, and a requests session that carries the private-app token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from scorebridge.sandbox.base import RunningServer, SandboxClock
from scorebridge.sandbox.hubspot import HubSpotEmulator, LimitSettings
from scorebridge.sandbox.world import Company, Deal, Person, User, World

SAMPLES = Path("/work/shared/reference/samples/hubspot")
START = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)


def sample(name: str) -> Any:
    """A reference sample as parsed JSON."""
    return json.loads((SAMPLES / name).read_text())


class ManualClock(SandboxClock):
    """The emulator's clock, standing still until a test moves it."""

    def __init__(self, start: datetime = START) -> None:
        super().__init__()
        self.start = start

    def now(self) -> datetime:
        """The start plus the offset."""
        return self.start + self.offset


class Hub:
    """A running HubSpot emulator and an authenticated session against it."""

    def __init__(self, limits: LimitSettings | None = None) -> None:
        self.clock = ManualClock()
        self.emulator = HubSpotEmulator(clock=self.clock, limits=limits)
        self.server = RunningServer(self.emulator)
        self.url = self.server.url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.emulator.token}"

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        """One API request; ``params`` become the query string."""
        return self.http.request(
            method, self.url + path, json=body, params=params or None, timeout=10
        )

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward."""
        with self.server.lock:
            self.clock.offset += timedelta(seconds=seconds)

    def fresh(self, world: World | None = None) -> Hub:
        """Back to an empty account (counters, faults, limits, clock too), loaded with ``world``."""
        self.http.post(self.url + "/_sandbox/reset", timeout=10).raise_for_status()
        if world is not None:
            with self.server.lock:
                self.emulator.load(world)
        return self

    def truth(self) -> dict[str, Any]:
        """``GET /_sandbox/truth``."""
        response = self.http.get(self.url + "/_sandbox/truth", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def create_contact(self, **properties: str) -> dict[str, Any]:
        """Create a contact through the API; its JSON."""
        response = self.call("POST", "/crm/v3/objects/contacts", {"properties": properties})
        assert response.status_code == 201, response.text
        return dict(response.json())


@contextmanager
def running(limits: LimitSettings | None = None, world: World | None = None) -> Iterator[Hub]:
    """A served emulator, stopped afterwards; loaded with ``world`` if given."""
    hub = Hub(limits)
    if world is not None:
        with hub.server.lock:
            hub.emulator.load(world)
    try:
        yield hub
    finally:
        hub.http.close()
        hub.server.stop()


def small_world() -> World:
    """Two reps, one company, five persons: in both systems, CRM e-mail differs, Mautic-only,
    CRM-only, and one without an owner; a won and a lost deal."""
    now = START
    users = [
        User(1, "Jane", "Smith", "jane.smith@nordlicht-analytics.example"),
        User(2, "Omar", "Haddad", "omar.haddad@nordlicht-analytics.example"),
    ]
    company = Company(1, "Nordic Freight", "nordicfreight.example", 250, "Logistics", "SE", "Malmö")

    def person(pid: int, first: str, last: str, **kw: Any) -> Person:
        base: dict[str, Any] = {
            "id": pid,
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}@nordicfreight.example",
            "position": "Head of Operations",
            "company_id": 1,
            "country": "SE",
            "city": "Malmö",
            "phone": "+46 40 123 45",
            "intent": 0.5,
            "created_at": now - timedelta(days=30 - pid),
            "owner_id": 1,
        }
        base.update(kw)
        return Person(**base)

    persons = [
        person(1, "Ana", "Ruiz", in_crm=True),
        person(2, "Bo", "Chen", in_crm=True, crm_email="b.chen@nordicfreight.example", owner_id=2),
        person(3, "Cleo", "Park", in_crm=False),
        person(4, "Dan", "Vogel", in_crm=True, in_mautic=False),
        person(5, "Eva", "Lind", in_crm=True, owner_id=None, company_id=None),
    ]
    deals = [
        Deal(
            1,
            1,
            "Nordic Freight - Product A",
            12500.0,
            True,
            now - timedelta(days=20),
            now - timedelta(days=5),
            1,
        ),
        Deal(
            2,
            2,
            "Nordic Freight - Product B",
            4200.5,
            False,
            now - timedelta(days=18),
            now - timedelta(days=3),
            2,
        ),
    ]
    return World(
        seed=1,
        now=now,
        days=30,
        users=users,
        companies=[company],
        persons=persons,
        activities=[],
        deals=deals,
    )

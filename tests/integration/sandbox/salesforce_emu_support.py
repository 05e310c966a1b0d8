"""Shared helpers for the Salesforce emulator tests: a served emulator on a manual clock, loaded
with the small hand-built world, and a session from the client-credentials flow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from hubspot_emu_support import START, ManualClock, small_world

from scorebridge.sandbox.base import RunningServer
from scorebridge.sandbox.salesforce import SalesforceEmulator

SAMPLES = Path("/work/shared/reference/samples/salesforce")
__all__ = ["START", "Force", "running", "sample"]
API = "/services/data/v62.0"


def sample(name: str) -> Any:
    """A reference sample as parsed JSON."""
    return json.loads((SAMPLES / name).read_text())


class Force:
    """A running Salesforce emulator and a session authenticated by client credentials."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.emulator = SalesforceEmulator(clock=self.clock)
        self.server = RunningServer(self.emulator)
        self.url = self.server.url
        self.creds = self.emulator.credentials()
        self.http = requests.Session()

    def token(self, **form: str) -> requests.Response:
        """``POST /services/oauth2/token`` (client credentials unless ``form`` says otherwise)."""
        data = form or {
            "grant_type": "client_credentials",
            "client_id": self.creds["client_id"],
            "client_secret": self.creds["client_secret"],
        }
        return requests.post(self.url + "/services/oauth2/token", data=data, timeout=10)

    def login(self) -> Force:
        """Open a session and use it for :meth:`call`."""
        answer = self.token()
        assert answer.status_code == 200, answer.text
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return self

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> requests.Response:
        """One REST request under ``/services/data/v62.0`` (absolute paths pass as they are)."""
        url = self.url + (path if path.startswith("/services/") else API + path)
        return self.http.request(
            method, url, json=body, params=params or None, headers=headers, timeout=10
        )

    def query(self, soql: str, **headers: str) -> Any:
        """The body of a successful ``/query``."""
        answer = self.call("GET", "/query", headers=headers or None, q=soql)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def control(self, path: str, body: Any = None) -> Any:
        """A ``/_sandbox/`` POST (or GET without a body)."""
        method = "GET" if body is None else "POST"
        response = requests.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward."""
        with self.server.lock:
            self.clock.offset += timedelta(seconds=seconds)

    def fresh(self) -> Force:
        """Back to the small world (counters, faults, settings, clock too), logged in again."""
        self.control("reset", {})
        with self.server.lock:
            self.emulator.load(small_world())
        return self.login()


@contextmanager
def running() -> Iterator[Force]:
    """A served emulator loaded with the small world, stopped afterwards."""
    force = Force()
    with force.server.lock:
        force.emulator.load(small_world())
    try:
        yield force.login()
    finally:
        force.http.close()
        force.server.stop()

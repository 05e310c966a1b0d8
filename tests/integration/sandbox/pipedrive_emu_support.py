"""Shared helpers for the Pipedrive emulator tests: a served emulator on a manual clock, loaded
with the small hand-built world, and a requests session carrying the company's API token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from hubspot_emu_support import ManualClock, small_world

from scorebridge.sandbox.base import RunningServer
from scorebridge.sandbox.pipedrive import LimitSettings, PipedriveEmulator
from scorebridge.sandbox.pipedrive.loader import USER_ID_BASE

SAMPLES = Path("/work/shared/reference/samples/pipedrive")
REP_1, REP_2 = USER_ID_BASE + 1, USER_ID_BASE + 2


def sample(name: str) -> Any:
    """A reference sample as parsed JSON."""
    return json.loads((SAMPLES / name).read_text())


def shape(value: Any, depth: int = 2) -> Any:
    """The keys of a JSON value down to ``depth`` dict levels (lists by their first item)."""
    if isinstance(value, dict) and depth > 0:
        return {k: shape(v, depth - 1) for k, v in value.items()}
    if isinstance(value, list) and depth > 0:
        return [shape(value[0], depth)] if value else []
    return None


class Pipe:
    """A running Pipedrive emulator and a session authenticated with its API token."""

    def __init__(self, limits: LimitSettings | None = None) -> None:
        self.clock = ManualClock()
        self.emulator = PipedriveEmulator(clock=self.clock, limits=limits)
        self.server = RunningServer(self.emulator)
        self.url = self.server.url
        self.creds = self.emulator.credentials()
        self.http = requests.Session()
        self.http.headers["x-api-token"] = self.creds["token"]

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        """One API request; ``params`` become the query string."""
        return self.http.request(
            method, self.url + path, json=body, params=params or None, timeout=10
        )

    def data(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """The ``data`` of a successful request."""
        response = self.call(method, path, body, **params)
        assert response.status_code == 200, response.text
        assert response.json()["success"] is True
        return response.json()["data"]

    def control(self, path: str, body: Any = None) -> Any:
        """A ``/_sandbox/`` POST (or GET without a body)."""
        method = "GET" if body is None else "POST"
        response = self.http.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward."""
        with self.server.lock:
            self.clock.offset += timedelta(seconds=seconds)

    def fresh(self, world: bool = True) -> Pipe:
        """Back to an empty company (counters, faults, limits, clock too), then the small world."""
        self.control("reset", {})
        if world:
            with self.server.lock:
                self.emulator.load(small_world())
        return self


@contextmanager
def running(limits: LimitSettings | None = None) -> Iterator[Pipe]:
    """A served emulator loaded with the small world, stopped afterwards."""
    pipe = Pipe(limits)
    with pipe.server.lock:
        pipe.emulator.load(small_world())
    try:
        yield pipe
    finally:
        pipe.http.close()
        pipe.server.stop()

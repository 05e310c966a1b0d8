"""Helpers for the HubSpot adapter unit tests: documented samples and a test-sized adapter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scorebridge.clock import FrozenClock
from scorebridge.crm.hubspot import HubSpotAdapter
from scorebridge.http import BucketRegistry, RetryPolicy

SAMPLES = Path("/work/shared/reference/samples/hubspot")
BASE = "https://api.hubapi.com"
TOKEN = "pat-na1-secret-token-0000"


def sample(name: str) -> Any:
    """A documented HubSpot sample (reference/samples/hubspot/<name>.json)."""
    return json.loads((SAMPLES / f"{name}.json").read_text())


def sent_json(call: Any) -> Any:
    """The JSON body of a recorded ``responses`` call."""
    return json.loads(call.request.body)


def make_adapter(clock: FrozenClock, **kw: Any) -> HubSpotAdapter:
    """An adapter on a frozen clock with its own rate-limit buckets."""
    kw.setdefault("retry", RetryPolicy(max_attempts=3, deadline=60.0))
    return HubSpotAdapter(token=TOKEN, base_url=BASE, clock=clock, buckets=BucketRegistry(), **kw)

"""Fixtures for the HubSpot adapter unit tests: a frozen clock and mocked HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import responses
from hubspot_support import make_adapter

from scorebridge.clock import FrozenClock
from scorebridge.crm.hubspot import HubSpotAdapter


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def adapter(clock: FrozenClock) -> HubSpotAdapter:
    return make_adapter(clock)

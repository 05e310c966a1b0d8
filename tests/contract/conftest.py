"""The contract suite's fixtures: ``adapter`` and its ``backdoor``, parametrized over every CRM
implementation: the in-memory fake, and each adapter against its emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from crm_backdoor import Backdoor, CrmUnderTest
from fake_crm import FakeBackdoor, FakeCrm
from hubspot_sandbox import hubspot_sandbox, start_emulator
from pipedrive_sandbox import pipedrive_sandbox
from pipedrive_sandbox import start_emulator as start_pipedrive
from salesforce_sandbox import salesforce_sandbox
from salesforce_sandbox import start_emulator as start_salesforce

from scorebridge.clock import FrozenClock
from scorebridge.crm import CrmAdapter
from scorebridge.sandbox.base import RunningServer
from scorebridge.sandbox.hubspot import HubSpotEmulator
from scorebridge.sandbox.pipedrive import PipedriveEmulator
from scorebridge.sandbox.salesforce import SalesforceEmulator


@pytest.fixture(scope="session")
def hubspot_emulator() -> Iterator[tuple[RunningServer, HubSpotEmulator]]:
    server, emulator = start_emulator()
    yield server, emulator
    server.stop()


@pytest.fixture(scope="session")
def pipedrive_emulator() -> Iterator[tuple[RunningServer, PipedriveEmulator]]:
    server, emulator = start_pipedrive()
    yield server, emulator
    server.stop()


@pytest.fixture(scope="session")
def salesforce_emulator() -> Iterator[tuple[RunningServer, SalesforceEmulator]]:
    server, emulator = start_salesforce()
    yield server, emulator
    server.stop()


@pytest.fixture(params=["fake", "hubspot-sandbox", "pipedrive-sandbox", "salesforce-sandbox"])
def crm(request: pytest.FixtureRequest) -> CrmUnderTest:
    if request.param == "hubspot-sandbox":
        return hubspot_sandbox(*request.getfixturevalue("hubspot_emulator"))
    if request.param == "pipedrive-sandbox":
        return pipedrive_sandbox(*request.getfixturevalue("pipedrive_emulator"))
    if request.param == "salesforce-sandbox":
        return salesforce_sandbox(*request.getfixturevalue("salesforce_emulator"))
    fake = FakeCrm(FrozenClock(datetime(2026, 11, 20, 10, 0, tzinfo=UTC)))
    return CrmUnderTest(fake, FakeBackdoor(fake))


@pytest.fixture
def adapter(crm: CrmUnderTest) -> CrmAdapter:
    return crm.adapter


@pytest.fixture
def backdoor(crm: CrmUnderTest) -> Backdoor:
    return crm.backdoor

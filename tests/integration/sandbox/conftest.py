"""Fixtures of the emulator tests of this folder: one served emulator per test module (HubSpot,
Pipedrive, Salesforce), handed to each test reset to the small world (and, for Salesforce, with
a fresh session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot_emu_support import Hub, running
from pipedrive_emu_support import Pipe
from pipedrive_emu_support import running as running_pipedrive
from salesforce_emu_support import Force
from salesforce_emu_support import running as running_salesforce


@pytest.fixture(scope="module")
def served() -> Iterator[Hub]:
    """A HubSpot emulator served on 127.0.0.1 for one test module (tests reset it)."""
    with running() as started:
        yield started


@pytest.fixture(scope="module")
def served_pipe() -> Iterator[Pipe]:
    with running_pipedrive() as started:
        yield started


@pytest.fixture
def pipe(served_pipe: Pipe) -> Pipe:
    return served_pipe.fresh()


@pytest.fixture(scope="module")
def served_force() -> Iterator[Force]:
    with running_salesforce() as started:
        yield started


@pytest.fixture
def force(served_force: Force) -> Force:
    return served_force.fresh()

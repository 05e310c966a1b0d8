"""Fixtures shared by the emulator tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot_emu_support import Hub, running


@pytest.fixture(scope="module")
def served() -> Iterator[Hub]:
    """A HubSpot emulator served on 127.0.0.1 for one test module (tests reset it)."""
    with running() as started:
        yield started

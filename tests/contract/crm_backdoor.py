"""What the contract suite needs besides the adapter: a backdoor into the CRM under test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from scorebridge.crm import CrmAdapter


class Backdoor(Protocol):
    """Seeds a CRM and inspects it behind the adapter's back (as a CRM user or admin would)."""

    def add_owner(self, email: str, first: str, last: str) -> str: ...

    def add_contact(self, email: str, properties: dict[str, str]) -> str: ...

    def add_closed_deal(self, *, won: bool, amount: float, contact_id: str) -> str: ...

    def tasks_of(self, contact_id: str) -> list[str]: ...

    def deal_count(self) -> int: ...

    def lag_search(self) -> None:
        """From now on the CRM's search index shows writes only a minute later (as HubSpot's
        does by seconds): existence checks that go through search stop seeing new records."""
        ...


@dataclass
class CrmUnderTest:
    """One parametrization of the suite: the adapter and the backdoor into the same CRM."""

    adapter: CrmAdapter
    backdoor: Backdoor

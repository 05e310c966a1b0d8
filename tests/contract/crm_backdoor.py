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

    def add_open_deal(self, contact_id: str, name: str) -> str:
        """A deal a rep opened for the contact in the default pipeline's first stage."""
        ...

    def close_deal(self, deal_id: str, *, won: bool) -> None:
        """A rep moves the deal to a won (or lost) stage."""
        ...

    def standard_values(self, contact_id: str) -> dict[str, str]:
        """The contact's non-empty standard fields, by logical name, as the CRM stores them."""
        ...

    def deals_of_task(self, task_id: str) -> list[str]:
        """The deals a task is linked to."""
        ...

    def lag_search(self) -> None:
        """From now on the CRM's search index shows writes only a minute later (as HubSpot's
        does by seconds): existence checks that go through search stop seeing new records."""
        ...


@dataclass
class CrmUnderTest:
    """One parametrization of the suite: the adapter and the backdoor into the same CRM."""

    adapter: CrmAdapter
    backdoor: Backdoor

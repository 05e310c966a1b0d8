"""The HubSpot CRM adapter (entry point ``scorebridge.crm: hubspot``).

Modules: :mod:`.adapter` (the operations), :mod:`.transport` (HTTP, limits, error bodies),
:mod:`.search` (changed-since paging around the 10k cap), :mod:`.batch` (per-item results),
:mod:`.mapping` (JSON ↔ neutral dataclasses).
"""

from scorebridge.crm.hubspot.adapter import HubSpotAdapter

__all__ = ["HubSpotAdapter"]

"""The Pipedrive CRM adapter (entry point ``scorebridge.crm: pipedrive``).

Modules: :mod:`.adapter` (the operations), :mod:`.auth` (API token, OAuth 2 with refresh),
:mod:`.transport` (HTTP, token-based limits, error bodies, cursor paging), :mod:`.fields` (person
fields by name, value codecs), :mod:`.directory` (the e-mail index that replaces the lagging
search), :mod:`.engagements` (activities and deals), :mod:`.mapping` (JSON ↔ neutral dataclasses).
"""

from scorebridge.crm.pipedrive.adapter import PipedriveAdapter

__all__ = ["PipedriveAdapter"]

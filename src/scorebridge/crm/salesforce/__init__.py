"""The Salesforce CRM adapter (entry point ``scorebridge.crm: salesforce``).

Modules: :mod:`.adapter` (the operations), :mod:`.auth` (OAuth 2 client credentials and JWT
bearer), :mod:`.transport` (HTTP, ``Sforce-Limit-Info``, error arrays, SOQL paging),
:mod:`.schema` (custom fields through the Tooling API, field-level security), :mod:`.people`
(Leads and Contacts as one person, lead conversion), :mod:`.engagements` (Tasks and
Opportunities), :mod:`.mapping` (JSON ↔ neutral dataclasses).
"""

from scorebridge.crm.salesforce.adapter import SalesforceAdapter

__all__ = ["SalesforceAdapter"]

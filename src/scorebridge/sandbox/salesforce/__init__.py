"""The Salesforce emulator (crm-apis.md §3), served by :mod:`scorebridge.sandbox.base`.

Use ``RunningServer(SalesforceEmulator())``, get a session from ``/services/oauth2/token`` with
the ``client_id``/``client_secret`` of :meth:`SalesforceEmulator.credentials` (client
credentials) or a JWT signed with the key of ``POST /_sandbox/jwt``, then call
``/services/data/vXX.X/...`` with ``Authorization: Bearer``. Modules: ``emulator`` (pipeline,
control routes), ``routing`` (what handlers get), ``auth`` (token endpoint, sessions), ``rsa``
(RS256 with the standard library), ``limits`` (the daily API allocation), ``sobjects`` (record
and query resources), ``composite`` (sObject collections), ``tooling`` (CustomField),
``soql`` (parser), ``query`` (execution), ``cursors`` (query locators), ``org`` (records,
field-level security), ``writes`` (write rules), ``schema`` (object and field shapes),
``standard`` (the standard objects), ``ids``, ``values``, ``errors``, ``loader`` (setup and
World -> org). Nothing here imports :mod:`scorebridge.crm`.
"""

from scorebridge.sandbox.salesforce.emulator import SalesforceEmulator

__all__ = ["SalesforceEmulator"]

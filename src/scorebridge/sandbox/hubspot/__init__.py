"""The HubSpot CRM emulator (crm-apis.md §1), served by :mod:`scorebridge.sandbox.base`.

Use ``RunningServer(HubSpotEmulator())`` and call it with ``Authorization: Bearer <token>``
(``emulator.token``, generated per start; the ready file carries it). Modules: ``emulator``
(pipeline, control routes), ``routing``, ``objects``, ``batch``, ``search``, ``properties``,
``associations``, ``account`` (owners, pipelines), ``state`` (the account), ``schema`` (default
properties, pipeline), ``limits``, ``errors``, ``values``, ``loader`` (World -> account).
Nothing here imports :mod:`scorebridge.crm`.
"""

from scorebridge.sandbox.hubspot.emulator import HubSpotEmulator
from scorebridge.sandbox.hubspot.limits import LimitSettings

__all__ = ["HubSpotEmulator", "LimitSettings"]

"""The Pipedrive emulator (crm-apis.md §2), served by :mod:`scorebridge.sandbox.base`.

Use ``RunningServer(PipedriveEmulator())`` and call it with the ``token`` of
:meth:`PipedriveEmulator.credentials` (header ``x-api-token`` or query ``api_token``) or an OAuth
access token. Modules: ``emulator`` (pipeline, control routes), ``routing`` (what handlers get),
``auth`` (API token, OAuth server), ``limits`` (burst windows, daily token budget), ``paging``
(the v2 list contract), ``persons``, ``person_fields``, ``fields`` (field definitions and
values), ``activities``, ``deals``, ``account`` (users, activity types, pipelines, stages,
organizations), ``state`` (the company, the search index), ``values``, ``errors``, ``loader``
(World -> company). Nothing here imports :mod:`scorebridge.crm`.
"""

from scorebridge.sandbox.pipedrive.emulator import PipedriveEmulator
from scorebridge.sandbox.pipedrive.limits import LimitSettings

__all__ = ["LimitSettings", "PipedriveEmulator"]

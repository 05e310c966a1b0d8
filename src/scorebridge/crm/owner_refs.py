"""Owner references an adapter may be handed: a CRM owner id, or an owner's e-mail.

The core resolves ``[crm] reps`` / ``default_owner`` given as e-mails to owner ids through the
owner list it pulled; when that pull failed (a 429 storm, an outage) it passes the reference on as
given. :class:`OwnerRefs` lets an adapter turn such an e-mail into the id its CRM needs, from the
adapter's own :meth:`~scorebridge.crm.CrmAdapter.owners` (read once, again on a miss).
Must not: send requests itself (it calls the adapter's ``owners``) or know any vendor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from scorebridge.crm.base import Owner
from scorebridge.crm.errors import crm_error


class OwnerRefs:
    """Resolve owner references (ids pass through, e-mails become the active owner's id)."""

    def __init__(self, system: str, list_owners: Callable[[], Sequence[Owner]]) -> None:
        self._system = system
        self._list_owners = list_owners
        self._lock = threading.Lock()
        self._by_email: dict[str, str] | None = None

    def resolve(self, ref: str | None) -> str | None:
        """The owner id for ``ref`` (``None``/empty stays ``None``); an e-mail no active owner
        has is a validation error naming it."""
        if ref is None or not str(ref).strip():
            return None
        text = str(ref).strip()
        if "@" not in text:
            return text
        email = text.lower()
        for fresh in (False, True):
            with self._lock:
                known = self._by_email
            if known is None or fresh:
                known = {
                    o.email.strip().lower(): o.id
                    for o in self._list_owners()
                    if o.active and o.email
                }
                with self._lock:
                    self._by_email = known
            if email in known:
                return known[email]
        raise crm_error(
            "validation", f"no active {self._system} owner with e-mail {text}", system=self._system
        )

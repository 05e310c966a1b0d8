"""Which CRM adapters are installed: the entry-point group ``scorebridge.crm``.

Owns: looking adapter classes up by kind (``hubspot`` …) so that a third-party package adds a
CRM by declaring ``[project.entry-points."scorebridge.crm"] mycrm = "pkg.module:Adapter"``.
Must not: construct adapters (the caller knows the settings) or import any adapter eagerly.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import cast

from scorebridge.crm.base import CrmAdapter
from scorebridge.errors import ConfigError

ENTRY_POINT_GROUP = "scorebridge.crm"


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def installed_kinds() -> list[str]:
    """The CRM kinds installed, sorted."""
    return sorted(_entry_points())


def get_adapter_class(kind: str) -> Callable[..., CrmAdapter]:
    """The adapter class registered for ``kind`` (call it with the adapter's settings).

    Raises :class:`~scorebridge.errors.ConfigError` naming the installed kinds when ``kind`` is
    unknown, or when its entry point cannot be loaded.
    """
    found = _entry_points().get(kind)
    if found is None:
        installed = ", ".join(installed_kinds()) or "none"
        raise ConfigError(f"unknown CRM kind {kind!r} (installed: {installed})", key="crm.kind")
    try:
        loaded = found.load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"CRM kind {kind!r}: cannot load {found.value} ({type(exc).__name__})", key="crm.kind"
        ) from exc
    if not isinstance(loaded, type):
        raise ConfigError(f"CRM kind {kind!r}: {found.value} is not a class", key="crm.kind")
    return cast(Callable[..., CrmAdapter], loaded)

"""The Mautic 5 emulator (mautic-api.md): state, routes, auth, query grammar, recording, loader.

Public surface: :class:`MauticEmulator` (serve it with ``scorebridge.sandbox.base.RunningServer``)
and :class:`MauticSettings`.
"""

from scorebridge.sandbox.mautic.emulator import MauticEmulator
from scorebridge.sandbox.mautic.instance import MauticSettings

__all__ = ["MauticEmulator", "MauticSettings"]

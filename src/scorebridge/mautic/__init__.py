"""The Mautic connector: authentication, the REST client and neutral dataclasses.

Owns: everything that knows Mautic's paths and JSON. Streams (``streams.py``) read through
:class:`MauticClient`; nothing outside this package sees Mautic JSON.
Must not: import :mod:`scorebridge.sandbox` (the emulator is written from the reference, not
from this client).
"""

from scorebridge.mautic.auth import BasicAuth, MauticAuth, OAuth2ClientCredentials
from scorebridge.mautic.base import DEFAULT_BATCH_LIMIT
from scorebridge.mautic.client import MauticClient
from scorebridge.mautic.query import mautic_datetime
from scorebridge.mautic.schemas import (
    ContactField,
    ContactPage,
    DoNotContact,
    GroupScore,
    MauticContact,
    MauticOwner,
    MauticStage,
    MauticUser,
    Note,
    PointAction,
    PointGroup,
    PointTrigger,
    Segment,
    StatsPage,
)

__all__ = [
    "DEFAULT_BATCH_LIMIT",
    "BasicAuth",
    "ContactField",
    "ContactPage",
    "DoNotContact",
    "GroupScore",
    "MauticAuth",
    "MauticClient",
    "MauticContact",
    "MauticOwner",
    "MauticStage",
    "MauticUser",
    "Note",
    "OAuth2ClientCredentials",
    "PointAction",
    "PointGroup",
    "PointTrigger",
    "Segment",
    "StatsPage",
    "mautic_datetime",
]

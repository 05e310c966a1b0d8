"""CRM adapters behind one vendor-neutral interface.

:mod:`scorebridge.crm.base` holds the dataclasses and the :class:`CrmAdapter` Protocol,
:mod:`scorebridge.crm.errors` the one :class:`CrmError` type, :mod:`scorebridge.crm.registry`
the lookup by entry point (group ``scorebridge.crm``). Vendor packages (``hubspot`` …) are not
imported here, so importing this package never pulls a vendor adapter in.
"""

from scorebridge.crm.base import (
    LOGICAL_ON_READ,
    STANDARD_FIELDS,
    Capabilities,
    ClosedDeal,
    CrmAdapter,
    CrmContact,
    DealSpec,
    FieldSpec,
    FieldType,
    FieldValue,
    ItemResult,
    OpenDeal,
    Owner,
    Page,
    Priority,
    TaskSpec,
    Usage,
    WriteItem,
)
from scorebridge.crm.errors import CRM_ERROR_KINDS, CrmError, CrmErrorKind, crm_error
from scorebridge.crm.registry import ENTRY_POINT_GROUP, get_adapter_class, installed_kinds

__all__ = [
    "CRM_ERROR_KINDS",
    "ENTRY_POINT_GROUP",
    "LOGICAL_ON_READ",
    "STANDARD_FIELDS",
    "Capabilities",
    "ClosedDeal",
    "CrmAdapter",
    "CrmContact",
    "CrmError",
    "CrmErrorKind",
    "DealSpec",
    "FieldSpec",
    "FieldType",
    "FieldValue",
    "ItemResult",
    "OpenDeal",
    "Owner",
    "Page",
    "Priority",
    "TaskSpec",
    "Usage",
    "WriteItem",
    "crm_error",
    "get_adapter_class",
    "installed_kinds",
]

"""The neutral CRM interface: error kinds onto the project hierarchy, the entry-point registry."""

from __future__ import annotations

import pytest

from scorebridge.crm import (
    CRM_ERROR_KINDS,
    CrmAdapter,
    crm_error,
    get_adapter_class,
    installed_kinds,
)
from scorebridge.crm.hubspot import HubSpotAdapter
from scorebridge.errors import (
    Action,
    AuthError,
    BridgeError,
    ConfigError,
    ContractError,
    QuotaExhausted,
    RateLimited,
    TerminalError,
    TransientError,
)

EXPECTED = {
    "auth": (AuthError, Action.FAIL),
    "rate_limited": (RateLimited, Action.RETRY),
    "quota_exhausted": (QuotaExhausted, Action.RETRY),
    "not_found": (TerminalError, Action.SKIP),
    "conflict": (TerminalError, Action.SKIP),
    "validation": (TerminalError, Action.SKIP),
    "not_ready": (TerminalError, Action.SKIP),
    "transient": (TransientError, Action.RETRY),
    "contract": (ContractError, Action.FAIL),
}


@pytest.mark.parametrize("kind", CRM_ERROR_KINDS)
def test_every_kind_is_also_the_matching_project_error(kind: str) -> None:
    exc = crm_error(kind, "boom", system="hubspot", status=400, request_id="corr-1")  # type: ignore[arg-type]
    base, action = EXPECTED[kind]
    assert exc.kind == kind
    assert isinstance(exc, base)
    assert BridgeError.classify(exc) is action
    assert "request-id=corr-1" in str(exc)


def test_rate_limited_and_conflict_carry_their_details() -> None:
    limited = crm_error("rate_limited", "slow down", system="hubspot", retry_after=10.0)
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 10.0
    conflict = crm_error("conflict", "exists", system="hubspot", existing_id="151")
    assert conflict.existing_id == "151"


def test_registry_loads_hubspot_from_its_entry_point() -> None:
    assert "hubspot" in installed_kinds()
    assert get_adapter_class("hubspot") is HubSpotAdapter


def test_unknown_kind_is_a_config_error_naming_the_installed_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown CRM kind 'zoho' \(installed: .*hubspot"):
        get_adapter_class("zoho")


def test_hubspot_adapter_satisfies_the_protocol() -> None:
    adapter = HubSpotAdapter(token="pat-x", base_url="http://127.0.0.1:9")
    assert isinstance(adapter, CrmAdapter)
    assert adapter.capabilities.max_batch == 100
    assert adapter.capabilities.supports_upsert


def test_public_surface_is_pinned() -> None:
    import scorebridge.crm as crm
    import scorebridge.crm.hubspot as hubspot

    assert sorted(crm.__all__) == sorted(
        [
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
    )
    assert hubspot.__all__ == ["HubSpotAdapter"]
    assert all(hasattr(crm, name) for name in crm.__all__)


def test_hubspot_maps_every_standard_field() -> None:
    from scorebridge.crm import STANDARD_FIELDS
    from scorebridge.crm.hubspot.mapping import CONTACT_PROPERTIES

    assert set(CONTACT_PROPERTIES) == set(STANDARD_FIELDS)

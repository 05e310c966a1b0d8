"""Salesforce-specific behaviour of :class:`SalesforceAdapter` over real sockets against the
emulator: the JWT bearer flow, a Lead converted into a Contact (one person, one id), the daily
API allocation (403 ``REQUEST_LIMIT_EXCEEDED`` and the reserve left to other integrations), and
a new session after ``INVALID_SESSION_ID``.

The vendor-neutral behaviour is in ``test_crm_contract.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from salesforce_sandbox import SalesforceBackdoor
from test_crm_contract import FIELDS

from scorebridge.crm import CrmError, WriteItem
from scorebridge.crm.salesforce import SalesforceAdapter
from scorebridge.http import BucketRegistry
from scorebridge.sandbox.base import RunningServer
from scorebridge.sandbox.salesforce import SalesforceEmulator

Sandbox = tuple[RunningServer, SalesforceEmulator]


@pytest.fixture
def org(salesforce_emulator: Sandbox) -> Iterator[Sandbox]:
    server, emulator = salesforce_emulator
    with server.lock:
        emulator.reset()
    yield server, emulator
    with server.lock:
        emulator.reset()


def _adapter(org: Sandbox, **kw: object) -> SalesforceAdapter:
    server, emulator = org
    creds = emulator.credentials()
    return SalesforceAdapter(
        base_url=server.url,
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        buckets=BucketRegistry(),
        **kw,  # type: ignore[arg-type]
    )


def _settings(org: Sandbox, **values: object) -> None:
    server, _ = org
    requests.post(f"{server.url}/_sandbox/settings", json=values, timeout=10).raise_for_status()


def test_the_jwt_bearer_flow_signs_in_as_the_integration_user(org: Sandbox) -> None:
    server, emulator = org
    key = requests.post(f"{server.url}/_sandbox/jwt", json={}, timeout=30).json()
    adapter = SalesforceAdapter(
        base_url=server.url,
        client_id=key["iss"],
        username=key["sub"],
        private_key=key["private_key"],
        login_url=server.url,
        buckets=BucketRegistry(),
    )
    assert adapter.owners()
    assert adapter.transport.user_id is not None


def test_a_wrong_key_is_an_auth_error_without_the_key(org: Sandbox) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    server, emulator = org
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key = requests.post(f"{server.url}/_sandbox/jwt", json={}, timeout=30).json()
    adapter = SalesforceAdapter(
        base_url=server.url,
        client_id=key["iss"],
        username=key["sub"],
        private_key=pem,
        login_url=server.url,
        buckets=BucketRegistry(),
    )
    with pytest.raises(CrmError) as caught:
        adapter.owners()
    assert caught.value.kind == "auth"
    assert "PRIVATE KEY" not in str(caught.value)


def test_a_converted_lead_stays_one_person_under_its_lead_id(org: Sandbox) -> None:
    server, emulator = org
    adapter = _adapter(org)
    adapter.ensure_schema(FIELDS)
    [lead] = adapter.create_contacts([WriteItem(email="conv@example.com", properties={})])
    assert lead.remote_id is not None
    assert lead.remote_id.startswith("00Q")
    contact_id = SalesforceBackdoor(server, emulator).add_contact("conv@example.com", {})
    with server.lock:  # a rep converts the Lead into that Contact
        org_state = emulator.org
        record = org_state.records["Lead"][lead.remote_id]
        record.update(IsConverted=True, ConvertedContactId=contact_id, Status="Closed - Converted")
        org_state.touch(record, org_state.now())
    [written] = adapter.update_contacts(
        [WriteItem(crm_id=lead.remote_id, properties={"scorebridge_score": 80})]
    )
    assert written.ok, written.message
    people = [c for page in adapter.contacts_changed_since(None) for c in page.items]
    assert [p.id for p in people if p.email == "conv@example.com"] == [lead.remote_id]
    found = adapter.find_by_email(["conv@example.com"])["conv@example.com"]
    assert (found.id, found.properties["scorebridge_score"]) == (lead.remote_id, "80")


def test_a_spent_allocation_is_a_quota_error(org: Sandbox) -> None:
    adapter = _adapter(org)
    adapter.owners()
    _settings(org, daily_api_requests=1)
    with pytest.raises(CrmError) as caught:
        adapter.owners()
    assert caught.value.kind == "quota_exhausted"


def test_the_reserve_is_left_to_other_integrations(org: Sandbox) -> None:
    _settings(org, daily_api_requests=40)
    adapter = _adapter(org, reserve_percent=50)
    refused: CrmError | None = None
    for _ in range(40):
        try:
            adapter.owners()
        except CrmError as exc:
            refused = exc
            break
    assert refused is not None
    assert refused.kind == "quota_exhausted"
    assert "left to other integrations" in str(refused)
    left = adapter.usage().daily_remaining
    assert left is not None
    assert 18 <= left <= 20  # paused at half of 40, without sending the refused call


def test_an_ended_session_is_renewed_once(org: Sandbox) -> None:
    server, emulator = org

    def logins() -> int:
        return server.request_counts().get("POST /services/oauth2/token", 0)

    adapter = _adapter(org)
    before = logins()
    adapter.owners()
    requests.post(f"{server.url}/_sandbox/sessions/expire", json={}, timeout=10)
    assert adapter.owners()
    assert logins() - before == 2  # the first session and one after INVALID_SESSION_ID

"""The shared server's fault targeting (route, body, a fault budget) and faults after apply,
over real sockets against the HubSpot emulator."""

from __future__ import annotations

import pytest
import requests
from hubspot_emu_support import Hub

TASKS = "/crm/v3/objects/tasks"
CREATE = "POST /crm/v3/objects/{objectType}"


@pytest.fixture
def hub(served: Hub) -> Hub:
    return served.fresh()


def task(contact_id: str, subject: str) -> dict[str, object]:
    return {
        "properties": {"hs_timestamp": "2026-11-21T09:00:00.000Z", "hs_task_subject": subject},
        "associations": [
            {
                "to": {"id": contact_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
            }
        ],
    }


def test_a_fault_hits_only_the_first_request_of_its_route_path_and_body(hub: Hub) -> None:
    contact = hub.create_contact(email="t@example.com")["id"]
    hub.call(
        "POST",
        "/_sandbox/faults",
        {
            "error_ratio": 1.0,
            "error_status": 503,
            "route": CREATE,
            "path_prefix": TASKS,
            "body_contains": "second",
            "max_faults": 1,
        },
    ).raise_for_status()
    assert hub.call("POST", "/crm/v3/objects/deals", {"properties": {}}).status_code == 201
    assert hub.call("POST", TASKS, task(contact, "first")).status_code == 201
    assert hub.call("POST", TASKS, task(contact, "second")).status_code == 503
    assert hub.call("POST", TASKS, task(contact, "second")).status_code == 201  # budget spent
    assert hub.truth()["tasks"] == 2


def test_a_5xx_after_apply_keeps_the_effect_and_a_reset_before_apply_does_not(hub: Hub) -> None:
    contact = hub.create_contact(email="a@example.com")["id"]
    after = {"error_ratio": 1.0, "error_status": 502, "error_after_apply": True}
    hub.call("POST", "/_sandbox/faults", {**after, "route": CREATE, "max_faults": 1})
    answer = hub.call("POST", TASKS, task(contact, "applied"))
    assert answer.status_code == 502
    assert hub.truth()["tasks"] == 1
    hub.call("POST", "/_sandbox/faults", {"reset_ratio": 1.0, "route": CREATE, "max_faults": 1})
    with pytest.raises(requests.ConnectionError):
        hub.call("POST", TASKS, task(contact, "dropped"))
    assert hub.truth()["tasks"] == 1

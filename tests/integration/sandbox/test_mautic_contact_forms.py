"""Mautic emulator: how a contact body is bound (issue 13): typed fields, defaults, empty
bodies, validation before any change, and the contact edit ``stage`` key the write-back batch
stage moves use.

Sources (mautic/mautic): ``LeadBundle/Form/Type/EntityFieldsBuildFormTrait.php`` (field types),
``CoreBundle/Form/RequestTrait.php`` (booleans by PHP's boolean filter, unreadable dates dropped
before the form: no error for them, though the issue lists them), ``LeadBundle/Form/Type/
LeadType.php`` + ``StageBundle/Form/Type/StageListType.php`` (``stage`` is a choice of published
stage ids: a stage name is refused, although ``LeadModel::setFieldValues`` could look one up),
``LeadBundle/Model/LeadModel.php::setFieldValues`` (the stage change-log row, compared with
``StagesChangeLogRepository::getCurrentLeadStage``), ``LeadModel::saveEntity`` ->
``setEntityDefaultValues`` (defaults on new contacts), ``CoreBundle/Helper/
FormFieldHelper.php``/``CoreBundle/Assets/json/countries.json`` (choice lists),
``CommonApiController::processForm`` (400 body). The "Stage changed" action name is
5.1's ``mautic.stage.event.changed`` (mautic-api.md §5.1); newer releases say "Stage updated".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from mautic_support import running

NOT_VALID = "This value is not valid."


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("country", "Norge", NOT_VALID),
        ("state", "Atlantis", NOT_VALID),
        ("preferred_locale", "english", NOT_VALID),
        ("timezone", "Mars/Olympus", NOT_VALID),
        ("email", "not an email", "notanemail is invalid."),
        ("company_size", "many", NOT_VALID),
        ("firstname", "x" * 192, "This value is too long. It should have 191 characters or less."),
    ],
)
def test_typed_fields_answer_mautics_form_error(field: str, value: Any, message: str) -> None:
    """A refused value: 400 ``{"field": [message]}``, message ``field: message``; the contact
    is not touched (no ``date_modified`` bump, no other field changed)."""
    with running() as box:
        before = box.get("/api/contacts/1").json()["contact"]
        answer = box.patch("/api/contacts/1/edit", json={field: value, "city": "Bergen"})
        assert answer.status_code == 400
        error = answer.json()["errors"][0]
        assert error == {
            "code": 400,
            "message": f"{field}: {message}",
            "details": {field: [message]},
            "type": None,
        }
        assert box.get("/api/contacts/1").json()["contact"] == before


def test_typed_fields_accept_their_choices_and_normalise() -> None:
    """Accepted: a country of Mautic's list, a region, a timezone, a locale; url gets
    ``http://`` (Symfony ``UrlType``), booleans go through PHP's boolean filter, a datetime is
    reformatted and an unreadable one dropped."""
    with running() as box:
        box.post(
            "/api/fields/contact/new",
            json={"label": "Opted in", "type": "boolean", "properties": {"yes": "Y", "no": "N"}},
        )
        body = {
            "country": "United States",
            "state": "Texas",
            "timezone": "Europe/Oslo",
            "preferred_locale": "nb_NO",
            "website": "example.org",
            "opted_in": "yes",
            "attribution_date": "2026-11-01T08:30:00Z",
            "last_active": "not a date",
        }
        last_active = box.get("/api/contacts/2").json()["contact"]["fields"]["all"]["last_active"]
        answer = box.patch("/api/contacts/2/edit", json=body)
        assert answer.status_code == 200, answer.text
        fields = answer.json()["contact"]["fields"]["all"]
        assert (fields["country"], fields["state"], fields["timezone"]) == (
            "United States",
            "Texas",
            "Europe/Oslo",
        )
        assert fields["website"] == "http://example.org"
        assert fields["opted_in"] == 1
        assert fields["attribution_date"] == "2026-11-01 08:30:00"
        assert fields["last_active"] == last_active  # unreadable: dropped, not an error


def test_select_and_multiselect_choices() -> None:
    """``select``/``multiselect`` are ChoiceTypes over ``properties.list``; a multiselect takes a
    list or ``a|b`` and is stored ``a|b``."""
    with running() as box:
        options = [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]
        box.post(
            "/api/fields/contact/new",
            json={"label": "Interests", "type": "multiselect", "properties": {"list": options}},
        )
        stored = box.patch("/api/contacts/3/edit", json={"interests": ["a", "b"]}).json()
        assert stored["contact"]["fields"]["all"]["interests"] == "a|b"
        refused = box.patch("/api/contacts/3/edit", json={"interests": "a|z"})
        assert refused.json()["errors"][0]["details"] == {"interests": [NOT_VALID]}
        no_list = box.post("/api/fields/contact/new", json={"label": "Bad", "type": "select"})
        assert no_list.status_code == 400


def test_default_value_applies_to_new_contacts_only() -> None:
    """A field's ``defaultValue`` fills new contacts that carry no value for it."""
    with running() as box:
        box.post(
            "/api/fields/contact/new",
            json={"label": "Source", "type": "text", "defaultValue": "web"},
        )
        new = box.post("/api/contacts/new", json={"email": "new@example.com"}).json()
        assert new["contact"]["fields"]["all"]["source"] == "web"
        given = box.post("/api/contacts/new", json={"email": "b@example.com", "source": "fair"})
        assert given.json()["contact"]["fields"]["all"]["source"] == "fair"
        old = box.patch("/api/contacts/1/edit", json={"city": "Bergen"}).json()
        assert old["contact"]["fields"]["all"]["source"] is None


@pytest.mark.parametrize("body", [b"[]", b"{}", b""])
def test_empty_bodies_are_accepted_on_point_calls(body: bytes) -> None:
    """A parameterless POST (``[]``, ``{}``, nothing) is an empty parameter bag for FOSRest's
    body listener; the points calls answer as without a body."""
    headers = {"Content-Type": "application/json"}
    with running() as box:
        plus = box.post("/api/contacts/1/points/plus/5", data=body, headers=headers)
        assert plus.json() == {"success": 1}
        group = box.post("/api/contacts/1/points/groups/1/set/7", data=body, headers=headers)
        assert group.json()["groupScore"]["score"] == 7
        minus = box.post("/api/contacts/1/points/groups/1/minus/2", data=body, headers=headers)
        assert minus.json()["groupScore"]["score"] == 5


def test_a_refused_group_call_changes_no_score() -> None:
    """The body is read before the score changes: invalid JSON (400) leaves the score alone."""
    with running() as box:
        before = box.truth(1)["group_scores"]
        bad = box.post(
            "/api/contacts/1/points/groups/1/set/99",
            data=b"{oops",
            headers={"Content-Type": "application/json"},
        )
        assert bad.status_code == 400
        assert box.truth(1)["group_scores"] == before


def _stage_rows(box: Any, contact_id: int) -> list[dict[str, Any]]:
    return box.stats(
        "lead_stages_change_log",
        **{
            "where[0][col]": "lead_id",
            "where[0][expr]": "eq",
            "where[0][val]": str(contact_id),
            "order[0][col]": "id",
            "order[0][dir]": "ASC",
        },
    )["stats"]


def test_contact_edit_stage_logs_as_set_field_values_does() -> None:
    """``stage: <id>`` moves the contact, writes ``lead_stages_change_log`` (``event_name``
    ``"<id>:<name>"``, ``action_name`` "Stage changed") and bumps ``date_modified``; the same
    stage again writes nothing; ``null`` clears it without a row."""
    with running() as box:
        box.emulator.clock.offset = timedelta(minutes=5)
        moved = box.patch("/api/contacts/2/edit", json={"stage": 3}).json()["contact"]
        assert moved["stage"]["name"] == "SQL"
        assert moved["dateModified"] == "2026-11-20T12:05:00+00:00"
        row = _stage_rows(box, 2)[-1]
        assert {
            k: row[k] for k in ("lead_id", "stage_id", "event_name", "action_name", "date_added")
        } == {
            "lead_id": "2",
            "stage_id": "3",
            "event_name": "3:SQL",
            "action_name": "Stage changed",
            "date_added": "2026-11-20 12:05:00",
        }
        rows = len(_stage_rows(box, 2))
        box.patch("/api/contacts/2/edit", json={"stage": "3"})
        assert len(_stage_rows(box, 2)) == rows
        cleared = box.patch("/api/contacts/2/edit", json={"stage": None}).json()["contact"]
        assert cleared["stage"] is None
        assert len(_stage_rows(box, 2)) == rows


def test_contact_edit_refuses_a_stage_name_an_unknown_or_unpublished_stage() -> None:
    """``stage`` must be a published stage's id: anything else is the form error
    "stage: This value is not valid." and nothing changes."""
    with running() as box:
        box.patch("/api/stages/4/edit", json={"isPublished": False})
        for value in ("SQL", 99, 4):
            refused = box.patch("/api/contacts/2/edit", json={"stage": value, "city": "X"})
            assert refused.status_code == 400
            assert refused.json()["errors"][0]["details"] == {"stage": [NOT_VALID]}
        contact = box.get("/api/contacts/2").json()["contact"]
        assert (contact["stage"]["name"], contact["fields"]["all"]["city"]) == ("Lead", "Oslo")


def test_batch_edit_moves_stages_per_item() -> None:
    """``PATCH /api/contacts/batch/edit`` with ``stage``: each item its own status; a bad
    stage fails only its item."""
    with running() as box:
        answer = box.patch(
            "/api/contacts/batch/edit",
            json=[{"id": 1, "stage": 2}, {"id": 3, "stage": 99}, {"id": 4, "stage": 4}],
        ).json()
        assert answer["statusCodes"] == [200, 400, 200]
        assert answer["errors"]["1"]["details"] == {"stage": [NOT_VALID]}
        assert (box.truth(1)["stage"], box.truth(3)["stage"], box.truth(4)["stage"]) == (
            "MQL",
            "Lead",
            "Customer",
        )
        assert [r["event_name"] for r in _stage_rows(box, 4)][-1] == "4:Customer"

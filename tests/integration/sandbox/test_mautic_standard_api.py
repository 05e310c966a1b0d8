"""Mautic emulator: the standard API controller every entity shares, as a client written against
real Mautic 5 uses it (issue 13).

Sources (mautic/mautic, 5.x unless said): ``app/bundles/ApiBundle/Controller/
CommonApiController.php`` (new/edit/delete/batch, PUT-creates, 201/200 codes, batch 201/200),
``FetchCommonApiController.php`` (list args, ``minimal``, ``published``, ``returnError``,
``setBatchError`` type "api", ``validateBatchPayload``), ``CoreBundle/Entity/CommonRepository.php``
(search commands, catch-all ``LIKE %x%``, unsupported command searched as a literal word),
``CoreBundle/EventListener/CoreSubscriber.php`` (routes of ``standard_entity``), and
mautic-api.md §7.3 (list shapes: keyed by id vs JSON list).
"""

from __future__ import annotations

from typing import Any

import pytest
from mautic_support import NOT_FOUND, running

# (base, one, many, keyed, body of a valid new entity, the key it shows the name under)
ENTITIES: list[tuple[str, str, str, bool, dict[str, Any], str]] = [
    ("/api/notes", "note", "notes", False, {"lead": 1, "text": "Met at fair"}, "text"),
    ("/api/points", "point", "points", False, {"name": "Visits docs", "type": "url.hit"}, "name"),
    ("/api/points/triggers", "trigger", "triggers", False, {"name": "Warm"}, "name"),
    ("/api/points/groups", "pointGroup", "pointGroups", False, {"name": "Product C"}, "name"),
    ("/api/segments", "list", "lists", True, {"name": "Hot accounts"}, "name"),
    ("/api/stages", "stage", "stages", False, {"name": "Nurture"}, "name"),
    ("/api/tags", "tag", "tags", True, {"tag": "vip"}, "tag"),
    ("/api/fields/contact", "field", "fields", True, {"label": "Ext score"}, "label"),
    (
        "/api/users",
        "user",
        "users",
        False,
        {
            "username": "carla",
            "firstName": "Carla",
            "lastName": "Ruiz",
            "email": "c@x.example",
            "role": 2,
            "plainPassword": {"password": "s3cret!", "confirm": "s3cret!"},
        },
        "firstName",
    ),
]


@pytest.mark.parametrize(("base", "one", "many", "keyed", "body", "name_key"), ENTITIES)
def test_every_entity_has_the_standard_write_routes(
    base: str, one: str, many: str, keyed: bool, body: dict[str, Any], name_key: str
) -> None:
    """new -> 201 + Location; PATCH edits; PATCH on a missing id -> 404; PUT on a missing id
    creates (201); delete answers the entity with ``id`` null; then it is gone."""
    with running() as box:
        created = box.post(f"{base}/new", json=body)
        assert created.status_code == 201, created.text
        entity = created.json()[one]
        assert created.headers["Location"] == f"{base}/{entity['id']}"
        patched = box.patch(f"{base}/{entity['id']}/edit", json={name_key: "Renamed"})
        assert patched.status_code == 200, patched.text
        assert patched.json()[one][name_key] == "Renamed"
        assert box.patch(f"{base}/9999/edit", json={name_key: "x"}).json() == NOT_FOUND
        unique = {"username": "put-made", "email": "p@x.example"} if "username" in body else {}
        put_new = box.put(f"{base}/9999/edit", json={**body, **unique, name_key: "Put-made"})
        assert put_new.status_code == 201, put_new.text
        assert box.get(f"{base}/{entity['id']}").json()[one][name_key] == "Renamed"
        gone = box.delete(f"{base}/{entity['id']}/delete")
        assert gone.status_code == 200
        assert gone.json()[one]["id"] is None
        assert box.get(f"{base}/{entity['id']}").json() == NOT_FOUND
        listed = box.get(base, params={"limit": 0}).json()[many]
        ids = [int(k) for k in listed] if keyed else [e["id"] for e in listed]
        assert entity["id"] not in ids
        assert isinstance(listed, dict if keyed else list)


@pytest.mark.parametrize(("base", "one", "many", "keyed", "body", "name_key"), ENTITIES)
def test_every_entity_has_batch_routes_with_per_item_statuses(
    base: str, one: str, many: str, keyed: bool, body: dict[str, Any], name_key: str
) -> None:
    """batch/new answers 201 with per-item codes; batch/edit answers 200, a missing id is a 400
    item ``mautic.api.call.id_missing`` and a PATCH of an unknown id a 404 item; batch/delete
    serializes before removing (ids intact) and reports unknown ids per index."""
    with running() as box:
        made = box.post(f"{base}/batch/new", json=[body])
        assert made.status_code == 201
        assert made.json()["statusCodes"] == [201]
        new_id = made.json()[many][0]["id"]
        edits = [{"id": new_id, name_key: "Edited"}, {name_key: "no id"}, {"id": 9999}]
        edited = box.patch(f"{base}/batch/edit", json=edits)
        assert edited.status_code == 200
        answer = edited.json()
        assert answer["statusCodes"] == [200, 400, 404]
        assert answer[many]["0"][name_key] == "Edited"  # failures turn the list into an object
        assert answer["errors"]["1"] == {
            "message": "mautic.api.call.id_missing",
            "code": 400,
            "type": "api",
        }
        assert answer["errors"]["2"] == {
            "message": "Item was not found.",
            "code": 404,
            "type": "api",
        }
        deleted = box.delete(f"{base}/batch/delete", params={"ids": f"{new_id},9999"}).json()
        assert [e["id"] for e in deleted[many]] == [new_id]
        assert deleted["errors"]["1"]["code"] == 404
        assert box.get(f"{base}/{new_id}").status_code == 404


def test_batch_over_the_limit_is_refused_whole() -> None:
    """``validateBatchPayload``: HTTP 500 "A max of N entities are supported at a time."."""
    with running(batch_max=2) as box:
        refused = box.post("/api/stages/batch/new", json=[{"name": str(n)} for n in range(3)])
        assert refused.status_code == 500
        assert refused.json()["errors"][0]["message"] == (
            "A max of 2 entities are supported at a time."
        )
        assert box.get("/api/stages").json()["total"] == 4  # nothing was created


def test_a_refused_body_changes_nothing() -> None:
    """``processForm``: the form is validated before ``saveEntity``; a 400 leaves the entity
    as it was (name required: ``mautic.core.name.required``)."""
    with running() as box:
        refused = box.patch("/api/stages/1/edit", json={"name": "", "weight": 99})
        assert refused.status_code == 400
        assert refused.json()["errors"][0] == {
            "code": 400,
            "message": "name: A name is required.",
            "details": {"name": ["A name is required."]},
            "type": None,
        }
        assert box.get("/api/stages/1").json()["stage"]["weight"] == 10
        bad_weight = box.patch("/api/stages/1/edit", json={"weight": "heavy"})
        assert bad_weight.json()["errors"][0]["details"] == {"weight": ["This value is not valid."]}


def test_put_clears_what_was_not_sent_and_patch_keeps_it() -> None:
    """``$form->submit($params, 'PATCH' !== $method)``: PUT submits with clear-missing."""
    with running() as box:
        box.patch("/api/stages/2/edit", json={"description": "Marketing qualified"})
        kept = box.patch("/api/stages/2/edit", json={"weight": 30}).json()["stage"]
        assert (kept["description"], kept["weight"]) == ("Marketing qualified", 30)
        put = box.put("/api/stages/2/edit", json={"name": "MQL"}).json()["stage"]
        assert (put["description"], put["weight"]) == (None, 0)


@pytest.mark.parametrize(
    ("base", "many", "keyed"),
    [
        ("/api/points/groups", "pointGroups", False),
        ("/api/stages", "stages", False),
        ("/api/segments", "lists", True),
        ("/api/points", "points", False),
    ],
)
def test_ids_search_command_on_every_list(base: str, many: str, keyed: bool) -> None:
    """``ids:1,2`` (``CommonRepository::getIdsExpr``) — it was ignored on point groups and
    stages and read as a name substring on segments."""
    with running() as box:
        listed = box.get(base, params={"search": "ids:1,2"}).json()
        ids = sorted(int(k) for k in listed[many]) if keyed else [e["id"] for e in listed[many]]
        assert ids == [1, 2]
        assert listed["total"] == 2


def test_search_commands_and_free_text() -> None:
    """``is:published``/``is:unpublished`` (``addStandardSearchCommandWhereClause``), free text
    ``LIKE %x%`` on the catch-all columns (stages: name, description), ``!`` negates,
    segments' ``name:`` and ``is:global`` (``LeadListRepository``), and an unsupported command
    searched as the literal word ``cmd:value``."""
    with running() as box:
        box.patch("/api/stages/4/edit", json={"isPublished": False})

        def names(search: str, base: str = "/api/stages", many: str = "stages") -> list[str]:
            found = box.get(base, params={"search": search}).json()[many]
            rows = found.values() if isinstance(found, dict) else found
            return [row["name"] for row in rows]

        assert names("is:unpublished") == ["Customer"]
        assert names("is:published") == ["Lead", "MQL", "SQL"]
        assert names("QL") == ["MQL", "SQL"]
        assert names("!QL") == ["Lead", "Customer"]
        assert names("colour:red") == []
        assert names("name:webinar", "/api/segments", "lists") == ["Webinar attendees"]
        box.post("/api/segments/new", json={"name": "Private", "isGlobal": False})
        assert names("!is:global", "/api/segments", "lists") == ["Private"]
        assert names("newsletter", "/api/segments", "lists") == ["Newsletter"]  # alias matches


def test_paging_ordering_published_and_minimal() -> None:
    """``start``/``limit``, ``orderBy``/``orderByDir`` (DB columns), ``published=1`` (forced
    ``isPublished`` filter) and ``minimal`` (``Details`` groups swapped for ``List`` ones:
    segments lose ``filters``, ``isGlobal``, ``isPreferenceCenter``,
    ``LeadBundle/Entity/LeadList.php::loadApiMetadata``); a bad column is an SQL error (500)."""
    with running() as box:
        page = box.get(
            "/api/stages",
            params={"orderBy": "weight", "orderByDir": "DESC", "start": 1, "limit": 2},
        ).json()
        assert page["total"] == 4
        assert [s["name"] for s in page["stages"]] == ["SQL", "MQL"]
        box.patch("/api/stages/1/edit", json={"isPublished": 0})
        assert box.get("/api/stages", params={"published": 1}).json()["total"] == 3
        minimal = box.get("/api/segments", params={"minimal": 1}).json()["lists"]["1"]
        assert "filters" not in minimal
        assert minimal["alias"] == "newsletter"
        assert box.get("/api/stages", params={"orderBy": "nope"}).status_code == 500


SEGMENT_FILTER = {
    "glue": "and",
    "field": "country",
    "object": "lead",
    "type": "country",
    "operator": "=",
    "properties": {"filter": "Norway"},
}


def test_segment_filters_are_stored_and_returned() -> None:
    """``ListApiController::prepareParametersForBinding`` moves a root ``filter``/``display``
    into ``properties``; ``LeadList::getFilters`` (``addLegacyParams``) gives them back at the
    root, ``display`` null when absent — in batch replies too."""
    with running() as box:
        legacy = dict(SEGMENT_FILTER, filter="Hungary", properties={})
        created = box.post(
            "/api/segments/new", json={"name": "Nordics", "filters": [SEGMENT_FILTER, legacy]}
        )
        filters = created.json()["list"]["filters"]
        assert filters[0] == {**SEGMENT_FILTER, "filter": "Norway", "display": None}
        assert filters[1]["properties"] == {"filter": "Hungary"}
        assert filters[1]["filter"] == "Hungary"
        segment_id = created.json()["list"]["id"]
        assert box.get(f"/api/segments/{segment_id}").json()["list"]["filters"] == filters
        batch = box.post(
            "/api/segments/batch/new", json=[{"name": "B", "filters": [SEGMENT_FILTER]}]
        )
        assert batch.json()["lists"][0]["filters"][0]["display"] is None


def test_trigger_events_are_kept_and_put_drops_the_unsent() -> None:
    """``TriggerApiController``: ``events`` on create, PATCH adds, PUT removes events not sent;
    ``DELETE .../events/delete?events[]=ID``, a non-array -> 400."""
    with running() as box:
        event = {"type": "lead.changetags", "name": "Tag vip", "properties": {"add_tags": ["vip"]}}
        trigger = box.post(
            "/api/points/triggers/new", json={"name": "VIP", "points": 150, "events": [event]}
        ).json()["trigger"]
        tid = trigger["id"]
        assert [e["name"] for e in trigger["events"].values()] == ["Tag vip"]
        added = box.patch(
            f"/api/points/triggers/{tid}/edit", json={"events": [dict(event, name="Second")]}
        ).json()
        assert len(added["trigger"]["events"]) == 2
        put = box.put(
            f"/api/points/triggers/{tid}/edit",
            json={"name": "VIP", "events": [dict(event, name="Only")]},
        ).json()
        assert [e["name"] for e in put["trigger"]["events"].values()] == ["Only"]
        only_id = next(iter(put["trigger"]["events"]))
        cleared = box.delete(
            f"/api/points/triggers/{tid}/events/delete", params={"events[]": only_id}
        ).json()
        assert cleared["trigger"]["events"] == {}
        bad = box.delete(f"/api/points/triggers/{tid}/events/delete", params={"events": "1"})
        assert bad.json()["errors"][0]["message"] == "The events attribute must be array."


def test_users_new_edit_self_and_permission_check() -> None:
    """``UserApiController``: new needs a password (``Password cannot be blank.``), PATCH
    cannot change the username; ``getSelfAction`` serializes the user itself at the top level
    without nulls; ``isGrantedAction`` answers ``{permission: bool}``, 400 "At least one
    permission must be submitted." when empty (``ApiBundle`` flashes)."""
    with running() as box:
        nameless = box.post("/api/users/new", json={"username": "x"})
        details = nameless.json()["errors"][0]["details"]
        assert details["plainPassword"] == ["Password cannot be blank."]
        assert details["firstName"] == ["First name is required."]
        assert (
            box.patch("/api/users/2/edit", json={"username": "hacker"}).json()["user"]["username"]
            == "anna.berg"
        )
        me = box.get("/api/users/self").json()
        assert (me["id"], me["username"], me["role"]["isAdmin"]) == (1, "admin", True)
        assert "position" not in me  # null values are left out
        check = box.post(
            "/api/users/2/permissioncheck",
            json={"permissions": ["lead:leads:viewown", "lead:leads:viewother"]},
        )
        assert check.json() == {"lead:leads:viewown": True, "lead:leads:viewother": False}
        admin = box.post("/api/users/1/permissioncheck", json={"permissions": "stage:stages:view"})
        assert admin.json() == {"stage:stages:view": True}
        empty = box.post("/api/users/2/permissioncheck", json=[])
        assert empty.status_code == 400
        assert empty.json()["errors"][0]["message"] == "At least one permission must be submitted."


def test_stats_lists_mautic_5s_34_tables_with_columns() -> None:
    """``GET /api/stats``: every table a 5.x ``StatsSubscriber`` registers, with
    ``getTableColumns`` (sorted); the sample of mautic-api.md §9 (docs, 35 tables) less the
    Citrix plugin removed in 5.0, plus ``lead_points_change_log.group_id``. Tables the world
    does not fill answer with no rows."""
    with running() as box:
        listing = box.get("/api/stats").json()
        tables = listing["availableTables"]
        assert len(tables) == 34
        assert tables == sorted(tables)
        assert "plugin_citrix_events" not in tables
        assert listing["tableColumns"]["campaign_leads"] == [
            "campaign_id",
            "date_added",
            "date_last_exited",
            "lead_id",
            "manually_added",
            "manually_removed",
            "rotation",
        ]
        assert "group_id" in listing["tableColumns"]["lead_points_change_log"]
        assert box.stats("webhook_logs") == {"total": "0", "stats": []}


def test_read_only_lists_and_campaign_membership() -> None:
    """Emails, forms, assets and campaigns are listed with the standard list arguments (no
    write routes here); ``POST /api/campaigns/{id}/contact/{contactId}/add|remove``
    (``CampaignBundle/Controller/Api/CampaignApiController.php``) answer ``{"success": 1}`` and
    keep a ``campaign_leads`` row flagged ``manually_removed`` after a removal."""
    with running() as box:
        emails = box.get("/api/emails", params={"search": "ids:2,3"}).json()
        assert emails["total"] == 2
        assert sorted(emails["emails"]) == ["2", "3"]
        forms = box.get("/api/forms", params={"limit": 2}).json()
        assert [f["name"] for f in forms["forms"]] == ["Newsletter subscription", "Contact us"]
        assert box.get("/api/assets/1").json()["asset"]["title"] == "Price list 2026"
        assert box.post("/api/emails/new", json={"name": "x"}).status_code == 404
        assert box.post("/api/campaigns/1/contact/2/add").json() == {"success": 1}
        assert box.post("/api/campaigns/1/contact/2/remove").json() == {"success": 1}
        row = box.stats("campaign_leads")["stats"][0]
        assert (row["campaign_id"], row["lead_id"], row["manually_removed"]) == ("1", "2", "1")
        assert box.post("/api/campaigns/9/contact/2/add").json() == NOT_FOUND

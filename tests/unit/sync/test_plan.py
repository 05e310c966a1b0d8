"""The pure planner: desired state vs ``written`` -> the writes a user would see happen."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from scorebridge.sync.owners import Assignment
from scorebridge.sync.plan import (
    CRM,
    MAUTIC,
    DesiredContact,
    ManualNote,
    PlanConfig,
    TriggerContext,
    group_fields,
    note_text,
    plan_contact,
    render_deal,
    render_task,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CFG = PlanConfig(
    group_names={"product_a": "Product A"},
    mautic_stages={"mql": "MQL", "sql": "SQL"},
    crm=True,
    group_properties={"product_a": "scorebridge_product_a"},
    lifecycles={"mql": "marketingqualifiedlead", "sql": "salesqualifiedlead"},
    stage_order={"mql": 0, "sql": 1},
    create_at_stage="mql",
)


def contact(**overrides: Any) -> DesiredContact:
    values: dict[str, Any] = {
        "contact_id": 7,
        "mautic_id": 107,
        "crm_id": "501",
        "email": "ada@example.com",
        "total": 42,
        "stage_score": 42,
        "band": "warm",
        "groups": {"product_a": 30},
        "stage": "mql",
        "identity": {"first_name": "Ada", "last_name": "Lovelace", "job_title": "CTO"},
    }
    values.update(overrides)
    return DesiredContact(**values)


def everything_written(d: DesiredContact) -> dict[tuple[str, str], str]:
    """What the system holds after a complete write of ``d``."""
    written: dict[tuple[str, str], str] = {}
    if d.crm_id and d.email:
        written[(CRM, "prop:email")] = d.email  # the e-mail of the link (desired.py seeds it)
    for op in plan_contact(d, {}, CFG):
        written.update({(op.system, t): v for t, v in op.written.items()})
    return written


def ops_by_kind(d: DesiredContact, written: dict[tuple[str, str], str]) -> dict[str, Any]:
    return {op.op: op.payload for op in plan_contact(d, written, CFG)}


def test_unchanged_contact_plans_nothing() -> None:
    d = contact()
    assert plan_contact(d, everything_written(d), CFG) == []


def test_first_plan_writes_every_target_once() -> None:
    ops = ops_by_kind(contact(), {})
    assert ops == {
        "mautic.fields": {"fields": {"sb_score": 42, "sb_stage_score": 42, "sb_band": "warm"}},
        "mautic.groups": {"groups": {"Product A": 30}},
        "mautic.stage": {"stage": "MQL"},
        "crm.update": {
            "properties": {
                "scorebridge_score": 42,
                "scorebridge_stage_score": 42,
                "scorebridge_band": "warm",
                "scorebridge_product_a": 30,
                "lifecycle": "marketingqualifiedlead",
            }
        },
    }


def fields(**values: Any) -> dict[str, Any]:
    return {"mautic.fields": {"fields": values}}


def props(**values: Any) -> dict[str, Any]:
    return {"crm.update": {"properties": values}}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"total": 43}, fields(sb_score=43) | props(scorebridge_score=43)),
        ({"band": "hot"}, fields(sb_band="hot") | props(scorebridge_band="hot")),
        (
            {"groups": {"product_a": 31}},
            {"mautic.groups": {"groups": {"Product A": 31}}} | props(scorebridge_product_a=31),
        ),
        (
            {"stage": "sql"},
            {"mautic.stage": {"stage": "SQL"}} | props(lifecycle="salesqualifiedlead"),
        ),
        ({"total": 0}, fields(sb_score=0) | props(scorebridge_score=0)),
        (
            {"stage_score": 3},
            fields(sb_stage_score=3) | props(scorebridge_stage_score=3),
        ),
        (
            {"email": "ada@new.example"},
            {"crm.email": {"properties": {"email": "ada@new.example"}}},
        ),
        ({"identity": {"first_name": "Augusta"}}, {}),  # names are the CRM's after the create
    ],
    ids=["total", "band", "group", "stage", "zero", "stage score", "e-mail", "identity"],
)
def test_a_changed_value_plans_only_that_value(
    change: dict[str, Any], expected: dict[str, Any]
) -> None:
    written = everything_written(contact())
    assert ops_by_kind(contact(**change), written) == expected


def test_a_zero_score_is_planned_even_when_nothing_was_written() -> None:
    d = contact(total=0, stage_score=0, band="cold", groups={}, stage=None, crm_id=None)
    ops = plan_contact(d, {}, CFG)
    zeros = {"sb_score": 0, "sb_stage_score": 0, "sb_band": "cold"}
    assert [(op.op, op.payload) for op in ops] == [("mautic.fields", {"fields": zeros})]
    assert ops[0].written == {
        "field:sb_score": "0",
        "field:sb_stage_score": "0",
        "field:sb_band": "cold",
    }


def test_a_crm_contact_is_created_with_the_identity_fields_and_remembers_its_email() -> None:
    d = contact(crm_id=None)
    (create,) = [op for op in plan_contact(d, {}, CFG) if op.system == CRM]
    assert create.op == "crm.create"
    assert create.payload["email"] == "ada@example.com"
    assert create.payload["properties"]["first_name"] == "Ada"
    assert create.payload["properties"]["job_title"] == "CTO"
    assert create.payload["properties"]["scorebridge_score"] == 42
    assert create.written["prop:email"] == "ada@example.com"
    assert "prop:first_name" not in create.written  # identity is sent once, at creation


def test_a_value_back_to_what_was_written_plans_nothing() -> None:
    written = everything_written(contact(total=10))
    assert "mautic.fields" not in ops_by_kind(contact(total=10), written)


def test_the_idempotency_key_depends_on_the_value() -> None:
    a = plan_contact(contact(total=1), {}, CFG)[0]
    b = plan_contact(contact(total=2), {}, CFG)[0]
    again = plan_contact(contact(total=1), {}, CFG)[0]
    assert a.idempotency_key != b.idempotency_key
    assert a.idempotency_key == again.idempotency_key
    assert a.idempotency_key.startswith("mautic.fields:7:")


def test_crm_contact_is_created_only_from_the_configured_stage() -> None:
    early = contact(crm_id=None, stage=None)
    assert [op.op for op in plan_contact(early, {}, CFG) if op.system == CRM] == []
    ready = contact(crm_id=None)
    create = [op for op in plan_contact(ready, {}, CFG) if op.system == CRM]
    assert [op.op for op in create] == ["crm.create"]
    assert create[0].payload["email"] == "ada@example.com"
    assert create[0].written["prop:scorebridge_score"] == "42"
    no_email = contact(crm_id=None, email=None)
    assert [op.op for op in plan_contact(no_email, {}, CFG) if op.system == CRM] == []


def test_lifecycle_never_moves_a_contact_back() -> None:
    customer = contact(crm_lifecycle="customer")
    props = ops_by_kind(customer, {})["crm.update"]["properties"]
    assert "lifecycle" not in props
    lead = contact(crm_lifecycle="lead")
    assert ops_by_kind(lead, {})["crm.update"]["properties"]["lifecycle"] == (
        "marketingqualifiedlead"
    )


def test_manual_adjustments_become_one_note_each() -> None:
    d = contact(manual_notes=(ManualNote("e1", "Manual +10: met at fair"),))
    notes = [op for op in plan_contact(d, {}, CFG) if op.op == "mautic.note"]
    assert [n.payload["text"] for n in notes] == ["Manual +10: met at fair"]
    written = {(MAUTIC, "note:e1"): "1"}
    assert [op for op in plan_contact(d, written, CFG) if op.op == "mautic.note"] == []


def test_switched_off_targets_plan_nothing() -> None:
    cfg = PlanConfig(mautic=False, crm=False)
    assert plan_contact(contact(), {}, cfg) == []
    no_mautic_id = contact(mautic_id=None)
    assert {op.system for op in plan_contact(no_mautic_id, {}, CFG)} == {CRM}


CTX = TriggerContext(
    contact_id=7,
    mautic_id=107,
    email="ada@example.com",
    fields={"firstname": "Ada", "lastname": "Lovelace", "company": "Analytical Engines"},
    total=55,
    stage_score=55,
    band="warm",
    stage="mql",
    reasons=["Requested a demo (form 3) on 2026-11-20: +30", "Visited pricing 3x: +25"],
    trigger="Warm lead",
)
REP = Assignment("r2", "round robin")


def test_a_task_says_why_names_the_mautic_contact_and_goes_to_the_resolved_owner() -> None:
    params = {"subject": "Warm lead {name} at {company}: {score} points", "due_in_days": 2}
    task = render_task(params, CTX, REP, NOW)
    assert task["subject"] == "Warm lead Ada Lovelace at Analytical Engines: 55 points"
    assert task["body"].splitlines() == [
        "Ada Lovelace scores 55 (warm). Why:",
        "- Requested a demo (form 3) on 2026-11-20: +30",
        "- Visited pricing 3x: +25",
        "Mautic contact 107",
    ]
    assert task["due_at"] == "2026-11-24T12:00:00+00:00"
    assert (task["owner_id"], task["owner_source"]) == ("r2", "round robin")
    assert note_text(task).startswith("Warm lead Ada Lovelace at Analytical Engines: 55 points\n\n")


def test_a_task_of_a_lead_in_a_reset_stage_gives_both_scores() -> None:
    in_sql = replace(CTX, total=90, stage_score=12, band="hot", stage="sql")
    task = render_task({}, in_sql, REP, NOW)
    assert task["subject"] == "Follow up Ada Lovelace: 90 points"
    assert task["body"].startswith("Ada Lovelace scores 90 (hot; 12 since entering sql). Why:")
    assert task["priority"] == "high"


def test_a_nameless_contact_is_named_by_email_then_by_its_mautic_id() -> None:
    assert replace(CTX, fields={}).name == "ada@example.com"
    assert replace(CTX, fields={}, email=None).name == "contact 107"


def test_a_deal_uses_the_action_or_the_settings() -> None:
    deal = render_deal({"pipeline": "sales"}, CTX, REP, pipeline="default", stage="s1")
    assert deal["pipeline"] == "sales"
    assert deal["stage"] == "s1"
    assert deal["owner_id"] == "r2"
    assert deal["name"] == "Ada Lovelace (scorebridge: warm)"


def test_a_contact_a_crm_task_waits_for_is_created_before_its_create_stage() -> None:
    cold = contact(crm_id=None, stage=None, total=3, band="cold")
    assert [op.op for op in plan_contact(cold, {}, CFG) if op.system == CRM] == []
    waiting = replace(cold, crm_actions=True)
    assert [op.op for op in plan_contact(waiting, {}, CFG) if op.system == CRM] == ["crm.create"]


def test_the_predictive_score_is_written_beside_the_score_when_configured() -> None:
    cfg = replace(CFG, win_field="sb_win_probability", win_property="scorebridge_win_probability")
    ops = ops_by_kind(contact(win_probability=7), {})
    assert "sb_win_probability" not in ops["mautic.fields"]["fields"]  # [predict] off: CFG
    ops = {op.op: op.payload for op in plan_contact(contact(win_probability=7), {}, cfg)}
    assert ops["mautic.fields"]["fields"]["sb_win_probability"] == 7
    assert ops["crm.update"]["properties"]["scorebridge_win_probability"] == 7
    unknown = {op.op: op.payload for op in plan_contact(contact(), {}, cfg)}
    assert "sb_win_probability" not in unknown["mautic.fields"]["fields"]  # no prediction yet


def test_a_point_group_is_set_only_where_mautic_holds_another_score() -> None:
    d = contact(groups={"product_a": 30, "product_b": 0})
    cfg = replace(CFG, group_names={"product_a": "Product A", "product_b": "Product B"})
    same = replace(d, mautic_groups={"product_a": 30, "product_b": 0})
    assert [op.op for op in plan_contact(same, {}, cfg) if op.op == "mautic.groups"] == []
    drifted = replace(d, mautic_groups={"product_a": 33, "product_b": 0})  # a point action
    (op,) = [op for op in plan_contact(drifted, {}, cfg) if op.op == "mautic.groups"]
    assert op.payload == {"groups": {"Product A": 30}}
    assert op.written == {"group:product_a": "30"}


def test_a_point_group_the_log_does_not_tell_is_compared_with_what_was_written() -> None:
    d = contact(groups={"product_a": 30}, mautic_groups={})
    assert "mautic.groups" not in ops_by_kind(d, {(MAUTIC, "group:product_a"): "30"})
    assert ops_by_kind(d, {(MAUTIC, "group:product_a"): "29"})["mautic.groups"] == {
        "groups": {"Product A": 30}
    }


def test_a_score_that_is_not_a_configured_topic_is_never_mirrored_as_a_point_group() -> None:
    d = contact(groups={"product_a": 30, "general": 12, "total": 42})
    ops = ops_by_kind(d, {})
    assert ops["mautic.groups"] == {"groups": {"Product A": 30}}


def test_group_scores_as_fields_travel_with_the_score_fields() -> None:
    cfg = replace(CFG, group_names={}, group_fields=group_fields(["product_a"]))
    ops = {op.op: op for op in plan_contact(contact(), {}, cfg)}
    assert "mautic.groups" not in ops
    assert ops["mautic.fields"].payload["fields"]["sb_product_a"] == 30
    assert ops["mautic.fields"].written["field:sb_product_a"] == "30"


def test_group_field_aliases_follow_mautics_rules_and_never_collide() -> None:
    assert group_fields(["product_a", "Région-Nord"]) == {
        "product_a": "sb_product_a",
        "Région-Nord": "sb_r_gion_nord",
    }
    with pytest.raises(ValueError, match="shorten one key"):
        group_fields(["a_very_long_topic_group_one", "a_very_long_topic_group_two"])

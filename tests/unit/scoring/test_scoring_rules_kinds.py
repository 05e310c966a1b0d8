"""Each rule kind and matcher, table-driven: which events earn which points in which group."""

from __future__ import annotations

from typing import Any

import pytest
from scoring_support import SITE, T0, ev, ruleset, run

from scorebridge.scoring import ScoringEvent

H = T0.replace(hour=9)

MATCH_TABLE: list[tuple[str, dict[str, Any], ScoringEvent, float]] = [
    (
        "url glob matches",
        {"event": "page.hit", "url": "*/pricing*"},
        ev("e", "page.hit", H, url=f"{SITE}/pricing?utm=x"),
        10,
    ),
    (
        "url glob is case-insensitive",
        {"event": "page.hit", "url": "*/pricing*"},
        ev("e", "page.hit", H, url=f"{SITE}/Pricing"),
        10,
    ),
    (
        "url glob misses",
        {"event": "page.hit", "url": "*/pricing*"},
        ev("e", "page.hit", H, url=f"{SITE}/products/product-a"),
        0,
    ),
    (
        "url glob on e-mail clicks",
        {"event": "email.click", "url": "*/demo*"},
        ev("e", "email.click", H, url=f"{SITE}/demo", email_id="4"),
        10,
    ),
    (
        "form id as a string",
        {"event": "form.submit", "form_id": [3]},
        ev("e", "form.submit", H, form_id="3"),
        10,
    ),
    (
        "other form",
        {"event": "form.submit", "form_id": [3]},
        ev("e", "form.submit", H, form_id=4),
        0,
    ),
    (
        "asset id",
        {"event": "asset.download", "asset_id": [1, 2]},
        ev("e", "asset.download", H, asset_id=2),
        10,
    ),
    (
        "email id on opens",
        {"event": "email.open", "email_id": [6]},
        ev("e", "email.open", H, email_id="6"),
        10,
    ),
    ("kind must match", {"event": "form.submit"}, ev("e", "page.hit", H, url=SITE), 0),
    (
        "unsubscribe",
        {"event": "dnc.unsubscribed", "points": -20},
        ev("e", "dnc.unsubscribed", H, channel="email"),
        -20,
    ),
    (
        "crm kind with attribute filter",
        {"event": "crm.deal.lost", "attributes": {"pipeline": "default"}},
        ev("e", "crm.deal.lost", H, pipeline="Default"),
        10,
    ),
    (
        "crm attribute filter misses",
        {"event": "crm.deal.lost", "attributes": {"pipeline": "x"}},
        ev("e", "crm.deal.lost", H, pipeline="default"),
        0,
    ),
    (
        "mautic point-log filter by type and action",
        {
            "event": "mautic.points",
            "points": "delta",
            "point_type": ["form"],
            "point_action": ["submit"],
        },
        ev("e", "mautic.points", H, type="form", action="submit", delta="7"),
        7,
    ),
    (
        "mautic point-log filter misses",
        {"event": "mautic.points", "point_type": ["url"]},
        ev("e", "mautic.points", H, type="form", delta="7"),
        0,
    ),
    (
        "mautic delta not a number",
        {"event": "mautic.points", "points": "delta"},
        ev("e", "mautic.points", H, delta="lots"),
        0,
    ),
]


@pytest.mark.parametrize(
    ("case", "rule", "event", "expected"), MATCH_TABLE, ids=[m[0] for m in MATCH_TABLE]
)
def test_matchers(case: str, rule: dict[str, Any], event: ScoringEvent, expected: float) -> None:
    rules = ruleset(scale={"min": -100, "max": 100}, rules=[{"id": "r", "points": 10, **rule}])
    result = run(rules, [event])
    assert result.total == pytest.approx(expected)


def test_signature_ignores_attributes_no_rule_reads() -> None:
    rules = ruleset(rules=[{"id": "r", "event": "form.submit", "form_id": [3], "points": 1}])
    a = rules.signature("form.submit", {"form_id": 3, "ip": "10.0.0.1"})
    b = rules.signature("form.submit", {"form_id": 3, "ip": "10.0.0.2"})
    assert a == b != rules.signature("form.submit", {"form_id": 4})
    assert rules.signature("page.hit", {"url": "x"}) == ("page.hit",)
    assert rules.matches(ev("k", "form.submit", T0, form_id="3")) == (0,)


def test_from_mautic_routes_rows_to_the_mirrored_group() -> None:
    rules = ruleset(
        groups=[{"key": "product_a", "mautic_group": "Product A"}, {"key": "product_b"}],
        rules=[{"id": "m", "event": "mautic.points", "points": "delta", "group": "from_mautic"}],
    )
    events = [
        ev("1", "mautic.points", H, delta="10", group="Product A"),
        ev("2", "mautic.points", H, delta="4", group="product_b"),
        ev("3", "mautic.points", H, delta="5"),
        ev("4", "mautic.points", H, delta="3", group="Unknown group"),
    ]
    result = run(rules, events)
    assert result.group_values == {"product_a": 10, "product_b": 4}
    assert result.total_value == 22  # the rows of no configured group go straight into the total


def test_manual_adjustments_count_without_a_rule_and_keep_their_reason() -> None:
    rules = ruleset(groups=[{"key": "product_a"}])
    events = [
        ev("m1", "manual", H, delta=12, group="product_a", reason="Met at trade fair"),
        ev("m2", "manual", H, delta="-2", reason="typo in title"),
        ev("m3", "manual", H, delta=5, group="nope", reason="x"),
    ]
    result = run(rules, events)
    assert result.group_values == {"product_a": 12}
    assert result.total_value == 15  # -2 and +5 (unknown group) straight into the total
    notes = {c.event_key: c.note for c in result.ledger}
    assert notes["m1"] == "Met at trade fair"
    assert "unknown group 'nope'" in notes["m3"]


FIT_TABLE: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    ("eq ignores case", {"eq": "norway"}, {"f": "Norway "}, True),
    ("eq number vs digits", {"eq": 250}, {"f": "250"}, True),
    ("in", {"in": ["Hungary", "Norway"]}, {"f": "hungary"}, True),
    ("in misses", {"in": ["Hungary"]}, {"f": "Austria"}, False),
    ("not_in", {"not_in": ["Hungary"]}, {"f": "Austria"}, True),
    ("not_in never matches a missing field", {"not_in": ["Hungary"]}, {}, False),
    ("not_in never matches an empty field", {"not_in": ["Hungary"]}, {"f": ""}, False),
    ("matches searches", {"matches": "(?i)director"}, {"f": "Sales Director EMEA"}, True),
    ("matches misses", {"matches": "(?i)director"}, {"f": "Engineer"}, False),
    ("gte", {"gte": 50}, {"f": "120"}, True),
    ("gte below", {"gte": 50}, {"f": 49}, False),
    ("lte and gte range", {"gte": 10, "lte": 20}, {"f": 20}, True),
    ("gte on text", {"gte": 1}, {"f": "many"}, False),
    ("exists", {"exists": True}, {"f": "x"}, True),
    ("exists false on missing", {"exists": False}, {}, True),
    ("exists false on present", {"exists": False}, {"f": 0}, False),
    ("domain_in exact", {"domain_in": ["rival.example"]}, {"f": "Ann@Rival.example"}, True),
    ("domain_in subdomain", {"domain_in": ["rival.example"]}, {"f": "a@eu.rival.example"}, True),
    ("domain_in lookalike", {"domain_in": ["rival.example"]}, {"f": "a@notrival.example"}, False),
]


@pytest.mark.parametrize(
    ("case", "op", "fields", "holds"), FIT_TABLE, ids=[f[0] for f in FIT_TABLE]
)
def test_fit_operators(case: str, op: dict[str, Any], fields: dict[str, Any], holds: bool) -> None:
    rules = ruleset(fit=[{"id": "fit", "field": "f", "points": 15, **op}])
    result = run(rules, [], fields=fields)
    assert result.total_value == (15 if holds else 0)
    assert [c.rule_id for c in result.ledger] == (["fit"] if holds else [])


def test_fit_on_crm_fields_and_negative_points() -> None:
    rules = ruleset(
        fit=[
            {"id": "size", "field": "crm.numberofemployees", "gte": 50, "points": 30},
            {"id": "student", "field": "position", "matches": "(?i)student", "points": -10},
        ]
    )
    result = run(rules, [], fields={"crm.numberofemployees": "80", "position": "PhD student"})
    assert result.total_value == 20


@pytest.mark.parametrize(
    ("case", "op", "fields", "holds"), FIT_TABLE, ids=[f[0] for f in FIT_TABLE]
)
def test_bulk_fit_agrees_with_one_contact_at_a_time(
    case: str, op: dict[str, Any], fields: dict[str, Any], holds: bool
) -> None:
    """Bulk scoring tests each distinct value (a domain rule: each domain) once."""
    fit = ruleset(fit=[{"id": "fit", "field": "f", "points": 15, **op}]).fit[0]
    values = [fields.get("f"), None, "", "x@RIVAL.example", "y@rival.example", fields.get("f")]
    assert fit.holds_each(values) == [fit.holds({"f": v}) for v in values]
    assert fit.holds_each(values)[0] is holds


def test_a_group_with_an_empty_mautic_group_is_not_mirrored() -> None:
    rules = ruleset(
        groups=[{"key": "engagement", "mautic_group": ""}, {"key": "product_a"}],
        rules=[{"id": "m", "event": "mautic.points", "points": "delta", "group": "from_mautic"}],
    )
    assert set(rules.mautic_groups.values()) == {"product_a"}
    # a point-log row of a Mautic group named like the unmirrored key is no topic of it
    result = run(rules, [ev("1", "mautic.points", H, delta="5", group="engagement")])
    assert (result.group_values, result.total_value) == ({"engagement": 0, "product_a": 0}, 5)

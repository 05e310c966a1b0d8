"""doctor's warnings about rule files that are valid but will not do what they say."""

from __future__ import annotations

from dataclasses import dataclass

from scoring_support import SITE, T0, ev, ruleset, run

from scorebridge.scoring.lint import double_counted, missing_fit_fields, unmatchable_urls


@dataclass(frozen=True)
class Action:
    name: str
    type: str
    delta: int
    is_published: bool = True


def test_a_url_glob_without_a_leading_star_never_matches_and_path_does() -> None:
    warnings = unmatchable_urls({"pricing": "/pricing*", "ok": "*/pricing*", "abs": f"{SITE}/x"})
    assert [w.rule_id for w in warnings] == ["pricing"]
    assert "path = '/pricing*'" in warnings[0].fix
    rules = ruleset(rules=[{"id": "p", "event": "page.hit", "path": "/pricing*", "points": 5}])
    assert run(rules, [ev("h", "page.hit", T0, url=f"{SITE}/pricing?plan=pro")]).total == 5
    assert run(rules, [ev("h", "page.hit", T0, url=f"{SITE}/blog/pricing")]).total == 0


def test_fit_fields_are_looked_up_in_mautic_and_the_crm() -> None:
    rules = ruleset(
        fit=[
            {"id": "size", "field": "crm.numberofemployees", "gte": 50, "points": 10},
            {"id": "title", "field": "position", "matches": "CEO", "points": 10},
            {"id": "industry", "field": "industry", "eq": "x", "points": 1},
        ]
    )
    found = missing_fit_fields(rules, ["company_size"], ["numemployees", "industry"])
    assert {w.rule_id: w.message for w in found} == {
        "size": "field 'crm.numberofemployees': the CRM has no contact property "
        "'numberofemployees'",
        "industry": "field 'industry': Mautic has no contact field with this alias; the CRM "
        "has it: write crm.industry",
    }
    assert [w.rule_id for w in missing_fit_fields(rules, ["industry"], None)] == []


def test_a_behaviour_rule_and_a_scored_point_action_on_the_same_act_are_double_counting() -> None:
    rules = ruleset(
        rules=[
            {"id": "quote", "event": "form.submit", "form_id": [4], "points": 40},
            {"id": "mautic", "event": "mautic.points", "points": "delta"},
        ]
    )
    actions = [Action("Quote form", "form.submit", 40), Action("Opened", "email.open", 1)]
    (warning,) = double_counted(rules, actions)
    assert warning.rule_id == "quote"
    assert "form.submit is scored twice" in warning.message
    only_raw = ruleset(rules=[{"id": "quote", "event": "form.submit", "points": 40}])
    assert double_counted(only_raw, actions) == []
    filtered = ruleset(
        rules=[
            {"id": "quote", "event": "form.submit", "points": 40},
            {"id": "m", "event": "mautic.points", "points": "delta", "point_type": ["email.open"]},
        ]
    )
    assert double_counted(filtered, actions) == []

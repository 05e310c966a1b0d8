"""The rule file: the example loads, and every mistake is reported with file, rule and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scoring_support import EXAMPLE

from scorebridge.errors import ConfigError
from scorebridge.scoring import compile_rules, load_rules, parse_rules


def test_example_rule_file_loads_and_compiles() -> None:
    rules = load_rules(EXAMPLE)
    compiled = compile_rules(rules)
    assert rules.version == compiled.version == "2026-12-06.1"
    assert "general" not in compiled.groups  # ungrouped points go straight into the total
    assert {"engagement", "product_a", "product_b"} <= set(compiled.groups)
    assert [s.key for s in compiled.stages] == ["mql", "sql"]
    assert [t.id for t in compiled.triggers] == [
        "warm-notify-sales",
        "product-a-interest",
        "turned-hot",
        "cooling-off",
    ]


RULE = {"id": "pricing-page", "event": "page.hit", "url": "*/pricing*", "points": 10}

BAD: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "unknown key in a rule",
        {"rules": [RULE, {**RULE, "id": "demo", "pointz": 3}]},
        [
            "rules #2 (id 'demo')",
            "field 'pointz': unknown key; did you mean 'points'?",
            "allowed: asset_id,",
        ],
    ),
    (
        "url on a form rule",
        {"rules": [{"id": "demo", "event": "form.submit", "url": "*/x", "points": 3}]},
        ["rules #1 (id 'demo')", "field 'url'"],
    ),
    (
        "bad regex in a fit rule",
        {"fit": [{"id": "title", "field": "position", "matches": "(ceo", "points": 5}]},
        ["fit #1 (id 'title')", "field 'matches'", "bad regular expression"],
    ),
    (
        "unknown group",
        {"rules": [{**RULE, "group": "product_c"}]},
        [
            "rules #1 (id 'pricing-page')",
            "field 'group'",
            "unknown group 'product_c'",
            "straight into the total",
        ],
    ),
    (
        "unknown event kind",
        {"rules": [{**RULE, "event": "page.visit", "url": None}]},
        ["rules #1 (id 'pricing-page')", "field 'event'", "page.visit"],
    ),
    (
        "two fit operators",
        {"fit": [{"id": "c", "field": "country", "eq": "Norway", "in": ["X"], "points": 1}]},
        ["fit #1 (id 'c')", "exactly one of"],
    ),
    (
        "duplicate rule ids",
        {"rules": [RULE, RULE]},
        ["rules #2 (id 'pricing-page')", "field 'id'", "duplicate 'pricing-page'"],
    ),
    (
        "unknown band in a trigger",
        {
            "bands": {"hot": 75},
            "triggers": [{"id": "t", "when": {"band": "warm"}, "actions": [{"do": "crm.deal"}]}],
        },
        ["triggers #1 (id 't')", "field 'when.band'", "unknown band 'warm'"],
    ),
    (
        "rearm_below above the threshold",
        {
            "triggers": [
                {
                    "id": "t",
                    "when": {"total": {"gte": 50}},
                    "rearm_below": 60,
                    "actions": [{"do": "crm.task"}],
                }
            ]
        },
        ["triggers #1 (id 't')", "field 'rearm_below'"],
    ),
    (
        "gte and gt together",
        {
            "stages": [{"key": "mql", "when": {"total": {"gte": 25, "gt": 20}}}],
        },
        ["stages #1 (key 'mql')", "field 'when.gte'", "not both"],
    ),
    (
        "delta points on a page hit",
        {"rules": [{**RULE, "points": "delta"}]},
        ["rules #1 (id 'pricing-page')", "field 'points'"],
    ),
    (
        "reset stage that may move back on its own stage score",
        {
            "stages": [
                {
                    "key": "sql",
                    "when": {"stage_score": {"gte": 75}},
                    "reset_score": True,
                    "allow_back": True,
                }
            ]
        },
        ["stages #1 (key 'sql')", "field 'allow_back'"],
    ),
    (
        "unknown action",
        {
            "triggers": [
                {"id": "t", "when": {"total": {"gte": 5}}, "actions": [{"do": "crm.deals"}]}
            ]
        },
        ["triggers #1 (id 't')", "action #1", "unknown action 'crm.deals'", "'crm.deal'?"],
    ),
    (
        "misspelt action parameter",
        {
            "triggers": [
                {
                    "id": "t",
                    "when": {"total": {"gte": 5}},
                    "actions": [{"do": "crm.task"}, {"do": "mautic.segment.add", "segmnt": "W"}],
                }
            ]
        },
        ["action #2", "field 'segmnt'", "did you mean 'segment'?", "(allowed: segment)"],
    ),
    (
        "segment action without a segment",
        {
            "triggers": [
                {
                    "id": "t",
                    "when": {"total": {"gte": 5}},
                    "actions": [{"do": "mautic.segment.add"}],
                }
            ]
        },
        ["action #1", "mautic.segment.add needs 'segment'"],
    ),
    (
        "unknown placeholder",
        {
            "triggers": [
                {
                    "id": "t",
                    "when": {"total": {"gte": 5}},
                    "actions": [{"do": "crm.task", "subject": "Call {nmae}: {score}"}],
                }
            ]
        },
        ["field 'subject'", "unknown placeholder {nmae}", "did you mean 'name'?", "{stage_score}"],
    ),
    (
        "a group named like the total",
        {"groups": [{"key": "stage_score"}]},
        ["groups #1 (key 'stage_score')", "field 'key'", "reserved"],
    ),
]


@pytest.mark.parametrize(("case", "doc", "needles"), BAD, ids=[b[0] for b in BAD])
def test_rule_file_errors_name_file_rule_and_field(
    case: str, doc: dict[str, Any], needles: list[str], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules({"version": "1", **doc}, file="config/scoring.toml")
    message = str(info.value)
    assert message.startswith("config/scoring.toml: "), message
    for needle in needles:
        assert needle in message, message


def test_load_rules_reports_the_file_for_toml_and_io_errors(tmp_path: Path) -> None:
    broken = tmp_path / "scoring.toml"
    broken.write_text('version = "1"\n[[rules]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"scoring\.toml: not valid TOML"):
        load_rules(broken)
    with pytest.raises(ConfigError, match=r"missing\.toml: cannot read"):
        load_rules(tmp_path / "missing.toml")


def test_load_rules_error_from_a_file_names_rule_and_field(tmp_path: Path) -> None:
    path = tmp_path / "scoring.toml"
    path.write_text(
        'version = "1"\n[[rules]]\nid = "a"\nevent = "page.hit"\npoints = 1\n'
        '[[rules]]\nid = "pricing-page"\nevent = "page.hit"\nurl = "*/p*"\npoints = 1\n'
        'colour = "red"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_rules(path)
    message = str(info.value)
    assert message.startswith(f"{path}: rules #2 (id 'pricing-page', line 11): field 'colour':")
    assert "unknown key (allowed: asset_id," in message

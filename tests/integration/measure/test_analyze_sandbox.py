"""``scorebridge analyze`` on the pulled sandbox world: the signals the generator drives from
hidden intent rank above its noise, and the suggested points make a valid rule file."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorebridge.sandbox.seed_activity import _PAGE_WEIGHTS
from scorebridge.sandbox.world import PAGES
from scorebridge.scoring import load_rules

pytestmark = pytest.mark.slow


def _path(key: str) -> str:
    return "/" + PAGES[key].split("/", 3)[3] if PAGES[key].count("/") > 2 else "/"


def test_intent_driven_pages_rank_above_the_noise(analysis: tuple[dict, Path]) -> None:
    doc, _ = analysis
    # a raw signal with exactly a rule's rows is listed once, under the rule ("same_as")
    lift = {k: s["lift"].get("value") for s in doc["signals"] for k in [s["signal"], *s["same_as"]]}
    rank = {k: i for i, s in enumerate(doc["signals"]) for k in [s["signal"], *s["same_as"]]}
    assert (
        "page:/pricing"
        in next(s for s in doc["signals"] if s["signal"] == "rule:pricing-page")["same_as"]
    )
    # the generator's truth: how much a page's share of visits grows with intent
    driven = [f"page:{_path(k)}" for k, (_, extra) in _PAGE_WEIGHTS.items() if extra >= 0.8]
    noise = [f"page:{_path(k)}" for k, (_, extra) in _PAGE_WEIGHTS.items() if extra <= 0]
    assert len(driven) == 5
    assert len(noise) == 3
    assert all(lift[k] is not None for k in driven + noise)
    assert min(lift[k] for k in driven) > max(lift[k] for k in noise)
    assert max(rank[k] for k in driven) < min(rank[k] for k in noise)
    assert lift["rule:pricing-page"] > 1.5 > lift["rule:careers"]
    # the buying forms and the price list, which only buyers ask for, rank above every page
    buying = ["form:3", "form:4", "form:6", "asset:1"]
    assert all(lift[k] is not None for k in buying)
    assert min(lift[k] for k in buying) > max(lift[k] for k in driven)


def test_each_line_has_rates_with_and_without_and_a_wilson_interval(
    analysis: tuple[dict, Path],
) -> None:
    doc, _ = analysis
    pricing = next(s for s in doc["signals"] if s["signal"] == "rule:pricing-page")
    with_rate, without = pricing["win_rate_with"], pricing["win_rate_without"]
    assert with_rate["low"] < with_rate["value"] < with_rate["high"]
    assert without["value"] < with_rate["value"]
    assert pricing["lift"]["value"] == pytest.approx(with_rate["value"] / doc["base_rate"], 1e-3)
    assert pricing["contacts"] >= 20
    webinar = next(s for s in doc["signals"] if s["signal"] == "rule:webinar")
    assert webinar["won_contacts"] < 5
    assert webinar["lift"]["insufficient"] == f"insufficient data ({webinar['won_contacts']} wins)"
    assert doc["rare_signals_left_out"] >= 0


def test_suggested_points_make_a_rule_file(analysis: tuple[dict, Path]) -> None:
    doc, candidate = analysis
    points = {p["rule"]: p for p in doc["points"]}
    assert points["pricing-page"]["suggested_points"] > 0
    assert points["demo-request"]["suggested_points"] > 0
    assert points["careers"]["suggested_points"] < 0
    kept = [p for p in doc["points"] if p["suggested_points"] is None]
    assert all(p["insufficient"].startswith("insufficient data (") for p in kept)
    assert "[[rules]]" in doc["snippet"]
    assert "(scorebridge analyze)" in doc["snippet"]
    rules = load_rules(candidate)  # a valid rule file, with a new version
    assert rules.version.endswith("+analyze")
    by_id = {r.id: r.points for r in rules.rules}
    assert by_id["pricing-page"] == points["pricing-page"]["suggested_points"]
    assert by_id["webinar"] == points["webinar"]["current_points"]  # too few wins: kept
    # the report test backtests this candidate beside the example rules

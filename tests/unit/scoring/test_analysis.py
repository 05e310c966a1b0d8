"""Signal lines, suggested points and the rewritten rule file, on hand-made features."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from scipy import sparse
from scoring_support import EXAMPLE, ruleset

from scorebridge.scoring import load_rules, parse_rules
from scorebridge.scoring.analysis import (
    PointSuggestion,
    rewrite_points,
    signal_lines,
    suggest_points,
)
from scorebridge.scoring.measures import MIN_WINS
from scorebridge.scoring.signals import PAGE, Catalog, Features, Signal

RULES = ruleset(
    rules=[
        {"id": "pricing", "event": "page.hit", "url": "*/pricing*", "points": 10},
        {"id": "blog", "event": "page.hit", "url": "*/blog*", "points": 2},
    ]
)


def features(seed: int = 2) -> Features:
    """300 contacts x 4 snapshots; pricing visitors win four times as often."""
    rng = np.random.default_rng(seed)
    catalog = Catalog.of(RULES)
    catalog.add(Signal("page:/rare", PAGE, "page /rare"))
    n, s = 300, 4
    contact = np.tile(np.arange(n), s)
    pricing = np.repeat(rng.random(n) < 0.3, 1)[contact]
    blog = rng.random(n * s) < 0.5
    rare = contact < 3
    won = rng.random(n * s) < np.where(pricing, 0.2, 0.05)
    rows, cols = [], []
    for key, flag in (("rule:pricing", pricing), ("rule:blog", blog), ("page:/rare", rare)):
        col = catalog.index[key]
        rows.append(np.flatnonzero(flag))
        cols.append(np.full(int(flag.sum()), col))
    matrix = sparse.csr_matrix(
        (np.ones(sum(map(len, rows))), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n * s, len(catalog)),
    )
    return Features(
        matrix, won, contact + 1, np.repeat(np.arange(s), n), catalog, np.ones(len(catalog))
    )


def test_a_line_counts_rows_and_contacts_with_and_without_the_signal() -> None:
    f = features()
    lines, left_out = signal_lines(f)
    keys = {line.signal.key for line in lines}
    assert "page:/rare" not in keys  # seen for 3 contacts only: left out, and counted
    assert left_out >= 1
    assert {"rule:pricing", "rule:blog"} <= keys  # the rule file's own signals always stay
    pricing = next(line for line in lines if line.signal.key == "rule:pricing")
    has = f.matrix[:, f.catalog.index["rule:pricing"]].toarray().ravel() > 0
    assert pricing.rows == int(has.sum())
    assert pricing.wins == int((has & f.won).sum())
    assert pricing.contacts == len(np.unique(f.contact_ids[has]))
    assert pricing.with_rate.value == pytest.approx(f.won[has].mean())
    assert pricing.without_rate.value == pytest.approx(f.won[~has].mean())
    assert pricing.lift.value == pytest.approx(f.won[has].mean() / f.won.mean())
    assert lines[0] is pricing  # ranked first by lift
    assert pricing.with_rate.low < pricing.with_rate.value < pricing.with_rate.high


def test_a_rule_with_too_few_wins_reads_insufficient() -> None:
    f = features()
    f.won[:] = False
    f.won[: MIN_WINS - 2] = True
    lines, _ = signal_lines(f)
    assert all(not line.lift.known for line in lines)
    assert suggest_points(f, lines) == []  # no regression on so few wins: every rule keeps its
    assert lines[0].lift.text() == f"insufficient data ({lines[0].won_contacts} wins)"


def test_rewritten_points_keep_everything_else_and_parse() -> None:
    text = EXAMPLE.read_text()
    signal = Signal("rule:pricing-page", "rule", "Visited the pricing page", 10)
    fit = Signal("fit:free-mail", "fit", "Private e-mail address", -5)
    same = Signal("rule:careers", "rule", "Looked at jobs", -10)
    whole, snippet = rewrite_points(
        text,
        [
            PointSuggestion(signal, 1.2, 17, 100, 30),
            PointSuggestion(fit, -0.4, -9, 100, 30),
            PointSuggestion(same, -0.2, -10, 100, 30),  # unchanged: not in the snippet
        ],
    )
    rules = parse_rules(tomllib.loads(whole))
    assert rules.version == f"{load_rules(EXAMPLE).version}+analyze"
    assert {r.id: r.points for r in rules.rules}["pricing-page"] == 17
    assert {f.id: f.points for f in rules.fit}["free-mail"] == -9
    assert whole.count("(scorebridge analyze)") == 2
    assert snippet.count("[[rules]]") == 1
    assert snippet.count("[[fit]]") == 1
    assert "points = 17  # was 8 (scorebridge analyze)" in snippet
    assert not snippet.rstrip().endswith("--")  # no trailing section comment
    unchanged = [line for line in whole.splitlines() if "scorebridge analyze" not in line]
    original = text.splitlines()
    assert len(unchanged) == len(original) - 2

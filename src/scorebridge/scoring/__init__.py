"""Lead scoring: the rule file, the compiled rules and the pure engine (DESIGN §5).

Modules: ``rules`` (rule file models + loading), ``checks`` (whole-file validation),
``matchers`` (compiled rules, event matching), ``fit``, ``decay``, ``opens`` (suspect opens),
``conditions``, ``stages``, ``triggers``, ``engine`` (:func:`score`), ``explain``, ``model``
(neutral records). Nothing in this package performs I/O except :func:`load_rules` reading the
rule file; nothing reads the clock.
"""

from scorebridge.scoring.engine import round_half_up, score
from scorebridge.scoring.explain import explain_json, explain_text, top_reasons
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.model import (
    ContactFacts,
    Contribution,
    FiredTrigger,
    PriorState,
    ScoreResult,
    ScoringEvent,
    TriggerState,
    TriggerStateIn,
    TriggerStateOut,
)
from scorebridge.scoring.rules import RuleSet, compile_rules, load_rules, parse_rules

__all__ = [
    "CompiledRules",
    "ContactFacts",
    "Contribution",
    "FiredTrigger",
    "PriorState",
    "RuleSet",
    "ScoreResult",
    "ScoringEvent",
    "TriggerState",
    "TriggerStateIn",
    "TriggerStateOut",
    "compile_rules",
    "explain_json",
    "explain_text",
    "load_rules",
    "parse_rules",
    "round_half_up",
    "score",
    "top_reasons",
]

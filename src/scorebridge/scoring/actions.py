"""Trigger actions: which ``do`` exist, their parameters, and the text templates they fill.

Owns: :data:`ACTIONS` (per ``do``: required and optional parameters with their checks),
:func:`check_action` (the load-time validation of one action, with messages naming the parameter
and what is allowed), :data:`PLACEHOLDERS` (the documented template placeholders) and
:func:`fill` (rendering a template with them). Must not: render tasks or deals (the planner
does) or know any remote API.

Template placeholders (for ``subject``, ``name`` and ``text``):

=============  =========================================================
``{name}``     the contact's full name, else e-mail, else "contact <Mautic id>"
``{first_name}`` / ``{last_name}`` / ``{email}`` / ``{company}``  the contact's fields
``{score}``    the lifetime score (``{total}`` is the same number)
``{stage_score}``  the score counted since the entry into the current stage
``{band}`` / ``{stage}``  the band and the funnel stage
``{trigger}``  the trigger's label
=============  =========================================================
"""

from __future__ import annotations

import difflib
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDERS: tuple[str, ...] = (
    "name",
    "first_name",
    "last_name",
    "email",
    "company",
    "score",
    "total",
    "stage_score",
    "band",
    "stage",
    "trigger",
)
_SAMPLE: dict[str, Any] = {
    "name": "Ada Example",
    "first_name": "Ada",
    "last_name": "Example",
    "email": "ada@example.com",
    "company": "Example AS",
    "score": 80,
    "total": 80,
    "stage_score": 12,
    "band": "hot",
    "stage": "sql",
    "trigger": "turned-hot",
}

Check = Callable[[Any], str | None]
"""A parameter check: None when the value is fine, else what is wrong with it."""


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a non-empty text"


def _template(value: Any) -> str | None:
    problem = _text(value)
    return problem if problem is not None else template_problem(value)


def _number(low: float) -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= low
        return None if ok else f"must be a number >= {low:g}"

    return check


def _one_of(*allowed: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return check


def _texts(value: Any) -> str | None:
    if isinstance(value, list) and value and all(_text(v) is None for v in value):
        return None
    return "must be a non-empty list of texts"


@dataclass(frozen=True)
class ActionSpec:
    """The parameters one kind of action takes."""

    summary: str
    required: Mapping[str, Check] = field(default_factory=dict)
    optional: Mapping[str, Check] = field(default_factory=dict)
    one_of: tuple[str, ...] = ()
    """Exactly one of these optional parameters must be given."""

    @property
    def allowed(self) -> list[str]:
        return sorted({*self.required, *self.optional})


_ASSIGN = _one_of("owner", "round_robin")
ACTIONS: dict[str, ActionSpec] = {
    "crm.task": ActionSpec(
        "a follow-up task for the contact's owner in the CRM (a call note in Mautic)",
        optional={
            "subject": _template,
            "due_in_days": _number(0),
            "assign": _ASSIGN,
            "priority": _one_of("low", "medium", "high"),
        },
    ),
    "crm.deal": ActionSpec(
        "a deal in the CRM (one open deal per contact and pipeline)",
        optional={
            "name": _template,
            "pipeline": _text,
            "stage": _text,
            "amount": _number(0),
            "assign": _ASSIGN,
        },
    ),
    "mautic.segment.add": ActionSpec("add to a Mautic segment", required={"segment": _text}),
    "mautic.segment.remove": ActionSpec(
        "remove from a Mautic segment", required={"segment": _text}
    ),
    "mautic.tag.add": ActionSpec(
        "add Mautic tags", optional={"tag": _text, "tags": _texts}, one_of=("tag", "tags")
    ),
    "mautic.tag.remove": ActionSpec(
        "remove Mautic tags", optional={"tag": _text, "tags": _texts}, one_of=("tag", "tags")
    ),
}


def template_problem(template: str) -> str | None:
    """What is wrong with a template (an unknown placeholder, bad braces), or None."""
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return f"bad template {template!r}: {exc} (write {{{{ and }}}} for literal braces)"
    for name in names:
        if name not in PLACEHOLDERS:
            return (
                f"unknown placeholder {{{name}}} in {template!r}{did_you_mean(name, PLACEHOLDERS)}"
                f" (placeholders: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
            )
    try:
        template.format(**_SAMPLE)
    except (ValueError, IndexError, KeyError) as exc:
        return f"bad template {template!r}: {exc}"
    return None


def did_you_mean(word: str, choices: Any) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or the empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_action(params: Mapping[str, Any]) -> str | None:
    """The first problem of one action (``do`` plus its parameters), or None."""
    do = params.get("do")
    spec = ACTIONS.get(do) if isinstance(do, str) else None
    if spec is None:
        known = ", ".join(ACTIONS)
        return f"field 'do': unknown action {do!r}{did_you_mean(str(do), ACTIONS)} (known: {known})"
    given = {k: v for k, v in params.items() if k != "do"}
    for key in given:
        if key not in spec.required and key not in spec.optional:
            allowed = ", ".join(spec.allowed) or "none"
            return (
                f"field {key!r}: unknown parameter of {do}{did_you_mean(key, spec.allowed)}"
                f" (allowed: {allowed})"
            )
    for key in spec.required:
        if key not in given:
            return f"field {key!r}: {do} needs {key!r}"
    if spec.one_of and sum(k in given for k in spec.one_of) != 1:
        return f"field {spec.one_of[0]!r}: {do} needs exactly one of {', '.join(spec.one_of)}"
    for key, value in given.items():
        check = spec.required.get(key) or spec.optional[key]
        problem = check(value)
        if problem is not None:
            return f"field {key!r}: {problem}"
    return None


def fill(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with its placeholders replaced (validated at load, so this cannot fail)."""
    return template.format_map({p: values.get(p, "") for p in PLACEHOLDERS})

"""Warnings about a valid rule file that will not do what its author means (``doctor``).

Owns: pure checks over the compiled rules and what the systems report — a URL glob that cannot
match a full URL, a fit field neither Mautic nor the CRM provides, an act scored twice (a
behaviour rule plus Mautic's point log for a Mautic point action on the same act). Each returns
plain :class:`Warning` records. Must not: talk to any system (the caller passes what it read) or
refuse a rule file (that is validation's job).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scorebridge.scoring.matchers import CompiledRules

CRM_PREFIX = "crm."
#: Mautic point action type -> the event kind of the same act.
POINT_ACTION_KINDS: dict[str, str] = {
    "url.hit": "page.hit",
    "page.hit": "page.hit",
    "form.submit": "form.submit",
    "asset.download": "asset.download",
    "email.open": "email.open",
    "email.click": "email.click",
    "email.send": "email.send",
}
#: Fields every Mautic contact has besides the custom ones the field list reports.
MAUTIC_CORE_FIELDS = frozenset({"email", "firstname", "lastname", "company", "position"})


@dataclass(frozen=True)
class Warning:
    """One finding: which rule, what is wrong, what to do."""

    rule_id: str
    message: str
    fix: str


def unmatchable_urls(raw_urls: dict[str, str]) -> list[Warning]:
    """URL globs (``url = ...`` by rule id) that can never match a full URL."""
    found = []
    for rule_id, glob in raw_urls.items():
        if glob.startswith(("*", "?", "http://", "https://", "[")):
            continue
        found.append(
            Warning(
                rule_id,
                f"url = {glob!r} matches whole URLs (https://host/...), so it never matches",
                f"write path = {glob!r} to match the URL's path, or start the glob with *",
            )
        )
    return found


def missing_fit_fields(
    rules: CompiledRules, mautic_fields: Iterable[str], crm_fields: Iterable[str] | None
) -> list[Warning]:
    """Fit rules on a field neither system provides (``crm_fields`` None: CRM not checked)."""
    mautic = {f.casefold() for f in mautic_fields} | MAUTIC_CORE_FIELDS
    crm = None if crm_fields is None else {f.casefold() for f in crm_fields}
    found = []
    for fit in rules.fit:
        name = fit.field
        if name.startswith(CRM_PREFIX):
            if crm is not None and name[len(CRM_PREFIX) :].casefold() not in crm:
                found.append(
                    Warning(
                        fit.id,
                        f"field {name!r}: the CRM has no contact property "
                        f"{name[len(CRM_PREFIX) :]!r}",
                        "name an existing CRM property (crm.<internal name>) or create it",
                    )
                )
        elif name.casefold() not in mautic:
            hint = f"; the CRM has it: write crm.{name}" if crm and name.casefold() in crm else ""
            found.append(
                Warning(
                    fit.id,
                    f"field {name!r}: Mautic has no contact field with this alias{hint}",
                    "use a Mautic field alias (Settings > Custom Fields) or crm.<property>",
                )
            )
    return found


def double_counted(rules: CompiledRules, point_actions: Sequence[Any]) -> list[Warning]:
    """Acts scored twice: a behaviour rule of a kind and a scored Mautic point action on it."""
    point_rules = [r for r in rules.rules if r.kind == "mautic.points"]
    if not point_rules:
        return []
    found = []
    for action in point_actions:
        if not getattr(action, "is_published", True) or not getattr(action, "delta", 0):
            continue
        kind = POINT_ACTION_KINDS.get(str(action.type))
        if kind is None:
            continue
        attrs = {"type": action.type, "action": action.name}
        scoring = [r for r in point_rules if r.accepts(attrs)]
        behaviour = [r for r in rules.rules if r.kind == kind]
        if scoring and behaviour:
            found.append(
                Warning(
                    behaviour[0].id,
                    f"{kind} is scored twice: by rule {behaviour[0].id!r} and by Mautic's point "
                    f"action {action.name!r} ({action.delta:+d}) through rule {scoring[0].id!r}",
                    "score the act once: drop one of the rules, or filter the mautic.points rule "
                    "with point_type/point_action",
                )
            )
    return found

"""The compiled rule set: plain, slotted objects the engine and bulk rescoring use in hot loops.

Owns: :func:`compile_rules` (RuleSet -> :class:`CompiledRules`) and event matching.
``CompiledRules.matches(kind, attributes)`` depends only on the event's kind and attributes, never
on time or contact, so bulk code can match each distinct :meth:`CompiledRules.signature` once;
the compiled set keeps such a cache itself. Must not: evaluate points, time or contacts.

Matching decisions: ``url`` is a glob (``*`` any run, ``?`` one character) over the whole URL,
case-insensitive like Mautic's URL-hit action; ``path`` the same over the URL's path only
(``/pricing*`` matches ``https://example.com/pricing?plan=pro``); id lists accept ids as
numbers or digit strings (Mautic's stats rows are all strings); ``point_*`` and ``attributes``
filters compare the case-folded text forms; a rule matches when every filter it has matches.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scorebridge.scoring.conditions import CompiledCondition
from scorebridge.scoring.fit import CompiledFit, compile_fit, token
from scorebridge.scoring.model import FROM_MAUTIC, ScoringEvent
from scorebridge.scoring.stages import CompiledStage, compile_stages
from scorebridge.scoring.triggers import CompiledTrigger, compile_triggers

if TYPE_CHECKING:
    from scorebridge.scoring.rules import Rule, RuleSet

_CACHE_LIMIT = 262_144
_ID_FIELDS = (("form_id", "form_id"), ("asset_id", "asset_id"), ("email_id", "email_id"))
_POINT_FIELDS = (("point_type", "type"), ("point_action", "action"), ("point_group", "group"))


def _id_token(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One behaviour rule. ``points`` None means "take ``attributes['delta']``"; ``group`` None
    means the points go straight into the total."""

    index: int
    id: str
    label: str
    kind: str
    group: str | None
    points: float | None
    url: re.Pattern[str] | None
    path: re.Pattern[str] | None
    ids: tuple[tuple[str, frozenset[int]], ...]
    texts: tuple[tuple[str, frozenset[str]], ...]
    max_per_day: int | None
    max_total: int | None
    half_life_days: float | None
    linear_decay_days: float | None
    expires_after_days: float | None
    suspect_open_factor: float | None

    @property
    def capped(self) -> bool:
        """Whether which events count depends on their order in time."""
        return self.max_per_day is not None or self.max_total is not None

    def accepts(self, attributes: Mapping[str, Any]) -> bool:
        """Whether the event attributes pass every filter of this rule."""
        if self.url is not None or self.path is not None:
            url = attributes.get("url")
            if not isinstance(url, str):
                return False
            if self.url is not None and self.url.match(url) is None:
                return False
            if self.path is not None and self.path.match(url_path(url)) is None:
                return False
        for key, wanted in self.ids:
            if _id_token(attributes.get(key)) not in wanted:
                return False
        for key, texts in self.texts:
            value = attributes.get(key)
            if value is None or token(value) not in texts:
                return False
        return True


@dataclass(frozen=True, slots=True)
class InactivityRule:
    """``points`` per started ``every_days`` period once ``after_days`` passed without activity."""

    after_days: float
    points: float
    every_days: float
    group: str | None


@dataclass
class CompiledRules:
    """A rule set compiled for scoring; immutable apart from its internal match cache."""

    version: str
    scale_min: float
    scale_max: float
    groups: tuple[str, ...]
    group_max: dict[str, float]
    group_weight: dict[str, float]
    mautic_groups: dict[str, str]
    """Mautic point group name (and its case-folded form) -> the topic group mirrored to it;
    a group with ``mautic_group = ""`` is not mirrored."""
    rules: tuple[CompiledRule, ...]
    fit: tuple[CompiledFit, ...]
    inactivity: InactivityRule | None
    bands: tuple[tuple[str, float], ...]
    base_band: str
    stages: tuple[CompiledStage, ...]
    triggers: tuple[CompiledTrigger, ...]
    _by_kind: dict[str, tuple[CompiledRule, ...]] = field(default_factory=dict)
    _keys_by_kind: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _cache: dict[Any, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_kind: dict[str, list[CompiledRule]] = {}
        for rule in self.rules:
            by_kind.setdefault(rule.kind, []).append(rule)
        self._by_kind = {k: tuple(v) for k, v in by_kind.items()}
        for kind, rules in self._by_kind.items():
            keys: set[str] = set()
            for rule in rules:
                keys.update(k for k, _ in rule.ids)
                keys.update(k for k, _ in rule.texts)
                if rule.url is not None or rule.path is not None:
                    keys.add("url")
            self._keys_by_kind[kind] = tuple(sorted(keys))

    def signature(self, event_kind: str, attributes: Mapping[str, Any]) -> tuple[Any, ...]:
        """A hashable key: events with equal signatures match the same rules."""
        keys = self._keys_by_kind.get(event_kind)
        if not keys:
            return (event_kind,)
        sig = (event_kind, *map(attributes.get, keys))
        try:
            hash(sig)
        except TypeError:
            sig = (event_kind, *(_hashable(attributes.get(k)) for k in keys))
        return sig

    def matches(self, event: ScoringEvent) -> tuple[int, ...]:
        """Indices (into ``rules``) of the rules this event matches, in rule-file order."""
        return self.match(event.kind, event.attributes)

    def match(self, kind: str, attributes: Mapping[str, Any]) -> tuple[int, ...]:
        """:meth:`matches` from the kind and attributes alone (cached by signature)."""
        rules = self._by_kind.get(kind)
        if rules is None:
            return ()
        sig = self.signature(kind, attributes)
        hit = self._cache.get(sig)
        if hit is None:
            hit = tuple(r.index for r in rules if r.accepts(attributes))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[sig] = hit
        return hit

    def group_of(self, rule: CompiledRule, attributes: Mapping[str, Any]) -> str | None:
        """The topic group an event matched by ``rule`` counts in (resolves ``from_mautic``);
        None: straight into the total."""
        if rule.group != FROM_MAUTIC:
            return rule.group
        return self.route_mautic_group(attributes.get("group"))

    def route_mautic_group(self, mautic_group: Any) -> str | None:
        """The configured group mirrored to this Mautic point group, else None (the total)."""
        if mautic_group is None or mautic_group == "":
            return None
        name = str(mautic_group)
        return self.mautic_groups.get(name) or self.mautic_groups.get(name.casefold())

    def band_of(self, total_value: int) -> str:
        """The band of a reported total: the highest band whose lower bound it reaches."""
        band = self.base_band
        for name, lower in self.bands:
            if total_value >= lower:
                band = name
        return band


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    return value


def _glob(pattern: str | None) -> re.Pattern[str] | None:
    return None if pattern is None else re.compile(fnmatch.translate(pattern), re.IGNORECASE)


def url_path(url: str) -> str:
    """The path of a URL ("/" for a bare host; the text itself when it is not a URL)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme and not parts.netloc:
        return parts.path or url
    return parts.path or "/"


def _compile_rule(index: int, rule: Rule) -> CompiledRule:
    ids = tuple(
        (attr, frozenset(getattr(rule, name)))
        for name, attr in _ID_FIELDS
        if getattr(rule, name) is not None
    )
    texts = [
        (attr, frozenset(token(v) for v in getattr(rule, name)))
        for name, attr in _POINT_FIELDS
        if getattr(rule, name) is not None
    ]
    for key, want in (rule.attributes or {}).items():
        values = want if isinstance(want, list) else [want]
        texts.append((key, frozenset(token(v) for v in values)))
    return CompiledRule(
        index=index,
        id=rule.id,
        label=rule.label or rule.id,
        kind=rule.event,
        group=rule.group,
        points=None if rule.points == "delta" else float(rule.points),
        url=_glob(rule.url),
        path=_glob(rule.path),
        ids=ids,
        texts=tuple(texts),
        max_per_day=rule.max_per_day,
        max_total=rule.max_total,
        half_life_days=rule.half_life_days,
        linear_decay_days=rule.linear_decay_days,
        expires_after_days=rule.expires_after_days,
        suspect_open_factor=rule.suspect_open_factor,
    )


def compile_rules(ruleset: RuleSet) -> CompiledRules:
    """Compile a validated rule set into the fast form the engine uses."""
    groups = tuple(ruleset.group_keys())
    by_key = {g.key: g for g in ruleset.groups}
    group_max = {k: min(ruleset.scale.max, by_key[k].max or ruleset.scale.max) for k in groups}
    mautic: dict[str, str] = {}
    for g in ruleset.groups:
        if g.mautic_group == "":
            continue  # not mirrored to a Mautic point group
        name = g.mautic_group or g.key
        mautic[name] = g.key
        mautic.setdefault(name.casefold(), g.key)
    bands = {name: float(v) for name, v in ruleset.bands.items()}
    inactivity = ruleset.inactivity
    return CompiledRules(
        version=ruleset.version,
        scale_min=ruleset.scale.min,
        scale_max=ruleset.scale.max,
        groups=groups,
        group_max=group_max,
        group_weight={k: by_key[k].weight for k in groups},
        mautic_groups=mautic,
        rules=tuple(_compile_rule(i, r) for i, r in enumerate(ruleset.rules)),
        fit=tuple(compile_fit(f) for f in ruleset.fit),
        inactivity=None
        if inactivity is None
        else InactivityRule(
            inactivity.after_days, inactivity.points, inactivity.every_days, inactivity.group
        ),
        bands=tuple(sorted(bands.items(), key=lambda item: item[1])),
        base_band=ruleset.base_band,
        stages=compile_stages(ruleset.stages, bands),
        triggers=compile_triggers(ruleset.triggers, bands, [s.key for s in ruleset.stages]),
    )


__all__ = ["CompiledCondition", "CompiledRule", "CompiledRules", "InactivityRule", "compile_rules"]

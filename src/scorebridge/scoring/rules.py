"""The rule file (``config/scoring.toml``): pydantic models, loading and error reporting.

Owns: the schema of the rule file (every model rejects unknown keys), the checks that need the
whole file (unknown groups, bands, stages; duplicate ids; hysteresis on the right side of the
threshold) and :func:`load_rules`, whose :class:`~scorebridge.errors.ConfigError` names the file,
the rule (index and id) and the field. Compilation into fast matchers lives in
:mod:`scoring.matchers` (re-exported here as :func:`compile_rules`). Must not: score anything or
be used in a per-event loop (pydantic objects are too slow there).

Vocabulary decisions (where DESIGN §5 leaves a gap):
- ``group`` omitted means "no topic": the points go straight into the total (DESIGN §5);
  ``from_mautic`` routes each Mautic point-log row to the configured group whose
  ``mautic_group`` (default: its key; ``""``: not mirrored to Mautic) equals the row's
  ``attributes["group"]``, else straight into the total.
- ``max_per_day`` / ``max_total`` count *events* per contact (``max_total = 1`` is Mautic's
  non-repeatable action); point ceilings are the groups' ``max``.
- Mautic point-log filters are ``point_type``, ``point_action``, ``point_group`` (exact strings)
  because ``group`` already names the scoring group.
- Trigger/stage conditions: ``{ total = { gte = 50 } }`` (the lifetime score),
  ``{ stage_score = { gte = 50 } }``, ``{ group = "g", gte = 50 }`` or ``{ band = "hot" }``
  (the band or a higher one, i.e. total >= the band's lower bound).
- Actions are ``do`` plus the parameters :mod:`scoring.actions` lists for it (unknown ones are
  refused with the allowed ones; templates may use only the documented placeholders).
- Additions: ``label`` (human text for explain and sales tasks) on rules, fit rules, stages and
  triggers; ``base_band`` (default "cold") names the band below the lowest threshold; a
  trigger's ``before_stage`` stops it firing once the contact reached that stage;
  ``rearm_above`` is the hysteresis of downward ("lt") triggers; ``linear_decay_days``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scorebridge.errors import ConfigError
from scorebridge.scoring.checks import check_references
from scorebridge.scoring.matchers import CompiledRules, compile_rules
from scorebridge.scoring.model import FROM_MAUTIC
from scorebridge.scoring.rule_errors import describe

__all__ = ["CompiledRules", "RuleSet", "compile_rules", "load_rules", "parse_rules"]
BEHAVIOUR_KINDS = frozenset(
    {
        "page.hit",
        "email.send",
        "email.open",
        "email.click",
        "form.submit",
        "asset.download",
        "mautic.points",
        "dnc.unsubscribed",
        "dnc.bounced",
    }
)
_KEY = r"^[a-z][a-z0-9_]*$"
_ID = r"^[a-z0-9][a-z0-9_.-]*$"
Key = Annotated[str, Field(pattern=_KEY, max_length=64)]
RuleId = Annotated[str, Field(pattern=_ID, max_length=80)]
Scalar = str | int | float | bool

_ONLY_FOR: dict[str, tuple[str, ...]] = {
    "url": ("page.hit", "email.click"),
    "path": ("page.hit", "email.click"),
    "form_id": ("form.submit",),
    "asset_id": ("asset.download",),
    "email_id": ("email.open", "email.click", "email.send"),
    "point_type": ("mautic.points",),
    "point_action": ("mautic.points",),
    "point_group": ("mautic.points",),
    "suspect_open_factor": ("email.open",),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(_Strict):
    min: float = 0.0
    max: float = 100.0

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min >= self.max:
            raise ValueError("field 'min' must be below 'max'")
        return self


class Inactivity(_Strict):
    after_days: float = Field(gt=0)
    points: float
    every_days: float = Field(gt=0)
    group: Key | None = None


class Group(_Strict):
    key: Key
    label: str | None = None
    max: float | None = None
    weight: float = 1.0
    mautic_group: str | None = None


class Rule(_Strict):
    """A behaviour rule: which events earn how many points, how often, and how they age."""

    id: RuleId
    label: str | None = None
    event: str
    group: Key | None = None
    points: float | Literal["delta"]
    url: str | None = Field(default=None, min_length=1)
    path: str | None = Field(default=None, min_length=1)
    form_id: list[int] | None = Field(default=None, min_length=1)
    asset_id: list[int] | None = Field(default=None, min_length=1)
    email_id: list[int] | None = Field(default=None, min_length=1)
    point_type: list[str] | None = Field(default=None, min_length=1)
    point_action: list[str] | None = Field(default=None, min_length=1)
    point_group: list[str] | None = Field(default=None, min_length=1)
    attributes: dict[str, Scalar | list[Scalar]] | None = None
    max_per_day: int | None = Field(default=None, ge=1)
    max_total: int | None = Field(default=None, ge=1)
    half_life_days: float | None = Field(default=None, gt=0)
    linear_decay_days: float | None = Field(default=None, gt=0)
    expires_after_days: float | None = Field(default=None, gt=0)
    suspect_open_factor: float | None = Field(default=None, ge=0, le=1)

    @field_validator("event")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind in BEHAVIOUR_KINDS or (kind.startswith("crm.") and len(kind) > 4):
            return kind
        known = ", ".join(sorted(BEHAVIOUR_KINDS))
        raise ValueError(f"unknown event kind {kind!r} (known: {known}, crm.*)")

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> Rule:
        for name, kinds in _ONLY_FOR.items():
            if getattr(self, name) is not None and self.event not in kinds:
                raise ValueError(f"field {name!r}: only allowed for event {' or '.join(kinds)}")
        if self.url is not None and self.path is not None:
            raise ValueError("field 'path': give url (the whole URL) or path, not both")
        if self.path is not None and not self.path.startswith(("/", "*")):
            raise ValueError(
                f"field 'path': {self.path!r} must start with / or * (it matches the URL's path)"
            )
        if self.half_life_days is not None and self.linear_decay_days is not None:
            raise ValueError("field 'linear_decay_days': choose half_life_days or linear decay")
        if self.points == "delta" and not (
            self.event == "mautic.points" or self.event.startswith("crm.")
        ):
            raise ValueError("field 'points': \"delta\" only for mautic.points and crm.* events")
        if self.group == FROM_MAUTIC and self.event != "mautic.points":
            raise ValueError("field 'group': from_mautic only for mautic.points events")
        return self


class FitRule(_Strict):
    """A state-based rule on a contact field; contributes while its condition holds."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: RuleId
    label: str | None = None
    field: str = Field(min_length=1)
    group: Key | None = None
    points: float
    eq: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    not_in: list[Scalar] | None = Field(default=None, min_length=1)
    matches: str | None = None
    gte: float | None = None
    lte: float | None = None
    exists: bool | None = None
    domain_in: list[str] | None = Field(default=None, min_length=1)

    @field_validator("matches")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _one_operator(self) -> FitRule:
        ops = [n for n in ("eq", "in_", "not_in", "matches", "exists", "domain_in")]
        used = [n for n in ops if getattr(self, n) is not None]
        ranged = self.gte is not None or self.lte is not None
        if len(used) + int(ranged) != 1:
            raise ValueError(
                "field 'eq': give exactly one of eq, in, not_in, matches, gte/lte, exists, "
                "domain_in"
            )
        return self


class Threshold(_Strict):
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None


class Condition(_Strict):
    """``{total = {gte = N}}``, ``{stage_score = {gte = N}}``, ``{group = "g", gte = N}`` or
    ``{band = "hot"}``."""

    total: Threshold | None = None
    stage_score: Threshold | None = None
    group: Key | None = None
    band: str | None = None
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> Condition:
        subjects = [
            s for s in (self.total, self.stage_score, self.group, self.band) if s is not None
        ]
        if len(subjects) != 1:
            raise ValueError("give exactly one of total, stage_score, group, band")
        inline = (self.gte, self.gt, self.lte, self.lt)
        if self.group is None and any(b is not None for b in inline):
            raise ValueError("field 'gte': inline bounds only with group = ...")
        explicit = [t for t in (self.total, self.stage_score) if t is not None]
        bounds: Threshold | Condition = explicit[0] if explicit else self
        if (bounds.gte is not None and bounds.gt is not None) or (
            bounds.lte is not None and bounds.lt is not None
        ):
            raise ValueError("field 'gte': give gte or gt (and lte or lt), not both")
        if self.band is None and all(
            b is None for b in (bounds.gte, bounds.gt, bounds.lte, bounds.lt)
        ):
            raise ValueError("field 'gte': a total or group condition needs gte, gt, lte or lt")
        return self


class Stage(_Strict):
    key: Key
    label: str | None = None
    when: Condition
    reset_score: bool = False
    allow_back: bool = False
    mautic_stage: str | None = None
    crm_lifecycle: str | None = None


class Action(BaseModel):
    """One action of a fired trigger: ``do`` and its parameters (checked against
    :data:`scoring.actions.ACTIONS` with the whole file)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    do: str


class Trigger(_Strict):
    id: RuleId
    label: str | None = None
    when: Condition
    rearm_below: float | None = None
    rearm_above: float | None = None
    only_after: Condition | None = None
    before_stage: Key | None = None
    actions: list[Action] = Field(min_length=1)


class RuleSet(_Strict):
    """The whole rule file. ``version`` is stored with every score."""

    version: str = Field(min_length=1)
    scale: Scale = Scale()
    bands: dict[Key, float] = Field(default_factory=dict)
    base_band: Key = "cold"
    inactivity: Inactivity | None = None
    groups: list[Group] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    fit: list[FitRule] = Field(default_factory=list)
    stages: list[Stage] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> RuleSet:
        check_references(self)
        return self

    def group_keys(self) -> list[str]:
        """The configured topic groups' keys, in file order."""
        return [g.key for g in self.groups]


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rule file; every problem becomes a ConfigError naming file/rule/field."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the rule file: {exc.strerror}", file=file) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=file) from None
    return parse_rules(raw, file=file, text=text)


def parse_rules(raw: dict[str, Any], *, file: str = "<rules>", text: str | None = None) -> RuleSet:
    """Validate an already-parsed rule document (``text``, when known, gives line numbers)."""
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as exc:
        # an unknown key usually explains a missing one ("pointz" for "points"): report it first
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        where, message = describe(RuleSet, raw, text, errors[0])
        raise ConfigError(message, file=file, key=where or None) from None

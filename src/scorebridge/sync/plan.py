"""The planner (DESIGN §6): desired remote state of one contact versus what was last written.

Owns: the pure decision of which remote writes a contact needs — :func:`plan_contact` compares
the desired state (:class:`DesiredContact`) with the contact's ``written`` values and returns
one :class:`PlannedOp` per changed write family (Mautic fields, Mautic point-group scores,
Mautic stage, Mautic notes for manual adjustments, CRM contact update or creation) — and the
rendering of fired-trigger actions into sales tasks, deals and notes (:func:`render_task`,
:func:`render_deal`, :func:`note_text`). Every planned op carries the ``written`` values it
establishes, so the pusher can record them without knowing what the op means.
Must not: read the store, the clock or the network; every input is a plain value.

Echo suppression (engineering §B.9): a value equal to what was last written plans nothing, so a
rescore that yields the same scores — and three idle cycles — make zero writes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from scorebridge.scoring.actions import fill
from scorebridge.sync.owners import Assignment

MAUTIC = "mautic"
CRM = "crm"
#: ``written`` target of the e-mail a CRM contact was linked or created with (echo baseline)
EMAIL_TARGET = "prop:email"
#: The op families that carry a contact's state (one pending op per family and contact; the
#: newest plan supersedes an unsent older one). ``crm.email`` is an e-mail change on its own, so
#: a refused one (the address belongs to another CRM contact) never holds up the scores.
STATE_OPS = (
    "mautic.fields",
    "mautic.groups",
    "mautic.stage",
    "crm.update",
    "crm.email",
    "crm.create",
)

#: HubSpot's default lifecycle order; a contact already further along is never moved back.
LIFECYCLE_ORDER: tuple[str, ...] = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
)

WrittenValues = Mapping[tuple[str, str], str]
"""``(system, target) -> value`` last written for one contact."""


@dataclass(frozen=True)
class PlanConfig:
    """What to write where, derived once from the settings and the rules."""

    mautic: bool = True
    score_field: str = "sb_score"
    stage_score_field: str = "sb_stage_score"
    band_field: str = "sb_band"
    win_field: str = ""
    """Mautic field of the predictive score ("": not written, ``[predict]`` off)."""
    group_names: Mapping[str, str] = field(default_factory=dict)
    """Scoring group key -> Mautic point group name (empty: no point-group writes)."""
    group_fields: Mapping[str, str] = field(default_factory=dict)
    """Scoring group key -> Mautic custom number field (empty: group scores not in fields)."""
    mautic_stages: Mapping[str, str] = field(default_factory=dict)
    """Stage key -> Mautic stage name (empty: no stage writes)."""
    notes: bool = True
    crm: bool = False
    score_property: str = "scorebridge_score"
    stage_score_property: str = "scorebridge_stage_score"
    band_property: str = "scorebridge_band"
    win_property: str = ""
    """CRM property of the predictive score ("": not written)."""
    group_properties: Mapping[str, str] = field(default_factory=dict)
    """Scoring group key -> CRM property (empty: no per-group properties)."""
    lifecycles: Mapping[str, str] = field(default_factory=dict)
    """Stage key -> CRM lifecycle value (empty: lifecycle not written)."""
    stage_order: Mapping[str, int] = field(default_factory=dict)
    create_at_stage: str | None = "mql"
    band_ranks: Mapping[str, int] = field(default_factory=dict)
    """Band -> its place from the lowest (cold 0, warm 1, hot 2): the priority of a contact's
    writes when a quota leaves room for only some (hot leads first)."""


@dataclass(frozen=True)
class ManualNote:
    """A manual adjustment that Mautic should show as a note."""

    event_id: str
    text: str


@dataclass(frozen=True)
class DesiredContact:
    """What the remote systems should show for one contact."""

    contact_id: int
    mautic_id: int | None
    crm_id: str | None
    email: str | None
    total: int
    band: str
    groups: Mapping[str, int]
    stage: str | None
    crm_lifecycle: str | None = None
    """The lifecycle the CRM reported last (never moved backwards)."""
    manual_notes: tuple[ManualNote, ...] = ()
    stage_score: int | None = None
    """The score since the entry into a ``reset_score`` stage (None: the same as ``total``)."""
    identity: Mapping[str, str] = field(default_factory=dict)
    """CRM field -> value a new CRM contact is created with (names, company, title, ...)."""
    win_probability: int | None = None
    """The predictive score in whole percent (None: no prediction for this contact)."""
    crm_actions: bool = False
    """A fired trigger waits to create a task or deal for this contact in the CRM: the contact is
    created there even before it reaches ``create_at_stage`` (a task needs its contact)."""
    mautic_groups: Mapping[str, int] = field(default_factory=dict)
    """Topic group key -> the score Mautic's point group holds, where the pulled point log
    tells (its own point actions add to groups); a group missing here is compared with what
    was last written."""
    priority: int = 0
    """The rank of the contact's band (hot highest): its writes go first under a quota."""


@dataclass(frozen=True)
class PlannedOp:
    """One remote write for the outbox; ``written`` is recorded when it succeeds."""

    system: str
    op: str
    contact_id: int
    payload: dict[str, Any]
    written: dict[str, str]
    priority: int = 0
    """Higher is sent first (the contact's band rank); not part of the key."""

    @property
    def idempotency_key(self) -> str:
        """Unique per intended effect: the op, the contact and a digest of the payload."""
        return f"{self.op}:{self.contact_id}:{digest(self.payload)}"

    def as_dict(self) -> dict[str, Any]:
        """The op as plain JSON-ready data (dry runs list these, with the Mautic id)."""
        return {
            "system": self.system,
            "op": self.op,
            "idempotency_key": self.idempotency_key,
            "payload": self.payload,
        }


def digest(payload: Mapping[str, Any]) -> str:
    """A short stable hash of a JSON payload."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def as_written(value: Any) -> str:
    """How a value is stored in ``written`` (``None`` as the empty string)."""
    return "" if value is None else str(value)


GROUP_FIELD_PREFIX = "sb_"
_ALIAS_MAX = 25  # Mautic's field alias limit


def group_fields(keys: Sequence[str]) -> dict[str, str]:
    """Topic group key -> the Mautic custom field its score goes to with ``group_scores =
    "fields"``: ``sb_<key>`` (lower-case letters, digits and ``_``, at most 25 characters).
    Raises ValueError when two keys would share a field."""
    aliases: dict[str, str] = {}
    for key in keys:
        alias = (GROUP_FIELD_PREFIX + re.sub(r"[^a-z0-9_]", "_", key.lower()))[:_ALIAS_MAX]
        clash = next((k for k, a in aliases.items() if a == alias), None)
        if clash is not None:
            raise ValueError(
                f"groups {clash!r} and {key!r} would both be written to the Mautic field "
                f"{alias!r} (aliases are cut at {_ALIAS_MAX} characters); shorten one key"
            )
        aliases[key] = alias
    return aliases


def _changed(written: WrittenValues, system: str, wanted: Mapping[str, Any]) -> dict[str, Any]:
    return {t: v for t, v in wanted.items() if written.get((system, t)) != as_written(v)}


def plan_contact(
    desired: DesiredContact, written: WrittenValues, cfg: PlanConfig
) -> list[PlannedOp]:
    """The writes that bring both systems to ``desired``; nothing when all is written."""
    ops: list[PlannedOp] = []
    if cfg.mautic and desired.mautic_id is not None:
        ops.extend(_plan_mautic(desired, written, cfg))
    if cfg.crm:
        ops.extend(_plan_crm(desired, written, cfg))
    return ops


def _op(
    system: str,
    op: str,
    desired: DesiredContact,
    payload: dict[str, Any],
    targets: Mapping[str, Any],
) -> PlannedOp:
    written = {t: as_written(v) for t, v in targets.items()}
    return PlannedOp(system, op, desired.contact_id, payload, written, desired.priority)


def _plan_mautic(d: DesiredContact, written: WrittenValues, cfg: PlanConfig) -> list[PlannedOp]:
    ops: list[PlannedOp] = []
    stage_score = d.total if d.stage_score is None else d.stage_score
    fields = {
        alias: value
        for alias, value in (
            (cfg.score_field, d.total),
            (cfg.stage_score_field, stage_score),
            (cfg.band_field, d.band),
            (cfg.win_field, d.win_probability),
            *((a, d.groups[k]) for k, a in cfg.group_fields.items() if k in d.groups),
        )
        if alias and value is not None
    }
    changed = _changed(written, MAUTIC, {f"field:{a}": v for a, v in fields.items()})
    if changed:
        payload: dict[str, Any] = {
            "fields": {t.removeprefix("field:"): v for t, v in changed.items()}
        }
        ops.append(_op(MAUTIC, "mautic.fields", d, payload, changed))
    changed = _groups_to_set(d, written, cfg)
    if changed:
        names = {cfg.group_names[t.removeprefix("group:")]: int(v) for t, v in changed.items()}
        ops.append(_op(MAUTIC, "mautic.groups", d, {"groups": names}, changed))
    stage_name = cfg.mautic_stages.get(d.stage) if d.stage else None
    if stage_name:
        changed = _changed(written, MAUTIC, {"stage": stage_name})
        if changed:
            ops.append(_op(MAUTIC, "mautic.stage", d, {"stage": stage_name}, changed))
    if cfg.notes:
        for note in d.manual_notes:
            target = f"note:{note.event_id}"
            if (MAUTIC, target) not in written:
                note_payload = {"text": note.text, "type": "general", "event_id": note.event_id}
                ops.append(_op(MAUTIC, "mautic.note", d, note_payload, {target: "1"}))
    return ops


def _groups_to_set(d: DesiredContact, written: WrittenValues, cfg: PlanConfig) -> dict[str, int]:
    """The point groups whose score differs from what Mautic holds (or, where the point log
    does not tell, from what was last written): one request each, so only those."""
    changed: dict[str, int] = {}
    for key in cfg.group_names:
        if key not in d.groups:
            continue
        value, target = d.groups[key], f"group:{key}"
        held = d.mautic_groups.get(key)
        if (held is None and written.get((MAUTIC, target)) != as_written(value)) or (
            held is not None and held != value
        ):
            changed[target] = value
    return changed


def _lifecycle_allowed(wanted: str, current: str | None) -> bool:
    if not current or current not in LIFECYCLE_ORDER or wanted not in LIFECYCLE_ORDER:
        return True
    return LIFECYCLE_ORDER.index(wanted) >= LIFECYCLE_ORDER.index(current)


def crm_properties(d: DesiredContact, cfg: PlanConfig) -> dict[str, Any]:
    """The CRM properties scorebridge owns for ``d`` (logical names, as the adapter takes them)."""
    props: dict[str, Any] = {}
    if cfg.score_property:
        props[cfg.score_property] = d.total
    if cfg.stage_score_property:
        props[cfg.stage_score_property] = d.total if d.stage_score is None else d.stage_score
    if cfg.band_property:
        props[cfg.band_property] = d.band
    if cfg.win_property and d.win_probability is not None:
        props[cfg.win_property] = d.win_probability
    for key, name in cfg.group_properties.items():
        if key in d.groups:
            props[name] = d.groups[key]
    lifecycle = cfg.lifecycles.get(d.stage) if d.stage else None
    if lifecycle and _lifecycle_allowed(lifecycle, d.crm_lifecycle):
        props["lifecycle"] = lifecycle
    return props


def _reached_create_stage(d: DesiredContact, cfg: PlanConfig) -> bool:
    if cfg.create_at_stage is None or d.stage is None:
        return False
    order = cfg.stage_order
    wanted = order.get(cfg.create_at_stage)
    return wanted is not None and order.get(d.stage, -1) >= wanted


def _plan_crm(d: DesiredContact, written: WrittenValues, cfg: PlanConfig) -> list[PlannedOp]:
    props = crm_properties(d, cfg)
    targets = {f"prop:{name}": value for name, value in props.items()}
    changed = _changed(written, CRM, targets)
    ops: list[PlannedOp] = []
    if d.crm_id is not None and d.email and written.get((CRM, EMAIL_TARGET)) not in (None, d.email):
        # the e-mail changed in Mautic after the link: the CRM contact follows
        email = {"properties": {"email": d.email}}
        ops.append(_op(CRM, "crm.email", d, email, {EMAIL_TARGET: d.email}))
    if not changed:  # also a create whose record could not be linked (identity resolves it)
        return ops
    if d.crm_id is None:
        if not d.email or not (_reached_create_stage(d, cfg) or d.crm_actions):
            return []
        targets[EMAIL_TARGET] = d.email
        payload = {"email": d.email, "properties": {**d.identity, **props}}
        return [_op(CRM, "crm.create", d, payload, targets)]
    payload = {"properties": {t.removeprefix("prop:"): v for t, v in changed.items()}}
    return [*ops, _op(CRM, "crm.update", d, payload, changed)]


# -- fired trigger actions ------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerContext:
    """What a fired trigger's sales task, deal or note needs to know about its contact."""

    contact_id: int
    mautic_id: int | None
    email: str | None
    fields: Mapping[str, Any]
    total: int
    stage_score: int
    band: str
    stage: str | None
    reasons: Sequence[str]
    crm_owner_id: str | None = None
    mautic_owner_id: int | None = None
    trigger: str = ""

    @property
    def name(self) -> str:
        """Full name, else e-mail, else "contact <Mautic id>" (never the store's own id)."""
        parts = [str(self.fields.get(k) or "").strip() for k in ("firstname", "lastname")]
        full = " ".join(p for p in parts if p)
        return full or self.email or f"contact {self.mautic_id or '?'}"

    def placeholders(self) -> dict[str, Any]:
        """The values of the documented template placeholders (:mod:`scoring.actions`)."""
        return {
            "name": self.name,
            "first_name": str(self.fields.get("firstname") or ""),
            "last_name": str(self.fields.get("lastname") or ""),
            "email": self.email or "",
            "company": str(self.fields.get("company") or ""),
            "score": self.total,
            "total": self.total,
            "stage_score": self.stage_score,
            "band": self.band,
            "stage": self.stage or "",
            "trigger": self.trigger,
        }


def _summary(ctx: TriggerContext) -> str:
    since = (
        f"; {ctx.stage_score} since entering {ctx.stage}" if ctx.stage_score != ctx.total else ""
    )
    return f"{ctx.name} scores {ctx.total} ({ctx.band}{since})"


def render_task(
    params: Mapping[str, Any], ctx: TriggerContext, owner: Assignment, now: datetime
) -> dict[str, Any]:
    """A sales task (subject, body listing why the lead is warm/hot, due date, owner)."""
    subject = fill(str(params.get("subject") or "Follow up {name}: {score} points"),
                   ctx.placeholders())  # fmt: skip
    lines = [f"{_summary(ctx)}. Why:"]
    lines += [f"- {reason}" for reason in ctx.reasons] or ["- (no scored activity)"]
    if ctx.mautic_id is not None:
        lines.append(f"Mautic contact {ctx.mautic_id}")
    due = now + timedelta(days=float(params.get("due_in_days", 1)))
    priority = str(params.get("priority") or ("high" if ctx.band == "hot" else "medium"))
    return {
        "subject": subject,
        "body": "\n".join(lines),
        "due_at": due.isoformat(),
        "owner_id": owner.owner_id,
        "owner_source": owner.source,
        "priority": priority if priority in ("low", "medium", "high") else "medium",
    }


def render_deal(
    params: Mapping[str, Any],
    ctx: TriggerContext,
    owner: Assignment,
    *,
    pipeline: str,
    stage: str | None,
) -> dict[str, Any]:
    """A deal for a lead that turned hot (pipeline and stage from the action or the settings)."""
    amount = params.get("amount")
    return {
        "name": fill(str(params.get("name") or "{name} (scorebridge: {band})"), ctx.placeholders()),
        "pipeline": str(params.get("pipeline") or pipeline),
        "stage": str(params["stage"]) if params.get("stage") else stage,
        "amount": float(amount) if amount is not None else None,
        "owner_id": owner.owner_id,
        "owner_source": owner.source,
        "summary": _summary(ctx),
        "reasons": list(ctx.reasons),
    }


def note_text(task: Mapping[str, Any]) -> str:
    """The Mautic note mirroring a sales task: the same subject and body."""
    return f"{task['subject']}\n\n{task['body']}"


def note_marker(key: str) -> str:
    """The marker that finds a note again after a crash (the CRM task marker's twin)."""
    return f"[scorebridge:{key}]"

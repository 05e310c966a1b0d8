"""Planning over the store: desired state of the changed contacts, diffed, into the outbox.

Owns: :func:`plan_changes` — which contacts changed since the last plan (their total score was
recomputed, the contact row changed, or a CRM link has nothing written yet), loading their
desired state, ``written`` values and manual adjustments in bulk, calling the pure
:func:`~scorebridge.sync.plan.plan_contact`, and enqueueing the result. A newer op of the same
kind for a contact supersedes an unsent older one (acked with ``superseded_by``), so a value
that changes twice before a push is never written out of order. It also *prepares* the
fired-trigger ops the rescore enqueued: renders each sales task and deal (owner or round-robin
rep, the body from explain's top reasons), adds the Mautic ``call`` note that mirrors a task,
and acks ops whose write is switched off.
Must not: read the clock (``now`` comes in), talk to remote systems, or decide what to write
(the planner does).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.config import Settings
from scorebridge.scoring.engine import score
from scorebridge.scoring.explain import top_reasons
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.store import cursors, outbox
from scorebridge.store.engine import Store
from scorebridge.store.tables import (
    STAGE_SCORE_KEY,
    TOTAL_KEY,
    Contact,
    Event,
    Outbox,
    Score,
    Written,
)
from scorebridge.sync.mautic_held import mautic_group_scores
from scorebridge.sync.owners import load_directory
from scorebridge.sync.plan import (
    CRM,
    EMAIL_TARGET,
    MAUTIC,
    STATE_OPS,
    DesiredContact,
    ManualNote,
    PlanConfig,
    PlannedOp,
    TriggerContext,
    note_text,
    plan_contact,
    render_deal,
    render_task,
)
from scorebridge.sync.plan_config import band_ranks, plan_config
from scorebridge.sync.score_load import load_engine_inputs

CHUNK = 2000
#: The task of a hot crossing while the contact's deal is open (the writer adds "Hot again: ").
HOT_AGAIN = {"subject": "{name}: {score} points", "due_in_days": 1, "priority": "high"}
WATERMARK = ("plan", "contacts")
REASONS = 5
_contact = Contact.__table__  # type: ignore[attr-defined]
_score = Score.__table__  # type: ignore[attr-defined]
_written = Written.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]


@dataclass
class PlanReport:
    """What one planning pass did (``ops`` lists every planned write in a dry run)."""

    now: datetime
    dry_run: bool = False
    contacts: int = 0
    planned: Counter[str] = field(default_factory=Counter)
    enqueued: int = 0
    superseded: int = 0
    prepared: int = 0
    skipped: int = 0
    ops: list[dict[str, Any]] = field(default_factory=list)
    unassigned: list[dict[str, Any]] = field(default_factory=list)
    """Tasks and deals prepared without an owner (the contact, the trigger, the op)."""

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        out: dict[str, Any] = {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "contacts": self.contacts,
            "planned": dict(sorted(self.planned.items())),
            "enqueued": self.enqueued,
            "superseded": self.superseded,
            "prepared_trigger_actions": self.prepared,
            "skipped_trigger_actions": self.skipped,
            "unassigned": self.unassigned,
        }
        if self.dry_run:
            out["ops"] = self.ops
        return out


def plan_changes(
    store: Store,
    rules: CompiledRules,
    settings: Settings,
    now: datetime,
    *,
    dry_run: bool = False,
    everyone: bool = False,
    as_of: datetime | None = None,
) -> PlanReport:
    """Plan the writes of every contact changed since the last plan (or ``everyone``).

    ``as_of`` is the scoring instant of the task and deal texts (default ``now``). A dry run
    does the same work in a transaction that is rolled back, and lists the ops.
    """
    cfg = plan_config(settings, rules)
    report = PlanReport(now=now, dry_run=dry_run)
    with store.read() if dry_run else store.write() as conn:
        _prepare_triggers(conn, rules, settings, now, as_of or now, report)
        mark = None if everyone else cursors.get(conn, *WATERMARK) or None
        ids = _changed_contacts(conn, mark, cfg)
        if settings.predict.enabled and mark is not None:
            from scorebridge.sync.prediction import changed_since  # scikit-learn: only when on

            ids = sorted(set(ids) | set(changed_since(conn, datetime.fromisoformat(mark))))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            ops: list[PlannedOp] = []
            for desired, written in _load(conn, chunk, settings, cfg, now, persist=not dry_run):
                planned = plan_contact(desired, written, cfg)
                ops += planned
                if dry_run:
                    report.ops.extend(
                        {**op.as_dict(), "mautic_id": desired.mautic_id, "email": desired.email}
                        for op in planned
                    )
            report.contacts += len(chunk)
            report.planned.update(op.op for op in ops)
            _enqueue(conn, ops, now, report)
        if not dry_run:
            cursors.set(conn, *WATERMARK, now.isoformat(), now)
    return report


def dry_run_writes(plan: PlanReport, due: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every write a dry-run cycle would send: the ops a dry-run plan would add, plus the due
    ops already queued (``PushReport.planned`` of a dry-run push), one per idempotency key (the
    plan's rendered version wins)."""
    merged = {op["idempotency_key"]: op for op in due}
    merged.update((op["idempotency_key"], op) for op in plan.ops)
    return list(merged.values())


def _changed_contacts(conn: Connection, mark: str | None, cfg: PlanConfig) -> list[int]:
    c, s, w = _contact.c, _score.c, _written.c
    stmt = (
        sa.select(c.id)
        .join(_score, sa.and_(s.contact_id == c.id, s.group_key == TOTAL_KEY))
        .where(c.deleted.is_(False))
        .order_by(c.id)
    )
    if mark is not None:
        since = datetime.fromisoformat(mark)
        changed = [s.computed_at >= since, c.updated_at >= since]
        if cfg.crm:
            unwritten = ~sa.exists().where(w.system == CRM, w.contact_id == c.id)
            changed.append(sa.and_(c.crm_id.is_not(None), unwritten))
        stmt = stmt.where(sa.or_(*changed))
    return [int(r) for r in conn.execute(stmt).scalars()]


def _load(
    conn: Connection,
    ids: Sequence[int],
    settings: Settings,
    cfg: PlanConfig,
    now: datetime,
    *,
    persist: bool,
) -> Iterable[tuple[DesiredContact, dict[tuple[str, str], str]]]:
    scores: dict[int, dict[str, Any]] = {i: {"groups": {}} for i in ids}
    for row in conn.execute(sa.select(_score).where(_score.c.contact_id.in_(ids))):
        entry = scores[row.contact_id]
        if row.group_key == TOTAL_KEY:
            entry["total"], entry["band"] = row.value, row.band
        elif row.group_key == STAGE_SCORE_KEY:
            entry["stage_score"] = row.value
        else:
            entry["groups"][row.group_key] = row.value
    written: dict[int, dict[tuple[str, str], str]] = {i: {} for i in ids}
    for row in conn.execute(sa.select(_written).where(_written.c.contact_id.in_(ids))):
        written[row.contact_id][(row.system, row.target)] = row.value
    notes: dict[int, list[ManualNote]] = {i: [] for i in ids}
    manual = sa.select(_event).where(_event.c.contact_id.in_(ids), _event.c.kind == "manual")
    for row in conn.execute(manual.order_by(_event.c.occurred_at, _event.c.id)):
        notes[row.contact_id].append(ManualNote(row.external_id, _manual_text(row.attributes)))
    win: dict[int, int] = {}
    if settings.predict.enabled:
        from scorebridge.sync.prediction import percent, predictions

        win = {cid: percent(p.probability) for cid, p in predictions(conn, ids).items()}
    waiting_crm = set(
        conn.execute(
            sa.select(_outbox.c.contact_id).where(
                _outbox.c.contact_id.in_(ids),
                _outbox.c.op.in_(("crm.task", "crm.deal")),
                _outbox.c.status.in_((outbox.PENDING, outbox.IN_FLIGHT)),
            )
        ).scalars()
    )
    held = (
        mautic_group_scores(conn, ids, cfg.group_names, written)
        if cfg.group_names and settings.pull.streams.points
        else {}
    )
    identity_map = settings.crm.identity_fields
    baselines: list[dict[str, Any]] = []
    for row in conn.execute(sa.select(_contact).where(_contact.c.id.in_(ids))):
        entry = scores[row.id]
        crm_fields = row.crm_fields or {}
        fields = row.fields or {}
        mine = written[row.id]
        if row.crm_id and row.email and (CRM, EMAIL_TARGET) not in mine:
            # linked before scorebridge wrote to this record: its e-mail now is the baseline
            # later Mautic e-mail changes are compared with
            mine[(CRM, EMAIL_TARGET)] = row.email
            baselines.append({"c": row.id, "v": row.email})
        yield (
            DesiredContact(
                contact_id=row.id,
                mautic_id=row.mautic_id,
                crm_id=row.crm_id,
                email=row.email,
                total=int(entry.get("total", 0)),
                band=str(entry.get("band") or ""),
                groups=entry["groups"],
                stage=row.stage,
                crm_lifecycle=crm_fields.get("lifecycle") or crm_fields.get("lifecyclestage"),
                manual_notes=tuple(notes[row.id]),
                stage_score=entry.get("stage_score"),
                crm_actions=row.id in waiting_crm,
                win_probability=win.get(row.id),
                identity={
                    target: str(fields[alias]).strip()
                    for alias, target in identity_map.items()
                    if str(fields.get(alias) or "").strip()
                },
                mautic_groups=held.get(row.id, {}),
                priority=cfg.band_ranks.get(str(entry.get("band") or ""), 0),
            ),
            mine,
        )
    if baselines and persist:
        conn.execute(
            sa.insert(_written).values(
                system=CRM,
                contact_id=sa.bindparam("c"),
                target=EMAIL_TARGET,
                value=sa.bindparam("v"),
                written_at=now,
            ),
            baselines,
        )


def _manual_text(attributes: dict[str, Any]) -> str:
    delta = float(attributes.get("delta") or 0)
    group = attributes.get("group")
    where = f" in {group}" if group else ""
    return f"Manual score adjustment {delta:+g}{where}: {attributes.get('reason') or ''}".strip()


def _enqueue(conn: Connection, ops: Sequence[PlannedOp], now: datetime, report: PlanReport) -> None:
    if not ops:
        return
    keys = [op.idempotency_key for op in ops]
    existing = {
        r.idempotency_key: r.status
        for r in conn.execute(
            sa.select(_outbox.c.idempotency_key, _outbox.c.status).where(
                _outbox.c.idempotency_key.in_(keys)
            )
        )
    }
    fresh = [op for op in ops if op.idempotency_key not in existing]
    # one write per (kind, contact) may be queued: the newest plan wins over any unsent older one
    superseding = {(op.op, op.contact_id): op.idempotency_key for op in ops if op.op in STATE_OPS}
    if superseding:
        older = conn.execute(
            sa.select(
                _outbox.c.id, _outbox.c.op, _outbox.c.contact_id, _outbox.c.idempotency_key
            ).where(
                _outbox.c.contact_id.in_({cid for _, cid in superseding}),
                _outbox.c.op.in_({o for o, _ in superseding}),
                _outbox.c.status.in_((outbox.PENDING, outbox.IN_FLIGHT)),
            )
        ).all()
        results = {
            r.id: {"superseded_by": superseding[(r.op, r.contact_id)]}
            for r in older
            if superseding.get((r.op, r.contact_id), r.idempotency_key) != r.idempotency_key
        }
        outbox.ack(conn, results, now=now, results=results)
        report.superseded += len(results)
    report.enqueued += outbox.enqueue(conn, (_new(op) for op in fresh), now=now)
    for op in ops:
        if existing.get(op.idempotency_key) == outbox.DONE:
            # written since, then changed back to this value: the same write is due again
            outbox.requeue(conn, _new(op).__dict__, now=now)
            report.enqueued += 1


def priority(band_rank: int, state: bool) -> int:
    """An op's place when a quota takes only part of the queue: by the contact's band (hot
    first), and within a band a contact's scores and CRM record before its tasks and deals
    (which need the record)."""
    return 2 * band_rank + (1 if state else 0)


def _new(op: PlannedOp) -> outbox.NewOperation:
    return outbox.NewOperation(
        idempotency_key=op.idempotency_key,
        system=op.system,
        op=op.op,
        payload={**op.payload, "written": op.written, "priority": priority(op.priority, True)},
        contact_id=op.contact_id,
    )


# -- fired trigger actions ------------------------------------------------------------------


def _switched_off(op: str, settings: Settings) -> str | None:
    mw, cw = settings.write.mautic, settings.write.crm
    if op.startswith("crm."):
        if settings.crm.kind == "none" or not cw.enabled:
            return "no CRM configured" if settings.crm.kind == "none" else "write.crm.enabled"
        if op == "crm.task" and not cw.tasks:
            return "write.crm.tasks"
        if op == "crm.deal" and not cw.deals:
            return "write.crm.deals"
        return None
    if not mw.enabled:
        return "write.mautic.enabled"
    if op.startswith("mautic.segment") and not mw.segments:
        return "write.mautic.segments"
    if op.startswith("mautic.tag") and not mw.tags:
        return "write.mautic.tags"
    return None


def _prepare_triggers(
    conn: Connection,
    rules: CompiledRules,
    settings: Settings,
    now: datetime,
    as_of: datetime,
    report: PlanReport,
) -> None:
    """Render fresh trigger ops (task/deal text, owner), add the Mautic call notes, ack the
    ones whose write is switched off."""
    rows = conn.execute(
        sa.select(_outbox).where(
            _outbox.c.status == outbox.PENDING,
            _outbox.c.attempts == 0,
            _outbox.c.op.not_in(STATE_OPS),
            _outbox.c.op != "mautic.note",
        )
    ).all()
    fresh = [r for r in rows if "rendered" not in (r.payload or {})]
    owners = load_directory(conn, settings)
    if settings.crm.kind != "none" and not owners.crm_owners:
        # no CRM owner list yet (the CRM pull has not succeeded once): who gets a task or deal
        # cannot be decided, so those wait, unrendered, for a cycle that knows
        fresh = [r for r in fresh if not r.op.startswith("crm.")]
    if not fresh:
        return
    contexts = _trigger_contexts(conn, rules, {r.contact_id for r in fresh}, as_of)
    labels = {t.id: t.label for t in rules.triggers}
    ranks = band_ranks(rules)
    cw = settings.write.crm
    notes: list[outbox.NewOperation] = []
    for row in fresh:
        payload = dict(row.payload or {})
        params = payload.get("params") or {}
        ctx = contexts.get(row.contact_id)
        trigger_id = str(payload.get("trigger_id") or "")
        if ctx is not None:
            # the score the trigger fired on (a later rescore in the same plan may differ)
            fired_total = payload.get("total")
            total = fired_total if isinstance(fired_total, int) else ctx.total
            ctx = replace(ctx, total=total, band=rules.band_of(total),
                          trigger=labels.get(trigger_id, trigger_id))  # fmt: skip
        off = _switched_off(row.op, settings)
        unreachable = ctx is not None and not ctx.email and not _crm_linked(conn, row.contact_id)
        if off is None and row.op.startswith("crm.") and unreachable:
            off = "the contact has no e-mail address, so it cannot be created in the CRM"
        rendered: dict[str, Any] = {}
        if ctx is not None and row.op in ("crm.task", "crm.deal"):
            owner = owners.resolve(
                ctx.contact_id,
                ctx.crm_owner_id,
                ctx.mautic_owner_id,
                str(params.get("assign", "owner")),
            )
            if owner.owner_id is None and off is None:
                report.unassigned.append(
                    {"mautic_id": ctx.mautic_id, "email": ctx.email, "trigger": trigger_id,
                     "op": row.op}
                )  # fmt: skip
            if row.op == "crm.task":
                rendered["task"] = render_task(params, ctx, owner, now)
                mirror = _mirror_note(row, rendered["task"], settings, contexts)
                if mirror is not None:
                    notes.append(mirror)
            else:
                rendered["deal"] = render_deal(
                    params, ctx, owner, pipeline=cw.pipeline, stage=cw.deal_stage or None
                )
                # the task the deal's owner gets instead when the contact's deal is still open
                rendered["task"] = render_task(HOT_AGAIN, ctx, owner, now)
        payload["rendered"] = rendered
        if ctx is not None:  # a hot lead's task or deal goes first when a quota is short
            payload["priority"] = priority(ranks.get(ctx.band, 0), False)
        conn.execute(sa.update(_outbox).where(_outbox.c.id == row.id).values(payload=payload))
        report.prepared += 1
        if off is not None:
            outbox.ack(conn, [row.id], now=now, results={row.id: {"skipped": off}})
            report.skipped += 1
        elif report.dry_run:
            report.ops.append(_listed(row.system, row.op, ctx, row.idempotency_key, payload))
    report.enqueued += outbox.enqueue(conn, notes, now=now)
    report.planned.update(n.op for n in notes)
    if report.dry_run:
        report.ops.extend(
            _listed(n.system, n.op, contexts.get(n.contact_id or 0), n.idempotency_key, n.payload)
            for n in notes
        )


def _crm_linked(conn: Connection, contact_id: int) -> bool:
    found = conn.execute(sa.select(_contact.c.crm_id).where(_contact.c.id == contact_id)).scalar()
    return bool(found)


def _listed(
    system: str, op: str, ctx: TriggerContext | None, key: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """A dry-run line: the contact as the user knows it (Mautic id and e-mail)."""
    return {
        "system": system,
        "op": op,
        "mautic_id": ctx.mautic_id if ctx else None,
        "email": ctx.email if ctx else None,
        "idempotency_key": key,
        "payload": payload,
    }


def _mirror_note(
    row: Any, task: dict[str, Any], settings: Settings, contexts: dict[int, TriggerContext]
) -> outbox.NewOperation | None:
    mw = settings.write.mautic
    if not (mw.enabled and mw.notes) or row.contact_id not in contexts:
        return None
    return outbox.NewOperation(
        idempotency_key=f"{row.idempotency_key}:note",
        system=MAUTIC,
        op="mautic.note",
        payload={
            "text": note_text(task),
            "type": "call",
            "trigger_id": row.payload.get("trigger_id"),
        },
        contact_id=row.contact_id,
    )


def _trigger_contexts(
    conn: Connection, rules: CompiledRules, ids: set[int], as_of: datetime
) -> dict[int, TriggerContext]:
    """Per contact, what its task or deal says (scored with the ledger at ``as_of``)."""
    inputs = load_engine_inputs(conn, sorted(ids))
    rows = conn.execute(sa.select(_contact).where(_contact.c.id.in_(ids))).all()
    contexts: dict[int, TriggerContext] = {}
    for row in rows:
        one = inputs.get(row.id)
        if one is None:
            continue
        result = score(one.events, one.facts, rules, as_of, one.prior)
        contexts[row.id] = TriggerContext(
            contact_id=row.id,
            mautic_id=row.mautic_id,
            email=row.email,
            fields=row.fields or {},
            total=result.total_value,
            stage_score=result.stage_score_value,
            band=result.band,
            stage=result.stage,
            reasons=top_reasons(result, REASONS, rules),
            crm_owner_id=row.crm_owner_id,
            mautic_owner_id=row.mautic_owner_id,
        )
    return contexts

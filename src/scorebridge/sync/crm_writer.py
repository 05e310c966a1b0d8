"""The CRM writer: outbox operations of system ``crm`` through any :class:`CrmAdapter`.

Owns: the order and batching of CRM writes within one claimed batch — ``crm.create`` first
(batch upsert by email; the result's id, also the existing id of a 409, becomes the contact's
link), then ``crm.update`` (batch update by id, per-item 207 results), then ``crm.task`` and
``crm.deal``, each looked up by its idempotency key (``find_open_task`` / ``find_deal``, reads
the adapter keeps consistent) before it is created, so a crash between "created" and "recorded"
never makes a second one — and creating the custom properties once per process
(``ensure_schema``).

One open deal (DESIGN §5): a ``crm.deal`` whose contact already has an open deal in the
pipeline (one this key did not create) opens none; it adds a "Hot again" task to that deal
instead, exactly once under its own key (:func:`hot_again_key`), and its result says so
(``deal_id``, ``deal_reused``, ``task_id``). A new deal comes only after the open one closed.
Must not: touch the store, know a vendor (the adapter does), or decide what to write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from scorebridge.clock import Clock, SystemClock
from scorebridge.config import Settings
from scorebridge.crm.base import (
    CrmAdapter,
    DealSpec,
    FieldSpec,
    FieldValue,
    OpenDeal,
    TaskSpec,
    WriteItem,
)
from scorebridge.crm.errors import CrmNotReady
from scorebridge.errors import ItemResult
from scorebridge.redaction import redact
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.sync.plan import CRM
from scorebridge.sync.push import Claimed, Outcome, failed, maybe_sent, ok

CLAIM = 500
"""Ops per claim: several API batches, so the creates of a cycle and the tasks waiting for
them usually travel together (the adapter still sends at most ``max_batch`` per call)."""
NOT_READY_WAIT = timedelta(hours=1)
"""How often a deal the CRM cannot open yet (a Salesforce Lead not converted) is looked at
again: one lookup an hour per waiting lead, a week at most."""
HOT_AGAIN_DUE = timedelta(days=1)
"""When a "Hot again" task is due if the op carries no rendered task."""


def hot_again_key(deal_key: str) -> str:
    """The idempotency key of the task a ``crm.deal`` op adds to an already open deal."""
    return f"{deal_key}:hot-again"


def crm_field_specs(settings: Settings, rules: CompiledRules) -> list[FieldSpec]:
    """The custom CRM properties scorebridge writes (score, band, one per group)."""
    cw = settings.write.crm
    bands = (rules.base_band, *(name for name, _ in rules.bands))
    specs = []
    if cw.score_property:
        specs.append(FieldSpec(cw.score_property, "scorebridge score", "number"))
    if cw.stage_score_property:
        specs.append(FieldSpec(cw.stage_score_property, "scorebridge stage score", "number"))
    if settings.predict.enabled and settings.predict.crm_property:
        specs.append(
            FieldSpec(settings.predict.crm_property, "scorebridge win probability (%)", "number")
        )
    if cw.band_property:
        specs.append(FieldSpec(cw.band_property, "scorebridge band", "enumeration", bands))
    if cw.group_properties:
        specs += [FieldSpec(f"scorebridge_{g}", f"scorebridge {g}", "number") for g in rules.groups]
    return specs


def _outcome(item: Claimed, result: ItemResult | None, *, links: bool) -> Outcome:
    if result is None:
        return Outcome(item.op.id, "retry", "no result for this item")
    if result.ok:
        return Outcome(item.op.id, "ok", result.message, {}, result.remote_id if links else None)
    message = f"HTTP {result.status}: {result.message}" if result.status else result.message
    return Outcome(item.op.id, "retry" if result.retryable else "dead", message[:500])


class CrmWriter:
    """Implements :class:`~scorebridge.sync.push.Writer` for the configured CRM."""

    system = CRM
    #: one request each (looked up, then created): the pusher sends them over its pool
    concurrent_ops = frozenset({"crm.task", "crm.deal"})

    def __init__(
        self, adapter: CrmAdapter, fields: Sequence[FieldSpec], clock: Clock | None = None
    ) -> None:
        self.adapter = adapter
        self.clock: Clock = clock or SystemClock()
        self.link_kind = adapter.name
        self.batch_size = max(CLAIM, adapter.capabilities.max_batch)
        self._fields = list(fields)
        self._schema_ready = False

    @classmethod
    def from_settings(
        cls,
        adapter: CrmAdapter,
        settings: Settings,
        rules: CompiledRules,
        clock: Clock | None = None,
    ) -> CrmWriter:
        """A writer for ``adapter`` that creates the properties ``[write.crm]`` names."""
        return cls(adapter, crm_field_specs(settings, rules), clock)

    def write(self, items: Sequence[Claimed]) -> list[Outcome]:
        """Creates, updates, then tasks and deals; one outcome per op."""
        if not self._schema_ready:
            self.adapter.ensure_schema(self._fields)
            self._schema_ready = True
        by_op: dict[str, list[Claimed]] = defaultdict(list)
        for item in items:
            by_op[item.op.op].append(item)
        creates = by_op.pop("crm.create", [])
        outcomes = self._create(creates)
        linked = {
            i.op.contact_id: o.link
            for i, o in zip(creates, outcomes, strict=True)
            if o.link and i.op.contact_id is not None
        }
        outcomes += self._update(by_op.pop("crm.update", []), linked)
        # e-mail changes in a call of their own: one refused (the address is taken) fails alone
        outcomes += self._update(by_op.pop("crm.email", []), linked)
        for item in by_op.pop("crm.task", []):
            outcomes.append(self._task(item, linked))
        for item in by_op.pop("crm.deal", []):
            outcomes.append(self._deal(item, linked))
        for op, group in by_op.items():
            outcomes += [Outcome(i.op.id, "dead", f"unknown CRM operation {op!r}") for i in group]
        return outcomes

    @staticmethod
    def _crm_id(item: Claimed, linked: dict[int, str]) -> str | None:
        if item.target is not None and item.target.crm_id:
            return item.target.crm_id
        return linked.get(item.op.contact_id) if item.op.contact_id is not None else None

    def _create(self, items: list[Claimed]) -> list[Outcome]:
        if not items:
            return []
        writes = [
            WriteItem(properties=_props(i), email=str(i.op.payload.get("email") or ""))
            for i in items
        ]
        results = {r.index: r for r in self.adapter.create_contacts(writes)}
        return [_outcome(item, results.get(n), links=True) for n, item in enumerate(items)]

    def _update(self, items: list[Claimed], linked: dict[int, str]) -> list[Outcome]:
        ready, outcomes = [], []
        for item in items:
            crm_id = self._crm_id(item, linked)
            if crm_id is None:
                outcomes.append(Outcome(item.op.id, "wait", "the contact is not in the CRM yet"))
            else:
                ready.append((item, WriteItem(properties=_props(item), crm_id=crm_id)))
        if ready:
            results = {r.index: r for r in self.adapter.update_contacts([w for _, w in ready])}
            outcomes += [
                _outcome(item, results.get(n), links=False) for n, (item, _) in enumerate(ready)
            ]
        return outcomes

    def _ready(
        self, item: Claimed, linked: dict[int, str], what: str
    ) -> tuple[dict[str, Any], str] | Outcome:
        """The rendered ``what`` (task, deal) and the contact's CRM id, or why to retry."""
        rendered = (item.op.payload.get("rendered") or {}).get(what)
        if not rendered:
            return Outcome(item.op.id, "wait", f"{what} not rendered yet (plan runs before push)")
        crm_id = self._crm_id(item, linked)
        if crm_id is None:
            return Outcome(item.op.id, "wait", "the contact is not in the CRM yet")
        return rendered, crm_id

    def _task(self, item: Claimed, linked: dict[int, str]) -> Outcome:
        ready = self._ready(item, linked, "task")
        if isinstance(ready, Outcome):
            return ready
        task, crm_id = ready
        key = item.op.idempotency_key
        try:
            found = self.adapter.find_open_task(key, crm_id)
            if found is not None:
                return ok(item, task_id=found, found=True)
            spec = TaskSpec(
                idempotency_key=key,
                subject=str(task["subject"]),
                body=str(task["body"]),
                due_at=datetime.fromisoformat(str(task["due_at"])),
                owner_id=task.get("owner_id"),
                priority=task.get("priority", "medium"),
                contact_id=crm_id,
            )
            return ok(item, task_id=self.adapter.create_task(spec))
        except Exception as exc:  # noqa: BLE001 - per item; failed() re-raises system errors
            return failed(item, exc)

    def _deal(self, item: Claimed, linked: dict[int, str]) -> Outcome:
        """The deal for this key; or, while the contact has another open deal in the pipeline,
        a "Hot again" task on that deal; or a new deal."""
        ready = self._ready(item, linked, "deal")
        if isinstance(ready, Outcome):
            return ready
        deal, crm_id = ready
        key = item.op.idempotency_key
        task_key = hot_again_key(key)
        try:
            found = self.adapter.find_deal(key, crm_id)
            if found is not None:
                return ok(item, deal_id=found, found=True)
            if maybe_sent(item):  # an earlier try may have gone the "Hot again" way
                task_id = self.adapter.find_open_task(task_key, crm_id)
                if task_id is not None:
                    return ok(item, deal_reused=True, task_id=task_id, found=True)
            pipeline = deal.get("pipeline")
            others = [
                d for d in self.adapter.open_deals(crm_id, pipeline) if d.idempotency_key != key
            ]
            if others:
                task = self._hot_again(item, deal, others[0], crm_id, task_key)
                task_id = self.adapter.create_task(task)
                return ok(item, deal_id=others[0].id, deal_reused=True, task_id=task_id)
            spec = DealSpec(
                idempotency_key=key,
                name=str(deal["name"]),
                pipeline=pipeline,
                stage=deal.get("stage"),
                amount=deal.get("amount"),
                owner_id=deal.get("owner_id"),
                contact_id=crm_id,
            )
            return ok(item, deal_id=self.adapter.create_deal(spec))
        except CrmNotReady as exc:
            return Outcome(item.op.id, "wait", redact(str(exc))[:500], wait=NOT_READY_WAIT)
        except Exception as exc:  # noqa: BLE001
            return failed(item, exc)

    def _hot_again(
        self,
        item: Claimed,
        deal: Mapping[str, Any],
        open_deal: OpenDeal,
        crm_id: str,
        task_key: str,
    ) -> TaskSpec:
        """The task telling the deal's owner the lead crossed the hot threshold again: the
        op's rendered task when the planner made one, else a subject from the rendered deal."""
        task: Mapping[str, Any] = (item.op.payload.get("rendered") or {}).get("task") or {}
        lead = str(deal.get("name") or "this lead")
        subject = f"Hot again: {task.get('subject') or lead}"
        body = str(task.get("body") or "")
        body = body or (
            f"{lead} crossed the hot threshold again while the deal "
            f'"{open_deal.name or open_deal.id}" is open: no new deal was created.'
        )
        due = task.get("due_at")
        return TaskSpec(
            idempotency_key=task_key,
            subject=subject,
            body=body,
            due_at=datetime.fromisoformat(str(due)) if due else self.clock.now() + HOT_AGAIN_DUE,
            owner_id=task.get("owner_id") or deal.get("owner_id") or open_deal.owner_id,
            priority="high",
            contact_id=crm_id,
            deal_id=open_deal.id,
        )


def _props(item: Claimed) -> dict[str, FieldValue]:
    raw: dict[str, Any] = item.op.payload.get("properties") or {}
    return {str(k): v for k, v in raw.items()}

"""The Mautic writer: outbox operations of system ``mautic`` into Mautic 5 API calls.

Owns: mapping each op to the calls ``reference/mautic-api.md`` §2.4, §3.4, §5, §8c prescribe,
in the largest batches they allow — ``mautic.fields`` (score, band and, with ``group_scores =
"fields"``, group-score custom fields, created when missing) through
``PATCH /contacts/batch/edit`` (≤200, per-item results); ``mautic.groups`` through point
groups ``set`` (groups created when missing; logged with ``eventName``
:data:`~scorebridge.mautic.streams.SCOREBRIDGE_EVENT_NAME` and the value in ``actionName``, so
the pull knows its echo and what Mautic held after it);
``mautic.stage`` (by stage name, through the batch contact edit with ``"stage": id``; a stage
of the rule file missing in Mautic is created, weight 10, 20, ... in file order);
``mautic.segment.add|remove`` (batch add per segment, created when missing);
``mautic.tag.add|remove`` (batch edit with ``tags``); ``mautic.note`` (a note carrying a marker,
looked up first when an earlier attempt may have created it).
Never ``points/plus|minus`` and never PUT for a partial edit.

Zero values: Mautic drops a number whose integer part is 0 on POST/PATCH (§2.3), so a score of
0 cannot be PATCHed. For those contacts the writer reads their current fields in one
``GET /contacts?search=ids:…`` and immediately sends ``PUT /contacts/batch/edit`` with every
field value read plus the new ones (PUT keeps zeros and clears what is not sent; owner, stage
and tags are kept when omitted; ``points`` is left out so it is not touched). A contact that
the read does not return is never PUT (PUT would create it). Known race: a field another party
changes between that read and the PUT (milliseconds, one round trip) is reset to the value read.
Must not: touch the store or decide what to write.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from scorebridge.config import Settings
from scorebridge.errors import ItemResult, ShutdownRequested, TerminalError
from scorebridge.mautic import MauticClient
from scorebridge.mautic.streams import SCOREBRIDGE_EVENT_NAME, group_set_action
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.sync.plan import MAUTIC, note_marker
from scorebridge.sync.plan_config import group_field_aliases
from scorebridge.sync.push import Claimed, Outcome, failed, maybe_sent, ok

BATCH = 200
"""Items per ``batch/edit`` call (Mautic's ``api_batch_max_limit``)."""
CLAIM = 1000
"""Ops claimed per push batch: mixed kinds, so claim several calls' worth and let each kind fill
its own batches (a claim of 200 mixed ops filled a batch edit to about a third)."""
NOTE_LOOKUP_LIMIT = 100
_PUT_SKIP = frozenset({"id", "points"})
#: op -> the method that writes it (ops sharing a method share its batched calls)
_HANDLERS = {
    "mautic.fields": "_fields",
    "mautic.groups": "_group_scores",
    "mautic.stage": "_stage",
    "mautic.segment.add": "_segment_add",
    "mautic.segment.remove": "_segment_remove",
    "mautic.tag.add": "_tags",
    "mautic.tag.remove": "_tags",
    "mautic.note": "_notes",
}


def _dead(item: Claimed, message: str) -> Outcome:
    return Outcome(item.op.id, "dead", message)


def _from_result(item: Claimed, result: ItemResult | None) -> Outcome:
    if result is None:
        return Outcome(item.op.id, "retry", "no result for this item")
    if result.ok:
        return ok(item)
    message = f"HTTP {result.status}: {result.message}" if result.status else result.message
    return Outcome(item.op.id, "retry" if result.retryable else "dead", message[:500])


def _mid(item: Claimed) -> int:
    """The Mautic id (``write`` only passes items that have one on)."""
    target = item.target
    assert target is not None
    assert target.mautic_id is not None
    return target.mautic_id


def _is_zero_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and int(value) == 0


class MauticWriter:
    """Implements :class:`~scorebridge.sync.push.Writer` for Mautic."""

    system = MAUTIC
    batch_size = CLAIM
    link_kind = ""
    #: one request each (Mautic has no batch for them): the pusher sends them over its pool
    concurrent_ops = frozenset({"mautic.groups", "mautic.note"})

    def __init__(
        self,
        client: MauticClient,
        *,
        score_field: str,
        band_field: str,
        stage_score_field: str = "",
        win_field: str = "",
        stage_weights: Mapping[str, int] | None = None,
        group_fields: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        #: Mautic stage name (case-folded) -> weight, for the stages it may create
        self.stage_weights = dict(stage_weights or {})
        #: alias -> (label, type) of the custom fields it writes (created when missing)
        self._field_specs = {
            alias: spec
            for alias, spec in (
                (score_field, ("scorebridge score", "number")),
                (stage_score_field, ("scorebridge stage score", "number")),
                (win_field, ("scorebridge win probability (%)", "number")),
                (band_field, ("scorebridge band", "text")),
                *((a, (f"scorebridge {k}", "number")) for k, a in (group_fields or {}).items()),
            )
            if alias
        }
        self._fields_ready = False
        self._setup = threading.Lock()  # point groups are created once, whichever thread asks
        self._groups: dict[str, int] | None = None
        self._stages: dict[str, int] | None = None
        self._segments: dict[str, int] | None = None

    @classmethod
    def from_settings(
        cls, client: MauticClient, settings: Settings, rules: CompiledRules | None = None
    ) -> MauticWriter:
        """A writer for the field aliases ``[write.mautic]`` names; a stage of ``rules`` missing
        in Mautic is created with weight 10, 20, ... in the rule file's order."""
        mw = settings.write.mautic
        weights = {
            s.mautic_stage.casefold(): 10 * (n + 1)
            for n, s in enumerate(rules.stages if rules is not None else ())
            if s.mautic_stage
        }
        return cls(
            client,
            score_field=mw.score_field,
            band_field=mw.band_field,
            stage_score_field=mw.stage_score_field,
            win_field=settings.predict.mautic_field if settings.predict.enabled else "",
            stage_weights=weights,
            group_fields=group_field_aliases(settings, rules) if rules is not None else {},
        )

    def write(self, items: Sequence[Claimed]) -> list[Outcome]:
        """Send every op of the batch, grouped by the call that serves it; one outcome per op.

        A stop request that refuses a call shared by a group (a batch edit, a lookup) releases
        that group's ops; the groups written before keep their outcomes.
        """
        outcomes: list[Outcome] = []
        by_handler: dict[str, list[Claimed]] = defaultdict(list)
        for item in items:
            handler = _HANDLERS.get(item.op.op)
            if item.target is None or item.target.mautic_id is None:
                outcomes.append(_dead(item, "the contact has no Mautic id"))
            elif handler is None:
                outcomes.append(_dead(item, f"unknown Mautic operation {item.op.op!r}"))
            else:
                by_handler[handler].append(item)
        for handler, group in by_handler.items():
            try:
                outcomes.extend(getattr(self, handler)(group))
            except ShutdownRequested:  # a shared call of this group was not sent: all go back
                outcomes.extend(failed(item, ShutdownRequested()) for item in group)
        return outcomes

    # -- custom fields ------------------------------------------------------------------------

    def _ensure_fields(self) -> None:
        if self._fields_ready:
            return
        existing = {f.alias for f in self.client.list_contact_fields()}
        for alias, (label, kind) in self._field_specs.items():
            if alias not in existing:
                self.client.create_contact_field(label, alias, kind)
        self._fields_ready = True

    def _fields(self, items: list[Claimed]) -> list[Outcome]:
        self._ensure_fields()
        patch: list[Claimed] = []
        put: list[Claimed] = []
        for item in items:
            fields = item.op.payload.get("fields") or {}
            (put if any(_is_zero_number(v) for v in fields.values()) else patch).append(item)
        outcomes = self._patch(patch, lambda i: dict(i.op.payload.get("fields") or {}))
        return outcomes + self._put_with_zero(put)

    def _patch(
        self, items: list[Claimed], body: Callable[[Claimed], dict[str, Any]]
    ) -> list[Outcome]:
        if not items:
            return []
        edits = [{"id": _mid(i), **body(i)} for i in items]
        results = {r.index: r for r in self.client.batch_edit_contacts(edits)}
        return [_from_result(item, results.get(n)) for n, item in enumerate(items)]

    def _put_with_zero(self, items: list[Claimed]) -> list[Outcome]:
        """Read the contacts' current fields, then PUT them back with the new values."""
        outcomes: list[Outcome] = []
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            ids = [_mid(i) for i in chunk]
            page = self.client.list_contacts(
                search="ids:" + ",".join(map(str, ids)), limit=len(ids), order_by="id"
            )
            current = {c.id: c.fields for c in page.contacts}
            found, edits = [], []
            for item in chunk:
                mautic_id = _mid(item)
                if mautic_id not in current:
                    outcomes.append(_dead(item, f"Mautic contact {mautic_id} not found"))
                    continue
                values = {k: v for k, v in current[mautic_id].items() if k not in _PUT_SKIP}
                values.update(item.op.payload.get("fields") or {})
                found.append(item)
                edits.append({"id": mautic_id, **values})
            if edits:
                results = {r.index: r for r in self.client.batch_replace_contacts(edits)}
                outcomes += [_from_result(i, results.get(n)) for n, i in enumerate(found)]
        return outcomes

    # -- point groups, stages -----------------------------------------------------------------

    def _group_ids(self, names: set[str]) -> dict[str, int]:
        with self._setup:
            if self._groups is None:
                self._groups = {g.name: g.id for g in self.client.list_point_groups()}
            for name in sorted(names - set(self._groups)):
                created = self.client.create_point_group(name, "kept by scorebridge")
                self._groups[name] = created.id
            return dict(self._groups)

    def _group_scores(self, items: list[Claimed]) -> list[Outcome]:
        names = {n for i in items for n in (i.op.payload.get("groups") or {})}
        ids = self._group_ids(names)
        outcomes = []
        for item in items:
            try:
                for name, value in sorted((item.op.payload.get("groups") or {}).items()):
                    self.client.set_group_score(
                        _mid(item),
                        ids[name],
                        int(value),
                        event_name=SCOREBRIDGE_EVENT_NAME,
                        action_name=group_set_action(int(value)),
                    )
                outcomes.append(ok(item))
            except Exception as exc:  # noqa: BLE001 - per item; failed() re-raises system errors
                outcomes.append(failed(item, exc))
        return outcomes

    def _stage_id(self, name: str) -> int | None:
        """The id of Mautic's stage ``name``, created (at the rule file's weight) when missing."""
        if self._stages is None:
            self._stages = {s.name.casefold(): s.id for s in self.client.list_stages()}
        key = name.casefold()
        if key not in self._stages:
            weight = self.stage_weights.get(key)
            if weight is None:  # not a stage of the rule file: do not invent one
                return None
            created = self.client.create_stage(
                name, weight=weight, description="kept by scorebridge"
            )
            self._stages[key] = created.id
        return self._stages[key]

    def _stage(self, items: list[Claimed]) -> list[Outcome]:
        """Stage moves through the batch contact edit (``"stage": id``, ≤200 per call; Mautic
        logs each change as "Stage changed", §5.1)."""
        outcomes: list[Outcome] = []
        moves: dict[int, int] = {}
        for item in items:
            name = str(item.op.payload.get("stage") or "")
            stage_id = self._stage_id(name)
            if stage_id is None:
                outcomes.append(_dead(item, f"Mautic has no stage named {name!r}; create it"))
            else:
                moves[item.op.id] = stage_id
        ready = [i for i in items if i.op.id in moves]
        return outcomes + self._patch(ready, lambda i: {"stage": moves[i.op.id]})

    # -- segments, tags, notes ----------------------------------------------------------------

    def _segment_id(self, name: str) -> int:
        if self._segments is None:
            self._segments = {s.name.casefold(): s.id for s in self.client.list_segments()}
        key = name.casefold()
        if key not in self._segments:
            self._segments[key] = self.client.create_segment(name, description="scorebridge").id
        return self._segments[key]

    def _segment_add(self, items: list[Claimed]) -> list[Outcome]:
        client = self.client
        return self._membership(
            items, client.add_contacts_to_segment, client.add_contact_to_segment
        )

    def _segment_remove(self, items: list[Claimed]) -> list[Outcome]:
        client = self.client
        return self._membership(
            items, client.remove_contacts_from_segment, client.remove_contact_from_segment
        )

    def _membership(
        self,
        items: list[Claimed],
        change: Callable[[int, Sequence[int]], Mapping[int, bool]],
        change_one: Callable[[int, int], None],
    ) -> list[Outcome]:
        """Batch membership changes; a contact the batch answers ``false`` for (Mautic: missing
        or not visible) is tried once on its own, which says which: a 404 is final (dead
        letter), anything else is retried like any failed write."""
        by_segment: dict[str, list[Claimed]] = defaultdict(list)
        outcomes = []
        for item in items:
            name = str((item.op.payload.get("params") or {}).get("segment") or "")
            if not name:
                outcomes.append(_dead(item, "the action names no segment"))
            else:
                by_segment[name].append(item)
        for name, group in by_segment.items():
            segment_id = self._segment_id(name)
            done = change(segment_id, [_mid(i) for i in group])
            for item in group:
                mautic_id = _mid(item)
                if done.get(mautic_id):
                    outcomes.append(ok(item, segment=name))
                    continue
                try:
                    change_one(segment_id, mautic_id)
                    outcomes.append(ok(item, segment=name))
                except TerminalError as exc:
                    if exc.status != 404:
                        outcomes.append(failed(item, exc))
                        continue
                    outcomes.append(_dead(item, f"contact missing or not visible ({name})"))
                except Exception as exc:  # noqa: BLE001 - per item; failed() re-raises system errors
                    outcomes.append(failed(item, exc))
        return outcomes

    def _tags(self, items: list[Claimed]) -> list[Outcome]:
        def body(item: Claimed) -> dict[str, Any]:
            params = item.op.payload.get("params") or {}
            names = params.get("tags") or [params.get("tag")]
            sign = "-" if item.op.op.endswith(".remove") else ""
            return {"tags": [f"{sign}{n}" for n in names if n]}

        return self._patch(items, body)

    def _notes(self, items: list[Claimed]) -> list[Outcome]:
        """A note per op, carrying its key's marker; an op that may have been sent before
        (:func:`~scorebridge.sync.push.maybe_sent`: a crash, a retry, a push stopped mid-batch
        by a refused login) is first looked for in the contact's notes, which Mautic reads
        straight from its database (no search index, no lag)."""
        outcomes = []
        for item in items:
            mautic_id = _mid(item)
            marker = note_marker(item.op.idempotency_key)
            try:
                if maybe_sent(item):
                    found = self._find_note(mautic_id, marker)
                    if found is not None:
                        outcomes.append(ok(item, note_id=found, found=True))
                        continue
                text = f"{item.op.payload.get('text', '')}\n\n{marker}"
                note_type = str(item.op.payload.get("type") or "general")
                note = self.client.create_note(mautic_id, text, note_type=note_type)
                outcomes.append(ok(item, note_id=note.id))
            except Exception as exc:  # noqa: BLE001
                outcomes.append(failed(item, exc))
        return outcomes

    def _find_note(self, mautic_id: int, marker: str) -> int | None:
        """The id of the contact's note carrying ``marker``, newest first, every page read."""
        start = 0
        while True:
            notes = self.client.list_contact_notes(mautic_id, start=start, limit=NOTE_LOOKUP_LIMIT)
            found = next((n.id for n in notes if marker in n.text), None)
            if found is not None or len(notes) < NOTE_LOOKUP_LIMIT:
                return found
            start += len(notes)

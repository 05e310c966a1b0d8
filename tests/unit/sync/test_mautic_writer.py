"""The Mautic writer against a fake client: which calls each operation becomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scorebridge.errors import ItemResult, TerminalError
from scorebridge.mautic.schemas import (
    ContactField,
    ContactPage,
    MauticContact,
    MauticStage,
    Note,
    PointGroup,
    Segment,
)
from scorebridge.mautic.streams import SCOREBRIDGE_EVENT_NAME
from scorebridge.store.outbox import Operation
from scorebridge.sync.mautic_writer import MauticWriter
from scorebridge.sync.push import Claimed, Target


class FakeMautic:
    """Records calls; holds contacts (fields), groups, stages, segments and notes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fields = [ContactField(id=1, alias="email", label="Email", type="email")]
        self.contacts: dict[int, dict[str, Any]] = {
            5: {"email": "a@example.com", "firstname": "Ada", "points": 7, "sb_score": 3},
            6: {"email": "b@example.com", "firstname": "Bob", "points": 0, "sb_score": 9},
        }
        self.groups = [PointGroup(id=1, name="Product A")]
        self.notes: list[Note] = []
        self.batch_refuses: set[int] = set()  # answered "false" by the batch, yet present

    def list_contact_fields(self) -> list[ContactField]:
        self.calls.append(("list_fields", None))
        return self.fields

    def create_contact_field(self, label: str, alias: str, field_type: str) -> ContactField:
        self.calls.append(("create_field", (alias, field_type)))
        self.fields.append(ContactField(id=len(self.fields) + 1, alias=alias, label=label, type=""))
        return self.fields[-1]

    def batch_edit_contacts(self, edits: Sequence[Mapping[str, Any]]) -> list[ItemResult]:
        self.calls.append(("PATCH", [dict(e) for e in edits]))
        return [ItemResult(index=n, ok=True, status=200) for n in range(len(edits))]

    def batch_replace_contacts(self, edits: Sequence[Mapping[str, Any]]) -> list[ItemResult]:
        self.calls.append(("PUT", [dict(e) for e in edits]))
        return [ItemResult(index=n, ok=True, status=200) for n in range(len(edits))]

    def list_contacts(self, *, search: str, limit: int, order_by: str) -> ContactPage:
        self.calls.append(("list_contacts", search))
        ids = [int(i) for i in search.removeprefix("ids:").split(",")]
        found = [
            MauticContact(id=i, points=0, fields=dict(self.contacts[i]))
            for i in ids
            if i in self.contacts
        ]
        return ContactPage(total=len(found), contacts=found, rejected=[])

    def list_point_groups(self) -> list[PointGroup]:
        return list(self.groups)

    def create_point_group(self, name: str, description: str = "") -> PointGroup:
        self.calls.append(("create_group", name))
        self.groups.append(PointGroup(id=len(self.groups) + 1, name=name))
        return self.groups[-1]

    def set_group_score(self, contact_id: int, group_id: int, value: int, **kw: Any) -> None:
        self.calls.append(("set", (contact_id, group_id, value, kw["event_name"])))

    def list_stages(self) -> list[MauticStage]:
        return [MauticStage(id=2, name="MQL")]

    def create_stage(self, name: str, *, weight: int, description: str = "") -> MauticStage:
        self.calls.append(("create_stage", (name, weight)))
        return MauticStage(id=9, name=name, weight=weight)

    def list_segments(self) -> list[Segment]:
        return []

    def create_segment(self, name: str, *, description: str = "") -> Segment:
        self.calls.append(("create_segment", name))
        return Segment(id=40, name=name)

    def add_contacts_to_segment(self, segment_id: int, ids: Sequence[int]) -> dict[int, bool]:
        self.calls.append(("segment_add", (segment_id, list(ids))))
        return {i: i in self.contacts and i not in self.batch_refuses for i in ids}

    def add_contact_to_segment(self, segment_id: int, contact_id: int) -> None:
        self.calls.append(("segment_add_one", (segment_id, contact_id)))
        if contact_id not in self.contacts:
            raise TerminalError("Contact not found.", system="mautic", status=404)

    def list_contact_notes(self, contact_id: int, *, start: int, limit: int) -> list[Note]:
        self.calls.append(("list_notes", contact_id))
        newest_first = [n for n in reversed(self.notes) if n.contact_id == contact_id]
        return newest_first[start : start + limit]

    def create_note(self, contact_id: int, text: str, *, note_type: str) -> Note:
        self.calls.append(("note", (contact_id, note_type)))
        self.notes.append(
            Note(id=len(self.notes) + 1, text=text, type=note_type, contact_id=contact_id)
        )
        return self.notes[-1]


def claimed(
    op_id: int,
    op: str,
    mautic_id: int | None,
    payload: dict[str, Any],
    status: str = "pending",
    last_error: str | None = None,
) -> Claimed:
    operation = Operation(
        id=op_id,
        idempotency_key=f"k{op_id}",
        system="mautic",
        op=op,
        payload=payload,
        contact_id=op_id,
        status=status,
        attempts=0,
        next_attempt_at=None,
        last_error=last_error,
    )
    return Claimed(operation, Target(op_id, mautic_id, None, None))


def writer(fake: FakeMautic) -> MauticWriter:
    return MauticWriter(fake, score_field="sb_score", band_field="sb_band")  # type: ignore[arg-type]


def test_a_zero_is_written_by_putting_back_every_current_field() -> None:
    fake = FakeMautic()
    outcomes = writer(fake).write(
        [
            claimed(1, "mautic.fields", 5, {"fields": {"sb_score": 0, "sb_band": "cold"}}),
            claimed(2, "mautic.fields", 6, {"fields": {"sb_score": 4}}),
            claimed(3, "mautic.fields", 7, {"fields": {"sb_score": 0}}),
        ]
    )
    assert {o.op_id: o.status for o in outcomes} == {1: "ok", 2: "ok", 3: "dead"}
    writes = [(name, body) for name, body in fake.calls if name in ("PATCH", "PUT")]
    assert writes == [
        ("PATCH", [{"id": 6, "sb_score": 4}]),
        (
            "PUT",
            [
                {
                    "id": 5,
                    "email": "a@example.com",
                    "firstname": "Ada",
                    "sb_score": 0,
                    "sb_band": "cold",
                }
            ],
        ),
    ]  # points left out; contact 7 (not found by the read) is never PUT: PUT would create it
    assert ("list_contacts", "ids:5,7") in fake.calls


def test_missing_custom_fields_and_point_groups_are_created_once() -> None:
    fake = FakeMautic()
    w = writer(fake)
    for n in (1, 2):
        w.write(
            [
                claimed(n, "mautic.fields", 6, {"fields": {"sb_score": 4 + n}}),
                claimed(10 + n, "mautic.groups", 6, {"groups": {"Product A": 3, "general": n}}),
            ]
        )
    assert [c for c in fake.calls if c[0].startswith("create")] == [
        ("create_field", ("sb_score", "number")),
        ("create_field", ("sb_band", "text")),
        ("create_group", "general"),
    ]
    sets = [body for name, body in fake.calls if name == "set"]
    assert sets[:2] == [(6, 1, 3, SCOREBRIDGE_EVENT_NAME), (6, 2, 1, SCOREBRIDGE_EVENT_NAME)]


def test_stage_segment_tags_and_unknown_targets() -> None:
    fake = FakeMautic()
    outcomes = writer(fake).write(
        [
            claimed(1, "mautic.stage", 5, {"stage": "mql"}),
            claimed(2, "mautic.stage", 5, {"stage": "Customer"}),
            claimed(3, "mautic.segment.add", 5, {"params": {"segment": "Warm leads"}}),
            claimed(4, "mautic.segment.add", 8, {"params": {"segment": "Warm leads"}}),
            claimed(5, "mautic.tag.add", 6, {"params": {"tag": "hot"}}),
            claimed(6, "mautic.tag.remove", 6, {"params": {"tag": "cold"}}),
            claimed(7, "mautic.fields", None, {"fields": {"sb_score": 1}}),
            claimed(8, "mautic.points.plus", 5, {}),
        ]
    )
    status = {o.op_id: (o.status, o.message) for o in outcomes}
    assert status[1] == ("ok", "")
    assert status[2][0] == "dead"
    assert "no stage named 'Customer'" in status[2][1]
    assert (status[3][0], status[4][0]) == ("ok", "dead")
    assert (status[5][0], status[6][0]) == ("ok", "ok")
    assert status[7] == ("dead", "the contact has no Mautic id")
    assert status[8][0] == "dead"
    assert ("PATCH", [{"id": 5, "stage": 2}]) in fake.calls  # the batch contact edit
    assert ("segment_add", (40, [5, 8])) in fake.calls
    assert ("PATCH", [{"id": 6, "tags": ["hot"]}, {"id": 6, "tags": ["-cold"]}]) in fake.calls


def test_a_note_that_may_have_been_sent_is_looked_up_before_it_is_created() -> None:
    fake = FakeMautic()
    w = writer(fake)
    w.write([claimed(1, "mautic.note", 5, {"text": "Warm lead", "type": "call"})])
    assert fake.notes[0].text == "Warm lead\n\n[scorebridge:k1]"
    assert ("list_notes", 5) not in fake.calls  # a first attempt does not look
    again = w.write([claimed(1, "mautic.note", 5, {"text": "Warm lead"}, status="in_flight")])
    assert (again[0].status, again[0].result) == ("ok", {"note_id": 1, "found": True})
    assert len(fake.notes) == 1


def test_a_note_released_by_a_refused_login_is_found_among_many_notes() -> None:
    fake = FakeMautic()
    w = writer(fake)
    w.write([claimed(1, "mautic.note", 5, {"text": "Call them"})])
    for n in range(2, 252):  # the rep's own notes, newer than ours: ours is on the third page
        w.write([claimed(n, "mautic.note", 5, {"text": f"note {n}"})])
    fake.calls.clear()
    # the push stopped mid-batch (401): put back pending, no attempt counted, the error kept
    released = claimed(1, "mautic.note", 5, {"text": "Call them"}, last_error="401 refused")
    again = w.write([released])
    assert (again[0].status, again[0].result) == ("ok", {"note_id": 1, "found": True})
    assert fake.calls.count(("list_notes", 5)) == 3
    assert len(fake.notes) == 251


def test_a_stage_of_the_rule_file_missing_in_mautic_is_created_once() -> None:
    fake = FakeMautic()
    made = MauticWriter(
        fake,  # type: ignore[arg-type]
        score_field="sb_score",
        band_field="sb_band",
        stage_weights={"mql": 10, "sql": 20},
    )
    outcomes = made.write(
        [
            claimed(1, "mautic.stage", 5, {"stage": "SQL"}),
            claimed(2, "mautic.stage", 6, {"stage": "sql"}),
            claimed(3, "mautic.stage", 6, {"stage": "Customer"}),  # not ours: never invented
        ]
    )
    assert {o.op_id: o.status for o in outcomes} == {1: "ok", 2: "ok", 3: "dead"}
    assert [c for c in fake.calls if c[0] == "create_stage"] == [("create_stage", ("SQL", 20))]
    assert ("PATCH", [{"id": 5, "stage": 9}, {"id": 6, "stage": 9}]) in fake.calls


def test_a_contact_the_segment_batch_refuses_is_tried_alone_before_it_is_dead_lettered() -> None:
    fake = FakeMautic()
    fake.batch_refuses = {6}  # present, but the batch said "false" (visibility, a glitch)
    outcomes = writer(fake).write(
        [
            claimed(1, "mautic.segment.add", 5, {"params": {"segment": "Warm leads"}}),
            claimed(2, "mautic.segment.add", 6, {"params": {"segment": "Warm leads"}}),
            claimed(3, "mautic.segment.add", 8, {"params": {"segment": "Warm leads"}}),
        ]
    )
    status = {o.op_id: (o.status, o.message) for o in outcomes}
    assert status[1][0] == status[2][0] == "ok"
    assert status[3] == ("dead", "contact missing or not visible (Warm leads)")
    singles = [body for name, body in fake.calls if name == "segment_add_one"]
    assert singles == [(40, 6), (40, 8)]  # only the refused ones, once each

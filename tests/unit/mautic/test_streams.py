"""The incremental readers' edge cases, against an in-memory source that filters like Mautic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from scorebridge.mautic.contacts_stream import read_contacts
from scorebridge.mautic.schemas import ContactPage, MauticContact, StatsPage
from scorebridge.mautic.streams import (
    GROUP_SET,
    ID_STREAMS,
    SCOREBRIDGE_EVENT_NAME,
    TIME_STREAMS,
    fmt,
    group_set_action,
    read_id_stream,
    read_time_stream,
)

T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
LAG = timedelta(seconds=10)


def _matches(row: dict[str, Any], clause: dict[str, Any]) -> bool:
    if clause["expr"] == "orX":
        return any(_matches(row, c) for c in clause["val"])
    if clause["expr"] == "andX":
        return all(_matches(row, c) for c in clause["val"])
    value = row.get(clause["col"])
    if value is None:
        return False
    if clause["col"] == "id":
        value, target = int(value), int(clause["val"])
    else:
        target = clause["val"]
    return {"gt": value > target, "gte": value >= target, "eq": value == target}[clause["expr"]]


class FakeMautic:
    """Rows as Mautic stores them (strings), filtered with AND of the where clauses, ordered by
    id. ``on_call`` runs before each answer to simulate rows added while paging."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self.contacts: list[dict[str, Any]] = []
        self.calls = 0
        self.on_call: Any = None
        self.clock: datetime | None = None  # the Date header of contact pages

    def stats(
        self, table: str, *, where: Any = None, order: Any = None, start: int = 0, limit: int = 100
    ) -> StatsPage:
        self.calls += 1
        if self.on_call:
            self.on_call(self)
        rows = [r for r in self.tables.get(table, []) if all(_matches(r, c) for c in where or [])]
        rows.sort(key=lambda r: int(r["id"]))
        return StatsPage(total=len(rows), rows=rows[start : start + limit])

    def list_contacts(
        self,
        *,
        where: Any = None,
        order_by: Any = None,
        order_dir: Any = None,
        start: int = 0,
        limit: int = 100,
    ) -> ContactPage:
        self.calls += 1
        if self.on_call:
            self.on_call(self)
        rows = [c for c in self.contacts if all(_matches(c, w) for w in where or [])]
        rows.sort(key=lambda c: int(c["id"]))
        page = rows[start : start + limit]
        return ContactPage(
            total=len(rows), contacts=[_contact(c) for c in page], server_time=self.clock
        )


def _contact(row: dict[str, Any]) -> MauticContact:
    def parse(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)

    return MauticContact(
        id=int(row["id"]),
        points=0,
        fields={"email": f"c{row['id']}@example.com"},
        date_added=parse(row["date_added"]),
        date_modified=parse(row["date_modified"]),
    )


def contact_row(cid: int, added: datetime, modified: datetime | None) -> dict[str, Any]:
    return {"id": str(cid), "date_added": fmt(added), "date_modified": modified and fmt(modified)}


def drain_contacts(
    source: FakeMautic, cursor: str, now: datetime, size: int = 2
) -> tuple[list[int], str]:
    seen: list[int] = []
    for page in read_contacts(
        source,
        cursor,
        cycle_start=now,
        commit_lag=LAG,
        backfill_from=datetime(1970, 1, 1, tzinfo=UTC),
        page_size=size,
    ):
        seen += [c.id for c in page.contacts]
        cursor = page.cursor
    return seen, cursor


def test_contacts_with_the_same_second_across_page_boundaries_are_each_read_once() -> None:
    source = FakeMautic()
    source.contacts = [contact_row(i, T0 - timedelta(days=3), T0) for i in range(1, 8)]
    seen, cursor = drain_contacts(source, "", T0 + timedelta(minutes=1))
    assert seen == [1, 2, 3, 4, 5, 6, 7]
    assert json.loads(cursor) == {"ts": T0.isoformat(), "id": 7}


def test_an_idle_read_after_a_large_write_back_is_one_request() -> None:
    source = FakeMautic()
    source.contacts = [contact_row(i, T0 - timedelta(days=3), T0) for i in range(1, 501)]
    seen, cursor = drain_contacts(source, "", T0 + timedelta(minutes=1), size=200)
    assert len(seen) == 500  # the echo of a write-back is read once ...
    source.calls = 0
    again, _ = drain_contacts(source, cursor, T0 + timedelta(minutes=1, seconds=5), size=200)
    assert (again, source.calls) == ([], 1)  # ... and passed: no overlap window to re-read


def test_new_contacts_without_date_modified_are_found_through_date_added() -> None:
    source = FakeMautic()
    source.contacts = [contact_row(1, T0 - timedelta(days=1), None)]
    seen, cursor = drain_contacts(source, "", T0 + timedelta(hours=1))
    assert seen == [1]
    source.contacts.append(contact_row(2, T0 + timedelta(hours=2), None))
    seen, _ = drain_contacts(source, cursor, T0 + timedelta(hours=3))
    assert seen == [2]


def test_contacts_added_or_modified_while_paging_are_not_lost() -> None:
    source = FakeMautic()
    source.contacts = [contact_row(i, T0 - timedelta(days=1), T0) for i in range(1, 6)]

    def grow(fake: FakeMautic) -> None:
        if fake.calls == 2:  # between page 1 and page 2
            fake.contacts.append(contact_row(6, T0 + timedelta(seconds=30), None))
            fake.contacts[0]["date_modified"] = fmt(T0 + timedelta(seconds=40))

    source.on_call = grow
    now = T0 + timedelta(minutes=1)
    seen, cursor = drain_contacts(source, "", now)
    assert 6 in seen
    again, _ = drain_contacts(source, cursor, now + timedelta(minutes=5))
    assert again == [1], "the contact modified behind the paging is read by the next cycle"


def test_a_contact_changed_within_the_commit_lag_is_read_again_on_mautics_clock() -> None:
    source = FakeMautic()
    source.clock = T0 + timedelta(seconds=5)  # Mautic's clock, well behind ours
    source.contacts = [
        contact_row(1, T0 - timedelta(days=1), T0 - timedelta(minutes=1)),
        contact_row(2, T0 - timedelta(days=1), T0),  # saved 5 s before Mautic answered
    ]
    seen, cursor = drain_contacts(source, "", T0 + timedelta(hours=1))
    assert seen == [1, 2]
    assert json.loads(cursor) == {"ts": (T0 - LAG + timedelta(seconds=5)).isoformat(), "id": 0}
    again, _ = drain_contacts(source, cursor, T0 + timedelta(hours=2))
    assert again == [2]  # a save committing late next to it would have been found too


def test_the_cursor_never_moves_past_our_clock_when_mautic_sends_no_date() -> None:
    source = FakeMautic()
    future = T0 + timedelta(minutes=5)  # Mautic's clock runs ahead of ours
    source.contacts = [contact_row(1, future, future)]
    _, cursor = drain_contacts(source, "", T0)
    assert datetime.fromisoformat(json.loads(cursor)["ts"]) == T0 - LAG


def test_a_cursor_of_the_overlap_window_reader_restarts_one_overlap_back() -> None:
    source = FakeMautic()
    source.contacts = [
        contact_row(1, T0 - timedelta(days=1), T0 - timedelta(minutes=20)),
        contact_row(2, T0 - timedelta(days=1), T0 - timedelta(minutes=5)),
    ]
    seen, cursor = drain_contacts(source, json.dumps({"since": T0.isoformat()}), T0)
    assert seen == [2]
    assert "ts" in json.loads(cursor)


def test_a_crash_inside_a_window_resumes_after_the_last_stored_page() -> None:
    source = FakeMautic()
    source.contacts = [contact_row(i, T0 - timedelta(days=1), T0) for i in range(1, 8)]
    pages = read_contacts(
        source,
        "",
        cycle_start=T0 + timedelta(minutes=1),
        commit_lag=LAG,
        backfill_from=datetime(1970, 1, 1, tzinfo=UTC),
        page_size=3,
    )
    first = next(pages)  # stored; then the process dies
    seen, cursor = drain_contacts(source, first.cursor, T0 + timedelta(minutes=2), size=3)
    assert [c.id for c in first.contacts] == [1, 2, 3]
    assert seen == [4, 5, 6, 7]
    assert json.loads(cursor) == {"ts": T0.isoformat(), "id": 7}


def point_row(rid: int, lead: int, at: datetime, delta: str = "5") -> dict[str, Any]:
    return {
        "id": str(rid),
        "lead_id": str(lead),
        "type": "form",
        "event_name": "1: Demo",
        "action_name": "submit",
        "delta": delta,
        "date_added": fmt(at),
        "group_id": None,
    }


def test_id_stream_stops_its_cursor_at_a_fresh_gap_in_the_ids() -> None:
    source = FakeMautic()
    now = T0
    source.tables["lead_points_change_log"] = [
        point_row(1, 1, now - timedelta(hours=1)),
        point_row(3, 1, now - timedelta(minutes=1)),  # id 2 may still be committing
    ]
    settle = now - timedelta(minutes=2)
    (page,) = read_id_stream(source, ID_STREAMS["points"], "", settle_before=settle, page_size=10)
    assert [e.external_id for e in page.events] == ["1", "3"]
    assert json.loads(page.cursor) == {"after": 1}
    source.tables["lead_points_change_log"].insert(1, point_row(2, 2, now - timedelta(minutes=1)))
    (page,) = read_id_stream(
        source, ID_STREAMS["points"], page.cursor, settle_before=settle, page_size=10
    )
    assert [e.external_id for e in page.events] == ["2", "3"], "the late row is not lost"
    assert json.loads(page.cursor) == {"after": 3}


def test_id_stream_moves_past_fresh_contiguous_rows_and_old_gaps() -> None:
    source = FakeMautic()
    source.tables["lead_points_change_log"] = [
        point_row(1, 1, T0 - timedelta(days=2)),
        point_row(5, 1, T0 - timedelta(days=1)),  # ids 2-4 deleted long ago
        point_row(6, 1, T0 - timedelta(seconds=5)),
    ]
    settle = T0 - timedelta(minutes=2)
    (page,) = read_id_stream(source, ID_STREAMS["points"], "", settle_before=settle, page_size=10)
    assert json.loads(page.cursor) == {"after": 6}


def test_a_malformed_row_is_rejected_and_the_stream_goes_on() -> None:
    source = FakeMautic()
    bad = point_row(2, 1, T0 - timedelta(hours=2), delta="lots")
    source.tables["lead_points_change_log"] = [
        point_row(1, 1, T0 - timedelta(hours=3)),
        bad,
        point_row(3, 2, T0 - timedelta(hours=1)),
    ]
    (page,) = read_id_stream(source, ID_STREAMS["points"], "", settle_before=T0, page_size=10)
    assert [e.external_id for e in page.events] == ["1", "3"]
    assert [(r.record_id, "delta" in r.reason) for r in page.rejects] == [("2", True)]
    assert json.loads(page.cursor) == {"after": 3}


def test_tracked_email_clicks_become_click_events() -> None:
    source = FakeMautic()
    source.tables["page_hits"] = [
        {
            "id": "1",
            "lead_id": "4",
            "url": "https://x.example/pricing",
            "email_id": None,
            "page_id": None,
            "date_hit": fmt(T0),
        },
        {
            "id": "2",
            "lead_id": "4",
            "url": "https://x.example/?utm_source=email",
            "email_id": "6",
            "page_id": None,
            "date_hit": fmt(T0),
        },
    ]
    (page,) = read_id_stream(source, ID_STREAMS["page_hits"], "", settle_before=T0, page_size=10)
    assert [(e.kind, e.attributes.get("email_id")) for e in page.events] == [
        ("page.hit", None),
        ("email.click", 6),
    ]


def test_email_opens_are_read_by_time_because_rows_change_in_place() -> None:
    source = FakeMautic()
    row = {
        "id": "9",
        "lead_id": "3",
        "email_id": "2",
        "is_read": "0",
        "date_sent": fmt(T0),
        "date_read": None,
        "last_opened": None,
        "open_count": "0",
    }
    source.tables["email_stats"] = [row]
    stream = TIME_STREAMS["email_stats"]
    kwargs = {
        "overlap": timedelta(minutes=10),
        "backfill_from": T0 - timedelta(days=1),
        "page_size": 10,
    }
    pages = list(
        read_time_stream(source, stream, "", cycle_start=T0 + timedelta(minutes=1), **kwargs)
    )
    assert sum(len(p.events) for p in pages) == 0
    row.update(
        is_read="1",
        date_read=fmt(T0 + timedelta(seconds=3)),
        last_opened=fmt(T0 + timedelta(seconds=3)),
        open_count="1",
    )
    pages = list(
        read_time_stream(
            source, stream, pages[-1].cursor, cycle_start=T0 + timedelta(hours=1), **kwargs
        )
    )
    (event,) = [e for p in pages for e in p.events]
    assert event.kind == "email.open"
    assert event.attributes["seconds_after_send"] == 3.0


def test_scorebridge_group_sets_come_back_as_their_own_kind_with_the_value_set() -> None:
    source = FakeMautic()
    ours = point_row(2, 7, T0, delta="12") | {
        "event_name": SCOREBRIDGE_EVENT_NAME,
        "action_name": group_set_action(15),
        "group_id": "1",
    }
    source.tables["lead_points_change_log"] = [point_row(1, 7, T0) | {"group_id": "1"}, ours]
    (page,) = read_id_stream(
        source, ID_STREAMS["points"], "", settle_before=T0, page_size=10, groups={1: "Product A"}
    )
    assert [(e.kind, e.attributes.get("value"), e.attributes["group"]) for e in page.events] == [
        ("mautic.points", None, "Product A"),
        (GROUP_SET, 15, "Product A"),  # never scored (no rule may name it), kept as a baseline
    ]

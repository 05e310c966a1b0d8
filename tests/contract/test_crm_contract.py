"""The CRM contract: every adapter (and the fake) behaves the same through :class:`CrmAdapter`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_backdoor import Backdoor

from scorebridge.crm import CrmAdapter, DealSpec, FieldSpec, TaskSpec, Usage, WriteItem

FIELDS = [
    FieldSpec("scorebridge_score", "scorebridge score", "number"),
    FieldSpec("scorebridge_band", "scorebridge band", "enumeration", ("cold", "warm", "hot")),
    FieldSpec("scorebridge_product_a", "scorebridge product_a", "number"),
    FieldSpec("scorebridge_stage", "scorebridge stage", "string"),
]


def all_contacts(adapter: CrmAdapter, since: datetime | None = None) -> list:  # type: ignore[type-arg]
    return [c for page in adapter.contacts_changed_since(since) for c in page.items]


def test_ensure_schema_creates_missing_fields_once(adapter: CrmAdapter) -> None:
    assert set(adapter.ensure_schema(FIELDS)) == {f.name for f in FIELDS}
    assert adapter.ensure_schema(FIELDS) == []


def test_create_upserts_by_email_and_values_read_back_as_strings(adapter: CrmAdapter) -> None:
    adapter.ensure_schema(FIELDS)
    first = adapter.create_contacts(
        [
            WriteItem(
                email="Lea.Berg@Example.com",
                properties={"scorebridge_score": 0, "scorebridge_band": "cold"},
            )
        ]
    )
    assert first[0].ok
    assert first[0].remote_id
    again = adapter.create_contacts(
        [WriteItem(email="lea.berg@example.com", properties={"scorebridge_score": 77})]
    )
    assert again[0].ok
    assert again[0].remote_id == first[0].remote_id  # no duplicate contact
    found = adapter.find_by_email(["LEA.BERG@example.com", "nobody@example.com"])
    assert list(found) == ["lea.berg@example.com"]
    lea = found["lea.berg@example.com"]
    assert lea.id == first[0].remote_id
    assert lea.properties["scorebridge_score"] == "77"
    assert lea.properties["scorebridge_band"] == "cold"


def test_zero_is_written_and_none_clears(adapter: CrmAdapter, backdoor: Backdoor) -> None:
    adapter.ensure_schema(FIELDS)
    contact_id = backdoor.add_contact("zero@example.com", {})
    adapter.update_contacts(
        [
            WriteItem(
                crm_id=contact_id, properties={"scorebridge_score": 0, "scorebridge_stage": "mql"}
            )
        ]
    )
    props = adapter.find_by_email(["zero@example.com"])["zero@example.com"].properties
    assert props["scorebridge_score"] == "0"
    adapter.update_contacts([WriteItem(crm_id=contact_id, properties={"scorebridge_stage": None})])
    props = adapter.find_by_email(["zero@example.com"])["zero@example.com"].properties
    assert "scorebridge_stage" not in props


def test_update_acks_good_items_and_fails_unknown_ids(
    adapter: CrmAdapter, backdoor: Backdoor
) -> None:
    adapter.ensure_schema(FIELDS)
    a = backdoor.add_contact("a@example.com", {})
    b = backdoor.add_contact("b@example.com", {})
    results = adapter.update_contacts(
        [
            WriteItem(crm_id=a, properties={"scorebridge_score": 10}),
            WriteItem(crm_id="987654321", properties={"scorebridge_score": 20}),
            WriteItem(crm_id=b, properties={"scorebridge_score": 30}),
        ]
    )
    assert [(r.index, r.ok) for r in results] == [(0, True), (1, False), (2, True)]
    assert results[1].status == 404
    assert not results[1].retryable
    found = adapter.find_by_email(["a@example.com", "b@example.com"])
    assert found["b@example.com"].properties["scorebridge_score"] == "30"


def test_changed_since_delivers_each_contact_in_modified_order(
    adapter: CrmAdapter, backdoor: Backdoor
) -> None:
    ids = [backdoor.add_contact(f"p{n}@example.com", {"first_name": f"P{n}"}) for n in range(5)]
    pages = list(adapter.contacts_changed_since(None))
    seen = [c for page in pages for c in page.items]
    assert {c.id for c in seen} >= set(ids)
    ours = [c for c in seen if c.id in ids]
    assert len(ours) == len(ids)  # each once
    stamps = [c.updated_at for c in seen]
    assert stamps == sorted(stamps)
    assert all(page.cursor == max(c.updated_at for c in page.items) for page in pages)
    assert all(s.tzinfo is not None and s.utcoffset() == timedelta(0) for s in stamps)
    assert next(c for c in ours if c.email == "p3@example.com").properties["first_name"] == "P3"

    cursor = pages[-1].cursor
    later = all_contacts(adapter, cursor + timedelta(seconds=1))
    assert [c.id for c in later if c.id in ids] == []
    adapter.update_contacts([WriteItem(crm_id=ids[0], properties={"first_name": "Changed"})])
    resumed = [c for c in all_contacts(adapter, cursor) if c.id in ids]
    assert ids[0] in [c.id for c in resumed]


def test_owners_lists_the_reps(adapter: CrmAdapter, backdoor: Backdoor) -> None:
    owner_id = backdoor.add_owner("rep@example.com", "Rita", "Rep")
    owners = {o.id: o for o in adapter.owners()}
    assert owners[owner_id].email == "rep@example.com"
    assert owners[owner_id].name == "Rita Rep"
    assert owners[owner_id].active


def test_closed_deals_carry_outcome_amount_and_contacts(
    adapter: CrmAdapter, backdoor: Backdoor
) -> None:
    contact_id = backdoor.add_contact("buyer@example.com", {})
    won = backdoor.add_closed_deal(won=True, amount=1200.0, contact_id=contact_id)
    lost = backdoor.add_closed_deal(won=False, amount=300.0, contact_id=contact_id)
    deals = {d.id: d for page in adapter.closed_deals_since(None) for d in page.items}
    assert (deals[won].won, deals[won].amount, deals[won].contact_ids) == (
        True,
        1200.0,
        (contact_id,),
    )
    assert (deals[lost].won, deals[lost].contact_ids) == (False, (contact_id,))
    assert deals[won].closed_at is not None


def test_task_exists_once_per_idempotency_key(adapter: CrmAdapter, backdoor: Backdoor) -> None:
    contact_id = backdoor.add_contact("task@example.com", {})
    backdoor.lag_search()  # the check right after the create must not depend on a search index
    owner_id = backdoor.add_owner("owner@example.com", "Olga", "Owner")
    spec = TaskSpec(
        idempotency_key=f"warm-notify-sales:{contact_id}:1",
        subject="Warm lead: 52 points",
        body="pricing page 3x; demo form",
        due_at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
        owner_id=owner_id,
        priority="high",
        contact_id=contact_id,
    )
    assert adapter.find_open_task(spec.idempotency_key, contact_id) is None
    task_id = adapter.create_task(spec)
    # a rerun after a crash between "created" and "recorded" finds it instead of creating again
    assert adapter.find_open_task(spec.idempotency_key, contact_id) == task_id
    assert adapter.find_open_task(f"warm-notify-sales:{contact_id}:2", contact_id) is None
    assert backdoor.tasks_of(contact_id) == [task_id]


def test_deal_exists_once_per_idempotency_key(adapter: CrmAdapter, backdoor: Backdoor) -> None:
    adapter.ensure_schema(FIELDS)
    contact_id = backdoor.add_contact("hot@example.com", {})
    other = backdoor.add_contact("other@example.com", {})
    backdoor.lag_search()  # the check right after the create must not depend on a search index
    spec = DealSpec(f"turned-hot:{contact_id}:1", "Hot lead", None, None, 5000.0, None, contact_id)
    before = backdoor.deal_count()
    assert adapter.find_deal(spec.idempotency_key, contact_id) is None
    deal_id = adapter.create_deal(spec)
    # a rerun after a crash between "created" and "recorded" finds it instead of creating again
    assert adapter.find_deal(spec.idempotency_key, contact_id) == deal_id
    assert adapter.find_deal(f"turned-hot:{contact_id}:2", contact_id) is None
    assert adapter.find_deal(f"turned-hot:{other}:1", other) is None
    assert backdoor.deal_count() == before + 1


def test_capabilities_and_usage_are_plain_values(adapter: CrmAdapter) -> None:
    caps = adapter.capabilities
    assert caps.max_batch >= 1
    assert caps.search_page_size >= 1
    assert isinstance(adapter.usage(), Usage)


def test_open_deals_are_the_contacts_deals_the_pipeline_does_not_call_closed(
    adapter: CrmAdapter, backdoor: Backdoor
) -> None:
    adapter.ensure_schema(FIELDS)
    lead = backdoor.add_contact("lead@example.com", {})
    other = backdoor.add_contact("someone@example.com", {})
    backdoor.lag_search()  # open_deals must not depend on a search index either
    assert adapter.open_deals(lead, None) == []
    by_rep = backdoor.add_open_deal(lead, "Renewal")
    won = backdoor.add_open_deal(lead, "Last year")
    backdoor.close_deal(won, won=True)
    backdoor.add_open_deal(other, "Not this lead's")
    spec = DealSpec(f"turned-hot:{lead}:1", "Hot lead", None, None, None, None, lead)
    ours = adapter.create_deal(spec)
    found = adapter.open_deals(lead, None)
    assert [(d.id, d.name, d.idempotency_key) for d in found] == [
        (by_rep, "Renewal", None),
        (ours, "Hot lead", spec.idempotency_key),
    ]
    assert found[0].pipeline == found[1].pipeline
    backdoor.close_deal(ours, won=False)
    assert [d.id for d in adapter.open_deals(lead, None)] == [by_rep]
    assert adapter.find_deal(spec.idempotency_key, lead) == ours  # closed, still found


def test_a_task_can_be_linked_to_a_deal_too(adapter: CrmAdapter, backdoor: Backdoor) -> None:
    adapter.ensure_schema(FIELDS)
    contact_id = backdoor.add_contact("again@example.com", {})
    deal_id = backdoor.add_open_deal(contact_id, "Open deal")
    backdoor.lag_search()
    spec = TaskSpec(
        idempotency_key=f"turned-hot:{contact_id}:2:hot-again",
        subject="Hot again: Ada",
        body="crossed the hot threshold again",
        due_at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
        owner_id=None,
        priority="high",
        contact_id=contact_id,
        deal_id=deal_id,
    )
    task_id = adapter.create_task(spec)
    assert backdoor.deals_of_task(task_id) == [deal_id]
    assert adapter.find_open_task(spec.idempotency_key, contact_id) == task_id
    assert backdoor.tasks_of(contact_id) == [task_id]


IDENTITY = {
    "company": "Acme Kft.",
    "job_title": "CTO",
    "phone": "+36 1 234 5678",
    "country": "Hungary",
}


def test_identity_fields_are_written_under_their_logical_names(
    adapter: CrmAdapter, backdoor: Backdoor
) -> None:
    adapter.ensure_schema(FIELDS)
    [created] = adapter.create_contacts(
        [WriteItem(email="Ida@Example.com", properties={"first_name": "Ida", **IDENTITY})]
    )
    assert created.ok
    assert created.remote_id
    stored = backdoor.standard_values(created.remote_id)
    expected = {"email": "ida@example.com", "first_name": "Ida", **IDENTITY}
    # a CRM may fill what it requires on create (Salesforce: a Lead's LastName), nothing else
    assert {k: v for k, v in stored.items() if k != "last_name"} == expected
    ida = adapter.find_by_email(["ida@example.com"])["ida@example.com"]
    assert ida.properties["first_name"] == "Ida"  # LOGICAL_ON_READ come back by logical name


def test_an_e_mail_change_to_another_contacts_e_mail_fails_that_item_for_good(
    adapter: CrmAdapter, backdoor: Backdoor
) -> None:
    adapter.ensure_schema(FIELDS)
    holder = backdoor.add_contact("taken@example.com", {})
    mover = backdoor.add_contact("old@example.com", {})
    other = backdoor.add_contact("other@example.com", {})
    results = adapter.update_contacts(
        [
            WriteItem(crm_id=other, properties={"scorebridge_score": 40}),
            WriteItem(crm_id=mover, properties={"email": "Taken@example.com"}),
        ]
    )
    assert results[0].ok
    refused = results[1]
    assert (refused.ok, refused.retryable, refused.status) == (False, False, 409)
    assert refused.message == f"e-mail taken@example.com already belongs to CRM contact {holder}"
    found = adapter.find_by_email(["taken@example.com", "old@example.com", "other@example.com"])
    assert (found["taken@example.com"].id, found["old@example.com"].id) == (holder, mover)
    assert found["other@example.com"].properties["scorebridge_score"] == "40"
    [moved] = adapter.update_contacts(
        [WriteItem(crm_id=mover, properties={"email": "New@example.com"})]
    )
    assert moved.ok
    assert adapter.find_by_email(["new@example.com"])["new@example.com"].id == mover
    assert backdoor.standard_values(mover)["email"] == "new@example.com"

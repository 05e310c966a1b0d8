"""The Pipedrive CRM adapter: :class:`PipedriveAdapter` implements
:class:`~scorebridge.crm.CrmAdapter` on Pipedrive's API v2 (v1 only for users).

Owns: which endpoints serve each operation (crm-apis.md §2): person fields (``ensure_schema``:
scorebridge's fields plus text fields for the standard names persons lack), users, persons and
won/lost deals changed since T (``updated_since``, ``sort_by=update_time``, cursor paging),
persons by e-mail through :class:`~.directory.PersonDirectory` (never the search index),
person writes one request per item (Pipedrive has no batch or upsert), activities and deals
(see :mod:`.engagements`).
Must not: hold vendor JSON beyond a method call, decide retries (the HTTP layer does), or import
:mod:`scorebridge.sandbox`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import requests

from scorebridge.clock import Clock
from scorebridge.crm.base import (
    Capabilities,
    ClosedDeal,
    CrmContact,
    DealSpec,
    FieldSpec,
    FieldValue,
    OpenDeal,
    Owner,
    Page,
    TaskSpec,
    Usage,
    WriteItem,
)
from scorebridge.crm.errors import CrmError, crm_error
from scorebridge.crm.owner_refs import OwnerRefs
from scorebridge.crm.pipedrive import fields as f
from scorebridge.crm.pipedrive import mapping as m
from scorebridge.crm.pipedrive.auth import OAUTH_URL, SYSTEM, ApiToken, OAuthRefresh, PipedriveAuth
from scorebridge.crm.pipedrive.directory import PERSONS, PersonDirectory
from scorebridge.crm.pipedrive.engagements import Engagements
from scorebridge.crm.pipedrive.transport import PAGE_LIMIT, PipedriveTransport, data_of
from scorebridge.crm.upstream import normalize_email
from scorebridge.errors import ConfigError, ItemResult
from scorebridge.http import SHARED_BUCKETS, BucketRegistry, RetryPolicy

if TYPE_CHECKING:
    from scorebridge.config import CrmSettings

log = logging.getLogger(__name__)

IDS_PER_READ = 100  # ``ids`` of the persons list takes at most 100
_PER_ITEM_KINDS = frozenset({"validation", "not_found", "conflict"})


class PipedriveAdapter:
    """Pipedrive through an API token (``x-api-token``) or OAuth 2 with a refresh token.

    ``base_url`` is the company domain (``https://{company}.pipedrive.com``); with OAuth the
    token answer's ``api_domain`` replaces it. ``burst_per_2s`` is the plan's burst limit per
    token; ``activity_type`` the ``key_string`` of the activity type tasks get.
    """

    name = "pipedrive"

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        oauth_url: str = OAUTH_URL,
        clock: Clock | None = None,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        burst_per_2s: int = 20,
        buckets: BucketRegistry = SHARED_BUCKETS,
        activity_type: str = "task",
    ) -> None:
        auth: PipedriveAuth
        if token:
            auth = ApiToken(token)
        elif client_id and client_secret and refresh_token:
            auth = OAuthRefresh(
                client_id=client_id,
                client_secret=client_secret,
                refresh_token=refresh_token,
                oauth_url=oauth_url,
                on_domain=lambda domain: self.transport.use_domain(domain),
            )
        else:
            raise ConfigError(
                "pipedrive needs an API token, or client_id, client_secret and refresh_token",
                key="crm.auth",
            )
        self.transport = PipedriveTransport(
            base_url=base_url,
            auth=auth,
            clock=clock,
            session=session,
            retry=retry,
            burst_per_2s=burst_per_2s,
            buckets=buckets,
        )
        self._fields: f.PersonFields | None = None
        self._directory = PersonDirectory(self.transport)
        self._owner_refs = OwnerRefs(SYSTEM, self.owners)
        self._engagements = Engagements(self.transport, activity_type=activity_type)

    @classmethod
    def from_settings(
        cls, cfg: CrmSettings, clock: Clock, session: requests.Session
    ) -> PipedriveAdapter:
        """The adapter the ``[crm]`` table describes (``auth = "token"`` or ``"oauth2"``)."""
        return cls(
            base_url=cfg.url,
            token=_secret(cfg.token) if cfg.auth != "oauth2" else None,
            client_id=cfg.client_id,
            client_secret=_secret(cfg.client_secret),
            refresh_token=_secret(cfg.refresh_token),
            oauth_url=cfg.oauth_url or OAUTH_URL,
            clock=clock,
            session=session,
            burst_per_2s=cfg.requests_per_2s,
            activity_type=cfg.activity_type,
        )

    @property
    def capabilities(self) -> Capabilities:
        """One person per write (no batch endpoint), 500 per page, tasks/deals by lookup."""
        return Capabilities(
            max_batch=1,
            supports_upsert=False,
            search_page_size=PAGE_LIMIT,
            task_idempotency="lookup",
        )

    def usage(self) -> Usage:
        """The daily token budget left, from the last ``x-daily-ratelimit-token-remaining``."""
        return self.transport.usage()

    # -- schema and owners ------------------------------------------------------------------

    def _person_fields(self, *, fresh: bool = False) -> f.PersonFields:
        if self._fields is None or fresh:
            rows = [r for page in self.transport.pages("/api/v2/personFields", {}) for r in page]
            self._fields = f.PersonFields(f.PersonField.parse(r) for r in rows)
        return self._fields

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        """Create the missing custom person fields: scorebridge's (named by their spec name)
        and the text fields holding the standard names persons lack (company, job title,
        country, lifecycle stage, lead status). Returns the names of ``fields`` created."""
        ours = {spec.name for spec in fields}
        wanted = _wanted(fields)
        created = []
        for spec in self._person_fields(fresh=True).missing(wanted):
            name = spec.name if spec.name in ours else spec.label
            self.transport.send(
                "POST", "/api/v2/personFields", json=f.create_body(spec, name), idempotent=False
            )
            log.info("pipedrive: created person field %s", name)
            if spec.name in ours:
                created.append(spec.name)
        if created or len(wanted) > len(created):
            self._person_fields(fresh=True)
        return created

    def missing_fields(self, fields: Sequence[FieldSpec]) -> list[str]:
        """The person fields ``ensure_schema`` would create (``doctor`` lists them)."""
        ours = {spec.name for spec in fields}
        missing = self._person_fields(fresh=True).missing(_wanted(fields))
        return [spec.name if spec.name in ours else spec.label for spec in missing]

    def activity_types(self) -> list[str]:
        """The ``key_string`` of every active activity type (``GET /api/v1/activityTypes``)."""
        data = self.transport.get("/api/v1/activityTypes")
        return [
            str(t["key_string"])
            for t in data or []
            if isinstance(t, dict) and t.get("active_flag", True) and t.get("key_string")
        ]

    def contact_property_names(self) -> list[str]:
        """Every person field by slug (``doctor`` checks the fit fields against it)."""
        return self._person_fields(fresh=True).names()

    def owners(self) -> list[Owner]:
        """The company's users (``GET /api/v1/users``; users are v1 only)."""
        data = self.transport.get("/api/v1/users")
        if not isinstance(data, list):
            raise m.contract_error("users answer without a data list")
        return [m.parse_user(raw) for raw in data if isinstance(raw, dict)]

    # -- reads ------------------------------------------------------------------------------

    def _changed(
        self, path: str, since: datetime | None, extra: dict[str, str]
    ) -> Iterator[list[dict[str, Any]]]:
        params = {"sort_by": "update_time", "sort_direction": "asc", **extra}
        if since is not None:
            params["updated_since"] = _rfc3339(since)
        yield from self.transport.pages(path, params)

    def contacts_changed_since(self, since: datetime | None) -> Iterator[Page[CrmContact]]:
        """Persons with ``update_time >= since``, oldest first, 500 per page."""
        cursor = since
        for raw_page in self._changed(PERSONS, since, {}):
            self._directory.record(raw_page)
            fields = self._person_fields()
            items = tuple(m.parse_person(raw, fields) for raw in raw_page)
            if not items:
                continue
            cursor = max([c.updated_at for c in items] + ([cursor] if cursor else []))
            yield Page(items=items, cursor=cursor)

    def closed_deals_since(self, since: datetime | None) -> Iterator[Page[ClosedDeal]]:
        """Won and lost deals with ``update_time >= since``; the contact is the deal's person."""
        cursor = since
        for raw_page in self._changed("/api/v2/deals", since, {"status": "won,lost"}):
            items = tuple(m.parse_closed_deal(raw) for raw in raw_page)
            if not items:
                continue
            cursor = max([d.updated_at for d in items] + ([cursor] if cursor else []))
            yield Page(items=items, cursor=cursor)

    def find_by_email(self, emails: Sequence[str]) -> dict[str, CrmContact]:
        """The persons holding ``emails`` (the oldest one when several do), read by id."""
        wanted = list(dict.fromkeys(normalize_email(e) for e in emails if e and e.strip()))
        if not wanted:
            return {}
        self._directory.refresh()
        ids = {email: holders[0] for email in wanted if (holders := self._directory.holders(email))}
        persons = self._read_persons(list(dict.fromkeys(ids.values())))
        return {email: persons[pid] for email, pid in ids.items() if pid in persons}

    def _read_persons(self, ids: Sequence[str]) -> dict[str, CrmContact]:
        found: dict[str, CrmContact] = {}
        for start in range(0, len(ids), IDS_PER_READ):
            chunk = ids[start : start + IDS_PER_READ]
            for page in self.transport.pages(PERSONS, {"ids": ",".join(chunk)}):
                self._directory.record(page)
                fields = self._person_fields()
                for raw in page:
                    found[str(raw["id"])] = m.parse_person(raw, fields)
        return found

    # -- person writes ----------------------------------------------------------------------

    def create_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        """Create each person, or update the one already holding its e-mail (upsert by
        e-mail, one request per item)."""
        if any(item.email and item.email.strip() for item in items):
            self._directory.refresh()
        return [
            self._per_item(index, partial(self._create, item)) for index, item in enumerate(items)
        ]

    def _create(self, item: WriteItem) -> ItemResult:
        if not item.email or not item.email.strip():
            return ItemResult(index=0, ok=False, message="create needs an email")
        email = normalize_email(item.email)
        values: dict[str, FieldValue] = {**item.properties, "email": email}
        holders = self._directory.holders(email)
        if holders:
            values.pop("email")
            person_id = holders[0]
            self._patch(person_id, values)
            return ItemResult(
                index=0,
                ok=True,
                status=200,
                message=f"linked to existing {person_id}",
                remote_id=person_id,
            )
        if values.get("owner_id"):
            values["owner_id"] = self._owner_refs.resolve(str(values["owner_id"]))
        body = m.person_body(values, self._person_fields())
        body.setdefault("name", m.person_name(None, None, email))
        answer = self.transport.send("POST", PERSONS, json=body, idempotent=False)
        person = _person_data(answer)
        self._directory.record([person])
        return ItemResult(
            index=0, ok=True, status=201, message="created", remote_id=str(person["id"])
        )

    def update_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        """``PATCH /api/v2/persons/{id}`` per item; an e-mail another person holds fails its
        item for good (Pipedrive itself would accept the duplicate)."""
        if any("email" in item.properties for item in items):
            self._directory.refresh()
        return [
            self._per_item(index, partial(self._update, item)) for index, item in enumerate(items)
        ]

    def _update(self, item: WriteItem) -> ItemResult:
        if not item.crm_id:
            return ItemResult(index=0, ok=False, message="update needs a crm_id")
        values = dict(item.properties)
        email = values.get("email")
        if email:
            email = values["email"] = normalize_email(str(email))
            others = [p for p in self._directory.holders(email) if p != item.crm_id]
            if others:
                return ItemResult(
                    index=0,
                    ok=False,
                    status=409,
                    message=f"e-mail {email} already belongs to CRM contact {others[0]}",
                    retryable=False,
                )
        self._patch(item.crm_id, values)
        return ItemResult(index=0, ok=True, status=200, remote_id=item.crm_id)

    def _patch(self, person_id: str, values: dict[str, FieldValue]) -> None:
        if not person_id.isdigit():
            raise _not_found(person_id)
        if values.get("owner_id"):
            values["owner_id"] = self._owner_refs.resolve(str(values["owner_id"]))
        current = None
        if ("first_name" in values) != ("last_name" in values):
            current = _person_data(self.transport.send("GET", f"{PERSONS}/{person_id}"))
        body = m.person_body(values, self._person_fields(), current=current)
        if not body:
            return
        answer = self.transport.send("PATCH", f"{PERSONS}/{person_id}", json=body, idempotent=True)
        self._directory.record([_person_data(answer)])

    @staticmethod
    def _per_item(index: int, write: Callable[[], ItemResult]) -> ItemResult:
        """One item's result at ``index``; a per-item kind of failure is a result, any other
        failure (rate limit, quota, auth) stops the call."""
        try:
            result = write()
        except CrmError as exc:
            if exc.kind not in _PER_ITEM_KINDS:
                raise
            status = exc.status or (404 if exc.kind == "not_found" else None)
            return ItemResult(index=index, ok=False, status=status, message=str(exc))
        return ItemResult(
            index=index,
            ok=result.ok,
            status=result.status,
            message=result.message,
            retryable=result.retryable,
            remote_id=result.remote_id,
        )

    # -- tasks and deals (see .engagements) -------------------------------------------------

    def find_open_task(self, idempotency_key: str, contact_id: str) -> str | None:
        """The person's activity carrying the key's marker (done or not), if any."""
        return self._engagements.find_task(idempotency_key, contact_id)

    def create_task(self, spec: TaskSpec) -> str:
        """Create the activity linked to the person (and the deal), not idempotent."""
        owner = self._owner_refs.resolve(spec.owner_id)
        return self._engagements.create_task(replace(spec, owner_id=owner))

    def find_deal(self, idempotency_key: str, contact_id: str) -> str | None:
        """The person's deal whose ``origin_id`` carries the key (open, won or lost)."""
        return self._engagements.find_deal(idempotency_key, contact_id)

    def open_deals(self, contact_id: str, pipeline: str | None) -> list[OpenDeal]:
        """The person's open deals in ``pipeline``."""
        return self._engagements.open_deals(contact_id, pipeline)

    def create_deal(self, spec: DealSpec) -> str:
        """Create the deal with the key in ``origin_id``, not idempotent."""
        owner = self._owner_refs.resolve(spec.owner_id)
        return self._engagements.create_deal(replace(spec, owner_id=owner))


def _wanted(fields: Sequence[FieldSpec]) -> list[FieldSpec]:
    """scorebridge's fields plus the text fields for the standard names persons lack."""
    ours = {spec.name for spec in fields}
    return [*fields, *(s for s in f.STANDARD_CUSTOM.values() if s.name not in ours)]


def _person_data(answer: Any) -> dict[str, Any]:
    data = data_of(answer)
    if not isinstance(data, dict) or data.get("id") is None:
        raise m.contract_error("person answer without an id")
    return data


def _not_found(person_id: str) -> CrmError:
    return crm_error("not_found", f"no person {person_id!r}", system=SYSTEM, status=404)


def _rfc3339(moment: datetime) -> str:
    """``updated_since`` in whole seconds (floored: the filter is inclusive)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None

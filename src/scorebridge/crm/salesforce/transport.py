"""The Salesforce wire: :class:`~scorebridge.http.HttpClient` plus Salesforce's session host,
limits, error arrays and SOQL paging (crm-apis.md §3.1, §3.3, §3.8).

Owns: the REST base (``{instance_url}/services/data/vXX.X``, the instance named by the session),
reading ``Sforce-Limit-Info: api-usage=<used>/<max>`` on every answer, pausing before the org's
rolling 24-hour allocation is spent down to the reserve left to other integrations (a quota error,
as a 403 ``REQUEST_LIMIT_EXCEEDED`` answer is), classifying answers by ``errorCode``
(``UNABLE_TO_LOCK_ROW`` is worth a retry), SOQL queries followed through ``nextRecordsUrl``, and
turning every failure into a :class:`~scorebridge.crm.errors.CrmError`.
Must not: know any object's fields, or let a session id reach an error message.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from scorebridge.clock import Clock, SystemClock
from scorebridge.crm.base import Usage
from scorebridge.crm.errors import CrmError, crm_error
from scorebridge.crm.salesforce.auth import SYSTEM, SalesforceAuth
from scorebridge.crm.upstream import json_of, to_crm_error
from scorebridge.errors import UpstreamError
from scorebridge.http import (
    SHARED_BUCKETS,
    BucketRegistry,
    HttpClient,
    RateLimitInfo,
    ResponseAction,
    RetryPolicy,
    VendorHooks,
    make_session,
)

LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
#: Errors worth another try (lock contention on the record).
RETRYABLE_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})
#: A spent rolling allocation frees up as old calls age out: look again after this long.
QUOTA_PROBE = timedelta(hours=1)
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceTransport:
    """Send Salesforce REST requests; answers are parsed JSON, failures are :class:`CrmError`.

    ``base_url`` is the org's My Domain (the session's ``instance_url`` replaces it);
    ``reserve_percent`` of the daily allocation is left to other integrations.
    """

    def __init__(
        self,
        *,
        base_url: str,
        auth: SalesforceAuth,
        api_version: str = "62.0",
        clock: Clock | None = None,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        reserve_percent: int = 10,
        buckets: BucketRegistry = SHARED_BUCKETS,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.instance_url = base_url.rstrip("/")
        self.api_version = api_version
        self.user_id: str | None = None
        self._reserve_percent = reserve_percent
        self._lock = threading.Lock()
        self._auth = auth
        self._used: int | None = None
        self._max: int | None = None
        self.http = HttpClient(
            system=SYSTEM,
            base_url=self.instance_url,
            session=session or make_session(user_agent="scorebridge"),
            auth=auth,
            clock=self.clock,
            retry=retry,
            hooks=VendorHooks(
                error_detail=_error_detail, classify=_classify, rate_limit=self._read_limits
            ),
            buckets=buckets,
        )

    def use_session(self, instance_url: str, user_id: str | None) -> None:
        """Send the calls to the session's instance from now on."""
        self.instance_url = instance_url.rstrip("/")
        if user_id:
            self.user_id = user_id

    @property
    def api(self) -> str:
        """The REST path prefix ``/services/data/vXX.X``."""
        return f"/services/data/v{self.api_version}"

    # -- requests ---------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one request to ``path`` (under the REST prefix unless it starts with
        ``/services/``) → the parsed JSON (``None`` for 204); raise :class:`CrmError`."""
        self._check_reserve(method, path)
        full = path if path.startswith("/services/") else self.api + path
        self._auth.headers(self.http)  # a session first: it names the instance to call
        try:
            response = self.http.request(
                method,
                self.instance_url + full,
                route=_route(full),
                json=json,
                params=params,
                idempotent=idempotent,
            )
        except CrmError:
            raise
        except UpstreamError as exc:
            raise to_crm_error(exc, system=SYSTEM, reset_at=self.clock.now() + QUOTA_PROBE) from exc
        if response.status_code == 204 or not response.content:
            return None
        return json_of(response, system=SYSTEM, method=method, url=full)

    def query(self, soql: str, *, tooling: bool = False) -> Iterator[list[dict[str, Any]]]:
        """The record batches of a SOQL query, following ``nextRecordsUrl`` until ``done``."""
        path = ("/tooling" if tooling else "") + "/query"
        answer = self.send("GET", path, params={"q": soql})
        seen: set[str] = set()
        while True:
            if not isinstance(answer, dict) or not isinstance(answer.get("records"), list):
                raise crm_error("contract", "query answer without records", system=SYSTEM)
            yield [r for r in answer["records"] if isinstance(r, dict)]
            following = answer.get("nextRecordsUrl")
            if answer.get("done", True) or not following:
                return
            if following in seen:
                raise crm_error("contract", "query paging repeats a locator", system=SYSTEM)
            seen.add(str(following))
            answer = self.send("GET", str(following))

    def records(self, soql: str, *, tooling: bool = False) -> list[dict[str, Any]]:
        """Every record of a (small) query."""
        return [r for batch in self.query(soql, tooling=tooling) for r in batch]

    # -- limits -----------------------------------------------------------------------------

    def usage(self) -> Usage:
        """The requests left in the org's rolling 24 hours, as last reported."""
        with self._lock:
            left = None if self._max is None or self._used is None else self._max - self._used
        return Usage(daily_remaining=left, reset_at=None)

    def _read_limits(self, headers: Mapping[str, str], now: datetime) -> RateLimitInfo | None:
        found = _USAGE.search(headers.get("Sforce-Limit-Info") or "")
        if found is not None:
            with self._lock:
                self._used, self._max = int(found[1]), int(found[2])
        return None  # no per-second window: nothing for the bucket

    def _check_reserve(self, method: str, path: str) -> None:
        with self._lock:
            used, most = self._used, self._max
        if used is None or most is None or self._reserve_percent == 0:
            return
        reserve = most * self._reserve_percent // 100
        if most - used <= reserve:
            raise crm_error(
                "quota_exhausted",
                f"daily API requests: {used} of {most} used; the last {self._reserve_percent}% "
                "are left to other integrations ([crm] daily_reserve_percent)",
                system=SYSTEM,
                method=method,
                url=path,
                reset_at=self.clock.now() + QUOTA_PROBE,
            )


def soql_quote(value: str) -> str:
    """A SOQL string literal (backslash and quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql_ids(ids: list[str]) -> str:
    """``('a', 'b')`` for an ``IN`` clause."""
    return "(" + ", ".join(soql_quote(i) for i in ids) + ")"


def soql_time(moment: datetime) -> str:
    """A SOQL datetime literal (unquoted UTC, whole seconds, floored)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_codes(body: Any) -> list[str]:
    """The ``errorCode``/``statusCode`` values of an error array or an item's ``errors``."""
    entries = body if isinstance(body, list) else []
    return [
        str(e.get("errorCode") or e.get("statusCode"))
        for e in entries
        if isinstance(e, dict) and (e.get("errorCode") or e.get("statusCode"))
    ]


def _error_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _classify(response: requests.Response) -> ResponseAction | None:
    if response.status_code < 400:
        return None
    codes = error_codes(_error_body(response))
    if LIMIT_EXCEEDED in codes:
        return ResponseAction.QUOTA
    if RETRYABLE_CODES.intersection(codes):
        return ResponseAction.RETRY
    return None


def _error_detail(response: requests.Response) -> str:
    """The ``errorCode`` values (never the message, which may quote values)."""
    return ", ".join(error_codes(_error_body(response)))


def _route(path: str) -> str:
    """A path with record ids and query locators replaced, for counting."""
    path = re.sub(r"/[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?(?=/|$)", "/{id}", path)
    return re.sub(r"/query(All)?/[^/]+$", r"/query\1/{locator}", quote(path, safe="/{}.-_"))

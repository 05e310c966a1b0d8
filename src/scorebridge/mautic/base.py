"""The shared plumbing of the Mautic client: construction, calls, parsing, small-list paging.

Owns: building the transport from plain constructor arguments, prefixing ``/api``, counting by
route template, reading JSON with Mautic's error rules, and paging small collections by
start/limit until ``total``.
Must not: know individual endpoints (they live in ``client.py`` and ``catalog.py``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, TypeVar

import requests

from scorebridge.clock import Clock
from scorebridge.http.client import HttpClient
from scorebridge.http.ratelimit import SHARED_BUCKETS, BucketRegistry, RateLimit
from scorebridge.http.retry import RetryPolicy
from scorebridge.http.session import DEFAULT_TIMEOUTS, Timeouts
from scorebridge.mautic.auth import MauticAuth
from scorebridge.mautic.parsing import as_int, items
from scorebridge.mautic.transport import build_http, parse_or_contract, read_json

T = TypeVar("T")

DEFAULT_BATCH_LIMIT = 200
"""Mautic's ``api_batch_max_limit`` default; more items in one call answer HTTP 500."""


def success_flag(body: Any) -> bool:
    """``{"success": 1}`` (int in 5.x, ``true`` in old docs)."""
    return bool(isinstance(body, dict) and body.get("success"))


class MauticBase:
    """Transport and helpers shared by every group of Mautic endpoints.

    ``base_url`` is the Mautic site (a trailing ``/api`` is accepted). The keyword options
    configure the transport: ``session`` (default: :func:`~scorebridge.http.make_session`),
    ``clock``, ``retry``, ``rate_limit``, ``timeouts``, ``ca_bundle``, ``insecure``, ``buckets``
    (per-host token buckets; default process-wide) and ``rng`` (backoff jitter).
    ``self.http`` is the :class:`~scorebridge.http.HttpClient` (``http.counter`` counts sends).
    """

    def __init__(
        self,
        base_url: str,
        auth: MauticAuth,
        *,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        ca_bundle: str | None = None,
        insecure: bool = False,
        buckets: BucketRegistry = SHARED_BUCKETS,
        batch_limit: int = DEFAULT_BATCH_LIMIT,
        rng: random.Random | None = None,
    ) -> None:
        self.http: HttpClient = build_http(
            base_url,
            auth,
            session=session,
            clock=clock,
            retry=retry,
            rate_limit=rate_limit,
            timeouts=timeouts,
            ca_bundle=ca_bundle,
            insecure=insecure,
            buckets=buckets,
            rng=rng,
        )
        self.batch_limit = batch_limit

    # -- plumbing ---------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        route: str,
        *,
        params: Any = None,
        json: Any = None,
        idempotent: bool | None = None,
        dated: list[datetime | None] | None = None,
    ) -> Any:
        """Send and read the JSON answer; ``dated`` receives Mautic's clock when it answered
        (its ``Date`` header), if given."""
        response = self.http.request(
            method,
            f"/api{path}",
            route=f"/api{route}",
            params=params,
            json=json,
            idempotent=idempotent,
        )
        if dated is not None:
            dated.append(_server_time(response))
        return read_json(self.http, response, method)

    def _parse(self, method: str, path: str, parse: Callable[[], T]) -> T:
        return parse_or_contract(self.http, method, f"/api{path}", parse)

    def _list_all(
        self, path: str, key: str, parse: Callable[[Any], T], *, page_size: int = 200
    ) -> list[T]:
        """Every member of a small collection, paging with start/limit until ``total``."""
        found: list[T] = []
        start = 0
        while True:
            body = self._call("GET", path, path, params={"start": start, "limit": page_size})
            page, total = self._parse("GET", path, partial(_page_of, body, key, parse))
            found.extend(page)
            start += page_size
            if not page or len(found) >= total:
                return found


def _page_of(body: Any, key: str, parse: Callable[[Any], T]) -> tuple[list[T], int]:
    return [parse(r) for r in items(body.get(key))], as_int(body.get("total", 0))


def _server_time(response: requests.Response) -> datetime | None:
    try:
        stamp = parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError):
        return None
    return stamp.astimezone(UTC) if stamp.tzinfo is not None else None

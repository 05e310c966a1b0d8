"""The Mautic-flavoured transport: an :class:`HttpClient` plus JSON reading with Mautic's rules.

Owns: building the HTTP client for a Mautic base URL (hooks, auth, timeouts), reading a JSON
answer, treating a 200 whose body carries ``errors`` as the error it is (``/api/stats`` answers
permission errors with HTTP 200), and turning malformed answers into ContractError.
Must not: know individual endpoints (that is :mod:`scorebridge.mautic.client`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, TypeVar

import requests

from scorebridge import __version__
from scorebridge.clock import Clock
from scorebridge.errors import ContractError, UpstreamError
from scorebridge.http.client import HttpClient, VendorHooks
from scorebridge.http.policy import RequestInfo, action_for_status, error_for_status
from scorebridge.http.ratelimit import SHARED_BUCKETS, BucketRegistry, RateLimit
from scorebridge.http.retry import RetryPolicy
from scorebridge.http.session import DEFAULT_TIMEOUTS, Timeouts, make_session
from scorebridge.mautic.auth import MauticAuth
from scorebridge.mautic.parsing import as_int
from scorebridge.mautic.responses import SYSTEM, error_detail, first_error, safe_detail
from scorebridge.redaction import redact_url

T = TypeVar("T")

MAUTIC_HOOKS = VendorHooks(error_detail=error_detail)


def build_http(
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
    rng: random.Random | None = None,
) -> HttpClient:
    """An :class:`HttpClient` for a Mautic instance (``base_url`` with or without ``/api``)."""
    root = base_url.rstrip("/").removesuffix("/api")
    return HttpClient(
        system=SYSTEM,
        base_url=root,
        session=session
        or make_session(
            user_agent=f"scorebridge/{__version__}",
            ca_bundle=ca_bundle,
            insecure=insecure,
            timeouts=timeouts,
        ),
        auth=auth,
        clock=clock,
        retry=retry,
        rate_limit=rate_limit,
        hooks=MAUTIC_HOOKS,
        buckets=buckets,
        rng=rng,
    )


def read_json(http: HttpClient, response: requests.Response, method: str) -> Any:
    """The JSON body of a successful answer; an ``errors`` body is raised as its error."""
    info = RequestInfo(SYSTEM, method, http.secrets.scrub(redact_url(response.url)))
    try:
        body = response.json()
    except ValueError as exc:
        raise ContractError(
            "answer is not JSON",
            system=SYSTEM,
            method=method,
            url=info.url,
            status=response.status_code,
        ) from exc
    error = first_error(body)
    if error is not None and _is_whole_answer_error(body):
        raise _embedded_error(info, error)
    return body


def _is_whole_answer_error(body: Any) -> bool:
    """A body holding nothing but ``errors`` (batch answers carry data beside per-item errors)."""
    return isinstance(body, dict) and set(body) <= {"errors", "error"}


def _embedded_error(info: RequestInfo, error: dict[str, Any]) -> UpstreamError:
    try:
        status = as_int(error.get("code"))
    except (TypeError, ValueError):
        status = 500
    if status < 400:
        status = 500
    return error_for_status(info, action_for_status(status), status, detail=safe_detail(error))


def parse_or_contract(http: HttpClient, method: str, path: str, parse: Callable[[], T]) -> T:
    """Run ``parse``; a malformed answer becomes a ContractError naming the request."""
    try:
        return parse()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ContractError(
            f"unexpected answer shape ({type(exc).__name__})",
            system=SYSTEM,
            method=method,
            url=http.secrets.scrub(redact_url(http.url_for(path))),
        ) from exc

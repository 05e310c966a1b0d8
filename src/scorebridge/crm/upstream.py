"""Turning an error of the HTTP layer into a :class:`~scorebridge.crm.errors.CrmError`.

Owns: the vendor-neutral part of every CRM transport's error handling: which CRM error kind an
:class:`~scorebridge.errors.UpstreamError` is (the HTTP layer already applied the status table and
the vendor's override), and rebuilding it as a :class:`CrmError` with the vendor's request id and
the delays the vendor's headers imply. Also the e-mail normalization every adapter applies.
Must not: parse vendor bodies or headers (each transport passes what it read), or send requests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from scorebridge.crm.errors import CrmError, CrmErrorKind, crm_error
from scorebridge.errors import (
    AuthError,
    ContractError,
    QuotaExhausted,
    RateLimited,
    TerminalError,
    TransientError,
    UpstreamError,
)
from scorebridge.http.policy import status_phrase

_KIND_BY_STATUS: dict[int, CrmErrorKind] = {404: "not_found", 409: "conflict"}


def kind_of(exc: UpstreamError) -> CrmErrorKind:
    """The CRM error kind for an error of the HTTP layer (which applied the status table)."""
    if isinstance(exc, RateLimited):
        return "rate_limited"
    if isinstance(exc, TransientError):
        return "transient"
    if isinstance(exc, AuthError):
        return "auth"
    if isinstance(exc, QuotaExhausted):
        return "quota_exhausted"
    if isinstance(exc, ContractError) or exc.status is None:
        # no HTTP answer and not retryable: TLS failure or a bad URL, the operator must act
        return "contract"
    return _KIND_BY_STATUS.get(exc.status, "validation")


def reason_of(exc: UpstreamError) -> str:
    """The reason part of an HTTP-layer error message (no system prefix, no URL)."""
    return str(exc).removeprefix(f"{exc.system}: ").split(f" ({exc.method}", 1)[0]


def to_crm_error(
    exc: UpstreamError,
    *,
    system: str,
    request_id: str | None = None,
    existing_id: str | None = None,
    default_retry_after: float | None = None,
    reset_at: datetime | None = None,
    kind: CrmErrorKind | None = None,
) -> CrmError:
    """``exc`` as the :class:`CrmError` of its kind (``kind`` overrides it).

    A rate-limited error keeps the server's delay, else ``default_retry_after``; a quota error
    carries ``reset_at``; ``request_id`` (the vendor's correlation id) wins over the header one.
    """
    found = kind or kind_of(exc)
    retry_after: float | None = None
    if found == "rate_limited":
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        if retry_after is None:
            retry_after = default_retry_after
    return crm_error(
        found,
        reason_of(exc),
        system=system,
        method=exc.method,
        url=exc.url,
        status=exc.status,
        request_id=request_id or exc.request_id,
        existing_id=existing_id,
        retry_after=retry_after,
        reset_at=reset_at if found == "quota_exhausted" else None,
    )


def json_of(response: requests.Response, *, system: str, method: str, url: str) -> Any:
    """The parsed JSON of a successful answer; a body that is not JSON is a contract error."""
    try:
        return response.json()
    except ValueError as exc:
        raise crm_error(
            "contract",
            f"{status_phrase(response.status_code)}: answer is not JSON",
            system=system,
            method=method,
            url=url,
            status=response.status_code,
        ) from exc


def token_refused(exc: TerminalError, *, system: str, what: str) -> CrmError | None:
    """A token endpoint's refusal (400/401/403) as an auth error saying ``what`` to do;
    ``None`` for other failures."""
    if not isinstance(exc, AuthError) and exc.status not in (400, 401, 403):
        return None
    return crm_error(
        "auth",
        f"{reason_of(exc)}: {what}",
        system=system,
        method="POST",
        url=exc.url,
        status=exc.status,
    )


def normalize_email(email: str) -> str:
    """E-mails compare case-insensitively, without surrounding blanks."""
    return email.strip().lower()

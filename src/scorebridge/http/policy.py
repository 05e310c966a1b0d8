"""The only status/exception → action table, and the errors it produces.

Owns: what an HTTP status or a transport exception means (retry, rate limited, refresh the
credentials, fail, quota), and turning that into a :mod:`scorebridge.errors` exception that
carries the system, method, redacted URL, status and request id — never a response body.
Must not: send requests, sleep, or parse vendor bodies (vendors pass a short safe ``detail``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

import requests

from scorebridge.errors import (
    AuthError,
    QuotaExhausted,
    RateLimited,
    TerminalError,
    TransientError,
    UpstreamError,
)


class ResponseAction(enum.Enum):
    """What the transport does with an answer (Airbyte's ``ResponseAction``, trimmed)."""

    SUCCESS = "success"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    REFRESH_AUTH = "refresh_auth"
    AUTH_FAILED = "auth_failed"
    FAIL = "fail"
    QUOTA = "quota"


STATUS_ACTIONS: dict[int, ResponseAction] = {
    400: ResponseAction.FAIL,
    401: ResponseAction.REFRESH_AUTH,
    403: ResponseAction.AUTH_FAILED,
    404: ResponseAction.FAIL,
    405: ResponseAction.FAIL,
    408: ResponseAction.RETRY,
    409: ResponseAction.FAIL,
    410: ResponseAction.FAIL,
    413: ResponseAction.FAIL,
    422: ResponseAction.FAIL,
    425: ResponseAction.RETRY,
    429: ResponseAction.RATE_LIMITED,
    500: ResponseAction.RETRY,
    502: ResponseAction.RETRY,
    503: ResponseAction.RETRY,
    504: ResponseAction.RETRY,
}
"""Status → action; unlisted statuses fall back by class: 2xx success, 5xx retry, else fail.

Redirects reach this table only when they were not followed (writes), so they fail.
"""

EXCEPTION_ACTIONS: tuple[tuple[type[BaseException], ResponseAction], ...] = (
    (requests.exceptions.InvalidURL, ResponseAction.FAIL),
    (requests.exceptions.MissingSchema, ResponseAction.FAIL),
    (requests.exceptions.InvalidSchema, ResponseAction.FAIL),
    (requests.exceptions.SSLError, ResponseAction.FAIL),
    (requests.exceptions.Timeout, ResponseAction.RETRY),
    (requests.exceptions.ConnectionError, ResponseAction.RETRY),
    (requests.exceptions.ChunkedEncodingError, ResponseAction.RETRY),
    (requests.exceptions.ContentDecodingError, ResponseAction.RETRY),
)
"""Transport exception → action, first match wins (so SSLError fails before ConnectionError)."""

_EXCEPTION_NAMES: dict[type[BaseException], str] = {
    requests.exceptions.ConnectTimeout: "connect timeout",
    requests.exceptions.ReadTimeout: "read timeout",
    requests.exceptions.SSLError: "TLS error",
    requests.exceptions.ConnectionError: "connection error",
    requests.exceptions.ChunkedEncodingError: "connection broken mid-response",
    requests.exceptions.ContentDecodingError: "undecodable response",
}


def action_for_status(status: int) -> ResponseAction:
    """Look ``status`` up in :data:`STATUS_ACTIONS`, falling back by status class."""
    if status in STATUS_ACTIONS:
        return STATUS_ACTIONS[status]
    if status < 300:
        return ResponseAction.SUCCESS
    if status < 500:
        return ResponseAction.FAIL
    return ResponseAction.RETRY


def action_for_exception(exc: BaseException) -> ResponseAction:
    """Look ``exc`` up in :data:`EXCEPTION_ACTIONS`; unknown exceptions fail."""
    for kind, action in EXCEPTION_ACTIONS:
        if isinstance(exc, kind):
            return action
    return ResponseAction.FAIL


_CERT_FAILURE = re.compile(r"certificate verify failed: ([\w ,.-]+?) \(_ssl")


def describe_exception(exc: BaseException) -> str:
    """A short operator-facing name for a transport exception (no URL, no secrets); a failed
    certificate check says so, with OpenSSL's reason (e.g. ``self-signed certificate``)."""
    for kind in type(exc).__mro__:
        if kind in _EXCEPTION_NAMES:
            name = _EXCEPTION_NAMES[kind]
            tls = kind is requests.exceptions.SSLError
            reason = _CERT_FAILURE.search(str(exc)) if tls else None
            return f"{name}: certificate verify failed ({reason[1]})" if reason else name
    return type(exc).__name__


@dataclass(frozen=True)
class RequestInfo:
    """What every error names: the system, the method and the already-redacted URL."""

    system: str
    method: str
    url: str


def status_phrase(status: int) -> str:
    """``"404 Not Found"``-style phrase for a status."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def error_for_status(
    info: RequestInfo,
    action: ResponseAction,
    status: int,
    *,
    detail: str = "",
    request_id: str | None = None,
    retry_after: float | None = None,
    reset_at: datetime | None = None,
) -> UpstreamError:
    """Build the exception for a non-success answer classified as ``action``."""
    message = status_phrase(status) + (f": {detail}" if detail else "")
    common: dict[str, Any] = {
        "system": info.system,
        "method": info.method,
        "url": info.url,
        "status": status,
        "request_id": request_id,
    }
    if action is ResponseAction.RATE_LIMITED:
        return RateLimited(message, retry_after=retry_after, **common)
    if action is ResponseAction.RETRY:
        if retry_after is not None and status == 503:
            return RateLimited(message, retry_after=retry_after, **common)
        return TransientError(message, **common)
    if action in (ResponseAction.REFRESH_AUTH, ResponseAction.AUTH_FAILED):
        return AuthError(message, **common)
    if action is ResponseAction.QUOTA:
        return QuotaExhausted(message, reset_at=reset_at, **common)
    return TerminalError(message, **common)


def error_for_exception(info: RequestInfo, exc: BaseException) -> UpstreamError:
    """Build the exception for a transport failure (timeout, reset, TLS)."""
    message = describe_exception(exc)
    if action_for_exception(exc) is ResponseAction.RETRY:
        return TransientError(message, system=info.system, method=info.method, url=info.url)
    return TerminalError(message, system=info.system, method=info.method, url=info.url)

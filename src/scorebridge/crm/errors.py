"""The one CRM error type, :class:`CrmError`, and its kinds.

Owns: the vocabulary every CRM adapter uses to say what went wrong (``kind``) and the mapping of
each kind onto the project-wide hierarchy of :mod:`scorebridge.errors`, so that generic code
(retry, outbox, dead letter) keeps working on ``RateLimited``, ``QuotaExhausted``, ``Action``...
Must not: parse vendor bodies or know any vendor (adapters build these errors).

Choice: every kind is a small subclass that inherits from :class:`CrmError` *and* from the
matching :mod:`scorebridge.errors` class. ``except CrmError as e: e.kind`` and
``except RateLimited`` / ``BridgeError.classify(e)`` both work on the same object::

    kind              class                 also a            action
    auth              CrmAuthError          AuthError         FAIL   (operator fixes the token)
    rate_limited      CrmRateLimited        RateLimited       RETRY  after ``retry_after`` s
    quota_exhausted   CrmQuotaExhausted     QuotaExhausted    RETRY  at ``reset_at`` (stop pushing)
    not_found         CrmNotFound           TerminalError     SKIP
    conflict          CrmConflict           TerminalError     SKIP   (``existing_id`` if known)
    validation        CrmValidationError    TerminalError     SKIP   (dead-letter the item)
    not_ready         CrmNotReady           TerminalError     SKIP   (the outbox waits: see below)
    transient         CrmTransientError     TransientError    RETRY  with backoff
    contract          CrmContractError      ContractError     FAIL   (schema drift)

``not_ready`` says the record cannot take this write *yet* and a person will change that (a
Salesforce Lead gets an Opportunity only once a rep converts it): the outbox keeps the operation
waiting, without counting attempts, and looks again an hour later (a week at most).

Build them with :func:`crm_error`; ``request_id`` carries the vendor correlation id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from scorebridge.errors import (
    AuthError,
    ContractError,
    QuotaExhausted,
    RateLimited,
    TerminalError,
    TransientError,
    UpstreamError,
)

CrmErrorKind = Literal[
    "auth",
    "rate_limited",
    "quota_exhausted",
    "not_found",
    "conflict",
    "validation",
    "not_ready",
    "transient",
    "contract",
]

CRM_ERROR_KINDS: tuple[CrmErrorKind, ...] = get_args(CrmErrorKind)


class CrmError(UpstreamError):
    """Any failure of a CRM call; ``kind`` says which (see the module table).

    Attributes besides :class:`~scorebridge.errors.UpstreamError`'s: ``kind``; ``existing_id``
    (the record a conflict points at, when the CRM names it). Rate-limited errors also carry
    ``retry_after`` and quota errors ``reset_at`` (from their :mod:`scorebridge.errors` base).
    """

    kind: CrmErrorKind = "contract"

    def __init__(self, message: str, *, existing_id: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.existing_id = existing_id


class CrmAuthError(CrmError, AuthError):
    """Credentials rejected or missing scopes."""

    kind: CrmErrorKind = "auth"


class CrmRateLimited(CrmError, RateLimited):
    """A short-window limit was hit; retry after ``retry_after`` seconds."""

    kind: CrmErrorKind = "rate_limited"


class CrmQuotaExhausted(CrmError, QuotaExhausted):
    """The daily quota is spent; stop pushing to this CRM until ``reset_at``, keep the queue."""

    kind: CrmErrorKind = "quota_exhausted"


class CrmNotFound(CrmError, TerminalError):
    """The record does not exist (deleted or never created)."""

    kind: CrmErrorKind = "not_found"


class CrmConflict(CrmError, TerminalError):
    """The write collides with an existing record (``existing_id`` when the CRM names it)."""

    kind: CrmErrorKind = "conflict"


class CrmValidationError(CrmError, TerminalError):
    """The CRM rejected the input (unknown property, bad value)."""

    kind: CrmErrorKind = "validation"


class CrmNotReady(CrmError, TerminalError):
    """The record cannot take this write until a person acts on it in the CRM (a Salesforce
    Lead until it is converted): wait, do not count it as a failure."""

    kind: CrmErrorKind = "not_ready"


class CrmTransientError(CrmError, TransientError):
    """Timeouts, resets, 5xx: retry with backoff."""

    kind: CrmErrorKind = "transient"


class CrmContractError(CrmError, ContractError):
    """The CRM answered in a shape the adapter does not understand."""

    kind: CrmErrorKind = "contract"


_CLASSES: dict[CrmErrorKind, type[CrmError]] = {
    "auth": CrmAuthError,
    "rate_limited": CrmRateLimited,
    "quota_exhausted": CrmQuotaExhausted,
    "not_found": CrmNotFound,
    "conflict": CrmConflict,
    "validation": CrmValidationError,
    "not_ready": CrmNotReady,
    "transient": CrmTransientError,
    "contract": CrmContractError,
}


def crm_error(
    kind: CrmErrorKind,
    message: str,
    *,
    system: str,
    method: str = "",
    url: str = "",
    status: int | None = None,
    request_id: str | None = None,
    existing_id: str | None = None,
    retry_after: float | None = None,
    reset_at: datetime | None = None,
) -> CrmError:
    """Build the :class:`CrmError` subclass for ``kind``.

    ``retry_after`` is kept for ``rate_limited`` and ``reset_at`` for ``quota_exhausted``;
    ``request_id`` is the vendor's correlation id. Never pass a response body in ``message``.
    """
    common: dict[str, Any] = {
        "system": system,
        "method": method,
        "url": url,
        "status": status,
        "request_id": request_id,
        "existing_id": existing_id,
    }
    if kind == "rate_limited":
        return CrmRateLimited(message, retry_after=retry_after, **common)
    if kind == "quota_exhausted":
        return CrmQuotaExhausted(message, reset_at=reset_at, **common)
    return _CLASSES[kind](message, **common)

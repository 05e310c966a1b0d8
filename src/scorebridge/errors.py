"""The whole exception hierarchy of scorebridge, split by what the caller must do.

```
BridgeError                     root; never raised directly
├── ConfigError                 terminal, operator must act (bad config, missing secret, perms)
├── UpstreamError               system, method, redacted URL, status, request id; never a body
│   ├── TransientError          retry with backoff (timeouts, resets, 408, 5xx)
│   │   └── RateLimited         retry_after seconds (429, 503 with Retry-After)
│   ├── TerminalError           do not retry (400/404/405/409/422)
│   │   ├── AuthError           401/403 after one renewal attempt
│   │   ├── QuotaExhausted      a daily quota is spent: stop that system until `reset_at`
│   │   └── ContractError       the response broke the documented shape
│   └── PartialBatchError       per-item results; ack the successes, retry or dead-letter the rest
├── RecordError                 one record is poison: dead-letter it and go on
├── NotFoundError               what the operator named (a contact, ...) is not in the store
├── InsufficientData            the stored history cannot answer it (no deals, too short, few wins)
├── StateError                  the local store failed (integrity, disk full, read-only)
│   └── LeaseLostError          another instance holds the lease: stop without writing
└── ShutdownRequested           SIGTERM: finish the page, checkpoint, exit 0
```

Every error carries only what an operator needs; response bodies and secrets never enter an
error message (URLs are redacted by the HTTP layer before they get here).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from scorebridge.redaction import log_url

FailureType = Literal["config", "system", "transient"]


class Action(enum.Enum):
    """What a caller does with an exception."""

    RETRY = "retry"
    SKIP = "skip"
    FAIL = "fail"


class BridgeError(Exception):
    """Root of every scorebridge error."""

    failure_type: FailureType = "system"
    action: Action = Action.FAIL

    @classmethod
    def classify(cls, exc: BaseException) -> Action:
        """Map any exception to RETRY, SKIP or FAIL."""
        if isinstance(exc, BridgeError):
            return exc.action
        return Action.FAIL


class ConfigError(BridgeError):
    """Bad configuration, a missing secret or unsafe permissions: the operator must act."""

    failure_type: FailureType = "config"

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        where = ": ".join(p for p in (file, key) if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.key = key


class UpstreamError(BridgeError):
    """A remote system answered badly or not at all."""

    def __init__(
        self,
        message: str,
        *,
        system: str,
        method: str = "",
        url: str = "",
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        parts = [f"{system}: {message}"]
        if method or url:
            where = log_url(url) if url else ""
            parts.append(f"({method} {where})".replace("( ", "(").replace(" )", ")"))
        if status is not None:
            parts.append(f"[HTTP {status}]")
        if request_id:
            parts.append(f"request-id={request_id}")
        super().__init__(" ".join(parts))
        self.system = system
        self.method = method
        self.url = url
        self.status = status
        self.request_id = request_id


class TransientError(UpstreamError):
    """Worth retrying with backoff: timeouts, connection resets, 408, 5xx."""

    failure_type: FailureType = "transient"
    action = Action.RETRY


class RateLimited(TransientError):
    """The remote asked us to slow down (429, or 503 with Retry-After)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class TerminalError(UpstreamError):
    """Repeating the request would fail the same way."""

    action = Action.SKIP


class AuthError(TerminalError):
    """Credentials rejected (after one renewal attempt) or the API is disabled."""

    failure_type: FailureType = "config"
    action = Action.FAIL


class QuotaExhausted(TerminalError):
    """A daily quota is spent; pushes to that system wait until ``reset_at``."""

    failure_type: FailureType = "transient"
    action = Action.RETRY

    def __init__(self, message: str, *, reset_at: datetime | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reset_at = reset_at


class ContractError(TerminalError):
    """The response broke the documented contract (schema drift)."""

    action = Action.FAIL


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one item of a batch request."""

    index: int
    ok: bool
    status: int | None = None
    message: str = ""
    retryable: bool = False
    remote_id: str | None = None


class PartialBatchError(UpstreamError):
    """Some items of a batch failed; ``results`` says which."""

    def __init__(self, message: str, *, results: Sequence[ItemResult], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.results = list(results)


class RecordError(BridgeError):
    """One record cannot be processed; it goes to the dead-letter store and the run goes on."""

    action = Action.SKIP

    def __init__(self, message: str, *, source: str = "", record_id: str = "") -> None:
        super().__init__(message)
        self.source = source
        self.record_id = record_id


class NotFoundError(BridgeError):
    """What the operator named on the command line (a contact, ...) is not in the store."""


class InsufficientData(BridgeError):
    """The stored history cannot answer what was asked (no closed CRM deals, dates outside it,
    too few wins to fit or judge a model): the message says what is missing and how to get it."""


class StateError(BridgeError):
    """The local store failed (integrity, disk full, read-only, busy)."""


class LeaseLostError(StateError):
    """Another instance holds the single-instance lease."""


class ShutdownRequested(BridgeError):  # noqa: N818 - a signal, not a failure
    """A graceful stop was requested; finish the current page and exit 0."""

    failure_type: FailureType = "transient"

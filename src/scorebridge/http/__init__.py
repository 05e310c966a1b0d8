"""The HTTP layer every remote-system client is built on.

Owns: sessions (timeouts, TLS), the status → action table, retry with jitter and Retry-After,
per-host rate limiting, redaction, and :class:`HttpClient`, which ties them together.
Must not: know any vendor's paths or JSON (vendors plug in through :class:`VendorHooks`).
"""

from scorebridge.http.client import (
    Authenticator,
    HttpClient,
    RequestCounter,
    VendorHooks,
)
from scorebridge.http.policy import (
    STATUS_ACTIONS,
    ResponseAction,
    action_for_exception,
    action_for_status,
)
from scorebridge.http.ratelimit import (
    SHARED_BUCKETS,
    BucketRegistry,
    RateLimit,
    RateLimitInfo,
    TokenBucket,
    read_standard_headers,
)
from scorebridge.http.retry import NO_RETRY, RetryPolicy, parse_retry_after
from scorebridge.http.session import DEFAULT_TIMEOUTS, Timeouts, make_session
from scorebridge.redaction import SecretRegistry, redact_headers, redact_url, scrub

__all__ = [
    "DEFAULT_TIMEOUTS",
    "NO_RETRY",
    "SHARED_BUCKETS",
    "STATUS_ACTIONS",
    "Authenticator",
    "BucketRegistry",
    "HttpClient",
    "RateLimit",
    "RateLimitInfo",
    "RequestCounter",
    "ResponseAction",
    "RetryPolicy",
    "SecretRegistry",
    "Timeouts",
    "TokenBucket",
    "VendorHooks",
    "action_for_exception",
    "action_for_status",
    "make_session",
    "parse_retry_after",
    "read_standard_headers",
    "redact_headers",
    "redact_url",
    "scrub",
]

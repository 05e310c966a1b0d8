"""Redaction of secrets from URLs, headers and free text.

Owns: the list of query parameters and headers that carry credentials, and the scrubbing of
known secret values (passwords, client secrets, access tokens) out of any string.
Must not: log, raise on malformed input, or know about any vendor beyond parameter names.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from scorebridge.logging import register_secret

REDACTED = "***"

SECRET_QUERY_PARAMS = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "password",
        "pass",
        "token",
        "api_key",
        "apikey",
        "hapikey",
        "key",
        "secret",
        "signature",
        "code",
    }
)

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-token",
        "x-api-key",
        "api-key",
        "x-auth-token",
    }
)

# Secrets shorter than this are not scrubbed from free text: replacing "1" or "ab" everywhere
# would mangle messages without protecting anything.
_MIN_SCRUB_LENGTH = 4


def redact_url(url: str) -> str:
    """Return ``url`` with user info and secret query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if _is_secret_param(k) else v) for k, v in pairs], safe="[]*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _is_secret_param(name: str) -> bool:
    base = name.split("[", 1)[0].lower()
    return base in SECRET_QUERY_PARAMS


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``headers`` with credential-bearing values replaced by ``***``."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each known secret value in ``text`` with ``***``."""
    known = {s for s in secrets if len(s) >= _MIN_SCRUB_LENGTH}
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class SecretRegistry:
    """A thread-safe set of secret values known at runtime (passwords, tokens) to scrub."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = {s for s in secrets if s}

    def add(self, secret: str | None) -> None:
        """Remember ``secret`` and its URL-encoded forms (empty values are ignored).

        They are also registered with :mod:`scorebridge.logging`, so a token fetched at runtime
        is redacted from every log line, traceback and dead-letter reason too.
        """
        if secret:
            variants = {secret, quote(secret, safe=""), quote_plus(secret)}
            with self._lock:
                self._secrets.update(variants)
            for variant in variants:
                register_secret(variant)

    def scrub(self, text: str) -> str:
        """:func:`scrub` with every secret registered so far."""
        with self._lock:
            secrets = tuple(self._secrets)
        return scrub(text, secrets)

"""Secret redaction for logs, errors, dead letters and HTTP: the one place that knows what a secret
looks like.

Owns: the lists of credential-bearing query parameters and headers (:data:`SECRET_QUERY_PARAMS`,
:data:`SECRET_HEADERS`), the process-wide registry of secret values (:func:`register_secret`;
passwords, tokens and client secrets from the configuration, tokens fetched at runtime),
:func:`redact` for free text (registered values, header values, ``user:password@`` in URLs and
secret query parameters become ``***``), the structured forms :func:`redact_url` and
:func:`redact_headers`, per-client registries (:class:`SecretRegistry`), and :func:`log_url`,
the shape of a URL in a log line or an error: the method's route with its ids, no host, no query.
Must not: log, raise on malformed input, or know any vendor beyond parameter and header names.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

REDACTED = "***"

SECRET_QUERY_PARAMS = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "password",
        "pass",
        "token",
        "api_token",
        "api_key",
        "apikey",
        "hapikey",
        "key",
        "secret",
        "signature",
        "code",
        "assertion",
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

#: Secrets shorter than this are not scrubbed from free text: replacing "1" or "ab" everywhere
#: would mangle messages without protecting anything.
MIN_SECRET_LENGTH = 4


def _alternatives(names: Iterable[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


_HEADER_VALUE = re.compile(
    rf"(?i)\b({_alternatives(SECRET_HEADERS)})"
    r"(['\"]?\s*[:=]\s*['\"]?)(?:(?:bearer|basic|token)\s+)?[^\s'\",;}\\]+"
)
_QUERY_PARAM = re.compile(
    rf"(?i)([?&;](?:{_alternatives(SECRET_QUERY_PARAMS)})(?:\[[^\]=&]*\])?=)[^&#\s'\"\\]*"
)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:\\\"']+(?::[^/\s@\\\"']*)?@")

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value (and its URL-encoded forms) so that it never appears in logs,
    tracebacks, errors or dead letters."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.update({value, quote(value, safe=""), quote_plus(value)})


def redact(text: str) -> str:
    """``text`` with registered secrets, auth header values, URL passwords and secret query
    parameters replaced by ``***``."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _HEADER_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _QUERY_PARAM.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)


def redact_url(url: str) -> str:
    """``url`` with user info and secret query values replaced by ``***``."""
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


def log_url(url: str) -> str:
    """How a URL appears in a log line or an error: its path (the route and its ids), without
    host, credentials or query string."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return REDACTED
    return redact(path or "/")


def _is_secret_param(name: str) -> bool:
    return name.split("[", 1)[0].lower() in SECRET_QUERY_PARAMS


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with credential-bearing values replaced by ``***``."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each given secret value in ``text`` with ``***``."""
    known = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class SecretRegistry:
    """The secrets one HTTP client knows (passwords, tokens it fetched), scrubbed from its
    errors; each is also registered process-wide (:func:`register_secret`)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Remember ``secret`` and its URL-encoded forms (empty values are ignored)."""
        if secret:
            variants = {secret, quote(secret, safe=""), quote_plus(secret)}
            with self._lock:
                self._secrets.update(variants)
            register_secret(secret)

    def scrub(self, text: str) -> str:
        """:func:`scrub` with every secret registered here."""
        with self._lock:
            secrets = tuple(self._secrets)
        return scrub(text, secrets)

"""Authentication and the hourly rate limiter of the Mautic emulator (mautic-api.md §1, §7.2).

- the ``api_enabled`` and basic-auth switches with their exact 403 bodies;
- HTTP Basic for the API user; 401 bodies for bad or missing credentials;
- OAuth2 ``client_credentials`` at ``/oauth/v2/token`` (form or JSON body, GET or POST):
  ``access_token``, ``expires_in``, ``token_type: bearer``, ``scope``, no refresh token; the
  token acts as a pseudo-user named ``<client name> [<client id>]``; expiry is checked against
  the emulator clock (so the ``clock_offset`` fault expires tokens);
- ``api_rate_limiter_limit`` requests per hour per credential: 429 plus ``X-RateLimit-*``.

No routing and no entity knowledge.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from scorebridge.sandbox.base import Request, Response, SandboxClock
from scorebridge.sandbox.mautic.instance import MauticSettings
from scorebridge.sandbox.mautic.query import parse_php_query
from scorebridge.sandbox.mautic.routing import Actor, subscriber_error
from scorebridge.sandbox.mautic.state import MauticState, Token

API_DISABLED = (
    "API disabled. You need to enable the API in the API settings of Mautic's Configuration."
)
BASIC_DISABLED = (
    "Basic Auth disabled. You need to enable HTTP basic auth in the API settings of Mautic's "
    "Configuration."
)


@dataclass
class _Window:
    started: float
    count: int = 0


class Auth:
    """Checks credentials, issues tokens and counts requests per hour."""

    def __init__(self, state: MauticState, settings: MauticSettings, clock: SandboxClock) -> None:
        self.state = state
        self.settings = settings
        self.clock = clock
        self.windows: dict[str, _Window] = {}

    def api_disabled(self) -> Response | None:
        """The 403 every ``/api`` and ``/oauth`` request gets while the API is off."""
        if self.settings.api_enabled:
            return None
        return subscriber_error(403, API_DISABLED, "api_disabled")

    def authenticate(self, request: Request) -> tuple[Actor, str] | Response:
        """The acting user and a rate-limit key, or the error answer."""
        header = request.header("authorization") or ""
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            if not self.settings.basic_auth:
                return subscriber_error(403, BASIC_DISABLED, "access_denied")
            return self._basic(credentials.strip())
        if scheme == "bearer":
            return self._bearer(credentials.strip())
        return subscriber_error(401, "API authorization denied.", "access_denied")

    def _basic(self, credentials: str) -> tuple[Actor, str] | Response:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        username, _, password = decoded.partition(":")
        for user in self.state.users.values():
            if user.username == username and user.password and _same(user.password, password):
                return Actor(user.id, user.full_name), f"basic:{username}"
        return subscriber_error(401, "Authorization denied, invalid credentials.", "access_denied")

    def _bearer(self, value: str) -> tuple[Actor, str] | Response:
        token = self.state.tokens.get(value)
        if token is None:
            return subscriber_error(401, "The access token provided is invalid.", "invalid_grant")
        if self.clock.now() >= token.expires_at:
            return subscriber_error(401, "The access token provided has expired.", "invalid_grant")
        name = f"{self.settings.client_name} [{token.client_id}]"
        return Actor(None, name), f"token:{value}"

    def issue_token(self, request: Request) -> Response:
        """``/oauth/v2/token``."""
        disabled = self.api_disabled()
        if disabled is not None:
            return disabled
        params = _token_params(request)
        grant = params.get("grant_type")
        if grant not in ("client_credentials", "authorization_code", "refresh_token", "password"):
            return subscriber_error(
                400, "Invalid grant_type parameter or parameter missing", "invalid_request"
            )
        client_ok = _same(str(params.get("client_id", "")), self.settings.client_id) and _same(
            str(params.get("client_secret", "")), self.settings.client_secret
        )
        if not client_ok:
            return subscriber_error(400, "The client credentials are invalid", "invalid_client")
        if grant != "client_credentials":
            return subscriber_error(
                400, "The grant type is unauthorized for this client_id", "unauthorized_client"
            )
        lifetime = max(60, int(self.settings.token_lifetime_minutes) * 60)
        value = secrets.token_urlsafe(40)
        self.state.tokens[value] = Token(
            value, self.settings.client_id, self.clock.now() + timedelta(seconds=lifetime)
        )
        body = {
            "access_token": value,
            "expires_in": lifetime,
            "token_type": "bearer",
            "scope": None,
        }
        return Response(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def rate(self, key: str) -> tuple[Response | None, dict[str, str]]:
        """Count one request; a 429 answer when over the hourly limit, and the headers."""
        limit = int(self.settings.rate_limit)
        if limit <= 0:
            return None, {}
        now = self.clock.now().timestamp()
        window = self.windows.get(key)
        if window is None or now >= window.started + 3600:
            window = _Window(started=now)
            self.windows[key] = window
        window.count += 1
        reset = math.ceil(window.started + 3600)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - window.count)),
            "X-RateLimit-Reset": str(reset),
        }
        if window.count <= limit:
            return None, headers
        return rate_limit_response(limit, headers), headers


def rate_limit_response(limit: int, headers: dict[str, str]) -> Response:
    """noxlogic's plain-Response 429 (a JSON text, sent as HTML)."""
    body = {
        "errors": [
            {
                "code": 429,
                "message": f"You exceeded the rate limit of {limit} API calls per hour.",
                "details": [],
            }
        ]
    }
    return Response(
        429,
        json.dumps(body).encode(),
        {**headers, "Content-Type": "text/html; charset=UTF-8"},
    )


def _token_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = parse_php_query(request.query)
    raw = request.body.strip()
    if raw.startswith(b"{"):
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = {}
        if isinstance(decoded, dict):
            params.update(decoded)
    elif raw:
        params.update(parse_php_query(request.form()))
    return params


def _same(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())

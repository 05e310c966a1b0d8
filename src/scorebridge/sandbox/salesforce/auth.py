"""Who may call the Salesforce emulator (crm-apis.md §3.2): the connected app's OAuth 2.0 token
endpoint and the sessions it hands out.

- ``POST /services/oauth2/token`` with ``grant_type=client_credentials`` (``client_id`` and
  ``client_secret`` in the form or HTTP Basic; the session runs as the app's run-as user) or
  ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>``. Both answer
  ``{access_token, signature, token_format, instance_url, id, token_type, issued_at, scope}``
  (no refresh token); ``instance_url`` is the emulator's own URL, ``signature`` is
  base64(HMAC-SHA256(client_secret, id + issued_at)).
- JWT checks: three base64url parts; header ``alg`` RS256; ``iss`` is the client id
  (``invalid_client_id``); ``aud`` is ``https://login.salesforce.com``,
  ``https://test.salesforce.com`` or the emulator's URL (``audience is invalid``); ``exp`` is in
  the future (``expired authorization code``) and at most 5 minutes ahead (a millisecond
  ``exp`` is refused); the RS256 signature verifies with the app's certificate; ``sub`` is the
  username of an active user pre-authorized for the app (``user hasn't approved this
  consumer``). Failures answer 400 ``{error, error_description}``.
- ``POST /services/oauth2/revoke`` (form ``token``) ends a session.
- Sessions end after ``session_seconds`` (7200) without a request; every request renews them.

The certificate is the app's: configure one (:meth:`Auth.use_certificate`, PEM) or let the
emulator generate a key pair on first need (:meth:`Auth.jwt_private_key`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from scorebridge.sandbox.base import Request, Response
from scorebridge.sandbox.salesforce import errors, rsa

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
MAX_JWT_AHEAD = timedelta(minutes=5)

#: username -> (user id, active and pre-authorized for the app), or None when unknown.
UserLookup = Callable[[str], tuple[str, bool] | None]


@dataclass
class AuthSettings:
    """The connected app's behaviour; ``POST /_sandbox/settings`` merges into these."""

    client_credentials_enabled: bool = True
    session_seconds: int = 7200


@dataclass
class Auth:
    """The connected app and the sessions handed out."""

    org_id: str
    run_as: str  # the user id client-credentials sessions run as
    client_id: str = field(default_factory=lambda: "3MVG9" + secrets.token_urlsafe(60)[:80])
    client_secret: str = field(default_factory=lambda: secrets.token_hex(32).upper())
    settings: AuthSettings = field(default_factory=AuthSettings)
    certificate: rsa.PublicKey | None = None
    _private_pem: str | None = None
    _sessions: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    # -- keys ---------------------------------------------------------------------------------

    def use_certificate(self, pem: str) -> None:
        """Verify JWTs with this PEM certificate or public key (``KeyError_`` if unreadable)."""
        self.certificate = rsa.public_key_from_pem(pem)
        self._private_pem = None

    def jwt_private_key(self) -> str:
        """The private key (PEM) matching the app's certificate, generated on first need; a
        configured certificate has no private key here (``None`` -> ``ValueError``)."""
        if self._private_pem is None:
            if self.certificate is not None:
                raise ValueError("a certificate was configured; sign with its own key")
            key = rsa.generate()
            self.certificate, self._private_pem = key.public, rsa.private_key_to_pem(key)
        return self._private_pem

    # -- sessions -----------------------------------------------------------------------------

    def session_user(self, request: Request, now: datetime) -> str | None:
        """The user of a live session named by ``Authorization: Bearer``; renews it."""
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        held = self._sessions.get(token) if scheme.lower() in ("bearer", "oauth") else None
        if held is None or now - held[1] >= timedelta(seconds=self.settings.session_seconds):
            return None
        self._sessions[token] = (held[0], now)
        return held[0]

    def end_sessions(self) -> int:
        """End every session; how many there were."""
        count = len(self._sessions)
        self._sessions.clear()
        return count

    # -- endpoints ----------------------------------------------------------------------------

    def token(self, request: Request, now: datetime, base: str, users: UserLookup) -> Response:
        """``POST /services/oauth2/token``."""
        form = dict(request.form())
        grant = form.get("grant_type")
        if grant == "client_credentials":
            client_id, secret = self._client(request, form)
            if client_id != self.client_id or not secrets.compare_digest(
                secret, self.client_secret
            ):
                return errors.oauth("invalid_client", "invalid client credentials")
            if not self.settings.client_credentials_enabled:
                return errors.oauth("invalid_grant", "no client credentials user enabled")
            return self._issue(self.run_as, now, base)
        if grant == JWT_GRANT:
            return self._jwt(form.get("assertion", ""), now, base, users)
        return errors.oauth("unsupported_grant_type", "grant type not supported")

    def revoke(self, request: Request) -> Response:
        """``POST /services/oauth2/revoke``."""
        token = dict(request.form()).get("token") or request.arg("token") or ""
        if self._sessions.pop(token, None) is None:
            return errors.oauth("unsupported_token_type", "this token type is not supported")
        return Response(200, b"")

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _client(request: Request, form: dict[str, str]) -> tuple[str, str]:
        scheme, _, encoded = (request.header("authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
                return client_id, secret
            except ValueError:
                return "", ""
        return form.get("client_id", ""), form.get("client_secret", "")

    def _jwt(self, assertion: str, now: datetime, base: str, users: UserLookup) -> Response:
        try:
            head, body, signature = assertion.split(".")
            header = json.loads(rsa.b64url_decode(head))
            claims = json.loads(rsa.b64url_decode(body))
            signed = rsa.b64url_decode(signature)
            expires = datetime.fromtimestamp(float(claims["exp"]), UTC)
        except (ValueError, KeyError, TypeError, OverflowError, OSError):
            return errors.oauth("invalid_grant", "invalid assertion")
        if not isinstance(header, dict) or header.get("alg") != "RS256":
            return errors.oauth("invalid_grant", "invalid assertion")
        if claims.get("iss") != self.client_id:
            return errors.oauth("invalid_client_id", "client identifier invalid")
        if claims.get("aud") not in (*LOGIN_AUDIENCES, base):
            return errors.oauth("invalid_grant", "audience is invalid")
        if expires <= now:
            return errors.oauth("invalid_grant", "expired authorization code")
        if expires > now + MAX_JWT_AHEAD:
            return errors.oauth("invalid_grant", "invalid assertion")
        message = f"{head}.{body}".encode()
        if self.certificate is None or not rsa.verify(self.certificate, message, signed):
            return errors.oauth("invalid_grant", "invalid assertion")
        user = users(str(claims.get("sub", "")))
        if user is None or not user[1]:
            return errors.oauth("invalid_grant", "user hasn't approved this consumer")
        return self._issue(user[0], now, base)

    def _issue(self, user_id: str, now: datetime, base: str) -> Response:
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(72)}"
        self._sessions[token] = (user_id, now)
        identity = f"{base}/id/{self.org_id}/{user_id}"
        issued = str(int(now.timestamp() * 1000))
        digest = hmac.new(
            self.client_secret.encode(), (identity + issued).encode(), hashlib.sha256
        ).digest()
        body = {
            "access_token": token,
            "signature": base64.b64encode(digest).decode(),
            "token_format": "opaque",
            "instance_url": base,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued,
            "scope": "api",
        }
        return Response(200, body)

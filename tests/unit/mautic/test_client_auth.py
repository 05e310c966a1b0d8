"""Authentication: Basic, OAuth2 client credentials, renewal, and errors that never leak secrets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses

from scorebridge.clock import FrozenClock
from scorebridge.errors import AuthError, TransientError
from scorebridge.mautic import BasicAuth, MauticClient, OAuth2ClientCredentials
from scorebridge.redaction import redact

BASE = "https://mautic.example.test"
TOKEN_URL = f"{BASE}/oauth/v2/token"
USERS = f"{BASE}/api/users"
SECRET = "client-secret-VALUE-42"
INVALID_GRANT = {
    "errors": [
        {"message": "The access token provided is invalid.", "code": 401, "type": "invalid_grant"}
    ]
}


def _token(value: str, expires_in: int = 3600) -> dict[str, Any]:
    return {"access_token": value, "expires_in": expires_in, "token_type": "bearer", "scope": None}


def _users() -> dict[str, Any]:
    return {
        "total": 1,
        "users": [
            {
                "id": 1,
                "username": "admin",
                "firstName": "A",
                "lastName": "B",
                "email": "a@x.test",
                "role": {"name": "Admin"},
            }
        ],
    }


def _oauth() -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials("public-id", SECRET)


@responses.activate
def test_client_credentials_token_is_fetched_once_and_sent_as_bearer(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.post(TOKEN_URL, json=_token("tok-AAAA"))
    responses.get(USERS, json=_users())
    client = make_mautic(_oauth())
    client.list_users()
    client.list_users()
    token_calls = [c for c in responses.calls if c.request.url == TOKEN_URL]
    assert len(token_calls) == 1
    form = dict(parse_qsl(str(token_calls[0].request.body)))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "public-id",
        "client_secret": SECRET,
    }
    assert responses.calls[1].request.headers["Authorization"] == "Bearer tok-AAAA"
    assert "tok-AAAA" not in redact("token was tok-AAAA")  # process-wide log redaction knows it


@responses.activate
def test_token_is_renewed_shortly_before_it_expires(
    make_mautic: Callable[..., MauticClient], clock: FrozenClock
) -> None:
    responses.post(TOKEN_URL, json=_token("tok-ONE1", expires_in=3600))
    responses.post(TOKEN_URL, json=_token("tok-TWO2", expires_in=3600))
    responses.get(USERS, json=_users())
    client = make_mautic(_oauth())
    client.list_users()
    clock.advance(3600 - 120)  # still valid, well before the margin
    client.list_users()
    clock.advance(100)  # inside the last minute: renew before use
    client.list_users()
    bearers = [
        c.request.headers.get("Authorization")
        for c in responses.calls
        if c.request.url.startswith(USERS)
    ]
    assert bearers == ["Bearer tok-ONE1", "Bearer tok-ONE1", "Bearer tok-TWO2"]


@responses.activate
def test_401_invalid_grant_renews_the_token_once_then_succeeds(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.post(TOKEN_URL, json=_token("tok-OLD1"))
    responses.post(TOKEN_URL, json=_token("tok-NEW2"))
    responses.get(USERS, status=401, json=INVALID_GRANT)
    responses.get(USERS, json=_users())
    auth = _oauth()
    users = make_mautic(auth).list_users()
    assert users[0].username == "admin"
    assert users[0].role == "Admin"
    assert auth.tokens_fetched == 2
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer tok-NEW2"


@responses.activate
def test_expired_token_401_is_renewed(make_mautic: Callable[..., MauticClient]) -> None:
    expired = {
        "errors": [
            {
                "message": "The access token provided has expired.",
                "code": 401,
                "type": "invalid_grant",
            }
        ]
    }
    responses.post(TOKEN_URL, json=_token("tok-OLD1"))
    responses.post(TOKEN_URL, json=_token("tok-NEW2"))
    responses.get(USERS, status=401, json=expired)
    responses.get(USERS, json=_users())
    assert make_mautic(_oauth()).list_users()[0].id == 1


@responses.activate
def test_still_401_after_renewal_is_an_auth_error(make_mautic: Callable[..., MauticClient]) -> None:
    responses.post(TOKEN_URL, json=_token("tok-OLD1"))
    responses.get(USERS, status=401, json=INVALID_GRANT)
    with pytest.raises(AuthError, match="invalid_grant") as info:
        make_mautic(_oauth()).list_users()
    assert info.value.status == 401
    assert len([c for c in responses.calls if c.request.url == TOKEN_URL]) == 2


@responses.activate
def test_bad_oauth_client_is_an_auth_error_without_the_secret(
    make_mautic: Callable[..., MauticClient],
    sample: Callable[[str], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    responses.post(TOKEN_URL, status=400, json=sample("error_oauth_invalid_client_400.json"))
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as info:
        make_mautic(_oauth()).list_users()
    message = str(info.value)
    assert "invalid_client" in message
    assert "/oauth/v2/token" in message
    assert info.value.status == 400
    assert info.value.failure_type == "config"
    assert SECRET not in message
    assert SECRET not in caplog.text
    assert SECRET not in repr(_oauth())
    assert len(responses.calls) == 1  # a rejected client is not retried


@responses.activate
def test_token_endpoint_outage_is_retried(make_mautic: Callable[..., MauticClient]) -> None:
    responses.post(TOKEN_URL, status=503)
    responses.post(TOKEN_URL, json=_token("tok-AAAA"))
    responses.get(USERS, json=_users())
    make_mautic(_oauth()).list_users()
    assert len(responses.calls) == 3


@responses.activate
def test_api_disabled_403_says_what_to_fix(
    make_mautic: Callable[..., MauticClient], sample: Callable[[str], Any]
) -> None:
    responses.get(USERS, status=403, json=sample("error_api_disabled_403.json"))
    with pytest.raises(AuthError, match="api_disabled: API disabled") as info:
        make_mautic().list_users()
    assert info.value.system == "mautic"
    assert len(responses.calls) == 1


@responses.activate
def test_basic_auth_header_and_no_renewal_on_401(make_mautic: Callable[..., MauticClient]) -> None:
    responses.get(
        USERS,
        status=401,
        json={
            "errors": [
                {
                    "message": "Authorization denied, invalid credentials.",
                    "code": 401,
                    "type": "access_denied",
                }
            ]
        },
    )
    with pytest.raises(AuthError, match="invalid credentials") as info:
        make_mautic(BasicAuth("api-user", "pa55word-basic")).list_users()
    assert len(responses.calls) == 1
    assert responses.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert "pa55word-basic" not in str(info.value)
    assert "pa55word-basic" not in repr(BasicAuth("api-user", "pa55word-basic"))


@responses.activate
def test_secrets_in_a_url_never_reach_errors_or_logs(
    make_mautic: Callable[..., MauticClient], caplog: pytest.LogCaptureFixture
) -> None:
    responses.post(TOKEN_URL, json=_token("tok-SEEN-IN-URL"))
    responses.get(f"{BASE}/api/contacts", status=500)
    client = make_mautic(_oauth())
    with caplog.at_level(logging.DEBUG), pytest.raises(TransientError) as info:
        client.list_contacts(search="email:tok-SEEN-IN-URL")
    assert "tok-SEEN-IN-URL" not in str(info.value)
    assert "tok-SEEN-IN-URL" not in caplog.text
    assert "/api/contacts" in str(info.value)


@responses.activate
def test_a_refused_token_request_is_not_repeated_by_every_thread_of_a_pool(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.post(
        TOKEN_URL,
        status=400,
        json={"errors": [{"message": "The client credentials are invalid", "code": 400,
                          "type": "invalid_client"}]},
    )  # fmt: skip
    client = make_mautic(_oauth())
    with ThreadPoolExecutor(4) as pool:
        failures = [f.exception() for f in [pool.submit(client.list_users) for _ in range(8)]]
    assert all(isinstance(f, AuthError) for f in failures)
    assert len([c for c in responses.calls if c.request.url == TOKEN_URL]) == 1


@responses.activate
def test_a_401_seen_by_a_thread_after_another_renewed_keeps_the_new_token(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.post(TOKEN_URL, json=_token("tok-OLD1"))
    responses.post(TOKEN_URL, json=_token("tok-NEW2"))
    auth = _oauth()
    client = make_mautic(auth)
    responses.get(USERS, json=_users())
    client.list_users()  # this thread sent tok-OLD1
    other = ThreadPoolExecutor(1)
    other.submit(auth.renew, client.http).result()  # another thread's 401: it never sent one
    assert auth.headers(client.http) == {"Authorization": "Bearer tok-OLD1"}  # kept
    assert auth.renew(client.http)  # this thread's 401 on tok-OLD1: renewed once
    assert auth.headers(client.http) == {"Authorization": "Bearer tok-NEW2"}
    assert auth.renew(client.http)
    other.shutdown()
    assert auth.tokens_fetched == 2

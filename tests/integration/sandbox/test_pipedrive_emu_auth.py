"""Pipedrive emulator auth over real sockets: the API token (header and query), OAuth 2 with
authorization code, refresh, expiry and revocation, the gateway 401/403 bodies and scopes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pipedrive_emu_support import Pipe, sample

PERSONS = "/api/v2/persons"


def _token(pipe: Pipe, **form: str) -> requests.Response:
    creds = pipe.creds
    return requests.post(
        pipe.url + "/oauth/token",
        data=form,
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )


def _bearer(pipe: Pipe, token: str, path: str = PERSONS) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(pipe.url + path, headers=headers, timeout=10)


def test_api_token_in_header_or_query_and_v1_prefixes(pipe: Pipe) -> None:
    token = pipe.creds["token"]
    assert len(token) == 40
    assert int(token, 16) >= 0
    assert requests.get(pipe.url + PERSONS, params={"api_token": token}, timeout=10).ok
    assert pipe.call("GET", PERSONS).ok
    for path in ("/api/v1/users", "/v1/users"):
        assert [u["email"] for u in pipe.data("GET", path)][1:] == [
            "jane.smith@nordlicht-analytics.example",
            "omar.haddad@nordlicht-analytics.example",
        ]


def test_credentials_are_generated_per_instance(pipe: Pipe) -> None:
    from scorebridge.sandbox.pipedrive import PipedriveEmulator

    other = PipedriveEmulator().credentials()
    for key in ("token", "client_id", "client_secret", "refresh_token"):
        assert other[key] != pipe.creds[key]


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-token": "0" * 40}, {"Authorization": "Bearer 13370001:1:nothing"}],
)
def test_missing_or_wrong_credentials_answer_the_gateway_401(
    pipe: Pipe, headers: dict[str, str]
) -> None:
    response = requests.get(pipe.url + PERSONS, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json() == sample("error_401.json")


def test_refresh_token_grant_gives_expiring_access_tokens(pipe: Pipe) -> None:
    answer = _token(pipe, grant_type="refresh_token", refresh_token=pipe.creds["refresh_token"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body.keys() == sample("oauth_token_response.json").keys()
    assert body["expires_in"] == 3599
    assert body["api_domain"] == pipe.url
    assert body["refresh_token"] == pipe.creds["refresh_token"]
    assert "contacts:full" in body["scope"].split(",")
    first = _bearer(pipe, body["access_token"])
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit"] == "80"  # OAuth burst of the Essential plan
    assert "x-daily-requests-left" not in first.headers  # API-token requests only
    pipe.advance(3598)
    assert _bearer(pipe, body["access_token"]).status_code == 200
    pipe.advance(2)
    expired = _bearer(pipe, body["access_token"])
    assert expired.status_code == 401
    assert expired.json() == sample("error_401.json")
    again = _token(pipe, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert _bearer(pipe, again.json()["access_token"]).status_code == 200


def test_authorization_code_flow_and_revocation(pipe: Pipe) -> None:
    creds = pipe.creds
    consent = requests.get(
        pipe.url + "/oauth/authorize",
        params={"client_id": creds["client_id"], "redirect_uri": "https://app.example/cb"},
        allow_redirects=False,
        timeout=10,
    )
    assert consent.status_code == 302
    location = urlsplit(consent.headers["Location"])
    assert location.netloc == "app.example"
    code = parse_qs(location.query)["code"][0]
    wrong_uri = _token(
        pipe, grant_type="authorization_code", code=code, redirect_uri="https://evil.example"
    )
    assert wrong_uri.status_code == 400
    assert wrong_uri.json()["error"] == "invalid_grant"
    consent = requests.get(consent.url, allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    granted = _token(
        pipe, grant_type="authorization_code", code=code, redirect_uri="https://app.example/cb"
    ).json()
    reused = _token(
        pipe, grant_type="authorization_code", code=code, redirect_uri="https://app.example/cb"
    )
    assert reused.status_code == 400
    assert _bearer(pipe, granted["access_token"]).ok
    revoked = requests.post(
        pipe.url + "/oauth/revoke",
        data={"token": granted["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    assert revoked.status_code == 200
    assert _bearer(pipe, granted["access_token"]).status_code == 401
    refreshed = _token(pipe, grant_type="refresh_token", refresh_token=granted["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


def test_token_endpoint_needs_the_client_in_basic_auth(pipe: Pipe) -> None:
    creds = pipe.creds
    form = {"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]}
    wrong = requests.post(
        pipe.url + "/oauth/token", data=form, auth=(creds["client_id"], "nope"), timeout=10
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    in_body = requests.post(
        pipe.url + "/oauth/token",
        data={**form, "client_id": creds["client_id"], "client_secret": creds["client_secret"]},
        timeout=10,
    )
    assert in_body.status_code == 401


def test_expire_control_route_and_scopes(pipe: Pipe) -> None:
    pipe.control("settings", {"oauth_scopes": ["base", "contacts:read"]})
    refresh = pipe.creds["refresh_token"]
    token = _token(pipe, grant_type="refresh_token", refresh_token=refresh).json()
    assert token["scope"] == "base,contacts:read"
    assert _bearer(pipe, token["access_token"]).ok
    denied = requests.post(
        pipe.url + PERSONS,
        json={"name": "Nope"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )
    assert denied.status_code == 403
    assert denied.json() == sample("error_403_scope.json")
    assert _bearer(pipe, token["access_token"], "/api/v2/deals").status_code == 403
    assert _bearer(pipe, token["access_token"], "/api/v1/users/me").ok
    assert pipe.control("tokens/expire", {}) == {"expired": 1}
    assert _bearer(pipe, token["access_token"]).status_code == 401

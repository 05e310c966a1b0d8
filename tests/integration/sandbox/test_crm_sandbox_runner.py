"""`scorebridge sandbox --crm`: which CRM emulators start, their ready-file entries (fresh
credentials per start), the emulators' own URL in OAuth answers, and a written config that still
loads when no configurable CRM runs."""

from __future__ import annotations

from pathlib import Path

import requests
from typer.testing import CliRunner

from scorebridge.cli import app
from scorebridge.config import load_config
from scorebridge.sandbox.runner import Sandbox, SandboxOptions, write_config


def test_selected_crms_start_with_fresh_credentials_and_their_own_urls(tmp_path: Path) -> None:
    sandboxes = [Sandbox(SandboxOptions(contacts=20, days=4, seed=3, crms=("pipedrive",
                                                                            "salesforce")))
                 for _ in range(2)]  # fmt: skip
    try:
        info, other = (s.start() for s in sandboxes)
        assert set(info) == {"mautic", "pipedrive", "salesforce"}
        pipedrive, salesforce = info["pipedrive"], info["salesforce"]
        assert set(pipedrive) == {
            "url",
            "token",
            "client_id",
            "client_secret",
            "refresh_token",
            "company_domain",
            "reps",
        }
        assert set(salesforce) == {
            "url", "client_id", "client_secret", "username", "api_version", "reps"
        }  # fmt: skip
        assert pipedrive["reps"] == salesforce["reps"]  # the world's sales reps, by e-mail
        for name in ("pipedrive", "salesforce"):
            assert info[name]["client_secret"] != other[name]["client_secret"]
        persons = requests.get(
            pipedrive["url"] + "/api/v2/persons",
            headers={"x-api-token": pipedrive["token"]},
            timeout=10,
        )
        assert persons.status_code == 200
        assert persons.json()["data"]
        token = requests.post(
            pipedrive["url"] + "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": pipedrive["refresh_token"]},
            auth=(pipedrive["client_id"], pipedrive["client_secret"]),
            timeout=10,
        ).json()
        assert token["api_domain"] == pipedrive["url"]
        session = requests.post(
            salesforce["url"] + "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": salesforce["client_id"],
                "client_secret": salesforce["client_secret"],
            },
            timeout=10,
        ).json()
        assert session["instance_url"] == salesforce["url"]
        leads = requests.get(
            f"{salesforce['url']}/services/data/v{salesforce['api_version']}/query",
            params={"q": "SELECT COUNT() FROM Lead"},
            headers={"Authorization": f"Bearer {session['access_token']}"},
            timeout=10,
        )
        assert leads.json()["totalSize"] > 0
        config = tmp_path / "not-yet" / "scorebridge.toml"  # its directory is made
        write_config(config, info)
        crm = load_config(config).crm  # the first CRM started that [crm] kind accepts
        assert (crm.kind, crm.url, crm.auth) == ("pipedrive", pipedrive["url"], "token")
        assert crm.token is not None
        assert crm.token.get_secret_value() == pipedrive["token"]
        write_config(config, {k: v for k, v in info.items() if k != "pipedrive"})
        crm = load_config(config).crm
        assert (crm.kind, crm.url, crm.auth, crm.client_id) == (
            "salesforce",
            salesforce["url"],
            "client_credentials",
            salesforce["client_id"],
        )
        assert crm.client_secret is not None
        assert crm.client_secret.get_secret_value() == salesforce["client_secret"]
        assert salesforce["client_secret"] not in config.read_text()
    finally:
        for sandbox in sandboxes:
            sandbox.stop()


def test_unknown_crm_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["sandbox", "--crm", "zoho", "--contacts", "5"])
    assert result.exit_code == 2
    assert "unknown CRM emulator(s) zoho; known: hubspot, pipedrive, salesforce" in result.output

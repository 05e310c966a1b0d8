"""Issue 6 / B.14 row 23: no secret value ever reaches stdout, stderr, `--json` output, the run
table, the dead-letter table or the SQLite files, with DEBUG logging and in failing runs."""

from __future__ import annotations

import base64
import io
import logging
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from tests.security.conftest import Cli, SecurityWorld, run_cli, start_world

from scorebridge.logging import configure_logging

SINCE = "2020-01-01T00:00:00+00:00"


def _secret_file(directory: Path, name: str, value: str) -> str:
    path = directory / name
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return f'"{path}"'


def _store_texts(config: Path) -> dict[str, bytes]:
    """The SQLite files' raw bytes plus the run and dead-letter rows as text."""
    db = config.parent / "scorebridge.db"
    found = {p.name: p.read_bytes() for p in config.parent.glob("scorebridge.db*") if p.is_file()}
    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT command, outcome, error FROM run").fetchall()
        dead = conn.execute("SELECT * FROM dead_letter").fetchall()
    found["run table"] = repr(runs).encode()
    found["dead_letter table"] = repr(dead).encode()
    return found


def _leaks(secrets: dict[str, str], places: dict[str, bytes]) -> list[str]:
    return [
        f"{secret_name} in {place}"
        for secret_name, value in secrets.items()
        for place, data in places.items()
        if value.encode() in data
    ]


def _outputs(runs: list[Cli]) -> dict[str, bytes]:
    places: dict[str, bytes] = {}
    for n, r in enumerate(runs):
        label = f"#{n} scorebridge {' '.join(r.args)}"
        places[f"{label} stdout"] = r.stdout.encode()
        places[f"{label} stderr"] = r.stderr.encode()
    return places


def test_no_secret_in_any_output_or_store_across_real_commands(world: SecurityWorld) -> None:
    mautic = world.mautic
    wrong_password = "Wr0ng-" + mautic["password"][::-1]
    bad_client_secret = "bad-" + mautic["client_secret"][::-1]
    world.extra_secrets |= {
        wrong_password,
        bad_client_secret,
        base64.b64encode(f"{mautic['username']}:{wrong_password}".encode()).decode(),
    }
    world.extra_secrets.add(world.fetch_token())  # a live token the probe must never print

    # basic auth, password from a 0600 file (as `sandbox --write-config` writes it)
    file_cfg = world.config("basic-file")
    # basic auth, password from the environment
    env_cfg = world.config("basic-env", mautic={"auth": '"basic"', "username": '"admin"'})
    # a wrong password from the environment -> 401
    wrong_cfg = world.config("basic-wrong", mautic={"auth": '"basic"', "username": '"admin"'})
    # OAuth2 with the client secret in a file (tokens get issued) and with a bad one from env
    oauth_dir = world.directory / "oauth-secret"
    oauth_dir.mkdir()
    oauth_cfg = world.config(
        "oauth-file",
        mautic={
            "auth": '"oauth2"',
            "client_id": f'"{mautic["client_id"]}"',
            "client_secret_file": _secret_file(oauth_dir, "cs", mautic["client_secret"]),
        },
    )
    bad_oauth_cfg = world.config(
        "oauth-bad", mautic={"auth": '"oauth2"', "client_id": f'"{mautic["client_id"]}"'}
    )

    def chain(config: Path, env: dict[str, str], *commands: list[str]) -> list[Cli]:
        return [run_cli(config, *args, env=env) for args in commands]

    # a 500 storm on a second sandbox (faults are per server), so it runs alongside the others
    stormy = start_world(world.directory / "storm-world")
    storm_cfg = stormy.config("storm")
    stormy.faults(error_ratio=1.0)
    probes = [
        (file_cfg, {}, ["pull"], ["status", "--json"]),
        (env_cfg, {"SCOREBRIDGE_MAUTIC_PASSWORD": mautic["password"]}, ["pull", "--json"],
         ["resync", "--since", SINCE]),
        (wrong_cfg, {"SCOREBRIDGE_MAUTIC_PASSWORD": wrong_password}, ["pull"],
         ["doctor", "--json"]),
        (oauth_cfg, {}, ["pull", "--json"], ["doctor", "--json"]),
        (bad_oauth_cfg, {"SCOREBRIDGE_MAUTIC_CLIENT_SECRET": bad_client_secret}, ["pull"]),
        (storm_cfg, {}, ["pull"]),
    ]  # fmt: skip
    try:
        with ThreadPoolExecutor(max_workers=len(probes)) as pool:
            results = list(pool.map(lambda p: chain(p[0], p[1], *p[2:]), probes))
    finally:
        storm_secrets = {f"storm {k}": v for k, v in stormy.secrets().items()}
        stormy.sandbox.stop()
    file_runs, env_runs, wrong_runs, oauth_runs, bad_oauth_runs, (storm,) = results

    # the probe only means something if the commands did what they should
    assert [r.code for r in file_runs] == [0, 0], file_runs[0].stderr
    assert [r.code for r in env_runs] == [0, 0], env_runs[0].stderr
    assert [r.code for r in oauth_runs] == [0, 0], oauth_runs[0].stderr
    assert wrong_runs[0].code == 1
    assert "401" in wrong_runs[0].stderr
    assert wrong_runs[1].code == 1
    assert "401" in wrong_runs[1].stdout
    assert bad_oauth_runs[0].code == 1
    assert world.issued_tokens(), "the OAuth2 run should have fetched tokens"
    assert storm.code == 1
    assert "500" in storm.stderr

    secrets = world.secrets() | storm_secrets
    places: dict[str, bytes] = _outputs([r for runs in results for r in runs])
    for config in (file_cfg, env_cfg, wrong_cfg, oauth_cfg, bad_oauth_cfg, storm_cfg):
        places |= {f"{config.parent.name}: {k}": v for k, v in _store_texts(config).items()}
    failed = [k for k, v in places.items() if k.endswith("run table") and b"failed" in v]
    assert sorted(failed) == ["basic-wrong: run table", "oauth-bad: run table", "storm: run table"]
    print([(r.args, round(r.seconds, 1)) for runs in results for r in runs])
    assert _leaks(secrets, places) == []


def test_doctor_never_echoes_credentials_embedded_in_the_url(world: SecurityWorld) -> None:
    host = world.mautic["url"].removeprefix("http://")
    config = world.config(
        "url-credentials",
        mautic={
            "url": f'"http://admin:Url-Passw0rd-77@{host}/?access_token=UrlTok3n-abcdef"',
            "username": '"admin"',
        },
    )
    result = run_cli(
        config, "doctor", "--json", env={"SCOREBRIDGE_MAUTIC_PASSWORD": world.mautic["password"]}
    )
    assert result.code in (0, 1), result.stderr
    assert f"***@{host}" in result.stdout  # the URL is shown, its credentials are not
    for value in ("Url-Passw0rd-77", "UrlTok3n-abcdef", world.mautic["password"]):
        assert value not in result.stdout + result.stderr


def test_an_uncaught_traceback_with_a_token_bearing_url_shows_no_token() -> None:
    token = "TrAcEbAcK-t0ken-5e3d"
    code = (
        "from scorebridge.logging import configure_logging\n"
        f"configure_logging('debug', secrets=[{token!r}])\n"
        "def fetch(url):\n"
        "    raise RuntimeError(f'GET {url} failed')\n"
        f"fetch('https://127.0.0.1:1/api/contacts?access_token={token}')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode != 0
    assert "RuntimeError" in done.stderr
    assert "Traceback" in done.stderr
    assert token not in done.stderr + done.stdout


def test_a_logged_transport_failure_on_a_token_bearing_url_shows_no_token() -> None:
    token = "L0gged-t0ken-9f8e7d"
    stream = io.StringIO()
    previous_hook = sys.excepthook
    handler = configure_logging("debug", secrets=[token], stream=stream)
    try:
        try:
            requests.get(
                "http://127.0.0.1:9/api/contacts",  # nothing listens: connection refused
                params={"access_token": token},
                headers={"Authorization": f"Bearer {token}"},
                timeout=2,
            )
        except requests.RequestException:
            logging.getLogger("scorebridge.test").exception("request failed", extra={"t": token})
    finally:
        logging.getLogger().removeHandler(handler)
        sys.excepthook = previous_hook
    output = stream.getvalue()
    assert "ConnectionError" in output
    assert "/api/contacts" in output
    assert token not in output

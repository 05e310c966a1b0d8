"""Issue 6 / B.14 row 24: `scorebridge sandbox --tls` serves https with a self-signed
certificate; verification is on by default, a configured `ca_bundle` makes it pass, and
`insecure = true` works only with a loud warning."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import certifi
import pytest
import requests
from tests.security.conftest import SecurityWorld, run_cli, start_world


@pytest.fixture(scope="module")
def tls_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecurityWorld]:
    started = start_world(tmp_path_factory.mktemp("tls"), tls=True)
    try:
        yield started
    finally:
        started.sandbox.stop()


def _without_ca_bundle(config: Path) -> None:
    lines = config.read_text(encoding="utf-8").splitlines()
    config.write_text("\n".join(ln for ln in lines if not ln.startswith("ca_bundle")) + "\n")


def test_written_config_and_ready_info_name_the_ca_bundle(tls_world: SecurityWorld) -> None:
    bundle = tls_world.mautic["ca_bundle"]
    assert all(entry["url"].startswith("https://127.0.0.1:") for entry in tls_world.info.values())
    assert {entry["ca_bundle"] for entry in tls_world.info.values()} == {bundle}
    config = tomllib.loads(tls_world.config("written").read_text(encoding="utf-8"))
    assert config["mautic"]["ca_bundle"] == bundle
    assert config["crm"]["ca_bundle"] == bundle
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_world.mautic["url"] + "/api/contacts", timeout=10)
    answer = requests.get(
        tls_world.mautic["url"] + "/api/contacts",
        auth=(tls_world.mautic["username"], tls_world.mautic["password"]),
        verify=bundle,
        timeout=10,
    )
    assert answer.status_code == 200


def test_verification_is_on_by_default_and_a_ca_bundle_or_insecure_lets_pull_work(
    tls_world: SecurityWorld,
) -> None:
    no_ca = tls_world.config("no-ca")
    _without_ca_bundle(no_ca)
    with_ca = tls_world.config("with-ca")
    insecure = tls_world.config("insecure", logging="info")
    _without_ca_bundle(insecure)
    text = insecure.read_text(encoding="utf-8")
    insecure.write_text(text.replace("[mautic]\n", "[mautic]\ninsecure = true\n", 1))
    # a machine-wide REQUESTS_CA_BUNDLE must neither replace the configured bundle nor
    # re-enable verification that `insecure` turned off (psf/requests#4726)
    env = {"REQUESTS_CA_BUNDLE": certifi.where()}
    runs = [(no_ca, "doctor", "--json"), (no_ca, "pull"), (with_ca, "pull"), (insecure, "pull")]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        doctor, refused, verified, unverified = pool.map(
            lambda r: run_cli(r[0], *r[1:], env=env), runs
        )

    assert doctor.code == 1
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    reach = checks["mautic reachable and authenticated"]
    assert reach["status"] == "fail"
    assert reach["detail"].startswith("TLS")
    assert "set ca_bundle" in reach["fix"]

    assert refused.code == 1
    assert "TLS" in refused.stderr
    assert "certificate" in refused.stderr.lower()
    assert "Traceback" not in refused.stderr

    assert verified.code == 0, verified.stderr
    assert "contacts" in verified.stdout
    assert "verification is OFF" not in verified.stderr

    assert unverified.code == 0, unverified.stderr
    assert "TLS certificate verification is OFF (insecure = true)" in unverified.stderr


def test_sandbox_cli_tls_option_serves_https_and_removes_its_key(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    command = [
        sys.executable, "-m", "scorebridge", "sandbox", "--tls", "--contacts", "3", "--days", "3",
        "--ready-file", str(ready), "--write-config", str(tmp_path / "scorebridge.toml"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert process.poll() is None, process.stderr
            assert time.monotonic() < deadline
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        bundle = Path(info["mautic"]["ca_bundle"])
        assert info["mautic"]["url"].startswith("https://127.0.0.1:")
        written = tomllib.loads((tmp_path / "scorebridge.toml").read_text())
        assert written["mautic"]["ca_bundle"] == str(bundle)
        key_dir = bundle.parent
        assert key_dir.stat().st_mode & 0o077 == 0  # the private key's directory is private
        answer = requests.get(
            info["mautic"]["url"] + "/api/contacts",
            auth=(info["mautic"]["username"], info["mautic"]["password"]),
            verify=str(bundle),
            timeout=10,
        )
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    assert code == 0
    assert not key_dir.exists()  # the throw-away key is deleted on stop

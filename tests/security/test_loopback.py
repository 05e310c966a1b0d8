"""Issue 6: the sandbox emulators and the health/metrics endpoint listen on 127.0.0.1 only, as
the kernel sees it (``/proc/net/tcp``), and asking the health endpoint for another host fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from tests.security.conftest import SecurityWorld

from scorebridge.clock import FrozenClock
from scorebridge.errors import ConfigError
from scorebridge.health import HealthServer, HealthState, check_bind

_LISTEN = "0A"


def _listeners(port: int) -> list[str]:
    """Local addresses of the listening TCP sockets on ``port`` (IPv4 and IPv6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == _LISTEN and int(hex_port, 16) == port:
                found.append(_address(address))
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:  # IPv4, little-endian
        return ".".join(str(int(hex_address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return f"ipv6:{hex_address}"


@pytest.fixture(autouse=True)
def _needs_proc() -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc/net/tcp")


def test_every_sandbox_server_listens_on_loopback_only(world: SecurityWorld) -> None:
    ports = {name: urlsplit(entry["url"]).port for name, entry in world.info.items()}
    assert set(ports) >= {"mautic", "hubspot"}
    for name, port in ports.items():
        assert port is not None
        assert _listeners(port) == ["127.0.0.1"], name


def test_health_endpoint_listens_on_loopback_by_default_and_warns_beyond_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = HealthState(interval=timedelta(minutes=5), clock=FrozenClock(datetime.now(UTC)))
    with HealthServer(state, port=0) as server:
        assert _listeners(server.port) == ["127.0.0.1"]
        answer = requests.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10)
        assert answer.status_code == 200
    assert "listens beyond this machine" not in caplog.text
    # [daemon] health_bind may name another address: allowed, with a warning (not bound here:
    # the tests listen on loopback only)
    for host in ("0.0.0.0", "::", "192.168.1.10"):
        caplog.clear()
        assert check_bind(host) == host
        assert "listens beyond this machine" in caplog.text
    for host in ("localhost", "example.com"):
        with pytest.raises(ConfigError, match="expected an IP address"):
            check_bind(host)

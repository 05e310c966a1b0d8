"""Real sockets on 127.0.0.1: the (connect, read) timeouts actually bound a hung server."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scorebridge.clock import FrozenClock
from scorebridge.errors import TransientError
from scorebridge.http import BucketRegistry, HttpClient, RetryPolicy, Timeouts, make_session


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hang_first: int = 0
    release = threading.Event()
    seen = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.seen += 1
        if self.server.seen <= self.server.hang_first:
            self.server.release.wait(5)
            return
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        return


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.release = threading.Event()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()


def _client(server: _Server, attempts: int) -> HttpClient:
    host, port = server.server_address[:2]
    return HttpClient(
        system="local",
        base_url=f"http://{host!s}:{port}",
        session=make_session(user_agent="t", timeouts=Timeouts(connect=1, read=0.2)),
        clock=FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)),
        retry=RetryPolicy(max_attempts=attempts, deadline=60),
        buckets=BucketRegistry(),
        rng=random.Random(1),
    )


def test_a_hung_server_is_a_read_timeout(server: _Server) -> None:
    server.hang_first = 1
    with pytest.raises(TransientError, match="read timeout"):
        _client(server, attempts=1).request("GET", "/x")


def test_read_timeout_then_success_over_a_socket(server: _Server) -> None:
    server.hang_first = 1
    assert _client(server, attempts=3).request("GET", "/x").json() == {"ok": True}
    assert server.seen == 2

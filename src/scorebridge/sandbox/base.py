"""The HTTP plumbing every emulator shares: a loopback-only threaded server, request counting,
fault injection and the common part of the ``/_sandbox/`` control path.

An emulator is a plain object implementing :class:`Emulator`: it turns a :class:`Request` into a
:class:`Response` and knows its vendor's error bodies. It never touches sockets; this module
never knows a vendor's routes. Emulator state is guarded by one lock per server, so handlers can
be written as simple single-threaded code; added latency is slept outside the lock.

Common control routes (never counted, never faulted):

- ``POST /_sandbox/reset``            empty state, counters and faults cleared
- ``POST /_sandbox/faults``           JSON body of :class:`Faults` fields (merged; ``{}`` clears)
- ``GET  /_sandbox/faults``           the faults in force
- ``GET  /_sandbox/requests``         ``{"total": n, "by_route": {"GET /api/contacts": n, ...}}``
- ``DELETE /_sandbox/requests``       zero the counters
- anything else under ``/_sandbox/``  handed to :meth:`Emulator.control`
"""

from __future__ import annotations

import json
import random
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

LOOPBACK = "127.0.0.1"


class SandboxClock:
    """Wall-clock time shifted by a settable offset (the ``clock_offset`` fault)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        """The emulated server's idea of now, aware UTC."""
        return datetime.now(UTC) + self.offset


@dataclass
class Request:
    """One HTTP request as an emulator sees it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty); raises ``ValueError`` when invalid."""
        if not self.body.strip():
            return None
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        """The body parsed as ``application/x-www-form-urlencoded``."""
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first query value of ``name``."""
        for key, value in self.query:
            if key == name:
                return value
        return default


@dataclass
class Response:
    """What an emulator answers. ``body`` is JSON-serialised unless it is ``bytes``."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        """The body bytes and content type."""
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if self.body is None and self.status == 204:
            return b"", "application/json"
        return json.dumps(self.body).encode(), "application/json"


@dataclass
class Faults:
    """Fault knobs, each applied per request (control routes excepted).

    Ratios are probabilities in [0, 1] drawn from a generator seeded by ``seed``, so a faulty run
    repeats exactly. Targeting: ``path_prefix`` limits faults to requests whose path starts with
    it, ``route`` to those counted under that route template (``"POST /api/notes/new"``),
    ``body_contains`` to those whose body holds that text; ``max_faults`` stops injecting after
    that many faults (0: no limit), so ``max_faults=1`` with a ratio of 1 hits exactly the first
    targeted request. ``timeout_after_apply`` and ``error_after_apply`` apply the request before
    timing out or answering the 5xx: the client cannot tell that the effect happened.
    """

    latency_ms: float = 0.0
    rate_limit_burst: int = 0  # the next N requests answer 429
    rate_limit_retry_after: float = 1.0
    error_ratio: float = 0.0  # 5xx
    error_status: int = 500
    timeout_ratio: float = 0.0  # hold the request, then drop the connection without answering
    timeout_seconds: float = 35.0
    timeout_after_apply: bool = False  # apply the request's effect before timing out
    error_after_apply: bool = False  # apply the request's effect before the 5xx answer
    reset_ratio: float = 0.0  # close the connection with a TCP reset, no answer
    batch_item_failure_ratio: float = 0.0  # emulators fail this share of batch items
    clock_offset_seconds: float = 0.0
    path_prefix: str = ""
    route: str = ""
    body_contains: str = ""
    max_faults: int = 0
    seed: int = 0

    def targets(self, request: Request, route: str) -> bool:
        """Whether these faults may hit ``request``, counted under ``route``."""
        return (
            request.path.startswith(self.path_prefix)
            and (not self.route or self.route == route)
            and (not self.body_contains or self.body_contains.encode() in request.body)
        )

    @classmethod
    def from_json(cls, data: dict[str, Any], current: Faults | None = None) -> Faults:
        """Merge ``data`` into ``current`` (or the defaults); unknown keys raise ``ValueError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {sorted(known)}")
        base = asdict(current) if current and data else {}
        base.update(data)
        return cls(**base)


class Emulator(Protocol):
    """What a vendor emulator provides to the shared server."""

    name: str
    clock: SandboxClock

    def handle(self, request: Request) -> Response:
        """Answer one API request (called with the state lock held)."""
        ...

    def route(self, request: Request) -> str:
        """The route template of a request for counting, e.g. ``GET /api/contacts/{id}``."""
        ...

    def rate_limited(self, retry_after: float) -> Response:
        """The vendor's 429 answer."""
        ...

    def server_error(self, status: int) -> Response:
        """The vendor's 5xx answer."""
        ...

    def control(self, request: Request) -> Response:
        """Vendor-specific ``/_sandbox/`` routes (seed, events, ...)."""
        ...

    def reset(self) -> None:
        """Forget all state."""
        ...

    def set_faults(self, faults: Faults) -> None:
        """Learn the faults in force (for per-item batch failures)."""
        ...


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, emulator: Emulator, port: int, context: ssl.SSLContext | None) -> None:
        super().__init__((LOOPBACK, port), _Handler)
        self.emulator = emulator
        self.lock = threading.RLock()
        self.counts: Counter[str] = Counter()
        self.faults = Faults()
        self.rng = random.Random(0)
        self.burst_left = 0
        self.faults_left = 0
        self.injected = 0  # faults injected since the faults were last set
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.rng = random.Random(faults.seed)
        self.burst_left = faults.rate_limit_burst
        self.faults_left = faults.max_faults
        self.injected = 0
        self.emulator.clock.offset = timedelta(seconds=faults.clock_offset_seconds)
        self.emulator.set_faults(faults)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: the request counter is the log."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header from the emulated server's clock (``clock_offset`` included), as
        a real server's Date and its database timestamps come from one host clock."""
        moment = self.server.emulator.clock.now().timestamp() if timestamp is None else timestamp
        return formatdate(moment, usegmt=True)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _read_request(self) -> Request:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return Request(
            method=self.command,
            path=unquote(parts.path),
            query=parse_qsl(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )

    def _dispatch(self) -> None:
        server = self.server
        request = self._read_request()
        if request.path.startswith("/_sandbox/"):
            with server.lock:
                response = self._control(request)
            self._send(response)
            return
        faults = server.faults
        with server.lock:
            route = server.emulator.route(request)
            server.counts[route] += 1
            targeted = faults.targets(request, route)
            fate = self._fate(faults) if targeted else "ok"
            if fate != "ok":
                server.faults_left -= 1
                server.injected += 1
        if faults.latency_ms and targeted:
            time.sleep(faults.latency_ms / 1000)
        if fate == "reset":
            self._reset_connection()
            return
        if fate == "timeout" and not faults.timeout_after_apply:
            self._hang(faults.timeout_seconds)
            return
        if fate == "429":
            self._send(server.emulator.rate_limited(faults.rate_limit_retry_after))
            return
        if fate == "5xx" and not faults.error_after_apply:
            self._send(server.emulator.server_error(faults.error_status))
            return
        with server.lock:
            try:
                response = server.emulator.handle(request)
            except Exception:  # noqa: BLE001 - an emulator bug must surface as a 500, not a hang
                import traceback

                traceback.print_exc()
                response = server.emulator.server_error(500)
        if fate == "timeout":
            self._hang(faults.timeout_seconds)
            return
        if fate == "5xx":
            response = server.emulator.server_error(faults.error_status)
        self._send(response)

    def _fate(self, faults: Faults) -> str:
        server = self.server
        if faults.max_faults and server.faults_left <= 0:
            return "ok"
        if server.burst_left > 0:
            server.burst_left -= 1
            return "429"
        draw = server.rng.random()
        for fate, ratio in (
            ("reset", faults.reset_ratio),
            ("timeout", faults.timeout_ratio),
            ("5xx", faults.error_ratio),
        ):
            if draw < ratio:
                return fate
            draw -= ratio
        return "ok"

    def _control(self, request: Request) -> Response:
        server = self.server
        route = request.path[len("/_sandbox/") :].strip("/")
        try:
            if route == "reset" and request.method == "POST":
                server.emulator.reset()
                server.counts.clear()
                server.set_faults(Faults())
                return Response(200, {"ok": True})
            if route == "faults" and request.method == "POST":
                server.set_faults(Faults.from_json(request.json() or {}, server.faults))
                return Response(200, asdict(server.faults))
            if route == "faults" and request.method == "GET":
                return Response(200, asdict(server.faults))
            if route == "requests" and request.method == "GET":
                counts = dict(server.counts)
                return Response(200, {"total": sum(counts.values()), "by_route": counts})
            if route == "requests" and request.method == "DELETE":
                server.counts.clear()
                return Response(200, {"ok": True})
            return server.emulator.control(request)
        except (ValueError, TypeError, KeyError) as exc:
            return Response(400, {"error": f"bad control request: {exc}"})

    def _send(self, response: Response) -> None:
        body, content_type = response.encode()
        self.send_response(response.status)
        headers = {"Content-Type": content_type, **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _reset_connection(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST: the client sees a reset.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _hang(self, seconds: float) -> None:
        time.sleep(seconds)
        self.close_connection = True


class RunningServer:
    """An emulator served on 127.0.0.1 in a background thread."""

    def __init__(
        self, emulator: Emulator, port: int = 0, context: ssl.SSLContext | None = None
    ) -> None:
        self.emulator = emulator
        self._server = _Server(emulator, port, context)
        self.port: int = self._server.server_address[1]
        scheme = "https" if context else "http"
        self.url = f"{scheme}://{LOOPBACK}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() returns within 50 ms
            name=f"sandbox-{emulator.name}",
            daemon=True,
        )
        self._thread.start()

    @property
    def lock(self) -> threading.RLock:
        """The state lock (hold it to read or change emulator state from another thread)."""
        return self._server.lock

    def request_counts(self) -> dict[str, int]:
        """Requests per route so far."""
        with self._server.lock:
            return dict(self._server.counts)

    def set_faults(self, faults: Faults) -> None:
        """Apply faults directly (same as ``POST /_sandbox/faults``)."""
        with self._server.lock:
            self._server.set_faults(faults)

    def faults_injected(self) -> int:
        """How many requests the faults in force have hit so far."""
        with self._server.lock:
            return self._server.injected

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

"""HTTP plumbing: requests, responses, the route table, the request handler and its limits.

Handlers are plain functions ``(ctx, req) -> Response`` registered with a method and a regex
over the raw (still percent-encoded) path, so a revision like ``refs%2Fpr%2F1`` stays one
segment until the handler unquotes it.

What one client can make the server hold is bounded (``Limits``): a request is checked on
its headers (route, token, announced size) before any of its body is read; bodies are capped
per route and read in chunks (large ones are streamed by their handlers, never buffered);
a connection may wait ``idle_timeout`` for its next request, a request's line, headers and
small (JSON) body must then arrive within ``request_timeout``, and a streamed body or answer
may not stall longer than ``read_timeout``; at most ``max_requests`` requests are served at
once (the next get a 503 at once), and at most ``max_connections`` connections are open, of
which idle ones never keep a request out (``connections``).
"""

from __future__ import annotations

import contextlib
import hmac
import io
import json
import logging
import re
import socket
import sys
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from hf_pipeline.hub.server.body import BodyReader, TimedSocketReader
from hf_pipeline.hub.server.connections import ConnectionTable
from hf_pipeline.hub.server.errors import HubHTTPError, server_busy
from hf_pipeline.hub.server.fields import json_object
from hf_pipeline.hub.server.storage import RepoStore

log = logging.getLogger(__name__)

WRONG_TOKEN = "Invalid credentials in Authorization header"  # the Hub's own wording
JSON_BODY_MAX = 1 << 20  # the body cap of a route that names none
DRAIN_MAX = 1 << 20  # unread body bytes dropped to keep a connection usable; more: close it
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Limits:
    """Bounds on what clients can make the server hold: connections, time, bytes."""

    max_requests: int = 64  # served at once: a request holds a slot only once it has arrived
    max_connections: int = 256  # open (a thread each); idle ones are displaced by new ones
    idle_timeout: float = 10.0  # seconds a connection may wait for its next request
    request_timeout: float = 20.0  # seconds for a request (line, headers, small body) to arrive
    read_timeout: float = 60.0  # longest stall while a streamed body arrives or an answer leaves
    max_commit_bytes: int = 1 << 30  # one commit payload (streamed to disk as it arrives)
    max_lfs_bytes: int = 50 * 1000**3  # one LFS object (the Hub's per-file limit)


@dataclass(frozen=True)
class ServerContext:
    """What handlers need: the store, the expected token, the user name, the public URL."""

    store: RepoStore
    token: str | None
    user: str
    base_url: str
    lfs_secret: bytes
    limits: Limits = field(default_factory=Limits)


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: Any
    stream: BodyReader
    body: bytes = b""  # read by the transport for routes that are not ``stream=True``
    bearer: str | None = None
    base_url: str = ""  # as the client reached us (Host header), for URLs we hand out

    def arg(self, name: str) -> str:
        """A path parameter, percent-decoded."""
        return unquote(self.params[name])

    def flag(self, name: str) -> bool:
        values = self.query.get(name) or self.query.get(f"{name}[]") or []
        return bool(values) and values[-1].lower() in ("1", "true", "yes")

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as e:  # JSONDecodeError, or bytes that are no Unicode at all
            raise HubHTTPError(400, f"Request body is not valid JSON: {e}") from None

    def json_object(self, what: str) -> dict[str, Any]:
        """The body as a JSON object; anything else (``[1]``, ``"x"``, ``null``) is a 400."""
        return json_object(self.json(), what)

    def body_stream(self, limit: int, what: str) -> BodyReader:
        """The body, for handlers that stream it: a 413 now if it announces more than ``limit``."""
        self.stream.set_limit(limit, what)
        return self.stream


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    file: Path | None = None  # streamed instead of ``body``: bytes [offset, offset + length)
    offset: int = 0
    length: int = 0

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(data).encode(),
                   {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


Handler = Callable[[ServerContext, Request], Response]


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    handler: Handler
    write: bool = False  # needs the server token (when it has one)
    stream: bool = False  # the handler reads the body itself, with its own limit
    max_body: int = JSON_BODY_MAX  # otherwise: the body is read for it, up to this size


def route(methods: str, pattern: str, handler: Handler, *, write: bool = False,
          stream: bool = False, max_body: int = JSON_BODY_MAX) -> Route:
    return Route(tuple(methods.split("|")), re.compile(f"^{pattern}$"), handler, write, stream,
                 max_body)


def error_response(err: HubHTTPError) -> Response:
    headers = {"X-Error-Message": err.message[:500], **err.headers}
    if err.code:
        headers["X-Error-Code"] = err.code
    return Response.json({"error": err.message, **err.extra}, err.status, headers)


def check_write_auth(ctx: ServerContext, bearer: str | None) -> None:
    """With a server token, writes need exactly it: 401 otherwise, worded like the Hub."""
    if ctx.token is None:
        return
    if bearer is None:
        raise HubHTTPError(401, "Invalid username or password. This local Hub requires a token "
                           "for writes: pass token=... or set HF_TOKEN.")
    if not hmac.compare_digest(bearer.encode(), ctx.token.encode()):
        raise HubHTTPError(401, WRONG_TOKEN, extra={
            "error": f"{WRONG_TOKEN}: the token is not the one this local Hub was started with."})


_BUSY = error_response(server_busy())


class HubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for clients that hold idle connections
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], ctx_factory: Callable[[str], ServerContext],
                 routes: list[Route], limits: Limits | None = None) -> None:
        super().__init__(address, HubRequestHandler)
        host, port = self.server_address[:2]
        self.limits = limits or Limits()
        self.ctx = ctx_factory(f"http://{host}:{port}")
        self.routes = routes
        self.connections = ConnectionTable(max_connections=self.limits.max_connections,
                                           max_requests=self.limits.max_requests)
        self._full_logged = False

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.connections.admit(request):
            self._refuse(request)
            return
        self._full_logged = False
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.connections.leave(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.leave(request)

    def _refuse(self, request: socket.socket) -> None:
        """Answer 503 from the accepting thread, without blocking it, and close: every open
        connection is serving a request."""
        if not self._full_logged:
            self._full_logged = True
            log.warning("all %d connections are serving requests: refusing new connections "
                        "with 503", self.limits.max_connections)
        try:
            request.setblocking(False)
            with contextlib.suppress(OSError):  # unread data would make the close a reset
                request.recv(1 << 16)
            head = [f"HTTP/1.1 503 {HTTPStatus(503).phrase}", "Retry-After: 1",
                    "Connection: close", f"Content-Length: {len(_BUSY.body)}",
                    *(f"{k}: {v}" for k, v in _BUSY.headers.items())]
            request.send(("\r\n".join(head) + "\r\n\r\n").encode() + _BUSY.body)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # a client that went away or stalled: routine
            log.debug("connection from %s ended: %r", client_address[0], exc)
        else:
            log.error("unexpected error on a connection:\n%s", traceback.format_exc())


class HubRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    # Headers and body go out in two writes: with Nagle's algorithm the second one waits for
    # the client's delayed ACK, 40 ms per answer on Linux.
    disable_nagle_algorithm = True
    server: HubHTTPServer

    def setup(self) -> None:
        super().setup()
        self._raw = TimedSocketReader(self.connection)
        self.rfile = io.BufferedReader(self._raw, 1 << 16)
        self._expect_continue = False

    def handle_one_request(self) -> None:
        limits = self.server.limits
        self._raw.expect_request(limits.idle_timeout, limits.request_timeout)
        self._expect_continue = False
        super().handle_one_request()

    def handle_expect_100(self) -> bool:
        # "100 Continue" goes out only when a handler reads the body (see BodyReader), so a
        # request refused on its headers never makes the client send its body.
        self._expect_continue = True
        return True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Errors found by the HTTP parser (bad request line, headers too long) as Hub errors."""
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") in ("HTTP/0.9", ""):
            self.request_version = self.protocol_version  # answer with a status line anyway
        err = HubHTTPError(code, f"Malformed HTTP request: {message or HTTPStatus(code).phrase}.")
        self._send(error_response(err), head=getattr(self, "command", None) == "HEAD")

    def _dispatch(self, method: str) -> None:
        # The request's deadline still runs: a small body must arrive within it too.
        url = urlsplit(self.path)
        try:
            stream = self._body_reader()
        except HubHTTPError as err:
            self.close_connection = True
            self._send(error_response(err), head=method == "HEAD")
            return
        host = self.headers.get("Host")
        req = Request(method, url.path, {}, parse_qs(url.query), self.headers, stream,
                      bearer=self._bearer(),
                      base_url=f"http://{host}" if host else self.server.ctx.base_url)
        # A slot from when the request has arrived whole (a streamed body is read by its
        # handler, in the slot) until its answer is sent; not while the connection is idle.
        with contextlib.ExitStack() as slot:
            try:
                handler = self._route(req, url.path)
                slot.enter_context(self.server.connections.slot(self.connection))
                self._raw.expect_stream(self.server.limits.read_timeout)
                response = handler(self.server.ctx, req)
            except HubHTTPError as err:
                response = error_response(err)
                self.close_connection = self.close_connection or err.close
            except Exception:  # a bug here must answer 500, and tell the client nothing internal
                incident = uuid.uuid4().hex[:8]
                log.error("%s %s failed (incident %s):\n%s", method, url.path, incident,
                          traceback.format_exc())
                response = error_response(HubHTTPError(
                    500, f"Internal error in the local Hub (incident {incident}); the server "
                    "log has the details."))
            self._raw.expect_stream(self.server.limits.read_timeout)
            linger = self._settle_body(stream)
            self._send(response, head=method == "HEAD")
        if linger:
            self._linger(stream)

    def _route(self, req: Request, path: str) -> Handler:
        """The handler of the request's route, once the request may go to it: authorised, and
        its body read unless the handler streams it."""
        for r in self.server.routes:
            match = r.pattern.match(path)
            if match and req.method in r.methods:
                req.params = {k: v for k, v in match.groupdict().items() if v is not None}
                if r.write:
                    check_write_auth(self.server.ctx, req.bearer)
                if not r.stream:
                    req.body = req.body_stream(r.max_body, "request body").read_all()
                return r.handler
        log.warning("unknown route: %s %s (not implemented by the local Hub)", req.method, path)
        raise HubHTTPError(404, f"Unknown route: {req.method} {path} is not implemented by "
                           "this local Hub server.")

    def _bearer(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() or None if auth.lower().startswith("bearer ") else None

    def _body_reader(self) -> BodyReader:
        """The request's body, framed by Content-Length or chunked; ambiguous framing is a 400."""
        encoding = self.headers.get("Transfer-Encoding")
        lengths = self.headers.get_all("Content-Length") or []
        if encoding is not None:
            if encoding.strip().lower() != "chunked" or lengths:
                raise HubHTTPError(400, "Unsupported request framing: use Content-Length, or "
                                   "Transfer-Encoding: chunked alone.")
            return BodyReader(self.rfile, length=None, chunked=True,
                              send_continue=self._send_continue)
        values = {v.strip() for v in lengths}
        if len(values) > 1 or any(not (v.isascii() and v.isdigit()) for v in values):
            raise HubHTTPError(400, f"Invalid Content-Length header {', '.join(lengths)!r}.")
        length = int(values.pop()) if values else 0
        return BodyReader(self.rfile, length=length, chunked=False,
                          send_continue=self._send_continue)

    def _send_continue(self) -> None:
        if self._expect_continue:
            self._expect_continue = False
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _settle_body(self, stream: BodyReader) -> bool:
        """Before answering: read a small unread rest of the body (the connection stays
        usable), or decide to close. True when the close should linger (see ``_linger``)."""
        if stream.done:
            return False
        if self._expect_continue:  # the client waits for our go before sending its body
            self.close_connection = True
            return False
        left = stream.remaining
        if not self.close_connection and left is not None and left <= DRAIN_MAX:
            try:
                if stream.discard(DRAIN_MAX):
                    return False
            except (HubHTTPError, OSError):
                pass
        self.close_connection = True
        return True

    def _linger(self, stream: BodyReader) -> None:
        # Closing with unread request bytes makes the kernel send a reset, which can destroy
        # the answer before the client reads it. Stop sending, drop a bounded amount of what
        # still arrives, then close.
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self._raw.expect_stream(1.0)
            stream.discard(DRAIN_MAX)
        except (HubHTTPError, OSError):
            pass

    def _send(self, response: Response, *, head: bool) -> None:
        size = response.length if response.file is not None else len(response.body)
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, _header_value(value))
        self.send_header("Content-Length", str(size))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return
        if response.file is None:
            self.wfile.write(response.body)
            return
        with open(response.file, "rb") as f:
            f.seek(response.offset)
            left = response.length
            while left > 0 and (chunk := f.read(min(left, 1 << 20))):
                self.wfile.write(chunk)
                left -= len(chunk)


def _header_value(value: str) -> str:
    """A header value that cannot break the response: one line, Latin-1 (escapes the rest)."""
    return _HEADER_UNSAFE.sub(" ", value).encode("latin-1", "backslashreplace").decode("latin-1")

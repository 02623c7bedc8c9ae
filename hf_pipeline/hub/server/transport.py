"""HTTP plumbing: requests, responses, the route table and the request handler.

Handlers are plain functions ``(ctx, req) -> Response`` registered with a method and a regex
over the raw (still percent-encoded) path, so a revision like ``refs%2Fpr%2F1`` stays one
segment until the handler unquotes it.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from hf_pipeline.hub.server.errors import HubHTTPError
from hf_pipeline.hub.server.storage import RepoStore

log = logging.getLogger(__name__)

WRONG_TOKEN = "Invalid credentials in Authorization header"  # the Hub's own wording


@dataclass(frozen=True)
class ServerContext:
    """What handlers need: the store, the expected token, the user name, the public URL."""

    store: RepoStore
    token: str | None
    user: str
    base_url: str
    lfs_secret: bytes


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: Any
    body: bytes = b""
    read_stream: Callable[[int], bytes] = field(default=lambda n: b"")
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
        except json.JSONDecodeError as e:
            raise HubHTTPError(400, f"Request body is not valid JSON: {e}") from None


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
    stream: bool = False  # the handler reads the body itself (large uploads)


def route(methods: str, pattern: str, handler: Handler, *, write: bool = False,
          stream: bool = False) -> Route:
    return Route(tuple(methods.split("|")), re.compile(f"^{pattern}$"), handler, write, stream)


def error_response(err: HubHTTPError) -> Response:
    headers = {"X-Error-Message": err.message, **err.headers}
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


class HubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], ctx_factory: Callable[[str], ServerContext],
                 routes: list[Route]) -> None:
        super().__init__(address, HubRequestHandler)
        host, port = self.server_address[:2]
        self.ctx = ctx_factory(f"http://{host}:{port}")
        self.routes = routes


class HubRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    server: HubHTTPServer

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

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        host = self.headers.get("Host")
        req = Request(method, url.path, {}, parse_qs(url.query), self.headers,
                      read_stream=self._body_reader(), bearer=self._bearer(),
                      base_url=f"http://{host}" if host else self.server.ctx.base_url)
        try:
            response = self._handle(req, url.path)
        except HubHTTPError as err:
            response = error_response(err)
        except Exception as e:  # a bug here must answer 500, not drop the connection
            log.error("%s %s failed:\n%s", method, url.path, traceback.format_exc())
            response = error_response(HubHTTPError(500, f"Internal error in the local Hub: {e!r}"))
        self._drain(req)
        self._send(response, head=method == "HEAD")

    def _handle(self, req: Request, path: str) -> Response:
        for r in self.server.routes:
            match = r.pattern.match(path)
            if match and req.method in r.methods:
                req.params = {k: v for k, v in match.groupdict().items() if v is not None}
                if r.write:
                    check_write_auth(self.server.ctx, req.bearer)
                if not r.stream:
                    req.body = _read_all(req.read_stream)
                return r.handler(self.server.ctx, req)
        log.warning("unknown route: %s %s (not implemented by the local Hub)", req.method, path)
        raise HubHTTPError(404, f"Unknown route: {req.method} {path} is not implemented by "
                           "this local Hub server.")

    def _bearer(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() or None if auth.lower().startswith("bearer ") else None

    def _body_reader(self) -> Callable[[int], bytes]:
        """A ``read(n)`` over the request body, plain (Content-Length) or chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _ChunkedReader(self.rfile).read
        try:
            remaining = [int(self.headers.get("Content-Length") or 0)]
        except ValueError:
            self.close_connection = True  # cannot tell where this body ends
            remaining = [0]

        def read(n: int) -> bytes:
            data = self.rfile.read(min(n, remaining[0])) if remaining[0] > 0 else b""
            remaining[0] -= len(data)
            return data
        return read

    def _drain(self, req: Request) -> None:
        # Unread request bytes would be parsed as the next request on this connection.
        try:
            _read_all(req.read_stream)
        except (OSError, ValueError):
            self.close_connection = True

    def _send(self, response: Response, *, head: bool) -> None:
        size = response.length if response.file is not None else len(response.body)
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(size))
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


class _ChunkedReader:
    """Decodes a ``Transfer-Encoding: chunked`` request body."""

    def __init__(self, rfile: Any) -> None:
        self.rfile, self.left, self.done = rfile, 0, False

    def read(self, n: int) -> bytes:
        if self.done:
            return b""
        if self.left == 0:
            line = self.rfile.readline(65537)
            self.left = int(line.split(b";")[0].strip() or b"0", 16)
            if self.left == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self.done = True
                return b""
        data = self.rfile.read(min(n, self.left))
        self.left -= len(data)
        if self.left == 0:
            self.rfile.readline(3)  # the CRLF closing this chunk
        return data


def _read_all(read: Callable[[int], bytes]) -> bytes:
    parts = []
    while chunk := read(1 << 20):
        parts.append(chunk)
    return b"".join(parts)

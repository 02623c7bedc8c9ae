"""Request bodies, read with bounds: a size limit, read timeouts, and no unbounded buffering.

``BodyReader`` is the only way handlers see a body. It knows the announced size
(``Content-Length``) so a route can refuse an oversize body from its headers alone, counts
what a chunked body delivers against the same limit, and sends ``100 Continue`` only once a
handler actually reads (so a client that asked for it never sends a body that is refused).
``TimedSocketReader`` sits under the handler's ``rfile``: a wait for the next request (an idle
connection is not kept long), a deadline for the request line, headers and small body (a
client that trickles them in cannot hold a thread), and a stall limit for streamed bodies
and answers.
"""

from __future__ import annotations

import io
import re
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

from hf_pipeline.hub.server.errors import HubHTTPError

CHUNK = 1 << 16
_CHUNK_SIZE_RE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class TimedSocketReader(io.RawIOBase):
    """Raw reads from a socket with a wait for the next request, an overall deadline for that
    request, or a stall limit (streams)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.deadline: float | None = None
        self.stall: float | None = None
        self._next_request: tuple[float, float] | None = None  # (idle, request) seconds

    def expect_request(self, idle_seconds: float, request_seconds: float) -> None:
        """The next request is due to start within ``idle_seconds`` (until then the connection
        is idle), and, from its first byte, to arrive whole (line, headers, a small body)
        within ``request_seconds``."""
        self.deadline, self.stall = None, None
        self._next_request = (idle_seconds, request_seconds)

    def expect_stream(self, stall_seconds: float) -> None:
        """From now on, no single read or write may wait longer than ``stall_seconds``."""
        self.deadline, self.stall, self._next_request = None, stall_seconds, None
        self.sock.settimeout(stall_seconds)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._next_request is not None:
            idle, request = self._next_request
            self.sock.settimeout(idle)
            got = self.sock.recv_into(buffer)
            self._next_request, self.deadline = None, time.monotonic() + request
            return got
        timeout = self.stall
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request did not arrive in time")
            timeout = left if timeout is None else min(timeout, left)
        self.sock.settimeout(timeout)
        return self.sock.recv_into(buffer)


class BodyReader:
    """``read(n)`` over one request body (``Content-Length`` or chunked), within ``limit``."""

    def __init__(self, rfile: Any, *, length: int | None, chunked: bool,
                 send_continue: Callable[[], None] | None = None) -> None:
        self.rfile = rfile
        self.length = length  # announced size; None for a chunked body
        self.chunked = chunked
        self.limit: int | None = None
        self.what = "request body"
        self.consumed = 0
        self.done = not chunked and not length
        self._chunk_left = 0
        self._send_continue = send_continue

    def set_limit(self, limit: int, what: str) -> None:
        """Refuse (413) a body over ``limit`` bytes: now if its size is announced, else on read."""
        self.limit, self.what = limit, what
        if self.length is not None and self.length > limit:
            raise too_large(what, limit, announced=self.length)

    @property
    def remaining(self) -> int | None:
        """Bytes not read yet, when known (``None`` for a chunked body)."""
        return None if self.length is None else self.length - self.consumed

    def read(self, n: int = CHUNK) -> bytes:
        if self.done:
            return b""
        if self._send_continue is not None:
            self._send_continue()
            self._send_continue = None
        try:
            data = self._read_chunked(n) if self.chunked else self._read_plain(n)
        except TimeoutError:
            raise HubHTTPError(408, f"The {self.what} stopped arriving: timed out waiting for "
                               "more of it.", close=True) from None
        self.consumed += len(data)
        if self.limit is not None and self.consumed > self.limit:
            raise too_large(self.what, self.limit)
        return data

    def read_all(self) -> bytes:
        """The whole body; only for routes whose ``limit`` keeps it small."""
        parts = []
        while chunk := self.read(CHUNK):
            parts.append(chunk)
        return b"".join(parts)

    def discard(self, most: int) -> bool:
        """Read and drop up to ``most`` bytes; True when the body has been read to its end."""
        dropped = 0
        while not self.done and dropped < most:
            dropped += len(self.read(min(CHUNK, most - dropped)))
        return self.done

    def lines(self, max_line: int, what: str, *,
              hint: str = "") -> Iterator[tuple[int, bytes]]:
        """(line number, line) for each line of the body; a line over ``max_line`` is a 413
        (its message ends with ``hint``)."""
        buffer = bytearray()
        number = 0
        while True:
            chunk = self.read(CHUNK)
            buffer += chunk
            start = 0
            while (end := buffer.find(b"\n", start)) >= 0:
                number += 1
                yield number, bytes(buffer[start:end])
                start = end + 1
            del buffer[:start]
            if len(buffer) > max_line:
                raise HubHTTPError(413, f"{what}: line {number + 1} is over {max_line} bytes"
                                   f"{hint}.", close=True)
            if not chunk:
                if buffer.strip():
                    yield number + 1, bytes(buffer)
                return

    def _read_plain(self, n: int) -> bytes:
        left = (self.length or 0) - self.consumed
        # read1: what has arrived (up to n), without waiting for n bytes; a streaming
        # handler (a commit, line by line) acts on each part as soon as it is here.
        data = self.rfile.read1(min(n, left)) if left > 0 else b""
        if left > 0 and not data:
            raise HubHTTPError(400, f"The {self.what} ended after {self.consumed} of the "
                               f"{self.length} bytes its Content-Length announced.", close=True)
        if self.consumed + len(data) >= (self.length or 0):
            self.done = True
        return data

    def _read_chunked(self, n: int) -> bytes:
        if self._chunk_left == 0:
            line = self.rfile.readline(1026)
            size = line.split(b";")[0].strip()
            if not _CHUNK_SIZE_RE.fullmatch(size):
                raise HubHTTPError(400, "Malformed chunked request body: bad chunk size line.",
                                   close=True)
            self._chunk_left = int(size, 16)
            if self._chunk_left == 0:
                for _ in range(100):  # trailers, then the blank line
                    if self.rfile.readline(8194) in (b"\r\n", b"\n", b""):
                        break
                self.done = True
                return b""
        data = self.rfile.read1(min(n, self._chunk_left))
        if not data:
            raise HubHTTPError(400, "The chunked request body ended in the middle of a chunk.",
                               close=True)
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            self.rfile.readline(3)  # the CRLF closing this chunk
        return data


def too_large(what: str, limit: int, *, announced: int | None = None) -> HubHTTPError:
    size = f" ({announced} bytes announced)" if announced is not None else ""
    return HubHTTPError(413, f"The {what} is too large{size}: this local Hub accepts at most "
                        f"{limit} bytes here.", close=True)

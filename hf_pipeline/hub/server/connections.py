"""The connections the local Hub holds, and the slots of the requests it serves at once.

A slot used to be taken per connection, from accept to close: 64 idle connections (connected
and silent, half-sent requests, keep-alive after one request) held all 64, and every other
client got a 503 for as long as they stayed (``request_timeout``, 20 s, and each request on
a kept-alive connection renewed it). Now a slot is a request being served: taken once the
request has arrived whole (line, headers and small body), given back once its answer is sent.

Between requests a connection holds a thread, no slot, and is *idle*: the table of open
connections is bounded (``max_connections``), but idle sockets cannot fill it, because at
the cap a new connection displaces the connection idle the longest. A new connection is
refused only when every open one is serving a request. The transport bounds how long a
connection stays idle (``idle_timeout``, shorter than ``request_timeout``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterator

from hf_pipeline.hub.server.errors import server_busy

log = logging.getLogger(__name__)


class ConnectionTable:
    """Open connections (at most ``max_connections``), each idle or serving a request (at
    most ``max_requests`` at once); thread-safe."""

    def __init__(self, *, max_connections: int, max_requests: int) -> None:
        self.max_connections, self.max_requests = max_connections, max_requests
        self._idle: OrderedDict[socket.socket, None] = OrderedDict()  # idle longest first
        self._serving: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def open(self) -> int:
        return len(self._idle) + len(self._serving)

    @property
    def serving(self) -> int:
        return len(self._serving)

    def admit(self, sock: socket.socket) -> bool:
        """Take a new connection, idle; at the cap, displace the connection idle the longest.
        False when every open connection is serving a request (refuse this one)."""
        with self._lock:
            if self.open >= self.max_connections:
                if not self._idle:
                    return False
                displaced, _ = self._idle.popitem(last=False)
                # Wakes its thread's blocked read with an end of file; that thread closes it.
                with contextlib.suppress(OSError):
                    displaced.shutdown(socket.SHUT_RDWR)
                log.debug("connection table full (%d): displaced the connection idle longest",
                          self.max_connections)
            self._idle[sock] = None
            return True

    def leave(self, sock: socket.socket) -> None:
        """Forget a closed connection."""
        with self._lock:
            self._idle.pop(sock, None)
            self._serving.discard(sock)

    @contextlib.contextmanager
    def slot(self, sock: socket.socket) -> Iterator[None]:
        """Hold a request slot while the request is served; then the connection is idle
        again. A 503 (``HubHTTPError``) when all slots are taken, or when the connection
        was displaced meanwhile (its answer cannot be sent: it only ends the request)."""
        with self._lock:
            displaced = sock not in self._idle
            if displaced or len(self._serving) >= self.max_requests:
                raise server_busy(close=displaced)
            del self._idle[sock]
            self._serving.add(sock)
        try:
            yield
        finally:
            with self._lock:
                self._serving.discard(sock)
                self._idle[sock] = None

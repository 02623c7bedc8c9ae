"""Idle connections cannot lock other clients out of the local Hub (issue 24, item 11).

A slot used to be taken per connection: 64 connections that sent nothing, half a request, or
one request and then stayed (keep-alive) took all 64, and every other client got a 503 for
~19 s, renewed for as long as their one client kept them busy. Here one client holds 64 such
connections (it reopens any the server closes and renews the kept-alive ones every second)
while the real ``huggingface_hub`` client, and plain HTTP on new connections, must each get
their answer within 2 s. Bounded: 6 s, 64 connections held (plus reopenings, at most
``MAX_REOPENED``), loopback only; ``-s`` prints the figures.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable

import pytest
from fixtures.hub_server import LocalHub, connect, read_response, send_raw
from huggingface_hub import HfApi, close_session

pytestmark = [pytest.mark.slow, pytest.mark.hub]

IDLE = 64
SECONDS = 6.0
ANSWER_WITHIN = 2.0
MAX_REOPENED = 20 * IDLE
# How each held connection stays idle: silent, half a request line, headers unfinished, or
# kept alive after one whole request.
KINDS = (b"", b"GET /api/mod", b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\n", None)
REQUEST = b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


class IdleHolder(threading.Thread):
    """One client holding ``IDLE`` idle connections for as long as it runs."""

    def __init__(self, url: str) -> None:
        super().__init__(name="idle-holder", daemon=True)
        self.url = url
        self.socks: dict[socket.socket, bytes | None] = {}
        self.reopened = 0
        self.renewed = 0
        self.errors: list[str] = []
        self.done = threading.Event()
        self.ready = threading.Event()

    def _open(self, kind: bytes | None) -> None:
        sock = connect(self.url, timeout=5)
        self.socks[sock] = kind
        if kind is None:  # one whole request, then the connection stays open
            self._request(sock)
        elif kind:
            sock.sendall(kind)

    def _request(self, sock: socket.socket) -> None:
        try:
            sock.sendall(REQUEST)
            read_response(sock)
        except (OSError, ConnectionError):  # closed by the server: reopened at the next turn
            pass

    def _reopen(self, sock: socket.socket) -> None:
        kind = self.socks.pop(sock)
        sock.close()
        if self.reopened < MAX_REOPENED:
            self.reopened += 1
            self._open(kind)

    def run(self) -> None:
        try:
            for i in range(IDLE):
                self._open(KINDS[i % len(KINDS)])
            self.ready.set()
            renew_at = time.monotonic() + 1
            while not self.done.wait(0.2):
                # Readable: the server answered (a timeout, a 503) or closed it: open another.
                for sock in select.select(list(self.socks), [], [], 0)[0]:
                    self._reopen(sock)
                if time.monotonic() >= renew_at:  # a request keeps each kept-alive one fresh
                    renew_at += 1
                    for sock in [s for s, kind in self.socks.items() if kind is None]:
                        self._request(sock)
                        self.renewed += 1
        except OSError as e:  # could not connect at all
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            self.ready.set()
            for sock in self.socks:
                sock.close()


def _get_on_a_new_connection(url: str) -> None:
    """Plain HTTP, on a connection of its own: ``GET /api/models`` must answer 200."""
    status = send_raw(url, "GET /api/models HTTP/1.1\r\nHost: 127.0.0.1",
                      timeout=ANSWER_WITHIN + 5).status
    if status != 200:
        raise ConnectionRefusedError(f"GET /api/models on a new connection: {status}")


@pytest.mark.parametrize("options", [{}, {"max_connections": IDLE}],
                         ids=["default-limits", "table-as-large-as-the-idle-ones"])
def test_idle_connections_do_not_keep_other_clients_out(
        options: dict[str, int], make_local_hub: Callable[..., LocalHub], hub_env: LocalHub,
        hub_repo_id: Callable[[str], str]) -> None:
    hub = make_local_hub(options)
    api = HfApi(endpoint=hub.url, token=hub.token)
    repo = hub_repo_id("idle")
    api.create_repo(repo)
    close_session()  # the client comes back anew, after the idle ones: none of its own kept
    time.sleep(0.2)
    holder = IdleHolder(hub.url)
    holder.start()
    assert holder.ready.wait(30) and holder.errors == []
    held = len(holder.socks)

    requests: list[Callable[[], object]] = [
        lambda: api.list_repo_commits(repo),
        lambda: api.model_info(repo),
        lambda: _get_on_a_new_connection(hub.url),
    ]
    slowest, answered, failures = 0.0, 0, []
    stop_at = time.monotonic() + SECONDS
    try:
        while time.monotonic() < stop_at:
            for request in requests:
                start = time.perf_counter()
                try:
                    request()
                    answered += 1
                except Exception as e:  # every failure is reported, none stops the run
                    failures.append(f"{type(e).__name__}: {str(e)[:200]}")
                slowest = max(slowest, time.perf_counter() - start)
            time.sleep(0.05)
    finally:
        holder.done.set()
        holder.join(timeout=10)
    print(f"\nidle: {held} connections held ({holder.reopened} reopened, {holder.renewed} "
          f"renewals); {answered} requests answered, slowest {slowest:.3f} s, "
          f"{len(failures)} failures")

    assert held == IDLE
    assert holder.errors == []
    assert failures == []
    assert answered >= 3 and slowest < ANSWER_WITHIN

"""What one client can make the local Hub hold: bodies, time, connections.

Each test here reproduces a defect a fault-injection probe found (issue 13): an
unauthenticated body buffered whole in memory, half-sent requests holding a thread each
forever; and (issue 24) idle connections holding the slots that requests need.
Raw sockets send what no well-behaved client would; loopback only.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Callable

import pytest
from fixtures.hub_server import LocalHub, connect, read_response, send_raw
from huggingface_hub import HfApi, get_session

from hf_pipeline.hub.server.connections import ConnectionTable
from hf_pipeline.hub.server.errors import HubHTTPError

pytestmark = pytest.mark.hub

MB = 1 << 20
HUGE = 600 * MB


def _post_head(path: str, length: int, *, token: str | None = None, extra: str = "") -> str:
    auth = f"\r\nAuthorization: Bearer {token}" if token else ""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}{auth}{extra}")


def test_requests_are_refused_on_their_headers_before_any_body(
        hub_api: HfApi, local_hub: LocalHub, hub_repo_id: Callable[[str], str]) -> None:
    # 600 MB announced, none sent: each answer can only come from the headers. (Before the
    # fix the server waited for the body, and then buffered it whole.)
    repo = hub_repo_id("limits")
    hub_api.create_repo(repo)
    anonymous = send_raw(local_hub.url, _post_head("/api/repos/create", HUGE), timeout=15)
    assert anonymous.status == 401 and anonymous.headers["connection"] == "close"
    assert "requires a token for writes" in anonymous.json()["error"]
    wrong = send_raw(local_hub.url, _post_head(f"/api/models/{repo}/commit/main", HUGE,
                                               token="hf_wrong"), timeout=15)
    assert wrong.status == 401

    # Reads that take a body have a cap too, for anyone.
    yaml_check = send_raw(local_hub.url, _post_head("/api/validate-yaml", HUGE), timeout=15)
    assert yaml_check.status == 413
    assert yaml_check.json()["error"] == (
        f"The request body is too large ({HUGE} bytes announced): this local Hub accepts at "
        f"most {4 * MB} bytes here.")

    # With the token, a commit over max_commit_mb (1 GiB by default) is refused up front...
    big = send_raw(local_hub.url, _post_head(f"/api/models/{repo}/commit/main", 2048 * MB,
                                             token=local_hub.token), timeout=15)
    assert big.status == 413 and "The commit is too large" in big.json()["error"]
    # ... and an LFS upload URL is checked (its signature) before a byte of the object.
    lfs = send_raw(local_hub.url, f"PUT /lfs-objects/models/{repo}/{'0' * 64}?size={HUGE}&sig=x "
                   f"HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {HUGE}", timeout=15)
    assert lfs.status == 403


def _stream_body(hub: LocalHub, head: str, total: int) -> int | None:
    """Send ``total`` bytes of body as fast as the server takes them; the answer's status
    (None when the server closed before it could be read)."""
    with connect(hub.url) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n")
        chunk = b" " * MB
        with contextlib.suppress(OSError):  # the server may stop reading and close: good
            for _ in range(total // MB):
                sock.sendall(chunk)
        try:
            return read_response(sock).status
        except OSError:
            return None


def test_an_oversize_body_never_reaches_memory(make_local_hub: Callable[..., LocalHub]) -> None:
    hub = make_local_hub()
    before_kb = hub.proc_status("VmHWM")  # peak resident memory so far
    total = 256 * MB
    anonymous_write = _stream_body(hub, _post_head("/api/repos/create", total), total)
    yaml_check = _stream_body(hub, _post_head("/api/validate-yaml", total), total)
    chunked = ("POST /api/validate-yaml HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Transfer-Encoding: chunked")
    with connect(hub.url) as sock:  # a chunked body has no announced size: cut off on read
        sock.sendall(chunked.encode() + b"\r\n\r\n")
        with contextlib.suppress(OSError):
            for _ in range(64):
                sock.sendall(b"100000\r\n" + b" " * MB + b"\r\n")
        try:
            chunked_status: int | None = read_response(sock).status
        except OSError:
            chunked_status = None
    growth_mb = (hub.proc_status("VmHWM") - before_kb) / 1024
    assert growth_mb < 48, f"the server's peak memory grew by {growth_mb:.0f} MB"
    # The answers, when the client could still read them (a client that keeps sending
    # after the server stopped reading may see the connection reset instead).
    assert anonymous_write in (401, None)
    assert yaml_check in (413, None) and chunked_status in (413, None)
    assert get_session().get(f"{hub.url}/api/models").status_code == 200  # still serving


def _readable(socks: list[socket.socket], wait: float) -> list[socket.socket]:
    return select.select(socks, [], [], wait)[0] if socks else []


def _ended(sock: socket.socket) -> None:
    """Read what the server sent until it closed (an answer, or nothing)."""
    with contextlib.suppress(OSError):
        while sock.recv(1 << 16):
            pass


def test_stalled_requests_are_bounded(make_local_hub: Callable[..., LocalHub]) -> None:
    slots, cap, total = 2, 8, 40
    hub = make_local_hub({"max_requests": slots, "max_connections": cap, "idle_timeout": 2,
                          "request_timeout": 2, "read_timeout": 3})
    body = b'{"name": "stalled", "organization": "me", "type": "model"}'
    created = send_raw(hub.url, _post_head("/api/repos/create", len(body), token=hub.token),
                       body, timeout=15)
    assert created.status == 200
    threads_before = hub.proc_status("Threads")

    # Requests being served hold the slots: two commits whose streamed body stalls. One more
    # request gets a 503 at once.
    commits = []
    for _ in range(slots):
        sock = connect(hub.url, timeout=15)
        sock.sendall(_post_head("/api/models/me/stalled/commit/main", 1000,
                                token=hub.token).encode() + b"\r\n\r\n{")
        commits.append(sock)
    time.sleep(0.5)
    busy = send_raw(hub.url, "GET /api/models HTTP/1.1\r\nHost: 127.0.0.1", timeout=5)
    assert busy.status == 503 and busy.headers["retry-after"] == "1"

    # Stalled connections hold no slot: silent, or stalled in their headers or small body.
    # At most ``cap`` are open: each new one displaces the one idle longest, which ends at
    # once, and the slots are not touched.
    socks = []
    for i in range(total):
        sock = connect(hub.url, timeout=10)
        if i % 3:
            sock.sendall(b"POST /api/validate-yaml HTTP/1.1\r\nHost: x\r\n" if i % 3 == 1 else
                         _post_head("/api/validate-yaml", 1000).encode() + b"\r\n\r\n{")
        socks.append(sock)
    displaced: list[socket.socket] = []
    deadline = time.monotonic() + 1.5
    while len(displaced) < total - (cap - slots) and time.monotonic() < deadline:
        for sock in _readable([s for s in socks if s not in displaced], 0.1):
            _ended(sock)
            displaced.append(sock)
    assert len(displaced) == total - (cap - slots)
    assert socks[-(cap - slots):] == [s for s in socks if s not in displaced]  # the newest
    deadline = time.monotonic() + 2  # the displaced ones' threads end as they see the close
    while hub.proc_status("Threads") - threads_before > cap and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hub.proc_status("Threads") - threads_before <= cap

    # The rest, commits included, are cut off by the timeouts: each ends (408, or closed).
    waiting = [s for s in socks + commits if s not in displaced]
    deadline = time.monotonic() + 30
    while waiting and time.monotonic() < deadline:
        for sock in _readable(waiting, 0.5):
            _ended(sock)
            waiting.remove(sock)
    assert waiting == [], f"{len(waiting)} stalled connections still open"
    for sock in socks + commits:
        sock.close()

    assert get_session().get(f"{hub.url}/api/models").status_code == 200
    deadline = time.monotonic() + 10
    while hub.proc_status("Threads") > threads_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hub.proc_status("Threads") <= threads_before


def test_an_idle_connection_is_closed_sooner_than_a_request_may_take(
        make_local_hub: Callable[..., LocalHub]) -> None:
    hub = make_local_hub({"idle_timeout": 1, "request_timeout": 5})
    silent, kept_alive, started = (connect(hub.url, timeout=10) for _ in range(3))
    with silent, kept_alive, started:
        kept_alive.sendall(b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(kept_alive).status == 200
        started.sendall(b"GET /api/models HTTP/1.1\r\n")  # a request under way is not idle
        closed = []
        deadline = time.monotonic() + 3
        while len(closed) < 2 and time.monotonic() < deadline:
            for sock in _readable([s for s in (silent, kept_alive) if s not in closed], 0.1):
                assert sock.recv(1) == b""  # closed without an answer
                closed.append(sock)
        assert len(closed) == 2 and _readable([started], 0) == []
        started.sendall(b"Host: 127.0.0.1\r\n\r\n")
        assert read_response(started).status == 200


def test_idle_connections_are_displaced_never_a_request_being_served() -> None:
    table = ConnectionTable(max_connections=3, max_requests=1)
    pairs = [socket.socketpair() for _ in range(5)]  # (server side, client side)
    a, b, c, d, e = (server for server, _ in pairs)
    try:
        assert table.admit(a) and table.admit(b)
        with table.slot(b):  # b is served: the only slot is taken
            with pytest.raises(HubHTTPError) as busy, table.slot(a):
                pass
            assert busy.value.status == 503 and not busy.value.close
            assert table.admit(c)  # the table is full now
            assert table.admit(d)  # so "a", idle the longest, goes (b is being served)
            assert pairs[0][1].recv(1) == b""  # its client sees the end
            assert table.open == 3 and table.serving == 1
        with pytest.raises(HubHTTPError) as displaced, table.slot(a):
            pass
        assert displaced.value.close
        with table.slot(c):  # b is idle again, since after d: d goes next, not b
            assert table.admit(e)
        assert pairs[3][1].recv(1) == b""
        with pytest.raises(BlockingIOError):
            pairs[1][1].recv(1, socket.MSG_DONTWAIT)
    finally:
        for pair in pairs:
            for sock in pair:
                sock.close()

    full = ConnectionTable(max_connections=1, max_requests=1)
    one, other = socket.socketpair()
    with one, other:
        assert full.admit(one)
        with full.slot(one):
            assert not full.admit(other)  # every connection is serving: refused


def test_expect_continue_only_for_a_body_that_will_be_read(local_hub: LocalHub) -> None:
    expect = "\r\nExpect: 100-continue"
    with connect(local_hub.url, timeout=15) as sock:  # refused: no "100 Continue" first
        sock.sendall(_post_head("/api/repos/create", 50, token="hf_wrong",
                                extra=expect).encode() + b"\r\n\r\n")
        assert read_response(sock).status == 401
    body = b'{"content": "---\\nlicense: mit\\n---\\n"}'
    with connect(local_hub.url, timeout=15) as sock:
        sock.sendall(_post_head("/api/validate-yaml", len(body), extra=expect).encode()
                     + b"\r\n\r\n")
        assert read_response(sock).status == 100
        sock.sendall(body)
        assert read_response(sock).status == 200


@pytest.mark.parametrize(("head", "message"), [
    ("POST /api/validate-yaml HTTP/1.1\r\nHost: x\r\nContent-Length: abc",
     "Invalid Content-Length header 'abc'"),
    ("POST /api/validate-yaml HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
     "Transfer-Encoding: chunked", "use Content-Length, or Transfer-Encoding: chunked alone"),
    ("POST /api/validate-yaml HTTP/1.1\r\nHost: x\r\nContent-Length: -5",
     "Invalid Content-Length header '-5'"),
    ("GARBAGE", "Malformed HTTP request"),
])
def test_ambiguous_framing_is_a_400_in_the_hubs_shape(local_hub: LocalHub, head: str,
                                                      message: str) -> None:
    response = send_raw(local_hub.url, head, timeout=15)
    assert response.status == 400
    assert message in response.json()["error"]
    assert response.headers["x-error-message"] == response.json()["error"]

"""What one client can make the local Hub hold: bodies, time, connections.

Each test here reproduces a defect a fault-injection probe found (issue 13): an
unauthenticated body buffered whole in memory, half-sent requests holding a thread each
forever. Raw sockets send what no well-behaved client would; loopback only.
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


def test_stalled_requests_are_bounded(make_local_hub: Callable[..., LocalHub]) -> None:
    cap, total = 8, 40
    hub = make_local_hub({"max_connections": cap, "request_timeout": 1, "read_timeout": 2})
    threads_before = hub.proc_status("Threads")
    socks = []
    for i in range(total):  # half of them stall in the headers, half in the body
        sock = connect(hub.url, timeout=10)
        sock.sendall(b"POST /api/validate-yaml HTTP/1.1\r\nHost: x\r\n" if i % 2 else
                     _post_head("/api/validate-yaml", 1000).encode() + b"\r\n\r\n{")
        socks.append(sock)

    # Over the cap, connections are answered 503 at once instead of getting a thread.
    refused: list[socket.socket] = []
    deadline = time.monotonic() + 10
    while len(refused) < total - cap and time.monotonic() < deadline:
        for sock in _readable([s for s in socks if s not in refused], 0.2):
            refused.append(sock)
            assert read_response(sock).status == 503
    threads_held = hub.proc_status("Threads") - threads_before
    assert len(refused) == total - cap
    assert threads_held <= cap

    # The stalled ones are cut off by the timeouts: each ends (408, or closed).
    waiting = [s for s in socks if s not in refused]
    deadline = time.monotonic() + 30
    while waiting and time.monotonic() < deadline:
        for sock in _readable(waiting, 0.5):
            with contextlib.suppress(OSError):
                while sock.recv(1 << 16):
                    pass
            waiting.remove(sock)
    assert waiting == [], f"{len(waiting)} stalled connections still open"
    for sock in socks:
        sock.close()

    assert get_session().get(f"{hub.url}/api/models").status_code == 200
    deadline = time.monotonic() + 10
    while hub.proc_status("Threads") > threads_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hub.proc_status("Threads") <= threads_before


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

"""The local Hub server: its config, and ``HubServer`` to start and stop it.

Access control, by design small: without a token anyone may read and write. With a token,
every write (create/delete/settings, preupload, LFS batch, commit, tags, branches) needs
``Authorization: Bearer <token>`` and gets 401 otherwise; reads stay open, except private
repos, which look missing (404 RepoNotFound) to requests without the token, like on the Hub.
The token is never logged. Without a token the server listens only on a loopback address,
unless ``allow_anonymous_writes`` says that open writes on the network are meant.

One server per data directory: ``start()`` locks it (a second server would overwrite the
first one's refs), then clears what a killed earlier run left in its ``tmp/`` folder.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from hf_pipeline.config import check_fields, option
from hf_pipeline.errors import InvalidValueError, OutputError
from hf_pipeline.hub.server import api_files, api_repos
from hf_pipeline.hub.server.storage import RepoStore
from hf_pipeline.hub.server.transport import HubHTTPServer, Limits, ServerContext
from hf_pipeline.hub_client import is_loopback

log = logging.getLogger(__name__)

ROUTES = [*api_repos.ROUTES, *api_files.ROUTES]


def _default_data_dir() -> Path:
    return Path.home() / ".cache" / "hf_pipeline" / "hub"


@dataclass(frozen=True)
class HubServerConfig:
    """Where the server listens and keeps its data, the token writes need (if any), and the
    bounds on what clients can make it hold."""

    host: str = "127.0.0.1"
    port: int = option(0, ge=0, le=65535, note="0 = a free port")  # chosen by the OS
    data_dir: Path = field(default_factory=_default_data_dir)
    token: str | None = field(default=None, repr=False)  # never in logs or reprs
    user: str = "local-user"  # the account whoami reports, and the default namespace
    allow_anonymous_writes: bool = False  # no token on a non-loopback host: refused without it
    # Connections and time (defaults: transport.Limits). Requests served at once (more get a
    # 503 at once; idle connections take none); connections open (at the cap a new one
    # displaces the one idle longest); seconds for the next request to start (kept alive),
    # then from its first byte for its line, headers and JSON body; longest stall of a
    # streamed upload or of a download.
    max_requests: int = option(Limits.max_requests, ge=1)
    max_connections: int = option(Limits.max_connections, ge=1)
    idle_timeout: float = option(Limits.idle_timeout, gt=0, note="seconds")
    request_timeout: float = option(Limits.request_timeout, gt=0, note="seconds")
    read_timeout: float = option(Limits.read_timeout, gt=0, note="seconds")
    max_commit_mb: int = option(1024, ge=1)  # one commit payload (regular files inline, base64)
    max_lfs_file_mb: int = option(50_000, ge=1)  # one LFS object
    commit_cache_mb: int = option(32, ge=0, note="0 = no cache")  # parsed commits kept (LRU)
    commit_cache_commits: int = option(512, ge=1)

    def __post_init__(self) -> None:
        check_fields(self)
        object.__setattr__(self, "data_dir", self.data_dir.expanduser())
        if self.token is not None and (not self.token or any(c.isspace() for c in self.token)):
            raise InvalidValueError("token", "<hidden>", "a non-empty string without spaces",
                                    fix="omit --token to run without access control.")
        if not self.user or "/" in self.user:
            raise InvalidValueError("user", self.user, "a non-empty name without '/'")
        if self.token is None and not self.allow_anonymous_writes and not is_loopback(self.host):
            raise InvalidValueError(
                "host", self.host, "a loopback address (127.0.0.1, ::1, localhost) when no token "
                "is set: on any other address, anyone on the network could write",
                fix="Set HF_PIPELINE_HUB_TOKEN (or --token) so writes need it, or pass "
                "--allow-anonymous-writes if open writes are what you want.")
        if self.max_connections < self.max_requests:
            raise InvalidValueError("max_connections", self.max_connections,
                                    f"at least max_requests ({self.max_requests}): each request "
                                    "served holds a connection")

    @property
    def limits(self) -> Limits:
        return Limits(max_requests=self.max_requests, max_connections=self.max_connections,
                      idle_timeout=self.idle_timeout, request_timeout=self.request_timeout,
                      read_timeout=self.read_timeout, max_commit_bytes=self.max_commit_mb << 20,
                      max_lfs_bytes=self.max_lfs_file_mb << 20)


def _lock_data_dir(data_dir: Path) -> IO[str]:
    """An exclusive lock on ``data_dir`` held while the server runs (released by the kernel
    when the process ends, even by kill -9)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "server.lock", "a+")  # noqa: SIM115 (held until stop())
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise OutputError(data_dir, f"is in use by another local Hub server (pid {holder}).",
                          fix="stop it, or pass another --data-dir.") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


class HubServer:
    """A running local Hub: ``start()`` serves in a background thread, ``stop()`` ends it.

    >>> with HubServer(HubServerConfig(data_dir=tmp)) as hub:  # doctest: +SKIP
    ...     HfApi(endpoint=hub.url).create_repo("me/x", repo_type="dataset")
    """

    def __init__(self, cfg: HubServerConfig) -> None:
        self.cfg = cfg
        self._httpd: HubHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock: IO[str] | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("HubServer.url is known only after start().")
        return self._httpd.ctx.base_url

    def start(self) -> str:
        """Lock the data directory, bind, serve in a daemon thread, and return the base URL."""
        cfg = self.cfg
        try:
            self._lock = _lock_data_dir(cfg.data_dir)
            store = RepoStore(cfg.data_dir, cache_commits=cfg.commit_cache_commits,
                              cache_bytes=cfg.commit_cache_mb << 20)
            if swept := store.sweep_tmp():
                log.info("removed %d leftover(s) of an interrupted earlier run", swept)
        except OSError as e:
            self._unlock()
            if isinstance(e, OutputError):
                raise
            raise OutputError(cfg.data_dir, f"cannot use as the Hub data directory "
                              f"({e.strerror}).", fix="pass a writable --data-dir.") from None
        secret = secrets.token_bytes(32)

        def context(base_url: str) -> ServerContext:
            return ServerContext(store=store, token=cfg.token, user=cfg.user,
                                 base_url=base_url, lfs_secret=secret, limits=cfg.limits)
        try:
            self._httpd = HubHTTPServer((cfg.host, cfg.port), context, ROUTES, cfg.limits)
        except OSError as e:
            self._unlock()
            raise OutputError(f"{cfg.host}:{cfg.port}", f"cannot listen ({e.strerror}).",
                              fix="choose another --port, or 0 for a free one.") from None
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.2}, name="local-hub",
                                        daemon=True)
        self._thread.start()
        log.info("local Hub serving %s from %s (%s)", self.url, cfg.data_dir,
                 "token required for writes" if cfg.token else "no access control")
        if cfg.token is None and not is_loopback(cfg.host):
            log.warning("anyone who reaches %s can write to this local Hub "
                        "(--allow-anonymous-writes)", self.url)
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> HubServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def serve(cfg: HubServerConfig, *, stop: threading.Event | None = None,
          on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until ``stop`` is set (or Ctrl-C); ``on_ready(url)`` is called once it listens."""
    stop = stop or threading.Event()
    server = HubServer(cfg)
    url = server.start()
    try:
        if on_ready is not None:
            on_ready(url)
        while not stop.wait(0.5):  # short waits keep signal handlers responsive
            pass
    finally:
        server.stop()

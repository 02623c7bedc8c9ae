"""The local Hub server: its config, and ``HubServer`` to start and stop it.

Access control, by design small: without a token anyone may read and write. With a token,
every write (create/delete/settings, preupload, LFS batch, commit, tags, branches) needs
``Authorization: Bearer <token>`` and gets 401 otherwise; reads stay open, except private
repos, which look missing (404 RepoNotFound) to requests without the token, like on the Hub.
The token is never logged.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from hf_pipeline.errors import InvalidValueError, OutputError
from hf_pipeline.hub.server import api_files, api_repos
from hf_pipeline.hub.server.storage import RepoStore
from hf_pipeline.hub.server.transport import HubHTTPServer, ServerContext

log = logging.getLogger(__name__)

ROUTES = [*api_repos.ROUTES, *api_files.ROUTES]


def _default_data_dir() -> Path:
    return Path.home() / ".cache" / "hf_pipeline" / "hub"


@dataclass(frozen=True)
class HubServerConfig:
    """Where the server listens and keeps its data, and the token writes need (if any)."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = a free port, chosen by the OS
    data_dir: Path = field(default_factory=_default_data_dir)
    token: str | None = field(default=None, repr=False)  # never in logs or reprs
    user: str = "local-user"  # the account whoami reports, and the default namespace

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise InvalidValueError("port", self.port, "an integer in 0..65535 (0 = free port)")
        if self.token is not None and (not self.token or any(c.isspace() for c in self.token)):
            raise InvalidValueError("token", "<hidden>", "a non-empty string without spaces",
                                    fix="omit --token to run without access control.")
        if not self.user or "/" in self.user:
            raise InvalidValueError("user", self.user, "a non-empty name without '/'")


class HubServer:
    """A running local Hub: ``start()`` serves in a background thread, ``stop()`` ends it.

    >>> with HubServer(HubServerConfig(data_dir=tmp)) as hub:  # doctest: +SKIP
    ...     HfApi(endpoint=hub.url).create_repo("me/x", repo_type="dataset")
    """

    def __init__(self, cfg: HubServerConfig) -> None:
        self.cfg = cfg
        self._httpd: HubHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("HubServer.url is known only after start().")
        return self._httpd.ctx.base_url

    def start(self) -> str:
        """Bind, start serving in a daemon thread, and return the base URL."""
        try:
            store = RepoStore(self.cfg.data_dir)
        except OSError as e:
            raise OutputError(self.cfg.data_dir, f"cannot use as the Hub data directory "
                              f"({e.strerror}).", fix="pass a writable --data-dir.") from None
        secret = secrets.token_bytes(32)

        def context(base_url: str) -> ServerContext:
            return ServerContext(store=store, token=self.cfg.token, user=self.cfg.user,
                                 base_url=base_url, lfs_secret=secret)
        try:
            self._httpd = HubHTTPServer((self.cfg.host, self.cfg.port), context, ROUTES)
        except OSError as e:
            raise OutputError(f"{self.cfg.host}:{self.cfg.port}", f"cannot listen ({e.strerror}).",
                              fix="choose another --port, or 0 for a free one.") from None
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.2}, name="local-hub",
                                        daemon=True)
        self._thread.start()
        log.info("local Hub serving %s from %s (%s)", self.url, self.cfg.data_dir,
                 "token required for writes" if self.cfg.token else "no access control")
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

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

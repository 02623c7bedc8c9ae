"""The local Hub as a background process: ``hf-pipeline hub serve`` on a free port (the last
one again while it is free).

``LocalHubProcess(data_dir, log_file).start()`` starts the server in a subprocess with a
write token generated for this start (handed over in the environment, never in argv, files
or logs), waits until it listens and returns its URL; ``stop()`` ends it (SIGTERM, then
SIGKILL). On Linux the server also gets SIGTERM when the process that started it dies, even
by ``kill -9``, so no server outlives its pipeline (``child_command``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from hf_pipeline.errors import HubError
from hf_pipeline.hub.cli import TOKEN_ENV
from hf_pipeline.hub.clients import use_hub
from hf_pipeline.io import atomic_write_text
from hf_pipeline.provenance import PACKAGE_ROOT

log = logging.getLogger(__name__)

READY = re.compile(r"Local Hub listening on (http://\S+)")
TOKEN_PREFIX = "hfp_local_"  # recognisable, so a test can prove it was written nowhere

# Runs a module in a child that dies with us: ask the kernel for SIGTERM when our parent dies
# (Linux prctl PR_SET_PDEATHSIG = 1), exit at once if the parent is already gone, then run the
# module as ``python -m`` would.
_LAUNCHER = """\
import ctypes, os, runpy, signal, sys
parent = int(sys.argv.pop(1))
module = sys.argv.pop(1)
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
except (AttributeError, OSError):
    pass
if os.getppid() != parent:
    sys.exit(0)
sys.argv[0] = module
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def child_command(module: str, args: list[str]) -> list[str]:
    """``python -m module args`` in a child that gets SIGTERM when this process dies, even by
    ``kill -9`` (Linux), so no server or training outlives the run that started it."""
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), module, *args]


# Where a run's output folder keeps the local Hub: its repos, the clients' cache, its log.
HUB_DIR, CACHE_DIR, LOG_DIR, HUB_LOG = "hub", "cache", "logs", "hub.log"


def local_paths(output: Path) -> tuple[Path, Path, Path]:
    """(server data, client HF_HOME, server log) of an `hf-pipeline run` output folder;
    `demo --local-hub OUTPUT/hub` uses the same."""
    output = output.resolve()
    return output / HUB_DIR, output / CACHE_DIR / "hf_home", output / LOG_DIR / HUB_LOG


def stop_child(process: subprocess.Popen[bytes], sig: signal.Signals, *, grace: float) -> None:
    """Send ``sig`` to a child started with ``child_command``; SIGKILL it if it has not exited
    within ``grace`` seconds, then wait as long again for it to be reaped."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace)


def python_path_env() -> dict[str, str]:
    """PYTHONPATH with this package's root first, so a child imports the same hf_pipeline."""
    parts = [str(PACKAGE_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(parts)}


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_hex(20)


def wait_listening(process: subprocess.Popen[bytes], output: Path, *, offset: int = 0,
                   timeout: float) -> tuple[str | None, str]:
    """Poll a server's ``output`` (from ``offset``) for its ready line: ``(url, "")`` once it
    listens, else ``(None, why)``: it exited (with the last lines it wrote, which say why) or
    ``timeout`` ran out."""
    deadline = time.monotonic() + timeout
    while True:
        text = output.read_bytes()[offset:].decode("utf-8", "replace")
        match = READY.search(text)
        if match:
            return match.group(1), ""
        code = process.poll()
        if code is not None:
            last = [line for line in text.splitlines()
                    if line.strip() and not line.startswith("--- ")][-3:]
            return None, (f"exited at start with code {code}: " + " / ".join(last)
                          if last else f"exited at start with code {code}")
        if time.monotonic() >= deadline:
            return None, f"did not start within {timeout:.0f}s"
        time.sleep(0.05)


class LocalHubProcess:
    """One ``hf-pipeline hub serve`` subprocess over ``data_dir``, logging to ``log_file``
    (appended: one log over every start, request lines included)."""

    def __init__(self, data_dir: str | Path, log_file: str | Path, *,
                 token: str | None = None, verbose: bool = True) -> None:
        self.data_dir, self.log_file = Path(data_dir).resolve(), Path(log_file)
        self.token = token or new_token()
        self.verbose = verbose
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def port_file(self) -> Path:
        """``<data dir>.port`` beside the data: the port of the last start, tried first, so
        the addresses published on this Hub (a model's download_url) stay valid across
        restarts while that port is free."""
        return self.data_dir.with_name(f"{self.data_dir.name}.port")

    def _port(self) -> int:
        """The remembered port when it is free now, else 0 (any free port)."""
        import socket

        try:
            port = int(self.port_file.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return 0
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return 0
        return port

    def start(self, *, timeout: float = 60.0) -> str:
        port = self._port()
        try:
            self.url = self._start(port, timeout)
        except HubError:
            if not port:
                raise
            self.url = self._start(0, timeout)  # taken in between: any free port
        with contextlib.suppress(OSError):
            atomic_write_text(self.port_file, self.url.rsplit(":", 1)[1] + "\n")
        return self.url

    def _start(self, port: int, timeout: float) -> str:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            offset = log.tell()
            log.write(f"--- starting the local Hub over {self.data_dir} at "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            log.flush()
            # -vv: the server logs every request at debug level (downloads included).
            cmd = child_command("hf_pipeline", [*(["-vv"] if self.verbose else []), "hub",
                                                "serve", "--port", str(port),
                                                "--data-dir", str(self.data_dir)])
            env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
            env |= {TOKEN_ENV: self.token, "PYTHONUNBUFFERED": "1", **python_path_env()}
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, env=env)
        return self._wait_ready(offset, timeout)

    def _wait_ready(self, offset: int, timeout: float) -> str:
        assert self.process is not None
        url, why = wait_listening(self.process, self.log_file, offset=offset, timeout=timeout)
        if url is not None:
            return url
        self.stop()
        fix = "" if "Fix: " in why else f" Fix: see its log, {self.log_file}."
        raise HubError(f"the local Hub over {self.data_dir} {why}{fix} (log: {self.log_file})"
                       if not fix else f"the local Hub over {self.data_dir} {why}.{fix}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM by pid, then SIGKILL if it has not exited within 10 s."""
        process, self.process = self.process, None
        if process is not None:
            stop_child(process, signal.SIGTERM, grace=10)

    def __enter__(self) -> LocalHubProcess:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


@contextlib.contextmanager
def local_hub(data_dir: str | Path, *, hf_home: str | Path, log_file: str | Path
              ) -> Iterator[LocalHubProcess]:
    """The project's server over ``data_dir`` on a free port, with every client of this
    process (and its subprocesses) pointed at it, caches under ``hf_home`` and no other HF_*
    setting in effect, until the block ends, however it ends."""
    server = LocalHubProcess(data_dir, log_file)
    try:
        server.start()
        log.info("local Hub %s over %s (log: %s)", server.url, data_dir, log_file)
        with use_hub(server.url, token=server.token, hf_home=hf_home, isolate=True):
            yield server
    finally:
        server.stop()

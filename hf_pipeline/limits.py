"""Bounds on the numbers and addresses people pass, each declared once.

The CLI's flags (``cli_options.int_in``), the config fields (``option(le=...)``) and the
runtime's own guards read them here, so a flag, a config file and a library call are refused
alike, and before any work. Standard library only: the runtime (and a Space) imports it.
"""

from __future__ import annotations

import errno
import os
import socket

from hf_pipeline.errors import ConfigError, InvalidValueError

CPUS = os.cpu_count() or 1
# onnxruntime starts every intra-op thread when a session is made: 100000 of them hang the
# load and take gigabytes. A few per CPU is already past any speed-up.
THREADS_PER_CPU = 4
MAX_THREADS = THREADS_PER_CPU * CPUS
THREADS_NOTE = f"at most {THREADS_PER_CPU} per CPU; this machine has {CPUS}"
# Texts per model call. The exported graphs declare their batch axis up to this, and a batch
# is padded and held in memory whole.
MAX_BATCH_SIZE = 4096
MIN_PORT, MAX_PORT = 1, 65535


def check_int(name: str, value: object, *, ge: int, le: int, note: str = "") -> int:
    """``value`` as an int in [ge, le], else an InvalidValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not ge <= value <= le:
        raise InvalidValueError(name, value, f"an integer in [{ge}, {le}]"
                                + (f" ({note})" if note else ""))
    return value


def check_threads(threads: object, *, name: str = "threads", zero: str = "") -> int:
    """onnxruntime intra-op threads: 1..MAX_THREADS, or 0 (one per core) when ``zero`` says
    what 0 means."""
    low = 0 if zero else 1
    return check_int(name, threads, ge=low, le=MAX_THREADS,
                     note="; ".join(n for n in (zero, THREADS_NOTE) if n))


def check_batch_size(batch_size: object, *, name: str = "batch_size") -> int:
    return check_int(name, batch_size, ge=1, le=MAX_BATCH_SIZE)


def check_listen(host: str, port: int, *, host_option: str = "--host",
                 port_option: str = "--port") -> None:
    """A server can listen on ``host``:``port``: the port is in range, the host resolves to
    an address of this machine, and nothing listens there now (tried by binding, then let
    go). Checked before any work, so a demo or a run that would serve fails first, not last."""
    check_int(port_option, port, ge=MIN_PORT, le=MAX_PORT)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise InvalidValueError(host_option, host, "a host name or address this machine "
                                f"resolves ({getattr(e, 'strerror', None) or e})",
                                fix="Pass e.g. 127.0.0.1, localhost or 0.0.0.0.") from None
    with socket.socket(family, kind, proto) as probe:
        # As servers do: a port left in TIME_WAIT by an earlier one is free, a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            busy = e.errno == errno.EADDRINUSE
            raise ConfigError(
                f"{port_option} {port}: cannot listen on {host}:{port} ({e.strerror or e}). "
                "Fix: "
                + ("pass another --port, or stop what listens on it." if busy else
                   "pass an address of this machine (127.0.0.1, 0.0.0.0) and a port you may "
                   "use (1024 and above without privileges).")) from None

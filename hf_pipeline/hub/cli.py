"""``hf-pipeline hub serve``: run the local Hub server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType

from hf_pipeline.cli_options import DeprecatedOption
from hf_pipeline.config import help_default
from hf_pipeline.hub.server.app import HubServerConfig

TOKEN_ENV = "HF_PIPELINE_HUB_TOKEN"

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    hub = subparsers.add_parser("hub", help="the local Hub-compatible server",
                                description="A Hub-compatible server for machines that reach "
                                "no Hub, and for tests.")
    hub_sub = hub.add_subparsers(dest="hub_command", metavar="HUB_COMMAND", required=True)
    serve = hub_sub.add_parser(
        "serve", help="serve the Hub API on this machine",
        description="Serve the Hub HTTP API subset the huggingface_hub and datasets clients use. "
        "Point them at it with HF_ENDPOINT=<url> (and HF_HUB_DISABLE_XET=1).")
    serve.add_argument("--config", type=Path, help="YAML/JSON file with any option of "
                       "HubServerConfig: host, port, data_dir, user, max_requests, "
                       "max_connections, idle_timeout, request_timeout, read_timeout, "
                       "max_commit_mb, max_lfs_file_mb, commit_cache_mb... (token: prefer the "
                       "environment)")
    serve.add_argument("--host", help="address to bind; any other than loopback needs a "
                       "token, or --allow-anonymous-writes" + help_default(HubServerConfig, "host"))
    serve.add_argument("--port", type=int, help="port; 0 picks a free one"
                       + help_default(HubServerConfig, "port"))
    serve.add_argument("--data-dir", type=Path,
                       help="where repos are stored" + help_default(HubServerConfig, "data_dir"))
    # Not --token: everywhere else that is the token a client sends.
    serve.add_argument("--write-token", dest="token", help="require this token for writes "
                       f"(default: ${TOKEN_ENV}, preferred: argv is visible to other users; "
                       "none = no access control)")
    serve.add_argument("--token", dest="token", action=DeprecatedOption, use="--write-token")
    serve.add_argument("--user", help="account name whoami reports"
                       + help_default(HubServerConfig, "user"))
    serve.add_argument("--allow-anonymous-writes", action="store_true", default=None,
                       help="serve a non-loopback --host without a token: anyone who reaches "
                       "it may write (refused otherwise)")
    serve.add_argument("--max-requests", type=int,
                       help="requests served at once; more get 503 (idle connections take none)"
                       + help_default(HubServerConfig, "max_requests"))
    serve.add_argument("--max-connections", type=int,
                       help="connections open at once; at the cap, a new one displaces the one "
                       "idle longest" + help_default(HubServerConfig, "max_connections"))
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from hf_pipeline.config import resolve
    from hf_pipeline.hub.server import HubServerConfig, serve

    cfg = resolve(HubServerConfig, config_file=args.config, overrides={
        "host": args.host, "port": args.port, "data_dir": args.data_dir,
        "token": args.token or os.environ.get(TOKEN_ENV) or None, "user": args.user,
        "allow_anonymous_writes": args.allow_anonymous_writes,
        "max_requests": args.max_requests, "max_connections": args.max_connections,
    })
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def on_ready(url: str) -> None:
        print(f"Local Hub listening on {url}", flush=True)
        print(f"  data: {cfg.data_dir}; writes {'need the token' if cfg.token else 'are open'}."
              f" Clients: HF_ENDPOINT={url} HF_HUB_DISABLE_XET=1", flush=True)

    serve(cfg, stop=stop, on_ready=on_ready)
    return 0

"""Which Hub a run talks to, for the whole run.

By default the local Hub, whatever tokens or endpoints the environment holds, so nothing is
published to a real account by surprise: the project's server is started in the background
on a free port over ``OUTPUT/hub`` with a write token made for this start (passed through the
environment only), every client of this process and its subprocesses is pointed at it with
an empty ``HF_HOME`` under ``OUTPUT/cache``, and the server is stopped when the run ends,
also on errors and Ctrl-C. With ``--hub URL`` the run uses that Hub with the token from
``HF_TOKEN`` or ``hf auth login``; repos are created private unless
``--visibility public``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hf_pipeline.errors import HubError
from hf_pipeline.hub.clients import use_hub
from hf_pipeline.hub.process import local_hub, local_paths
from hf_pipeline.hub_client import hub_errors
from hf_pipeline.pipeline.config import PipelineConfig


@dataclass(frozen=True)
class HubSession:
    """The Hub of this run. ``identity`` names it in the run state (the local Hub by its data
    folder, since its port changes with every start; a real one by its URL)."""

    url: str
    local: bool
    namespace: str
    private: bool
    data_dir: Path | None = None
    log_file: Path | None = None

    @property
    def identity(self) -> str:
        return f"local:{self.data_dir}" if self.local else self.url

    def describe(self) -> str:
        if self.local:
            return f"{self.url} (the local Hub, data in {self.data_dir})"
        return self.url


def _whoami(url: str) -> str:
    from huggingface_hub import HfApi

    with hub_errors("who am I on the Hub", endpoint=url):
        return str(HfApi(endpoint=url).whoami()["name"])


@contextlib.contextmanager
def open_hub(cfg: PipelineConfig) -> Iterator[HubSession]:
    if cfg.local:
        data_dir, hf_home, log_file = local_paths(cfg.output)
        with local_hub(data_dir, hf_home=hf_home, log_file=log_file) as server:
            namespace = cfg.namespace or _whoami(server.url)
            yield HubSession(server.url, True, namespace, private=False, data_dir=data_dir,
                             log_file=log_file)
        return
    url = cfg.hub.rstrip("/")
    with use_hub(url):
        from huggingface_hub import get_token

        if get_token() is None:
            raise HubError(f"no token for the Hub at {url}. Fix: set HF_TOKEN, or run "
                           "`hf auth login` (or leave --hub out to use the local Hub).")
        namespace = cfg.namespace or _whoami(url)
        yield HubSession(url, False, namespace, private=not cfg.public)

"""Point the ``huggingface_hub`` and ``datasets`` clients of this process at a Hub.

Both libraries read ``HF_ENDPOINT``, ``HF_HOME`` (and every cache path derived from it),
``HF_HUB_OFFLINE`` and ``HF_HUB_DISABLE_XET`` once, at import. Setting the environment is too
late once anything imported them, so ``use_hub`` sets the environment (for subprocesses and
for values read at call time, like ``HF_TOKEN``) *and* the module attributes derived from it,
and puts everything back on exit. ``client_settings`` is that list of attributes, shared
with the test fixtures (tests/fixtures/hub_server.py), which apply it with ``monkeypatch``.

Not in ``hf_pipeline.hub_client``: that module is part of the runtime's import closure (the
Space carries it), which must not import ``datasets``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

# Variables that choose a Hub, a token or a cache. A local Hub session starts from none of
# them, so a developer's real token (HF_TOKEN, the login file, an OIDC exchange) or cache is
# never read or sent.
HUB_ENV_PREFIXES = ("HF_", "HUGGING")


def local_client_env(url: str, token: str | None, hf_home: str | Path) -> dict[str, str]:
    """What a client of the local Hub needs in its environment, and nothing else of HF_*."""
    env = {"HF_ENDPOINT": url.rstrip("/"), "HF_HOME": str(hf_home), "HF_HUB_DISABLE_XET": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1"}
    if token is not None:
        env["HF_TOKEN"] = token
    return env


def client_settings(url: str, hf_home: str | Path | None = None, *, disable_xet: bool = True,
                    offline: bool = False) -> dict[str, dict[str, Any]]:
    """target -> {attribute: value} for clients of the Hub at ``url`` (caches under
    ``hf_home`` when given). A target is a module, or ``module:object`` for an object made
    at import (``resolve_target``). Importing ``datasets`` here is the point: its config
    module must exist to be patched."""
    url = url.rstrip("/")
    hub: dict[str, Any] = {
        "ENDPOINT": url,
        "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HUB_DISABLE_XET": disable_xet, "HF_HUB_OFFLINE": offline,
    }
    datasets: dict[str, Any] = {
        "HF_ENDPOINT": url,
        "HUB_DATASETS_URL": url + "/datasets/{repo_id}/resolve/{revision}/{path}",
        "HF_HUB_OFFLINE": offline, "HF_DATASETS_OFFLINE": offline,
    }
    if hf_home is not None:
        home = Path(hf_home)
        hub_cache = str(home / "hub")
        hub |= {"HF_HOME": str(home), "HF_HUB_CACHE": hub_cache,
                "HUGGINGFACE_HUB_CACHE": hub_cache, "HF_ASSETS_CACHE": str(home / "assets"),
                "HUGGINGFACE_ASSETS_CACHE": str(home / "assets"),
                "HF_TOKEN_PATH": str(home / "token"),
                "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
                "AGENT_HARNESSES_PATH": str(home / ".agent_harnesses.json")}
        datasets_cache = home / "datasets"
        datasets |= {"HF_CACHE_HOME": str(home), "HF_DATASETS_CACHE": datasets_cache,
                     "HF_MODULES_CACHE": home / "modules",
                     "DOWNLOADED_DATASETS_PATH": datasets_cache / "downloads",
                     "EXTRACTED_DATASETS_PATH": datasets_cache / "downloads" / "extracted"}
    # The module-level HfApi behind huggingface_hub.upload_file & co. (what
    # ModelCard.push_to_hub calls) took its endpoint at import.
    return {"huggingface_hub.constants": hub, "datasets.config": datasets,
            "huggingface_hub.hf_api:api": {"endpoint": url}}


def resolve_target(name: str) -> Any:
    """The module ``a.b``, or the object ``a.b:obj`` of that module."""
    import importlib

    module_name, _, attribute = name.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def _patch(settings: Mapping[str, Mapping[str, Any]]) -> list[tuple[Any, str, Any]]:
    """Apply ``settings``; returns (target, name, old value or a sentinel) to undo it."""
    undo = []
    for target_name, values in settings.items():
        module = resolve_target(target_name)
        for name, value in values.items():
            undo.append((module, name, getattr(module, name, _MISSING)))
            setattr(module, name, value)
    return undo


_MISSING = object()


@contextlib.contextmanager
def use_hub(url: str, *, token: str | None = None, hf_home: str | Path | None = None,
            isolate: bool = False, disable_xet: bool = False) -> Iterator[dict[str, str]]:
    """Inside, every client in this process (and every subprocess started with
    ``os.environ``) talks to the Hub at ``url``. ``isolate`` (a local Hub): start from no
    HF_* variable at all, so only ``token`` is ever sent and caches go under ``hf_home``.
    Yields the HF_* environment it set (the token included: pass it to subprocesses through
    their environment only, never argv, files or logs)."""
    from huggingface_hub import HfFileSystem, constants

    # A Hub of the user's choosing keeps their HF_HUB_DISABLE_XET (a local `hub serve` needs
    # it on); the local Hub always needs it.
    disable_xet = disable_xet or isolate or bool(constants.HF_HUB_DISABLE_XET)
    if isolate and hf_home is None:
        raise ValueError("use_hub(isolate=True) needs hf_home: the caches of an isolated "
                         "session go there")
    saved = dict(os.environ)
    if isolate:
        for key in [k for k in os.environ if k.startswith(HUB_ENV_PREFIXES)]:
            del os.environ[key]
    env = {"HF_ENDPOINT": url.rstrip("/")}
    if isolate:
        env = local_client_env(url, token, hf_home)  # type: ignore[arg-type]
    else:
        if token is not None:
            env["HF_TOKEN"] = token
        if hf_home is not None:
            env["HF_HOME"] = str(hf_home)
        if disable_xet:
            env["HF_HUB_DISABLE_XET"] = "1"
    os.environ.pop("HF_HUB_OFFLINE", None)
    os.environ.update(env)
    undo = _patch(client_settings(url, hf_home, disable_xet=disable_xet))
    HfFileSystem.clear_instance_cache()  # no listing cached from another Hub
    try:
        yield env
    finally:
        for module, name, old in reversed(undo):
            if old is _MISSING:
                delattr(module, name)
            else:
                setattr(module, name, old)
        os.environ.clear()
        os.environ.update(saved)
        HfFileSystem.clear_instance_cache()

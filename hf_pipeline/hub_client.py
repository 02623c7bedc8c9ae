"""Talking to a Hub (the real one or the local server): which one, and errors that say what
went wrong: "cannot reach the Hub at URL" and "the Hub refused the token" are different
problems with different fixes. The token is never part of a message.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator

from hf_pipeline.errors import HubError

START_LOCAL = "or start a local Hub with `hf-pipeline hub serve` and point HF_ENDPOINT at it"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses; a host name is not trusted to be one."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def hub_endpoint() -> str:
    """The Hub URL the clients use (HF_ENDPOINT, else huggingface.co)."""
    from huggingface_hub import constants

    return constants.ENDPOINT.rstrip("/")


def _is_transport_error(error: BaseException) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    modules = {cls.__module__.split(".")[0] for cls in type(error).__mro__}
    return bool(names & {"TransportError", "ConnectionError", "ConnectError", "TimeoutException",
                         "ConnectTimeout", "ReadTimeout"}
                and modules & {"httpx", "httpx2", "requests", "urllib3", "builtins"})


def describe(error: BaseException, *, action: str, endpoint: str | None = None) -> HubError | None:
    """The HubError for a client exception, or None when it is not a Hub problem."""
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalTokenNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    url = endpoint or hub_endpoint()
    if isinstance(error, OfflineModeIsEnabled):
        return HubError(f"{action}: HF_HUB_OFFLINE is set, so the Hub at {url} is not asked. "
                        "Fix: unset HF_HUB_OFFLINE.")
    if isinstance(error, LocalTokenNotFoundError):
        return HubError(f"{action}: no token for the Hub at {url}. Fix: set HF_TOKEN, or run "
                        "`hf auth login`.")
    if isinstance(error, RevisionNotFoundError):
        return HubError(f"{action}: the Hub at {url} has no such revision (tag, branch or "
                        "commit). Fix: check the revision; list them with `hf-pipeline "
                        "model status` or on the repo's page.")
    if isinstance(error, RepositoryNotFoundError):
        return HubError(f"{action}: the Hub at {url} has no such repository, or it is private "
                        "and the token cannot see it. Fix: check the repo id, and HF_TOKEN for "
                        "a private repo.")
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        status = error.response.status_code
        if status == 401:
            return HubError(f"{action}: the Hub at {url} refused the token (401 Unauthorized). "
                            "Fix: set HF_TOKEN to a valid token, or run `hf auth login`.")
        if status == 403:
            return HubError(f"{action}: the Hub at {url} refused this token the request (403 "
                            "Forbidden). Fix: use a token with write access to that namespace.")
        return None
    if _is_transport_error(error):
        reason = str(error) or type(error).__name__
        return HubError(f"{action}: cannot reach the Hub at {url} ({reason}). Fix: check "
                        f"HF_ENDPOINT and the network, {START_LOCAL}.")
    return None


@contextlib.contextmanager
def hub_errors(action: str, *, endpoint: str | None = None) -> Iterator[None]:
    """Turn client exceptions raised inside into a HubError that names the Hub and the fix."""
    try:
        yield
    except HubError:
        raise
    except Exception as e:
        mapped = describe(e, action=action, endpoint=endpoint)
        if mapped is None:
            raise
        raise mapped from None

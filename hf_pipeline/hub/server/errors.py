"""The one exception the server's layers raise: it carries the HTTP answer to send.

``code`` goes to the ``X-Error-Code`` header, which is what makes ``huggingface_hub`` raise
its typed errors (``RepositoryNotFoundError``, ``RevisionNotFoundError``,
``RemoteEntryNotFoundError``); ``message`` goes to ``X-Error-Message`` and to the JSON body
``{"error": message}``, which the client appends to the exception text. ``close`` ends the
connection after the answer (the rest of the request cannot be read, or should not be).
"""

from __future__ import annotations

from typing import Any


class HubHTTPError(Exception):
    """An error answer: status, message, optional Hub error code and extra JSON fields."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.extra = extra or {}
        self.headers = headers or {}
        self.close = close


def repo_not_found(repo_type: str, repo_id: str) -> HubHTTPError:
    return HubHTTPError(404, f"Repository not found: {repo_type} {repo_id!r} does not exist on "
                        "this local Hub (check repo_id and repo_type).", code="RepoNotFound")


def revision_not_found(repo_id: str, revision: str) -> HubHTTPError:
    return HubHTTPError(404, f"Invalid rev id: {revision!r} is not a branch, tag, pull request "
                        f"or commit of {repo_id!r}.", code="RevisionNotFound")


def entry_not_found(path: str, revision: str, *, commit: str | None = None) -> HubHTTPError:
    # The client caches "file does not exist at this commit" when it gets X-Repo-Commit.
    headers = {"X-Repo-Commit": commit} if commit else {}
    return HubHTTPError(404, f"Entry not found: {path!r} does not exist at revision {revision!r}.",
                        code="EntryNotFound", headers=headers)


def bad_request(message: str) -> HubHTTPError:
    return HubHTTPError(400, message)


def server_busy(*, close: bool = False) -> HubHTTPError:
    """Every request slot is taken (``max_requests``): the client should retry shortly."""
    return HubHTTPError(503, "This local Hub is serving as many requests as it allows at once "
                        "(max_requests); retry shortly.", headers={"Retry-After": "1"},
                        close=close)

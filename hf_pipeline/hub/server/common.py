"""Helpers shared by the API handlers: which repo a URL names, access, URLs, JSON shapes."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from hf_pipeline.hub.server.errors import repo_not_found
from hf_pipeline.hub.server.history import CommitSummary
from hf_pipeline.hub.server.objects import FileEntry
from hf_pipeline.hub.server.storage import Repo
from hf_pipeline.hub.server.transport import Request, ServerContext

# Path-regex pieces: {type}s in /api/ URLs, the optional type prefix of file URLs, a repo id.
API_TYPE = r"(?P<types>models|datasets|spaces)"
URL_PREFIX = r"(?:(?P<prefix>datasets|spaces)/)?"
REPO = r"(?P<ns>[^/]+)/(?P<name>[^/]+?)"


def repo_type_of(req: Request) -> str:
    if "types" in req.params:
        return req.params["types"][:-1]
    return req.params.get("prefix", "models").removesuffix("s")


def repo_id_of(req: Request) -> str:
    return f"{req.arg('ns')}/{req.arg('name')}"


def can_read_private(ctx: ServerContext, req: Request) -> bool:
    """Without a server token there is no access control; with one, it opens private repos."""
    return ctx.token is None or req.bearer == ctx.token


def readable_repo(ctx: ServerContext, req: Request) -> Repo:
    """The repo a request names; a private one is reported missing to others (like the Hub)."""
    repo_type, repo_id = repo_type_of(req), repo_id_of(req)
    repo = ctx.store.get(repo_type, repo_id)
    if repo.private and not can_read_private(ctx, req):
        raise repo_not_found(repo_type, repo_id)
    return repo


def repo_url(req: Request, repo_type: str, repo_id: str) -> str:
    prefix = "" if repo_type == "model" else f"{repo_type}s/"
    return f"{req.base_url}/{prefix}{repo_id}"


def split_revision(rest: str) -> tuple[str, str]:
    """(revision, path) from ``<rev>/<path>``; ``refs/pr/N`` may arrive unencoded."""
    parts = rest.split("/")
    if len(parts) >= 3 and parts[0] == "refs" and parts[1] in ("pr", "convert"):
        rev, tail = "/".join(parts[:3]), parts[3:]
    else:
        rev, tail = unquote(parts[0]), parts[1:]
    return rev, "/".join(unquote(p) for p in tail)


def last_commit_json(commit: CommitSummary | None) -> dict[str, Any]:
    if commit is None:
        return {}
    return {"lastCommit": {"id": commit.id, "title": commit.title, "date": commit.date}}


def file_json(path: str, entry: FileEntry, last: CommitSummary | None = None) -> dict[str, Any]:
    """A file in tree / paths-info answers (``RepoFile`` on the client)."""
    data: dict[str, Any] = {"type": "file", "oid": entry.oid, "size": entry.size, "path": path}
    if entry.lfs_sha256:
        data["lfs"] = entry.lfs_info()
    return data | last_commit_json(last)


def folder_json(path: str, oid: str, last: CommitSummary | None = None) -> dict[str, Any]:
    return {"type": "directory", "oid": oid, "size": 0, "path": path} | last_commit_json(last)

"""API handlers for file content: preupload, the Git LFS batch API, commits, and resolve."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import hmac
import json
import mimetypes
import re
from typing import Any
from urllib.parse import quote

from hf_pipeline.hub.server.common import (
    API_TYPE,
    REPO,
    URL_PREFIX,
    readable_repo,
    repo_id_of,
    repo_type_of,
    repo_url,
    split_revision,
)
from hf_pipeline.hub.server.errors import HubHTTPError, bad_request, entry_not_found
from hf_pipeline.hub.server.objects import FileEntry
from hf_pipeline.hub.server.storage import Commit, Operation, Repo
from hf_pipeline.hub.server.transport import Request, Response, Route, ServerContext, route

# Above this size a file goes through LFS, as on the Hub; binary files and the patterns of
# the repo's .gitattributes do too.
LFS_THRESHOLD = 10 * 1024 * 1024
LFS_CONTENT_TYPE = "application/vnd.git-lfs+json"


# -- preupload ------------------------------------------------------------------------------
def _lfs_patterns(ctx: ServerContext, repo: Repo, commit: Commit) -> list[str]:
    entry = commit.files.get(".gitattributes")
    if entry is None:
        return []
    text = ctx.store.content_path(repo, entry).read_text(encoding="utf-8", errors="replace")
    return [line.split()[0] for line in text.splitlines()
            if "filter=lfs" in line and not line.lstrip().startswith("#")]


def _wants_lfs(path: str, size: int, sample: bytes, patterns: list[str]) -> bool:
    if size > LFS_THRESHOLD or b"\0" in sample:
        return True
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(path if "/" in p else name, p) for p in patterns)


def preupload(ctx: ServerContext, req: Request) -> Response:
    repo = readable_repo(ctx, req)
    commit = ctx.store.resolve(repo, req.arg("rev"))
    patterns = _lfs_patterns(ctx, repo, commit)
    answers = []
    for item in req.json().get("files", []):
        try:
            sample = base64.b64decode(item.get("sample", ""))
        except binascii.Error:
            raise bad_request(f"preupload: 'sample' of {item.get('path')!r} is not "
                              "base64.") from None
        path, size = str(item["path"]), int(item.get("size", 0))
        mode = "lfs" if _wants_lfs(path, size, sample, patterns) else "regular"
        answer: dict[str, Any] = {"path": path, "uploadMode": mode, "shouldIgnore": False}
        if path in commit.files:
            # sha256 for LFS files, git blob id otherwise: what the client compares to skip
            # unchanged files.
            answer["oid"] = commit.files[path].etag
        answers.append(answer)
    return Response.json({"files": answers, "commitOid": commit.id})


# -- Git LFS batch API (basic transfer) -----------------------------------------------------
def _signature(ctx: ServerContext, repo: Repo, oid: str) -> str:
    # The upload PUT carries no token (it goes to a presigned URL on the Hub): sign the href.
    return hmac.new(ctx.lfs_secret, f"{repo.type}/{repo.id}/{oid}".encode(),
                    hashlib.sha256).hexdigest()


def lfs_batch(ctx: ServerContext, req: Request) -> Response:
    repo = readable_repo(ctx, req)
    body = req.json()
    if body.get("operation") != "upload":
        raise bad_request("This local Hub's LFS batch API supports only operation=upload; "
                          "download files through /resolve/.")
    base = f"{req.base_url}/lfs-objects/{repo.type}s/{repo.id}"
    objects = []
    for obj in body.get("objects", []):
        oid, size = str(obj.get("oid")), int(obj.get("size", -1))
        if not re.fullmatch(r"[0-9a-f]{64}", oid) or size < 0:
            objects.append({"oid": oid, "size": size,
                            "error": {"code": 422, "message": "oid must be a sha256 hex digest "
                                                              "and size a non-negative integer"}})
            continue
        answer: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
        if not ctx.store.lfs_path(repo, oid).exists():
            answer["actions"] = {
                "upload": {"href": f"{base}/{oid}?sig={_signature(ctx, repo, oid)}"},
                "verify": {"href": f"{base}/verify"},
            }
        objects.append(answer)
    return Response.json({"transfer": "basic", "objects": objects}, 200,
                         {"Content-Type": LFS_CONTENT_TYPE})


def lfs_upload(ctx: ServerContext, req: Request) -> Response:
    repo = ctx.store.get(repo_type_of(req), repo_id_of(req))
    oid = req.arg("oid")
    signature = (req.query.get("sig") or [""])[-1]
    if not hmac.compare_digest(signature, _signature(ctx, repo, oid)):
        raise HubHTTPError(403, "LFS upload URL signature is invalid or from an earlier server "
                           "run: request a new one from the LFS batch API.")
    ctx.store.store_lfs(repo, oid, req.read_stream)
    return Response(200)


def lfs_verify(ctx: ServerContext, req: Request) -> Response:
    repo = readable_repo(ctx, req)
    body = req.json()
    path = ctx.store.lfs_path(repo, str(body.get("oid")))
    if not path.exists() or path.stat().st_size != body.get("size"):
        raise HubHTTPError(404, f"LFS object {body.get('oid')} with size {body.get('size')} was "
                           f"not uploaded to {repo.id}.")
    return Response.json({"success": True})


# -- commit ---------------------------------------------------------------------------------
def _parse_operation(key: str, value: dict[str, Any]) -> Operation:
    path = str(value.get("path", ""))
    if key == "file":
        content = value.get("content", "")
        if value.get("encoding", "base64") == "base64":
            try:
                return Operation("file", path, data=base64.b64decode(content, validate=True))
            except binascii.Error:
                raise bad_request(f"Content of {path!r} is not valid base64.") from None
        return Operation("file", path, data=str(content).encode())
    if key == "lfsFile":
        if value.get("algo", "sha256") != "sha256":
            raise bad_request(f"lfsFile {path!r}: only algo=sha256 is supported.")
        return Operation("lfsFile", path, sha256=str(value.get("oid")), size=value.get("size"))
    return Operation(key, path)


def commit(ctx: ServerContext, req: Request) -> Response:
    lines = [line for line in req.body.decode("utf-8").splitlines() if line.strip()]
    try:
        items = [json.loads(line) for line in lines]
    except json.JSONDecodeError as e:
        raise bad_request(f"Commit payload is not NDJSON: {e}") from None
    if not items or items[0].get("key") != "header":
        raise bad_request('A commit starts with a {"key": "header", "value": {"summary": ...}} '
                          "line.")
    header = items[0]["value"]
    summary = str(header.get("summary") or "").strip()
    if not summary:
        raise bad_request("Commit summary is empty: pass a commit message.")
    ops = [_parse_operation(str(item.get("key")), item.get("value") or {}) for item in items[1:]]
    repo_type, repo_id = repo_type_of(req), repo_id_of(req)
    readable_repo(ctx, req)
    new, pr_num = ctx.store.apply_commit(
        repo_type, repo_id, req.arg("rev"), ops, title=summary,
        message=str(header.get("description") or ""), author=ctx.user,
        parent=header.get("parentCommit"), create_pr=req.flag("create_pr"))
    url = repo_url(req, repo_type, repo_id)
    data: dict[str, Any] = {"success": True, "commitOid": new.id,
                            "commitUrl": f"{url}/commit/{new.id}", "hookOutput": ""}
    if pr_num is not None:
        data["pullRequestUrl"] = f"{url}/discussions/{pr_num}"
    return Response.json(data)


# -- resolve (file download) ------------------------------------------------------------------
def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single ``bytes=`` range; None for no (or a multi-) range."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise HubHTTPError(416, f"Range {header} is outside the file ({size} bytes).",
                           headers={"Content-Range": f"bytes */{size}"})
    return start, end


def resolve(ctx: ServerContext, req: Request) -> Response:
    repo = readable_repo(ctx, req)
    revision, path = split_revision(req.params["rest"])
    commit_ = ctx.store.resolve(repo, revision)
    entry: FileEntry | None = commit_.files.get(path)
    if entry is None:
        raise entry_not_found(path, revision, commit=commit_.id)
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    headers = {"ETag": f'"{entry.etag}"', "X-Repo-Commit": commit_.id, "Accept-Ranges": "bytes",
               "Content-Type": content_type,
               "Content-Disposition": f"inline; filename*=UTF-8''{quote(path.split('/')[-1])}"}
    if entry.lfs_sha256:
        headers |= {"X-Linked-Etag": f'"{entry.lfs_sha256}"', "X-Linked-Size": str(entry.size)}
    span = _byte_range(req.headers.get("Range"), entry.size)
    start, end = span or (0, entry.size - 1)
    if span:
        headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
    return Response(206 if span else 200, headers=headers,
                    file=ctx.store.content_path(repo, entry), offset=start,
                    length=max(end - start + 1, 0))


ROUTES: list[Route] = [
    route("POST", f"/api/{API_TYPE}/{REPO}/preupload/(?P<rev>.+)", preupload, write=True),
    route("POST", f"/api/{API_TYPE}/{REPO}/commit/(?P<rev>.+)", commit, write=True),
    route("POST", rf"/{URL_PREFIX}{REPO}\.git/info/lfs/objects/batch", lfs_batch, write=True),
    route("PUT", f"/lfs-objects/{API_TYPE}/{REPO}/(?P<oid>[0-9a-f]{{64}})", lfs_upload,
          stream=True),
    route("POST", f"/lfs-objects/{API_TYPE}/{REPO}/verify", lfs_verify, write=True),
    route("GET|HEAD", f"/{URL_PREFIX}{REPO}/resolve/(?P<rest>.+)", resolve),
]

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
from hf_pipeline.hub.server.fields import get_int, get_list, get_str, json_object, text
from hf_pipeline.hub.server.objects import Commit, FileEntry
from hf_pipeline.hub.server.paths import validate_path
from hf_pipeline.hub.server.storage import Operation, Repo
from hf_pipeline.hub.server.transport import Request, Response, Route, ServerContext, route

# Above this size a file goes through LFS, as on the Hub; binary files and the patterns of
# the repo's .gitattributes do too.
LFS_THRESHOLD = 10 * 1024 * 1024
LFS_CONTENT_TYPE = "application/vnd.git-lfs+json"
# A commit line carries at most one regular file (<= LFS_THRESHOLD), base64-encoded.
COMMIT_LINE_MAX = LFS_THRESHOLD * 4 // 3 + (1 << 20)
MAX_COMMIT_OPERATIONS = 100_000
LIST_BODY_MAX = 8 << 20  # preupload, paths-info: many files per request


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
    for i, value in enumerate(get_list(req.json_object("preupload"), "files", "preupload",
                                       default=[])):
        item = json_object(value, f"preupload: files[{i}]")
        path = validate_path(get_str(item, "path", f"preupload: files[{i}]"))
        size = get_int(item, "size", f"preupload: files[{i}]", default=0)
        try:
            sample = base64.b64decode(get_str(item, "sample", f"preupload: files[{i}]",
                                              default=""))
        except (binascii.Error, ValueError):
            raise bad_request(f"preupload: 'sample' of {path!r} is not base64.") from None
        mode = "lfs" if _wants_lfs(path, size, sample, patterns) else "regular"
        answer: dict[str, Any] = {"path": path, "uploadMode": mode, "shouldIgnore": False}
        if path in commit.files:
            # sha256 for LFS files, git blob id otherwise: what the client compares to skip
            # unchanged files.
            answer["oid"] = commit.files[path].etag
        answers.append(answer)
    return Response.json({"files": answers, "commitOid": commit.id})


# -- Git LFS batch API (basic transfer) -----------------------------------------------------
def _signature(ctx: ServerContext, repo: Repo, oid: str, size: int) -> str:
    # The upload PUT carries no token (it goes to a presigned URL on the Hub): sign the href,
    # size included, so the PUT can be held to the size announced in the batch request.
    return hmac.new(ctx.lfs_secret, f"{repo.type}/{repo.id}/{oid}/{size}".encode(),
                    hashlib.sha256).hexdigest()


def _batch_object(ctx: ServerContext, repo: Repo, base: str, i: int, value: Any) -> dict[str, Any]:
    obj = json_object(value, f"LFS batch: objects[{i}]")
    oid = obj.get("oid")
    size = obj.get("size")
    if (not isinstance(oid, str) or not re.fullmatch(r"[0-9a-f]{64}", oid)
            or isinstance(size, bool) or not isinstance(size, int) or size < 0):
        return {"oid": str(oid)[:100], "size": size if isinstance(size, int) else None,
                "error": {"code": 422, "message": "oid must be a sha256 hex digest and size a "
                                                  "non-negative integer"}}
    if size > ctx.limits.max_lfs_bytes:
        return {"oid": oid, "size": size,
                "error": {"code": 422, "message": f"object is larger than this local Hub "
                                                  f"accepts ({ctx.limits.max_lfs_bytes} bytes)"}}
    answer: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
    if not ctx.store.lfs_path(repo, oid).exists():
        sig = _signature(ctx, repo, oid, size)
        answer["actions"] = {
            "upload": {"href": f"{base}/{oid}?size={size}&sig={sig}"},
            "verify": {"href": f"{base}/verify"},
        }
    return answer


def lfs_batch(ctx: ServerContext, req: Request) -> Response:
    repo = readable_repo(ctx, req)
    body = req.json_object("LFS batch")
    if body.get("operation") != "upload":
        raise bad_request("This local Hub's LFS batch API supports only operation=upload; "
                          "download files through /resolve/.")
    base = f"{req.base_url}/lfs-objects/{repo.type}s/{repo.id}"
    objects = [_batch_object(ctx, repo, base, i, obj)
               for i, obj in enumerate(get_list(body, "objects", "LFS batch", default=[]))]
    return Response.json({"transfer": "basic", "objects": objects}, 200,
                         {"Content-Type": LFS_CONTENT_TYPE})


def lfs_upload(ctx: ServerContext, req: Request) -> Response:
    """The PUT of an LFS object: checked on its URL before any byte is read, then streamed to
    disk and hashed as it arrives (never held in memory)."""
    repo = ctx.store.get(repo_type_of(req), repo_id_of(req))
    oid = req.arg("oid")
    signature = (req.query.get("sig") or [""])[-1]
    size_arg = (req.query.get("size") or [""])[-1]
    size = int(size_arg) if size_arg.isascii() and size_arg.isdigit() else -1
    if not hmac.compare_digest(signature, _signature(ctx, repo, oid, size)):
        raise HubHTTPError(403, "LFS upload URL signature is invalid or from an earlier server "
                           "run: request a new one from the LFS batch API.")
    stream = req.body_stream(size, f"LFS object {oid}")
    if stream.length is not None and stream.length != size:
        raise bad_request(f"LFS object {oid}: Content-Length {stream.length} is not the "
                          f"{size} bytes announced in the batch request.")
    ctx.store.store_lfs(repo, oid, stream.read, size=size)
    return Response(200)


def lfs_verify(ctx: ServerContext, req: Request) -> Response:
    repo = readable_repo(ctx, req)
    body = req.json_object("LFS verify")
    oid = get_str(body, "oid", "LFS verify")
    size = get_int(body, "size", "LFS verify")
    path = ctx.store.lfs_path(repo, oid)
    if not path.exists() or path.stat().st_size != size:
        raise HubHTTPError(404, f"LFS object {oid} with size {size} was not uploaded to "
                           f"{repo.id}.")
    return Response.json({"success": True})


# -- commit ---------------------------------------------------------------------------------
def _commit_line(number: int, line: bytes) -> tuple[str, dict[str, Any]]:
    """(key, value) of one NDJSON line of a commit."""
    try:
        item = json.loads(line)
    except ValueError as e:  # not JSON, or not UTF-8 at all
        raise bad_request(f"Commit payload line {number} is not a JSON object: {e}") from None
    item = json_object(item, f"commit line {number}")
    key = get_str(item, "key", f"commit line {number}")
    return key, json_object(item.get("value"), f"commit line {number} ({key}): value")


def _parse_operation(ctx: ServerContext, repo: Repo, number: int, key: str,
                     value: dict[str, Any]) -> Operation:
    """One commit line as an operation; a regular file's content goes to disk right away."""
    where = f"commit line {number} ({key})"
    if key not in ("file", "lfsFile", "deletedFile", "deletedFolder"):
        raise bad_request(f"{where}: unknown operation; expected file, lfsFile, deletedFile or "
                          "deletedFolder.")
    path = get_str(value, "path", where)
    validate_path(path.strip("/") if key == "deletedFolder" else path)
    if key == "file":
        content = get_str(value, "content", where, default="")
        encoding = get_str(value, "encoding", where, default="base64")
        if encoding == "base64":
            try:
                data = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                raise bad_request(f"Content of {path!r} is not valid base64.") from None
        else:
            data = content.encode()
        if len(data) > LFS_THRESHOLD:
            raise HubHTTPError(413, f"{path!r} is {len(data)} bytes: regular files are at most "
                               f"{LFS_THRESHOLD} bytes here; larger ones go through LFS.")
        return Operation("file", path, entry=ctx.store.store_blob(repo, data))
    if key == "lfsFile":
        if get_str(value, "algo", where, default="sha256") != "sha256":
            raise bad_request(f"lfsFile {path!r}: only algo=sha256 is supported.")
        return Operation("lfsFile", path, sha256=get_str(value, "oid", where),
                         size=get_int(value, "size", where, default=None))
    return Operation(key, path)


def commit(ctx: ServerContext, req: Request) -> Response:
    """Apply an NDJSON commit, read line by line: memory holds one line at a time, not the
    payload; regular files are stored as their lines arrive (unreferenced until the commit)."""
    repo_type, repo_id = repo_type_of(req), repo_id_of(req)
    repo = readable_repo(ctx, req)
    body = req.body_stream(ctx.limits.max_commit_bytes, "commit")
    hint = f": regular files are at most {LFS_THRESHOLD} bytes; larger ones go through LFS"
    lines = ((n, line) for n, line in body.lines(COMMIT_LINE_MAX, "commit payload", hint=hint)
             if line.strip())
    first = next(lines, None)
    key, header = _commit_line(*first) if first else ("", {})
    if key != "header":
        raise bad_request('A commit starts with a {"key": "header", "value": {"summary": ...}} '
                          "line.")
    summary = text(header.get("summary") or "", "commit header: summary").strip()
    if not summary:
        raise bad_request("Commit summary is empty: pass a commit message.")
    description = text(header.get("description") or "", "commit header: description")
    parent = get_str(header, "parentCommit", "commit header", default=None)
    ops = []
    for number, line in lines:
        if len(ops) >= MAX_COMMIT_OPERATIONS:
            raise HubHTTPError(413, f"A commit holds at most {MAX_COMMIT_OPERATIONS} operations "
                               "here: split it into several commits.")
        ops.append(_parse_operation(ctx, repo, number, *_commit_line(number, line)))
    new, pr_num = ctx.store.apply_commit(
        repo_type, repo_id, req.arg("rev"), ops, title=summary, message=description,
        author=ctx.user, parent=parent, create_pr=req.flag("create_pr"))
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
    route("POST", f"/api/{API_TYPE}/{REPO}/preupload/(?P<rev>.+)", preupload, write=True,
          max_body=LIST_BODY_MAX),
    route("POST", f"/api/{API_TYPE}/{REPO}/commit/(?P<rev>.+)", commit, write=True,
          stream=True),
    route("POST", rf"/{URL_PREFIX}{REPO}\.git/info/lfs/objects/batch", lfs_batch, write=True,
          max_body=LIST_BODY_MAX),
    route("PUT", f"/lfs-objects/{API_TYPE}/{REPO}/(?P<oid>[0-9a-f]{{64}})", lfs_upload,
          stream=True),
    route("POST", f"/lfs-objects/{API_TYPE}/{REPO}/verify", lfs_verify, write=True),
    route("GET|HEAD", f"/{URL_PREFIX}{REPO}/resolve/(?P<rest>.+)", resolve),
]

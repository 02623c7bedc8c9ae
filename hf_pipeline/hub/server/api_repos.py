"""API handlers for accounts and repositories: whoami, validate-yaml, create/delete/settings,
info, refs, commits, tree, paths-info, tags and branches, and Space secrets."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qs

from hf_pipeline.hub.server.card import SPACE_SDKS, card_data, hub_tags, validate_card
from hf_pipeline.hub.server.common import (
    API_TYPE,
    REPO,
    can_read_private,
    file_json,
    folder_json,
    readable_repo,
    repo_id_of,
    repo_type_of,
    repo_url,
    split_revision,
)
from hf_pipeline.hub.server.errors import HubHTTPError, bad_request, entry_not_found
from hf_pipeline.hub.server.fields import (
    get_bool,
    get_list,
    get_str,
    kind,
    query_int,
    text,
)
from hf_pipeline.hub.server.objects import Commit, tree_ids
from hf_pipeline.hub.server.storage import Repo
from hf_pipeline.hub.server.transport import (
    Request,
    Response,
    Route,
    ServerContext,
    check_write_auth,
    route,
)
from hf_pipeline.io import atomic_write_bytes

README_BODY_MAX = 4 << 20  # validate-yaml: a README and its metadata
PATHS_BODY_MAX = 8 << 20  # paths-info: many paths per request


def whoami(ctx: ServerContext, req: Request) -> Response:
    if req.bearer is None:
        raise HubHTTPError(401, "Invalid username or password: whoami needs a token.")
    check_write_auth(ctx, req.bearer)
    return Response.json({
        "type": "user", "id": ctx.user, "name": ctx.user, "fullname": ctx.user, "email": None,
        "emailVerified": False, "canPay": False, "isPro": False, "periodEnd": None,
        "avatarUrl": "", "orgs": [],
        "auth": {"type": "access_token",
                 "accessToken": {"displayName": "local-hub", "role": "write"}},
    })


def agent_harnesses(ctx: ServerContext, req: Request) -> Response:
    # huggingface_hub fetches this registry from its endpoint to tag its user agent.
    return Response.json({"standardEnvVars": [], "harnesses": {}})


def validate_yaml(ctx: ServerContext, req: Request) -> Response:
    body = req.json_object("validate-yaml")
    content = body.get("content")
    if not isinstance(content, str):
        raise bad_request('validate-yaml expects {"content": "<README text>", "repoType": ...}.')
    repo_type = get_str(body, "repoType", "validate-yaml", default="model")
    errors, warnings = validate_card(text(content, "validate-yaml: content"), repo_type)
    data = {"errors": [{"message": m} for m in errors],
            "warnings": [{"message": m} for m in warnings]}
    return Response.json(data, 400 if errors else 200)


def _repo_type_and_id(ctx: ServerContext, body: dict[str, Any], where: str) -> tuple[str, str]:
    repo_type = get_str(body, "type", where, default="model")
    if repo_type not in ("model", "dataset", "space"):
        raise bad_request(f"Invalid repo type {repo_type[:50]!r}: expected model, dataset or "
                          "space.")
    name = get_str(body, "name", where)
    return repo_type, f"{get_str(body, 'organization', where, default=ctx.user)}/{name}"


def create_repo(ctx: ServerContext, req: Request) -> Response:
    body = req.json_object("repos/create")
    repo_type, repo_id = _repo_type_and_id(ctx, body, "repos/create")
    sdk = get_str(body, "sdk", "repos/create", default=None)
    if repo_type == "space" and sdk not in SPACE_SDKS:
        raise bad_request(f"Spaces need an sdk, one of {', '.join(SPACE_SDKS)}; got {sdk!r}.")
    visibility = get_str(body, "visibility", "repos/create", default="public")
    private = visibility != "public" or get_bool(body, "private", "repos/create")
    url = repo_url(req, repo_type, repo_id)
    try:
        ctx.store.create(repo_type, repo_id, author=ctx.user, private=private, sdk=sdk)
    except HubHTTPError as err:
        if err.status == 409:
            err.extra["url"] = url  # the client reads it even from a 409 (exist_ok=True)
        raise
    return Response.json({"url": url, "name": repo_id, "id": repo_id})


def delete_repo(ctx: ServerContext, req: Request) -> Response:
    ctx.store.delete(*_repo_type_and_id(ctx, req.json_object("repos/delete"), "repos/delete"))
    return Response.json({})


def update_settings(ctx: ServerContext, req: Request) -> Response:
    body = req.json_object("settings")
    visibility = get_str(body, "visibility", "settings", default=None)
    private = body.get("private")
    if private is not None and not isinstance(private, bool):
        raise bad_request(f'settings: "private" must be true or false, got {kind(private)}.')
    gated = body.get("gated")
    if "gated" in body and gated is not False and gated not in ("auto", "manual"):
        raise bad_request(f"Invalid gated value {gated!r:.50}: auto, manual or false.")
    with ctx.store.lock:
        repo = ctx.store.get(repo_type_of(req), repo_id_of(req))
        if visibility is not None:
            repo.private = visibility != "public"
        if private is not None:
            repo.private = private
        if "gated" in body:
            repo.gated = gated
        ctx.store.save(repo)
    return Response.json({})


def list_repos(ctx: ServerContext, req: Request) -> Response:
    repo_type = repo_type_of(req)
    author = (req.query.get("author") or [None])[-1]
    search = (req.query.get("search") or [""])[-1]
    out = []
    for repo in ctx.store.list_repos(repo_type):
        ns = repo.id.split("/")[0]
        if (author and ns != author) or search not in repo.id:
            continue
        if repo.private and not can_read_private(ctx, req):
            continue
        head = ctx.store.load_commit(repo, repo.heads["main"]) if "main" in repo.heads else None
        out.append({"_id": repo.id, "id": repo.id, "author": ns, "private": repo.private,
                    "createdAt": repo.created_at, "sha": head.id if head else None,
                    "lastModified": head.date if head else repo.created_at})
    limit = query_int(req.query, "limit")
    return Response.json(out if limit is None else out[:limit])


def repo_info(ctx: ServerContext, req: Request) -> Response:
    repo = readable_repo(ctx, req)
    commit = ctx.store.resolve(repo, req.arg("rev") if "rev" in req.params else "main")
    readme = commit.files.get("README.md")
    card = card_data(ctx.store.content_path(repo, readme).read_bytes() if readme else None)
    blobs = req.flag("blobs")
    siblings = []
    for path, entry in sorted(commit.files.items()):
        sibling: dict[str, Any] = {"rfilename": path}
        if blobs:
            sibling |= {"size": entry.size, "blobId": entry.oid}
            if entry.lfs_sha256:
                sibling["lfs"] = {"size": entry.size, "sha256": entry.lfs_sha256,
                                  "pointerSize": entry.pointer_size}
        siblings.append(sibling)
    data: dict[str, Any] = {
        "_id": repo.id, "id": repo.id, "author": repo.id.split("/")[0], "sha": commit.id,
        "lastModified": commit.date, "createdAt": repo.created_at, "private": repo.private,
        "gated": repo.gated, "disabled": False, "downloads": 0, "likes": 0,
        "tags": hub_tags(repo.type, card), "siblings": siblings,
        "usedStorage": sum(e.size for e in commit.files.values()),
    }
    if card is not None:
        data["cardData"] = card
    if repo.type == "model":
        data |= {"modelId": repo.id, "library_name": (card or {}).get("library_name"),
                 "pipeline_tag": (card or {}).get("pipeline_tag")}
    elif repo.type == "space":
        data |= {"sdk": repo.sdk, "subdomain": repo.id.replace("/", "-"), "host": req.base_url}
    return Response.json(data)


def list_refs(ctx: ServerContext, req: Request) -> Response:
    repo = readable_repo(ctx, req)

    def refs(kind: str, items: dict[str, str]) -> list[dict[str, str]]:
        return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": sha}
                for n, sha in sorted(items.items())]
    return Response.json({"branches": refs("heads", repo.heads), "tags": refs("tags", repo.tags),
                          "converts": [], "pullRequests": refs("pr", repo.pulls)})


def list_commits(ctx: ServerContext, req: Request) -> Response:
    repo = readable_repo(ctx, req)
    commits = ctx.store.history(repo, ctx.store.resolve(repo, req.arg("rev")))
    return Response.json([
        {"id": c.id, "title": c.title, "message": c.message, "date": c.date,
         "authors": [{"user": c.author, "avatar": ""}],
         "formatted": {"title": c.title, "message": c.message}}
        for c in commits])


def _entries(ctx: ServerContext, repo: Repo, commit: Commit, paths: list[str],
             expand: bool) -> list[dict[str, Any]]:
    folders = tree_ids(commit.files)
    last = ctx.store.last_commits(repo, commit, paths) if expand else {}
    return [file_json(p, commit.files[p], last.get(p)) if p in commit.files
            else folder_json(p, folders[p], last.get(p)) for p in paths]


def list_tree(ctx: ServerContext, req: Request) -> Response:
    repo = readable_repo(ctx, req)
    revision, folder = split_revision(req.params["rest"])
    commit = ctx.store.resolve(repo, revision)
    folder = folder.strip("/")
    folders = tree_ids(commit.files)
    if folder not in folders:
        raise entry_not_found(folder, revision, commit=commit.id)
    prefix = folder + "/" if folder else ""
    recursive = req.flag("recursive")
    paths = [p for p in [*folders, *commit.files] if p and p.startswith(prefix)
             and (recursive or "/" not in p[len(prefix):])]
    return Response.json(_entries(ctx, repo, commit, sorted(paths), req.flag("expand")))


def paths_info(ctx: ServerContext, req: Request) -> Response:
    repo = readable_repo(ctx, req)
    commit = ctx.store.resolve(repo, req.arg("rev"))
    if "json" in req.headers.get("Content-Type", ""):
        body = req.json_object("paths-info")
        paths = get_list(body, "paths", "paths-info", default=[])
        expand = get_bool(body, "expand", "paths-info")
        if not all(isinstance(p, str) for p in paths):
            raise bad_request('paths-info: "paths" must be a list of strings.')
    else:
        form = parse_qs(req.body.decode("utf-8", errors="replace"))
        paths, expand = form.get("paths", []), form.get("expand", ["false"])[-1].lower() == "true"
    folders = tree_ids(commit.files)
    found = [p.strip("/") for p in paths if p.strip("/") in commit.files
             or (p.strip("/") in folders and p.strip("/"))]
    return Response.json(_entries(ctx, repo, commit, list(dict.fromkeys(found)), expand))


def create_tag(ctx: ServerContext, req: Request) -> Response:
    tag = req.json_object("tag").get("tag")
    if not isinstance(tag, str):
        raise bad_request('Creating a tag expects {"tag": "<name>"}.')
    sha = ctx.store.create_ref(repo_type_of(req), repo_id_of(req), "tags", tag, req.arg("rev"))
    return Response.json({"name": tag, "ref": f"refs/tags/{tag}", "targetCommit": sha})


def delete_tag(ctx: ServerContext, req: Request) -> Response:
    ctx.store.delete_ref(repo_type_of(req), repo_id_of(req), "tags", req.arg("rev"))
    return Response.json({})


def create_branch(ctx: ServerContext, req: Request) -> Response:
    body = req.json_object("branch")
    if body.get("emptyBranch"):
        raise bad_request("Empty branches are not supported by this local Hub.")
    name = req.arg("rev")
    start = get_str(body, "startingPoint", "branch", default="main") or "main"
    sha = ctx.store.create_ref(repo_type_of(req), repo_id_of(req), "heads", name, start)
    return Response.json({"name": name, "ref": f"refs/heads/{name}", "targetCommit": sha})


def delete_branch(ctx: ServerContext, req: Request) -> Response:
    ctx.store.delete_ref(repo_type_of(req), repo_id_of(req), "heads", req.arg("rev"))
    return Response.json({})


SECRETS_FILE = "secrets.json"  # beside repo.json: each key's sha256, never the value


def add_space_secret(ctx: ServerContext, req: Request) -> Response:
    """``HfApi.add_space_secret``: the Hub keeps the value for the Space's runtime, which
    this server does not run; it records each key with the sha256 of its value (so a test
    can check what was set) and never stores, logs or returns the value."""
    body = req.json_object("secrets")
    key, value = get_str(body, "key", "secrets"), get_str(body, "value", "secrets")
    if not key or not key.replace("_", "").isalnum() or key[0].isdigit():
        raise bad_request(f"Invalid secret key {key[:50]!r}: letters, digits and '_'.")
    description = get_str(body, "description", "secrets", default="") or ""
    with ctx.store.lock:
        repo = ctx.store.get("space", repo_id_of(req))
        path = repo.path / SECRETS_FILE
        secrets = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        secrets[key] = {"sha256": hashlib.sha256(value.encode()).hexdigest(),
                        "description": description}
        atomic_write_bytes(path, json.dumps(secrets, indent=2).encode())
    return Response.json({})


def _api(sub: str) -> str:
    return f"/api/{API_TYPE}/{REPO}{sub}"


ROUTES: list[Route] = [
    route("GET", "/api/whoami-v2", whoami),
    route("POST", "/api/validate-yaml", validate_yaml, max_body=README_BODY_MAX),
    route("GET", "/api/agent-harnesses", agent_harnesses),
    route("POST", "/api/repos/create", create_repo, write=True),
    route("DELETE", "/api/repos/delete", delete_repo, write=True),
    route("GET", f"/api/{API_TYPE}", list_repos),
    route("GET", _api(""), repo_info),
    route("GET", _api("/revision/(?P<rev>.+)"), repo_info),
    route("PUT", _api("/settings"), update_settings, write=True),
    route("GET", _api("/refs"), list_refs),
    route("GET", _api("/commits/(?P<rev>.+)"), list_commits),
    route("GET", _api("/tree/(?P<rest>.+)"), list_tree),
    route("POST", _api("/paths-info/(?P<rev>.+)"), paths_info, max_body=PATHS_BODY_MAX),
    route("POST", _api("/tag/(?P<rev>.+)"), create_tag, write=True),
    route("DELETE", _api("/tag/(?P<rev>.+)"), delete_tag, write=True),
    route("POST", _api("/branch/(?P<rev>.+)"), create_branch, write=True),
    route("DELETE", _api("/branch/(?P<rev>.+)"), delete_branch, write=True),
    route("POST", f"/api/spaces/{REPO}/secrets", add_space_secret, write=True),
]

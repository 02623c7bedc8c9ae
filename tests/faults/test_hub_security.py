"""The local Hub's security cases, against a dedicated server that logs every request (-vv):
writes without the token or with a wrong one are refused and change nothing; private repos
look missing; the token is in no log and no file; oversize bodies are refused on their
headers; paths that could escape a repo (or the data directory) are refused. Loopback only.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.hub_server import LocalHub, send_raw
from huggingface_hub import HfApi, get_session, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

pytestmark = [pytest.mark.slow, pytest.mark.hub]

WRONG = "hf_wrongtoken_never_logged_0123456789"
MB = 1 << 20


@pytest.fixture
def hub(make_local_hub: Callable[..., LocalHub], hub_env: LocalHub) -> LocalHub:
    return make_local_hub({"max_commit_mb": 32}, verbose=2)


@pytest.fixture
def repo(hub: LocalHub) -> str:
    """A public model with a file, a tag and a branch."""
    api = HfApi(endpoint=hub.url, token=hub.token)
    api.create_repo("owner/target")
    api.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id="owner/target")
    api.create_tag("owner/target", tag="v1")
    api.create_branch("owner/target", branch="dev")
    return "owner/target"


def _headers(token: str | None, content_type: str = "application/json") -> dict[str, str]:
    return {"Content-Type": content_type, **({"Authorization": f"Bearer {token}"}
                                             if token else {})}


def _write_requests(repo: str) -> Iterator[tuple[str, str, bytes, str]]:
    """(method, path, body, content type) of one request per write route."""
    ns, name = repo.split("/")
    oid = hashlib.sha256(b"x").hexdigest()
    commit = b"".join(json.dumps(line).encode() + b"\n" for line in (
        {"key": "header", "value": {"summary": "evil"}},
        {"key": "file", "value": {"path": "evil.txt", "content": "eA=="}}))
    for method, path, body in (
            ("POST", "/api/repos/create", {"name": "new-repo", "organization": ns}),
            ("DELETE", "/api/repos/delete", {"name": name, "organization": ns}),
            ("PUT", f"/api/models/{repo}/settings", {"private": True}),
            ("POST", f"/api/models/{repo}/preupload/main",
             {"files": [{"path": "evil.txt", "size": 1, "sample": ""}]}),
            ("POST", f"/{repo}.git/info/lfs/objects/batch",
             {"operation": "upload", "objects": [{"oid": oid, "size": 1}]}),
            ("POST", f"/lfs-objects/models/{repo}/verify", {"oid": oid, "size": 1}),
            ("POST", f"/api/models/{repo}/tag/main", {"tag": "evil"}),
            ("DELETE", f"/api/models/{repo}/tag/v1", {}),
            ("POST", f"/api/models/{repo}/branch/evil", {}),
            ("DELETE", f"/api/models/{repo}/branch/dev", {})):
        yield method, path, json.dumps(body).encode(), "application/json"
    yield "POST", f"/api/models/{repo}/commit/main", commit, "application/x-ndjson"


def _state(api: HfApi, repo: str) -> tuple[Any, ...]:
    info = api.model_info(repo)
    refs = api.list_repo_refs(repo)
    return (info.sha, info.private, sorted(b.name for b in refs.branches),
            sorted((t.name, t.target_commit) for t in refs.tags),
            sorted(m.id for m in api.list_models(author=repo.split("/")[0])))


def test_writes_without_the_token_change_nothing(hub: LocalHub, repo: str) -> None:
    owner = HfApi(endpoint=hub.url, token=hub.token)
    before = _state(owner, repo)
    for token in (None, WRONG):
        for method, path, body, content_type in _write_requests(repo):
            response = get_session().request(method, f"{hub.url}{path}", content=body,
                                              headers=_headers(token, content_type))
            assert response.status_code == 401, (token, method, path, response.text)
    for client in (HfApi(endpoint=hub.url, token=False), HfApi(endpoint=hub.url, token=WRONG)):
        with pytest.raises(HfHubHTTPError) as err:
            client.upload_file(path_or_fileobj=b"x" * 20_000_000, path_in_repo="big.bin",
                               repo_id=repo)
        assert err.value.response.status_code == 401
        with pytest.raises(HfHubHTTPError):
            client.create_tag(repo, tag="v2")
    assert _state(owner, repo) == before


def _assert_hidden(other: HfApi, repo: str, tmp_path: Path) -> None:
    for call in (lambda: other.model_info(repo), lambda: other.list_repo_refs(repo),
                 lambda: other.list_repo_commits(repo), lambda: list(other.list_repo_tree(repo)),
                 lambda: other.get_paths_info(repo, ["s.txt"]),
                 lambda: other.model_info(repo, revision="v1"),
                 lambda: hf_hub_download(repo, "s.txt", endpoint=other.endpoint,
                                         token=other.token, cache_dir=tmp_path / "cache")):
        with pytest.raises(RepositoryNotFoundError):
            call()
    assert repo not in [m.id for m in other.list_models(author=repo.split("/")[0])]


def test_private_repos_look_missing_without_the_token(hub: LocalHub, tmp_path: Path) -> None:
    owner = HfApi(endpoint=hub.url, token=hub.token)
    repo = "owner/secret"
    owner.create_repo(repo, private=True)
    owner.upload_file(path_or_fileobj=b"CONTENT", path_in_repo="s.txt", repo_id=repo)
    owner.create_tag(repo, tag="v1")
    for token in (False, WRONG):
        _assert_hidden(HfApi(endpoint=hub.url, token=token), repo, tmp_path)
    raw = send_raw(hub.url, f"GET /{repo}/resolve/main/s.txt HTTP/1.1\r\nHost: x")
    assert raw.status == 404 and raw.headers["x-error-code"] == "RepoNotFound"
    assert b"CONTENT" not in raw.body
    assert owner.model_info(repo).private is True  # the token opens it


def test_the_token_is_in_no_log_and_no_file(hub: LocalHub, repo: str, tmp_path: Path) -> None:
    api = HfApi(endpoint=hub.url, token=hub.token)
    api.upload_file(path_or_fileobj=bytes(range(256)) * 100, path_in_repo="blob.bin",
                    repo_id=repo)  # LFS: batch, signed upload URL, verify
    api.whoami()
    hf_hub_download(repo, "blob.bin", endpoint=hub.url, token=hub.token, cache_dir=tmp_path)
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=hub.url, token=WRONG).whoami()
    log = hub.log()
    assert "POST /api/models/owner/target/commit/main" in log  # -vv logs every request
    for secret in (hub.token, WRONG):
        assert secret is not None and secret not in log
        leaked = [p for p in hub.work_dir.rglob("*")
                  if p.is_file() and secret.encode() in p.read_bytes()]
        assert leaked == []


def test_oversize_bodies_are_refused_on_their_headers(hub: LocalHub, repo: str) -> None:
    before_kb = hub.proc_status("VmHWM")
    huge = 600 * MB
    for method, path, _, content_type in _write_requests(repo):
        head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {huge}")
        assert send_raw(hub.url, head, timeout=15).status == 401, path  # no body sent
        authorized = send_raw(hub.url, f"{head}\r\nAuthorization: Bearer {hub.token}",
                              timeout=15)
        assert authorized.status == 413, path
        assert "too large" in authorized.json()["error"]
    for path in ("/api/validate-yaml", f"/api/models/{repo}/paths-info/main"):
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {huge}"
        assert send_raw(hub.url, head, timeout=15).status == 413
    # A regular file bigger than LFS's threshold, inline in a commit, is refused on its line.
    line = {"key": "file", "value": {"path": "big.txt",
                                     "content": base64.b64encode(b"x" * 11 * MB).decode()}}
    commit = b"".join(json.dumps(item).encode() + b"\n" for item in (
        {"key": "header", "value": {"summary": "big"}}, line))
    response = get_session().post(f"{hub.url}/api/models/{repo}/commit/main", content=commit,
                                  headers=_headers(hub.token, "application/x-ndjson"))
    assert response.status_code == 413 and "go through LFS" in response.json()["error"]
    growth_mb = (hub.proc_status("VmHWM") - before_kb) / 1024
    assert growth_mb < 64, f"peak memory grew by {growth_mb:.0f} MB"


BAD_PATHS = ["../escape.txt", "a/../../../escape.txt", "/etc/passwd", "a\x00b", ".git/config",
             "C:/x.txt", "a\\..\\x", ".cache/huggingface/download/x.metadata"]


def test_paths_that_could_escape_are_refused(hub: LocalHub, repo: str) -> None:
    api = HfApi(endpoint=hub.url, token=hub.token)
    head_before = api.model_info(repo).sha
    outside_before = sorted(p.name for p in hub.work_dir.iterdir())
    for path in BAD_PATHS:
        commit = b"".join(json.dumps(item).encode() + b"\n" for item in (
            {"key": "header", "value": {"summary": "escape"}},
            {"key": "file", "value": {"path": path, "content": "eA=="}}))
        response = get_session().post(f"{hub.url}/api/models/{repo}/commit/main",
                                      content=commit,
                                      headers=_headers(hub.token, "application/x-ndjson"))
        assert response.status_code == 400 and "Invalid path in repo" in response.text, path
    refused = [("/api/repos/create", {"name": "..", "organization": "owner"}),
               ("/api/repos/create", {"name": "x", "organization": "../../tmp"}),
               (f"/api/models/{repo}/tag/main", {"tag": "../../x"}),
               (f"/api/models/{repo}/branch/..%2F..%2Fx", {})]
    for path, body in refused:
        response = get_session().post(f"{hub.url}{path}", json=body,
                                      headers=_headers(hub.token))
        assert response.status_code in (400, 404), (path, response.text)
    # Reads cannot climb out either: each of these is a 404, and never returns a file.
    for url in (f"/{repo}/resolve/main/../../repo.json", f"/{repo}/resolve/main/..%2Frepo.json",
                f"/{repo}/resolve/main/%2E%2E/%2E%2E/repo.json",
                "/api/models/owner/..%2F..%2Fserver.lock",
                f"/api/models/{repo}/tree/main/..%2F..",
                f"/{repo}/resolve/..%2F..%2F..%2F/server.lock",
                f"/lfs-objects/models/{repo}/..%2F..%2Frepo.json"):
        raw = send_raw(hub.url, f"GET {url} HTTP/1.1\r\nHost: x")
        assert raw.status in (400, 404), (url, raw.status)
        assert b'"heads"' not in raw.body and str(hub.pid).encode() not in raw.body, url
    assert api.model_info(repo).sha == head_before
    assert sorted(p.name for p in hub.work_dir.iterdir()) == outside_before
    assert sorted(p.name for p in hub.data_dir.iterdir()) == ["repos", "server.lock", "tmp"]
    for repo_dir in (hub.data_dir / "repos").glob("*/*/*"):
        assert {p.name for p in repo_dir.iterdir()} <= {"repo.json", "commits", "history",
                                                        "blobs", "lfs"}

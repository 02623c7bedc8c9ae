"""Malformed requests get a 400 in the Hub's error shape, with a message that says what is
wrong, and never a 500 carrying internal exception text (issue 13)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fixtures.hub_server import LocalHub
from huggingface_hub import HfApi, get_session

pytestmark = pytest.mark.hub

# What an exception's text looks like when it leaks into an answer.
LEAKS = ("Traceback", 'File "', "KeyError", "AttributeError", "TypeError", "IndexError",
         "Internal error", "object has no attribute")


def _assert_400(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert message in error
    assert response.headers["X-Error-Message"]
    assert not any(leak in error for leak in LEAKS), error


@pytest.fixture
def repo(hub_api: HfApi, hub_repo_id: Callable[[str], str]) -> str:
    repo_id = hub_repo_id("malformed")
    hub_api.create_repo(repo_id)
    return repo_id


def _post(hub: LocalHub, path: str, content: bytes, *, content_type: str = "application/json",
          method: str = "POST") -> httpx.Response:
    return get_session().request(method, f"{hub.url}{path}", content=content, headers={
        "Authorization": f"Bearer {hub.token}", "Content-Type": content_type})


def _ndjson(*items: Any) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


HEADER = {"key": "header", "value": {"summary": "s"}}


def test_the_probes_cases(hub_env: LocalHub, repo: str) -> None:
    # The four requests the fault-injection probe saw answered 500.
    _assert_400(_post(hub_env, "/api/repos/create", b"[1]"),
                "repos/create: expected a JSON object, got a list.")
    _assert_400(_post(hub_env, f"/api/models/{repo}/commit/main", b"\xff\xfe{not utf-8",
                      content_type="application/x-ndjson"),
                "Commit payload line 1 is not a JSON object")
    _assert_400(_post(hub_env, f"/api/models/{repo}/preupload/main",
                      json.dumps({"files": [{"size": 3, "sample": ""}]}).encode()),
                'preupload: files[0]: "path" is required (a string).')
    response = get_session().get(f"{hub_env.url}/api/models?limit=abc")
    _assert_400(response, "Query parameter limit='abc': expected an integer >= 0.")


@pytest.mark.parametrize(("items", "message"), [
    ([[1]], "commit line 1: expected a JSON object, got a list."),
    ([HEADER, {"key": "file", "value": [1]}], "commit line 2 (file): value: expected a JSON "
                                             "object, got a list."),
    ([HEADER, {"key": "file", "value": {"content": ""}}],
     'commit line 2 (file): "path" is required'),
    ([HEADER, {"key": "file", "value": {"path": 5, "content": ""}}],
     'commit line 2 (file): "path": expected a string, got a number.'),
    ([HEADER, {"key": "lfsFile", "value": {"path": "a", "oid": "x", "size": "big"}}],
     'commit line 2 (lfsFile): "size" must be an integer >= 0'),
    ([HEADER, {"key": "rename", "value": {"path": "a"}}], "commit line 2 (rename): unknown "
                                                          "operation"),
    ([{"key": "header", "value": {"summary": "\ud800"}}],
     "commit header: summary: not valid Unicode text"),
    ([{"key": "header", "value": {"summary": ["s"]}}],
     "commit header: summary: expected a string, got a list."),
])
def test_malformed_commits(hub_env: LocalHub, repo: str, items: list[Any], message: str) -> None:
    before = get_session().get(f"{hub_env.url}/api/models/{repo}").json()["sha"]
    _assert_400(_post(hub_env, f"/api/models/{repo}/commit/main", _ndjson(*items),
                      content_type="application/x-ndjson"), message)
    assert get_session().get(f"{hub_env.url}/api/models/{repo}").json()["sha"] == before


@pytest.mark.parametrize(("route", "body", "message"), [
    ("/api/repos/create", {"name": 5}, 'repos/create: "name": expected a string'),
    ("/api/repos/create", {"name": "x", "private": "yes"}, '"private" must be true or false'),
    ("/api/repos/delete", {}, 'repos/delete: "name" is required'),
    ("/api/validate-yaml", [1], "validate-yaml: expected a JSON object, got a list."),
    ("/api/models/{repo}/preupload/main", {"files": "a.txt"}, '"files" must be a list'),
    ("/api/models/{repo}/preupload/main", {"files": [1]}, "files[0]: expected a JSON object"),
    ("/api/models/{repo}/preupload/main", {"files": [{"path": "a", "size": -1}]},
     '"size" must be an integer >= 0'),
    ("/api/models/{repo}/preupload/main", {"files": [{"path": "a\u0000b"}]},
     "it contains a NUL byte"),
    ("/{repo}.git/info/lfs/objects/batch", {"operation": "upload", "objects": {}},
     '"objects" must be a list'),
    ("/{repo}.git/info/lfs/objects/batch", {"operation": "upload", "objects": [1]},
     "objects[0]: expected a JSON object"),
    ("/api/models/{repo}/paths-info/main", {"paths": [1]}, '"paths" must be a list of strings'),
    ("/api/models/{repo}/tag/main", "v1", "tag: expected a JSON object, got a string."),
    ("/api/models/{repo}/branch/dev", {"startingPoint": 5}, '"startingPoint": expected a '
                                                           "string"),
])
def test_malformed_json_bodies(hub_env: LocalHub, repo: str, route: str, body: Any,
                               message: str) -> None:
    method = "DELETE" if route.endswith("delete") else "POST"
    _assert_400(_post(hub_env, route.format(repo=repo), json.dumps(body).encode(),
                      method=method), message)


def test_settings_with_a_wrong_type(hub_env: LocalHub, repo: str) -> None:
    response = get_session().put(f"{hub_env.url}/api/models/{repo}/settings",
                                 json={"private": "no"},
                                 headers={"Authorization": f"Bearer {hub_env.token}"})
    _assert_400(response, 'settings: "private" must be true or false, got a string.')


def _every_route(repo: str) -> list[tuple[str, str]]:
    oid = "0" * 64
    return [
        ("GET", "/api/whoami-v2"), ("POST", "/api/validate-yaml"),
        ("POST", "/api/repos/create"), ("DELETE", "/api/repos/delete"),
        ("GET", "/api/models?limit=x"), ("GET", f"/api/models/{repo}"),
        ("GET", f"/api/models/{repo}/revision/main"), ("PUT", f"/api/models/{repo}/settings"),
        ("GET", f"/api/models/{repo}/refs"), ("GET", f"/api/models/{repo}/commits/main"),
        ("GET", f"/api/models/{repo}/tree/main"), ("POST", f"/api/models/{repo}/paths-info/main"),
        ("POST", f"/api/models/{repo}/tag/main"), ("DELETE", f"/api/models/{repo}/tag/v9"),
        ("POST", f"/api/models/{repo}/branch/b"), ("DELETE", f"/api/models/{repo}/branch/b"),
        ("POST", f"/api/models/{repo}/preupload/main"), ("POST", f"/api/models/{repo}/commit/main"),
        ("POST", f"/{repo}.git/info/lfs/objects/batch"),
        ("PUT", f"/lfs-objects/models/{repo}/{oid}?size=1&sig=x"),
        ("POST", f"/lfs-objects/models/{repo}/verify"),
        ("GET", f"/{repo}/resolve/main/%00"), ("GET", f"/{repo}/resolve/%ff/..%2F..%2Fx"),
    ]


BODIES = [b"[1]", b'"x"', b"null", b"\xff\xfe", b"{", b"1e999999",
          b'{"files": [1], "objects": [1], "paths": [1], "tag": 1, "name": 1, "type": 1}',
          b'{"content": "---\\n' + b"[" * 5000 + b'\\n---\\n", "operation": "upload"}',
          base64.b64encode(b"\x00" * 30)]


def test_no_route_answers_500_to_garbage(hub_env: LocalHub, repo: str) -> None:
    client = get_session()
    for method, path in _every_route(repo):
        for body in BODIES:
            response = client.request(method, f"{hub_env.url}{path}", content=body, headers={
                "Authorization": f"Bearer {hub_env.token}", "Content-Type": "application/json"})
            assert response.status_code < 500, (method, path, body[:30], response.text)
            if response.status_code >= 400:  # validate-yaml's own shape: {"errors": [...]}
                data = response.json()
                error = str(data["error"] if "errors" not in data else data["errors"])
                assert not any(leak in error for leak in LEAKS), (method, path, error)
    assert "Traceback" not in hub_env.log()


@pytest.mark.parametrize(("path", "problem"), [
    ("a\u0000b.txt", "it contains a NUL byte or another control character"),
    ("a\nb.txt", "it contains a NUL byte or another control character"),
    ("../escape.txt", "it has an empty, '.' or '..' segment"),
    ("a/../../b.txt", "it has an empty, '.' or '..' segment"),
    ("a/./b.txt", "it has an empty, '.' or '..' segment"),
    ("a//b.txt", "it has an empty, '.' or '..' segment"),
    ("/etc/passwd", "it is absolute"),
    ("C:/Windows/x.txt", "it is absolute"),
    ("a\\..\\b.txt", "it contains a backslash"),
    (".git/config", "it is inside a .git or .cache folder"),
    ("sub/.cache/huggingface/x.metadata", "it is inside a .git or .cache folder"),
    ("\ud800.txt", "not valid Unicode"),
    ("x" * 256, "a segment is longer than 255 bytes"),
])
def test_commit_paths_that_could_escape_are_refused(hub_env: LocalHub, repo: str, path: str,
                                                   problem: str) -> None:
    before = get_session().get(f"{hub_env.url}/api/models/{repo}").json()["sha"]
    line = {"key": "file", "value": {"path": path, "content": "eA==", "encoding": "base64"}}
    _assert_400(_post(hub_env, f"/api/models/{repo}/commit/main", _ndjson(HEADER, line),
                      content_type="application/x-ndjson"), problem)
    delete = {"key": "deletedFile", "value": {"path": path}}
    _assert_400(_post(hub_env, f"/api/models/{repo}/commit/main", _ndjson(HEADER, delete),
                      content_type="application/x-ndjson"), problem)
    assert get_session().get(f"{hub_env.url}/api/models/{repo}").json()["sha"] == before


def _alias_bomb(levels: int) -> str:
    """YAML whose aliases expand 10x per level: a few hundred bytes, 10**levels values."""
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def test_card_metadata_that_expands_or_nests_too_far_is_refused(hub_env: LocalHub,
                                                                repo: str) -> None:
    for metadata, message in ((_alias_bomb(6), "has over 100000 values"),
                              ("x: " + "[" * 3000 + "]" * 3000 + "\n", "nested")):
        readme = f"---\n{metadata}---\n# card\n"
        response = _post(hub_env, "/api/validate-yaml",
                         json.dumps({"content": readme, "repoType": "model"}).encode())
        assert response.status_code == 400
        assert message in response.json()["errors"][0]["message"]
        # Committed anyway (no validation on this path): repo info ignores such metadata.
        content = base64.b64encode(readme.encode()).decode()
        line = {"key": "file", "value": {"path": "README.md", "content": content}}
        commit = _post(hub_env, f"/api/models/{repo}/commit/main", _ndjson(HEADER, line),
                       content_type="application/x-ndjson")
        assert commit.status_code == 200
        info = get_session().get(f"{hub_env.url}/api/models/{repo}")
        assert info.status_code == 200 and "cardData" not in info.json()

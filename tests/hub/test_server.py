"""The local Hub server, exercised by the real huggingface_hub and datasets clients over HTTP."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.hub_server import LocalHub
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    DatasetCard,
    HfApi,
    get_hf_file_metadata,
    get_session,
    hf_hub_download,
    hf_hub_url,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import sha as hf_sha

from hf_pipeline.cli import main as cli_main

pytestmark = pytest.mark.hub

RepoIds = Callable[[str], str]


@pytest.fixture
def api(hub_api: HfApi) -> HfApi:
    return hub_api


def _download(hub: LocalHub, repo_id: str, filename: str, tmp_path: Path,
              **kwargs: object) -> bytes:
    path = hf_hub_download(repo_id, filename, endpoint=hub.url, token=hub.token,
                           cache_dir=tmp_path / "cache", **kwargs)  # type: ignore[arg-type]
    return Path(path).read_bytes()


def test_create_repo_for_each_type_and_conflict(api: HfApi, hub_repo_id: RepoIds) -> None:
    model, dataset, space = hub_repo_id("model"), hub_repo_id("dataset"), hub_repo_id("space")
    url = api.create_repo(model)
    assert url.repo_id == model and url.repo_type == "model"
    assert api.create_repo(dataset, repo_type="dataset").repo_type == "dataset"
    assert api.create_repo(space, repo_type="space", space_sdk="gradio").repo_type == "space"

    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo(model)
    assert err.value.response.status_code == 409
    assert api.create_repo(model, exist_ok=True).repo_id == model

    assert api.model_info(model).id == model
    assert api.space_info(space).sdk == "gradio"
    # A new repo starts like on the Hub: one commit holding .gitattributes.
    info = api.dataset_info(dataset)
    assert [s.rfilename for s in info.siblings] == [".gitattributes"]
    assert len(api.list_repo_commits(dataset, repo_type="dataset")) == 1

    api.delete_repo(space, repo_type="space")
    with pytest.raises(RepositoryNotFoundError):
        api.space_info(space)


def test_upload_regular_and_lfs_files_and_download_them(
        api: HfApi, hub_env: LocalHub, hub_repo_id: RepoIds, tmp_path: Path) -> None:
    repo = hub_repo_id("upload")
    api.create_repo(repo)
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "notes.txt").write_text("small text\n")
    # Text over 10 MB: LFS by size alone (no binary byte, no .gitattributes pattern).
    big = b"0123456789 some text\n" * 600_000  # 12.6 MB
    (folder / "corpus.txt").write_bytes(big)

    info = api.upload_folder(folder_path=folder, repo_id=repo, commit_message="add files")
    assert api.list_repo_commits(repo)[0].commit_id == info.oid  # one commit for the folder

    files = {f.path: f for f in api.list_repo_tree(repo, recursive=True)
             if hasattr(f, "size")}
    assert files["sub/notes.txt"].lfs is None
    assert files["sub/notes.txt"].blob_id == hf_sha.git_hash(b"small text\n")
    assert files["corpus.txt"].lfs is not None
    assert files["corpus.txt"].lfs.sha256 == hashlib.sha256(big).hexdigest()
    assert files["corpus.txt"].size == len(big)
    assert (hub_env.data_dir / "repos" / "models" / repo / "lfs"
            / hashlib.sha256(big).hexdigest()).is_file()

    assert _download(hub_env, repo, "corpus.txt", tmp_path) == big
    assert _download(hub_env, repo, "sub/notes.txt", tmp_path) == b"small text\n"

    # Uploading identical content again is skipped by the client (preupload returns the oid).
    again = api.upload_folder(folder_path=folder, repo_id=repo, commit_message="same again")
    assert again.oid == info.oid


def test_resolve_headers_and_range(api: HfApi, hub_env: LocalHub, hub_repo_id: RepoIds) -> None:
    repo = hub_repo_id("range")
    api.create_repo(repo)
    payload = bytes(range(256)) * 100  # binary sample: goes to LFS
    api.upload_file(path_or_fileobj=payload, path_in_repo="blob.bin", repo_id=repo)
    api.upload_file(path_or_fileobj=b"plain\n", path_in_repo="plain.txt", repo_id=repo)
    head = api.model_info(repo).sha

    lfs_meta = get_hf_file_metadata(hf_hub_url(repo, "blob.bin", endpoint=hub_env.url))
    assert lfs_meta.etag == hashlib.sha256(payload).hexdigest()
    assert lfs_meta.size == len(payload) and lfs_meta.commit_hash == head
    plain_meta = get_hf_file_metadata(hf_hub_url(repo, "plain.txt", endpoint=hub_env.url))
    assert plain_meta.etag == hf_sha.git_hash(b"plain\n")

    url = hf_hub_url(repo, "blob.bin", endpoint=hub_env.url)
    part = get_session().get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.content == payload[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(payload)}"
    tail = get_session().get(url, headers={"Range": "bytes=-10"})
    assert tail.content == payload[-10:]
    assert get_session().get(url, headers={"Range": f"bytes={len(payload)}-"}).status_code == 416


def test_refs_commits_tree_and_info_agree(api: HfApi, hub_repo_id: RepoIds) -> None:
    repo = hub_repo_id("info")
    api.create_repo(repo, repo_type="dataset")
    api.upload_file(path_or_fileobj=b"a", path_in_repo="data/a.txt", repo_id=repo,
                    repo_type="dataset", commit_message="first", commit_description="why")
    api.upload_file(path_or_fileobj=b"b", path_in_repo="b.txt", repo_id=repo,
                    repo_type="dataset", commit_message="second")

    info = api.dataset_info(repo, files_metadata=True)
    refs = api.list_repo_refs(repo, repo_type="dataset")
    commits = api.list_repo_commits(repo, repo_type="dataset")
    assert refs.branches[0].name == "main" and refs.branches[0].target_commit == info.sha
    assert [c.title for c in commits] == ["second", "first", "initial commit"]
    assert commits[0].commit_id == info.sha and commits[1].message == "why"
    assert sorted(s.rfilename for s in info.siblings) == [".gitattributes", "b.txt", "data/a.txt"]
    assert {s.rfilename: s.size for s in info.siblings}["b.txt"] == 1

    top = {f.path for f in api.list_repo_tree(repo, repo_type="dataset")}
    assert top == {".gitattributes", "b.txt", "data"}
    in_data = [f.path for f in api.list_repo_tree(repo, "data", repo_type="dataset")]
    assert in_data == ["data/a.txt"]
    expanded = {f.path: f for f in api.list_repo_tree(repo, repo_type="dataset", expand=True)}
    assert expanded["data"].last_commit.title == "first"  # type: ignore[union-attr]
    assert expanded["b.txt"].last_commit.oid == info.sha  # type: ignore[union-attr]

    found = api.get_paths_info(repo, ["data", "b.txt", "missing.txt"], repo_type="dataset")
    assert [(f.path, type(f).__name__) for f in found] == [("data", "RepoFolder"),
                                                          ("b.txt", "RepoFile")]
    (data_info,) = api.get_paths_info(repo, ["data/a.txt"], repo_type="dataset", expand=True)
    assert data_info.last_commit.title == "first"  # type: ignore[union-attr]
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_commits(repo, repo_type="dataset", revision="no-such-branch")


def test_tags_and_branches(api: HfApi, hub_env: LocalHub, hub_repo_id: RepoIds,
                           tmp_path: Path) -> None:
    repo = hub_repo_id("tags")
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"version 1", path_in_repo="f.txt", repo_id=repo)
    api.create_tag(repo, tag="v1.0", tag_message="first release")
    api.upload_file(path_or_fileobj=b"version 2", path_in_repo="f.txt", repo_id=repo)

    assert _download(hub_env, repo, "f.txt", tmp_path, revision="v1.0") == b"version 1"
    assert _download(hub_env, repo, "f.txt", tmp_path) == b"version 2"
    with pytest.raises(HfHubHTTPError) as err:
        api.create_tag(repo, tag="v1.0")
    assert err.value.response.status_code == 409

    api.create_branch(repo, branch="dev", revision="v1.0")
    api.upload_file(path_or_fileobj=b"dev work", path_in_repo="g.txt", repo_id=repo,
                    revision="dev")
    refs = api.list_repo_refs(repo)
    assert sorted(b.name for b in refs.branches) == ["dev", "main"]
    assert [t.name for t in refs.tags] == ["v1.0"]
    assert "g.txt" not in api.list_repo_files(repo)
    assert "g.txt" in api.list_repo_files(repo, revision="dev")

    api.delete_branch(repo, branch="dev")
    api.delete_tag(repo, tag="v1.0")
    refs = api.list_repo_refs(repo)
    assert [b.name for b in refs.branches] == ["main"] and refs.tags == []
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo, revision="v1.0")
    with pytest.raises(EntryNotFoundError):
        _download(hub_env, repo, "nope.txt", tmp_path)


def test_commits_are_atomic_and_check_parent(api: HfApi, hub_repo_id: RepoIds) -> None:
    repo = hub_repo_id("commit")
    api.create_repo(repo)
    first = api.upload_file(path_or_fileobj=b"1", path_in_repo="a.txt", repo_id=repo).oid
    second = api.upload_file(path_or_fileobj=b"2", path_in_repo="a.txt", repo_id=repo).oid

    with pytest.raises(HfHubHTTPError) as err:  # stale parent: someone committed since
        api.create_commit(repo, [CommitOperationAdd("b.txt", b"x")], commit_message="late",
                          parent_commit=first)
    assert err.value.response.status_code == 412
    # One bad operation fails the whole commit: nothing of it lands.
    with pytest.raises(EntryNotFoundError):
        api.create_commit(repo, [CommitOperationAdd("c.txt", b"x"),
                                 CommitOperationDelete("missing.txt")], commit_message="bad")
    assert api.model_info(repo).sha == second
    assert "c.txt" not in api.list_repo_files(repo)

    api.upload_file(path_or_fileobj=b"x", path_in_repo="dir/x.txt", repo_id=repo)
    api.create_commit(repo, [CommitOperationDelete("dir/"), CommitOperationDelete("a.txt")],
                      commit_message="clean up")
    assert api.list_repo_files(repo) == [".gitattributes"]


def test_create_pr_makes_a_pr_ref(api: HfApi, hub_env: LocalHub, hub_repo_id: RepoIds,
                                  tmp_path: Path) -> None:
    repo = hub_repo_id("pr")
    api.create_repo(repo)
    main_before = api.model_info(repo).sha
    info = api.create_commit(repo, [CommitOperationAdd("p.txt", b"proposal")],
                             commit_message="propose", create_pr=True)
    assert info.pr_num == 1 and info.pr_revision == "refs/pr/1"
    assert api.model_info(repo).sha == main_before
    prs = api.list_repo_refs(repo, include_pull_requests=True).pull_requests
    assert [(p.ref, p.target_commit) for p in prs or []] == [("refs/pr/1", info.oid)]
    assert _download(hub_env, repo, "p.txt", tmp_path, revision="refs/pr/1") == b"proposal"


def test_write_needs_the_right_token(hub_env: LocalHub, hub_repo_id: RepoIds) -> None:
    repo = hub_repo_id("auth")
    HfApi(endpoint=hub_env.url, token=hub_env.token).create_repo(repo, repo_type="dataset")

    wrong = HfApi(endpoint=hub_env.url, token="hf_wrong")
    with pytest.raises(HfHubHTTPError) as err:
        wrong.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo,
                          repo_type="dataset")
    assert err.value.response.status_code == 401
    assert "Invalid credentials in Authorization header" in str(err.value)
    assert "not the one this local Hub was started with" in str(err.value)

    anonymous = HfApi(endpoint=hub_env.url, token=False)
    with pytest.raises(HfHubHTTPError) as err:
        anonymous.create_repo(hub_repo_id("auth"))
    assert err.value.response.status_code == 401
    assert "requires a token for writes" in str(err.value)
    assert anonymous.dataset_info(repo).id == repo  # reads stay open
    assert hub_env.token not in hub_env.log()


def test_private_repo_is_hidden_without_token(api: HfApi, hub_env: LocalHub,
                                              hub_repo_id: RepoIds) -> None:
    repo = hub_repo_id("private")
    api.create_repo(repo, private=True)
    assert api.model_info(repo).private is True
    anonymous = HfApi(endpoint=hub_env.url, token=False)
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info(repo)
    api.update_repo_settings(repo, private=False)
    assert anonymous.model_info(repo).private is False


def test_dataset_versions_push_and_load_back(api: HfApi, hub_env: LocalHub,
                                             hub_repo_id: RepoIds, tmp_path: Path) -> None:
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_dataset

    repo = hub_repo_id("intents")
    features = Features({"text": Value("string"),
                         "label": ClassLabel(names=["TextSearch", "SymbolQuery", "Ambiguous"])})

    def version(texts: list[str], labels: list[int]) -> DatasetDict:
        return DatasetDict(
            train=Dataset.from_dict({"text": texts, "label": labels}, features=features),
            test=Dataset.from_dict({"text": texts[:1], "label": labels[:1]}, features=features))

    first = version(["find foo", "who calls bar", "hello"], [0, 1, 2])
    second = version(["grep TODO", "hi"], [0, 2])
    first.push_to_hub(repo)
    api.create_tag(repo, tag="v1.0.0", repo_type="dataset")
    second.push_to_hub(repo)
    api.create_tag(repo, tag="v2.0.0", repo_type="dataset")

    cache = tmp_path / "datasets"
    latest = load_dataset(repo, cache_dir=str(cache))
    old = load_dataset(repo, revision="v1.0.0", cache_dir=str(cache))
    for got, want in ((latest, second), (old, first)):
        assert sorted(got) == ["test", "train"]
        for split in ("train", "test"):
            assert got[split]["text"] == want[split]["text"]
            assert got[split]["label"] == want[split]["label"]
        assert got["train"].features["label"].names == ["TextSearch", "SymbolQuery", "Ambiguous"]

    snapshot = Path(snapshot_download(repo, repo_type="dataset", revision="v1.0.0",
                                      endpoint=hub_env.url, cache_dir=tmp_path / "snap"))
    assert sorted(p.name for p in (snapshot / "data").iterdir()) == [
        "test-00000-of-00001.parquet", "train-00000-of-00001.parquet"]
    card = DatasetCard((snapshot / "README.md").read_text())
    assert [s["name"] for s in card.data.dataset_info["splits"]] == ["train", "test"]


def test_validate_yaml(hub_env: LocalHub, api: HfApi, hub_repo_id: RepoIds) -> None:
    good = DatasetCard("---\nlicense: mit\nlanguage: [en]\ntask_categories: "
                       "[text-classification]\nsize_categories: [1K<n<10K]\nconfigs:\n"
                       "- config_name: default\n  data_files:\n  - split: train\n"
                       "    path: data/train-*\n---\n# Intents\n")
    good.validate(repo_type="dataset")  # raises on a 400
    bad = DatasetCard("---\nsize_categories: [lots]\nannotations_creators: robots\n---\n")
    with pytest.raises(ValueError, match="size_categories"):
        bad.validate(repo_type="dataset")

    repo = hub_repo_id("card")
    api.create_repo(repo, repo_type="dataset")
    # A README with bad metadata is refused before anything is committed.
    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md"):
        api.upload_file(path_or_fileobj=str(bad).encode(), path_in_repo="README.md",
                        repo_id=repo, repo_type="dataset")
    api.upload_file(path_or_fileobj=str(good).encode(), path_in_repo="README.md",
                    repo_id=repo, repo_type="dataset")
    info = api.dataset_info(repo)
    assert info.card_data.license == "mit"  # type: ignore[union-attr]
    assert "task_categories:text-classification" in (info.tags or [])


def test_unknown_route_is_404_and_logged(hub_env: LocalHub) -> None:
    response = get_session().get(f"{hub_env.url}/api/not-a-route/x",
                                 headers={"Authorization": f"Bearer {hub_env.token}"})
    assert response.status_code == 404
    assert "not implemented" in response.json()["error"]
    assert "unknown route: GET /api/not-a-route/x" in hub_env.log()


def test_restart_keeps_everything(api: HfApi, hub_env: LocalHub, hub_repo_id: RepoIds,
                                  tmp_path: Path) -> None:
    repo = hub_repo_id("restart")
    api.create_repo(repo, repo_type="dataset")
    big = os.urandom(11 * 1024 * 1024)
    api.upload_file(path_or_fileobj=big, path_in_repo="big.bin", repo_id=repo,
                    repo_type="dataset")
    api.create_tag(repo, tag="v1", repo_type="dataset")
    before = (api.dataset_info(repo).sha, api.list_repo_refs(repo, repo_type="dataset"))

    hub_env.restart()

    assert (api.dataset_info(repo).sha, api.list_repo_refs(repo, repo_type="dataset")) == before
    data = _download(hub_env, repo, "big.bin", tmp_path, repo_type="dataset", revision="v1")
    assert data == big
    api.upload_file(path_or_fileobj=b"after", path_in_repo="after.txt", repo_id=repo,
                    repo_type="dataset")  # and it still takes writes


def test_hub_serve_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli_main(["hub", "serve", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--data-dir" in out and "--write-token" in out and "HF_PIPELINE_HUB_TOKEN" in out

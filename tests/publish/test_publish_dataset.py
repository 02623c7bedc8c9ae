"""Publishing the dataset to the local Hub with the real clients, over HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from hf_pipeline.errors import HubError
from hf_pipeline.generate import GenerateConfig, generate
from hf_pipeline.intents import INTENTS
from hf_pipeline.publish import PublishDatasetConfig, PublishError, publish_dataset, versions
from hf_pipeline.publish import dataset as publish_module

pytestmark = pytest.mark.hub


def _generate(out: Path, seed: int) -> Path:
    return generate(GenerateConfig(output=out, seed=seed, samples_per_intent=40,
                                   allow_small=True, verification_output=out / "verification.json"))


@pytest.fixture(scope="module")
def data_v1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(tmp_path_factory.mktemp("v1") / "data", seed=1)


@pytest.fixture(scope="module")
def data_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(tmp_path_factory.mktemp("v2") / "data", seed=2)


def _samples(data_dir: Path, split: str) -> list[tuple[str, str]]:
    rows = json.loads((data_dir / "dataset.json").read_text())["samples"]
    return sorted((r["text"], r["intent"]) for r in rows if r["split"] == split)


def _loaded(repo_id: str, revision: str, split: str) -> list[tuple[str, str]]:
    from datasets import load_dataset

    ds = load_dataset(repo_id, revision=revision)[split]
    assert ds.features["label"].names == list(INTENTS)
    names = ds.features["label"].names
    return sorted((t, names[i]) for t, i in zip(ds["text"], ds["label"], strict=True))


def test_push_loads_back_equal_and_versions_stay_independent(
        hub_env, hub_repo_id: Callable[[str], str], data_v1: Path, data_v2: Path) -> None:
    repo = hub_repo_id("intents")
    first = publish_dataset(PublishDatasetConfig(data_dir=data_v1, repo_id=repo, tag="v1.0.0"))
    assert first.status == "published"
    second = publish_dataset(PublishDatasetConfig(data_dir=data_v2, repo_id=repo, tag="v1.1.0"))
    assert second.status == "published" and second.commit != first.commit
    for split in ("train", "validation", "test"):
        assert _loaded(repo, "v1.0.0", split) == _samples(data_v1, split)
        assert _loaded(repo, "v1.1.0", split) == _samples(data_v2, split)
    from datasets import load_dataset

    review = load_dataset(repo, "verification", split="review", revision="v1.0.0")
    expected = json.loads((data_v1 / "verification.json").read_text())["samples"]
    assert sorted(review["id"]) == sorted(s["id"] for s in expected)
    # Same data again: nothing is pushed, the tag does not move.
    again = publish_dataset(PublishDatasetConfig(data_dir=data_v1, repo_id=repo, tag="v1.0.0"))
    assert (again.status, again.commit) == ("unchanged", first.commit)
    # Other data under an existing tag: refused, the tag still holds v1.
    with pytest.raises(PublishError, match=r"tag v1\.0\.0 of .* already holds different data"):
        publish_dataset(PublishDatasetConfig(data_dir=data_v2, repo_id=repo, tag="v1.0.0"))
    assert _loaded(repo, "v1.0.0", "test") == _samples(data_v1, "test")
    state = versions(repo)
    assert set(state["tags"]) == {"v1.0.0", "v1.1.0"} and not state["untagged_main"]


def test_card_metadata_validates_and_parses(hub_env, hub_repo_id: Callable[[str], str],
                                            data_v1: Path) -> None:
    from huggingface_hub import DatasetCard, HfApi

    repo = hub_repo_id("card")
    publish_dataset(PublishDatasetConfig(data_dir=data_v1, repo_id=repo, tag="v1.0.0"))
    path = HfApi().hf_hub_download(repo, "README.md", repo_type="dataset", revision="v1.0.0")
    card = DatasetCard.load(path)
    card.validate(repo_type="dataset")  # the server's /api/validate-yaml
    data = card.data.to_dict()
    assert data["task_categories"] == ["text-classification"]
    assert data["task_ids"] == ["intent-classification"]
    assert data["annotations_creators"] == data["language_creators"] == ["machine-generated"]
    assert data["size_categories"] == ["n<1K"] and data["pretty_name"]
    assert {c["config_name"] for c in data["configs"]} == {"default", "verification"}
    assert "seed `1`" in card.text and 'revision="v1.0.0"' in card.text
    stats = json.loads((data_v1 / "stats.json").read_text())
    assert "carry\n  one option" in card.text
    assert f"Decontaminated: {stats['dev_overlap_dropped']} generated texts" in card.text
    assert hub_env.token not in card.content


def test_wrong_token_is_a_clear_error(hub_env, hub_repo_id: Callable[[str], str],
                                      data_v1: Path, monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_wrongtoken")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HubError) as e:
        publish_dataset(PublishDatasetConfig(data_dir=data_v1, repo_id=hub_repo_id("x"),
                                             tag="v1.0.0"))
    assert str(e.value).startswith(f"publish: the Hub at {hub_env.url} refused the token "
                                   "(401 Unauthorized). Fix: set HF_TOKEN")
    assert "hf_wrongtoken" not in str(e.value) and "hf_wrongtoken" not in caplog.text


def test_interrupted_publish_keeps_the_old_version_and_a_rerun_finishes(
        hub_env, hub_repo_id: Callable[[str], str], data_v1: Path, data_v2: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = hub_repo_id("resume")
    publish_dataset(PublishDatasetConfig(data_dir=data_v1, repo_id=repo, tag="v1.0.0"))

    def crash(*args: object, **kwargs: object) -> str:
        raise ConnectionError("network dropped after the data was pushed")

    with monkeypatch.context() as m:
        m.setattr(publish_module, "_write_card", crash)
        with pytest.raises(ConnectionError):
            publish_dataset(PublishDatasetConfig(data_dir=data_v2, repo_id=repo, tag="v2.0.0"))
    state = versions(repo)
    assert state["untagged_main"] and set(state["tags"]) == {"v1.0.0"}
    assert _loaded(repo, "v1.0.0", "train") == _samples(data_v1, "train")
    done = publish_dataset(PublishDatasetConfig(data_dir=data_v2, repo_id=repo, tag="v2.0.0"))
    assert done.status == "published" and not versions(repo)["untagged_main"]
    assert _loaded(repo, "v2.0.0", "train") == _samples(data_v2, "train")


def test_server_restart_keeps_published_versions(hub_env, hub_repo_id: Callable[[str], str],
                                                 data_v1: Path) -> None:
    repo = hub_repo_id("restart")
    publish_dataset(PublishDatasetConfig(data_dir=data_v1, repo_id=repo, tag="v1.0.0"))
    hub_env.restart()
    assert _loaded(repo, "v1.0.0", "test") == _samples(data_v1, "test")
    assert versions(repo)["tags"]["v1.0.0"]["content_sha256"]


def test_token_never_reaches_the_server_files_or_logs(hub_env, hub_repo_id: Callable[[str], str],
                                                      data_v1: Path) -> None:
    publish_dataset(PublishDatasetConfig(data_dir=data_v1, repo_id=hub_repo_id("secret"),
                                         tag="v1.0.0"))
    token = hub_env.token.encode()
    leaked = [p for p in hub_env.data_dir.rglob("*") if p.is_file() and token in p.read_bytes()]
    assert leaked == [] and hub_env.token not in hub_env.log()


@pytest.mark.parametrize(("field", "value"), [("tag", "1.0"), ("repo_id", "no-namespace")])
def test_bad_tag_or_repo_id_is_refused_before_any_request(field: str, value: str,
                                                          data_v1: Path) -> None:
    from hf_pipeline.errors import InvalidValueError

    args = {"data_dir": data_v1, "repo_id": "me/x", "tag": "v1.0.0", field: value}
    with pytest.raises(InvalidValueError, match=field):
        PublishDatasetConfig(**args)

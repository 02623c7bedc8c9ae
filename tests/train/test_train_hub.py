"""Training from a Hub dataset repo at a tag, over HTTP against the local Hub server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hf_pipeline.data_sources import load_splits
from hf_pipeline.errors import DataFileError, HubError
from hf_pipeline.generate import GenerateConfig, generate
from hf_pipeline.publish import PublishDatasetConfig, publish_dataset
from hf_pipeline.train import loop
from hf_pipeline.train.config import TrainConfig

pytestmark = [pytest.mark.hub, pytest.mark.slow]


def test_train_pulls_the_tagged_version_and_records_its_commit(
        hub_env, hub_repo_id: Callable[[str], str], tmp_path: Path, train_kwargs: dict) -> None:
    repo = hub_repo_id("train-data")
    data = generate(GenerateConfig(output=tmp_path / "data", seed=3, samples_per_intent=20,
                                   allow_small=True))
    v1 = publish_dataset(PublishDatasetConfig(data_dir=data, repo_id=repo, tag="v1.0.0"))
    more = generate(GenerateConfig(output=tmp_path / "more", seed=4, samples_per_intent=30,
                                   allow_small=True))
    publish_dataset(PublishDatasetConfig(data_dir=more, repo_id=repo, tag="v2.0.0"))

    out = loop.train(TrainConfig(output_dir=tmp_path / "run", **{
        **train_kwargs, "data": repo, "revision": "v1.0.0", "num_epochs": 1}))
    info = json.loads((out / "run_info.json").read_text(encoding="utf-8"))
    # The tag moves on the Hub; the commit it pointed to is what reproduces the run.
    assert {k: info["data"][k] for k in ("source", "revision", "sha")} == {
        "source": repo, "revision": "v1.0.0", "sha": v1.commit}
    assert info["samples"]["train"] == 8 * 16  # v1's 20 per intent, 80/10/10


def test_an_unknown_repo_or_tag_is_a_clear_error(hub_env, hub_repo_id: Callable[[str], str],
                                                 tmp_path: Path) -> None:
    with pytest.raises(HubError, match=r"no such local path; .* has no such repository"):
        load_splits(hub_repo_id("missing"))


def test_an_unreachable_hub_is_a_clear_error(hub_env, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(HubError, match=r"cannot reach the Hub at http://127.0.0.1:9"):
        load_splits("someone/intents", revision="v1.0.0")
    with pytest.raises(DataFileError, match="not a Hub repo id"):
        load_splits("data/dataset.json")  # a mistyped path does not go to the network

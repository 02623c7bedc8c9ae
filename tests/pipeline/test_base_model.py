"""The base model comes from the Hub like everything else: on the local Hub, the packaged
all-MiniLM-L6-v2 is mirrored once under its real id, and training's loader pulls it over HTTP
as it would from the real Hub (the server's log shows the download)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_pipeline.base_model import packaged_minilm, resolve_base_model_source
from hf_pipeline.contract import DEFAULT_BASE_MODEL
from hf_pipeline.io import sha256_file
from hf_pipeline.pipeline.config import PipelineConfig, load_run_config
from hf_pipeline.pipeline.context import Context
from hf_pipeline.pipeline.hub import open_hub
from hf_pipeline.pipeline.stages import STAGES

pytestmark = [pytest.mark.slow, pytest.mark.hub]


def test_minilm_is_mirrored_under_its_id_and_downloaded_over_http(tmp_path: Path) -> None:
    [stage] = [s for s in STAGES if s.name == "base-model"]
    cfg = load_run_config(None, {"pipeline": {"output": tmp_path}})
    with open_hub(PipelineConfig(output=tmp_path)) as hub:
        ctx = Context(cfg, hub)
        outputs = stage.run(ctx, False)
        assert outputs["repo_id"] == DEFAULT_BASE_MODEL
        assert outputs["mirrored_from"] == packaged_minilm()
        again = stage.run(ctx, False)  # once: the same files are not sent or committed again
        assert again["commit"] == outputs["commit"] and stage.valid(ctx, outputs)

        source = resolve_base_model_source(DEFAULT_BASE_MODEL)
        assert (source.kind, source.repo_id, source.endpoint, source.commit) == (
            "hub", DEFAULT_BASE_MODEL, hub.url, outputs["commit"])
        assert Path(source.path).is_relative_to(tmp_path / "cache" / "hf_home")
        assert sha256_file(Path(source.path) / "model.safetensors") == sha256_file(
            Path(packaged_minilm()) / "model.safetensors")
    log = (tmp_path / "logs" / "hub.log").read_text()
    assert (f'"GET /{DEFAULT_BASE_MODEL}/resolve/{outputs["commit"]}/model.safetensors '
            'HTTP/1.1" 200') in log


def test_a_folder_cannot_be_the_base_model_of_a_real_hub_run(local_hub, tmp_path: Path,
                                                             tiny_model_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    from hf_pipeline.errors import ConfigError

    monkeypatch.setenv("HF_TOKEN", local_hub.token)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    [stage] = [s for s in STAGES if s.name == "base-model"]
    cfg = load_run_config(None, {"pipeline": {"output": tmp_path, "hub": local_hub.url},
                                 "train": {"base_model": str(tiny_model_dir)}})
    with open_hub(cfg.pipeline) as hub, pytest.raises(
            ConfigError, match=r"is a folder, and the run publishes to .* Fix: upload it"):
        stage.run(Context(cfg, hub), False)

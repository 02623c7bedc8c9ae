"""resolve_base_model: local folder as is; the default falls back to the packaged copy fast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hf_pipeline.base_model import packaged_minilm, resolve_base_model
from hf_pipeline.contract import DEFAULT_BASE_MODEL
from hf_pipeline.errors import ConfigError


@pytest.fixture
def empty_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))


def test_local_folder_is_returned_as_is(tiny_model_dir: Path) -> None:
    assert resolve_base_model(str(tiny_model_dir)) == str(tiny_model_dir)


def test_default_offline_uses_the_packaged_copy(monkeypatch: pytest.MonkeyPatch,
                                                empty_hf_cache: None,
                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_base_model(DEFAULT_BASE_MODEL) == packaged_minilm()
    assert "HF_HUB_OFFLINE is set; using the packaged copy" in caplog.text
    assert (Path(packaged_minilm()) / "model.safetensors").is_file()


def test_default_with_an_unreachable_hub_falls_back_fast(
        monkeypatch: pytest.MonkeyPatch, empty_hf_cache: None,
        caplog: pytest.LogCaptureFixture) -> None:
    import huggingface_hub.constants as c

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(c, "ENDPOINT", "http://127.0.0.1:9")  # connection refused
    start = time.perf_counter()
    assert resolve_base_model(DEFAULT_BASE_MODEL) == packaged_minilm()
    assert time.perf_counter() - start < 10
    assert "the Hub is unreachable" in caplog.text and "Connection refused" in caplog.text


def test_other_hub_id_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                               empty_hf_cache: None) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match=r"cannot get 'someone/some-model'.*local model folder"):
        resolve_base_model("someone/some-model")


def test_missing_local_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"folder .* does not exist"):
        resolve_base_model(str(tmp_path / "no-such-model"))

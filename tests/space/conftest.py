"""Fixtures for the Gradio Space: the app module, the tiny model, a served demo, a Hub model.

Gradio's own tests are the model: ``demo.launch(prevent_thread_lock=True)``, then
``Client(local_url)``, then close both. Analytics are off and Gradio's cache goes to a temp
folder, so nothing leaves the machine or lands in the working tree.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hf_pipeline.publish.space import space_app

MODEL_TAG = "v0.0.1"


@pytest.fixture(scope="session", autouse=True)
def _gradio_offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        mp.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
        yield


@pytest.fixture(scope="session")
def app_module() -> ModuleType:
    """spaces_demo/app.py, imported as in development (over hf_pipeline)."""
    spec = importlib.util.spec_from_file_location("sqry_nl_demo_app_under_test", space_app())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_classifier(tiny_release_dir: Path) -> Any:
    from hf_pipeline.runtime import IntentClassifier

    return IntentClassifier.from_dir(tiny_release_dir)


@pytest.fixture
def hub_model(hub_api: Any, hub_repo_id: Callable[[str], str],
              tiny_release_dir: Path) -> tuple[str, str]:
    """(repo id, commit) of the tiny release, uploaded to the local Hub and tagged."""
    repo = hub_repo_id("intent-model")
    hub_api.create_repo(repo, exist_ok=True)
    info = hub_api.upload_folder(repo_id=repo, folder_path=tiny_release_dir,
                                 commit_message="tiny release")
    hub_api.create_tag(repo, tag=MODEL_TAG, revision=info.oid)
    return repo, info.oid


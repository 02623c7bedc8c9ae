"""The Space folder: the runtime's import closure, the generated package, the card, the pins."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import tokenize
from io import StringIO
from pathlib import Path
from textwrap import dedent

import pytest
import yaml
from space_testing import app_env, blocker_dir

from hf_pipeline.errors import OutputError
from hf_pipeline.publish.space import (
    RUNTIME_ROOT,
    SPACE_PACKAGE,
    SpaceBuildError,
    SpaceCard,
    app_roots,
    build_space_folder,
    rename_package,
    runtime_closure,
    space_app,
    stage_of,
)

MODEL_REPO, MODEL_TAG, COMMIT = "me/sqry-nl-intent", "v1.2.0", "c" * 40
TOP_FILES = ["README.md", "app.py", "feedback.py", "requirements.txt", "space_config.json"]
PINNED = ("gradio", "huggingface", "numpy", "onnxruntime", "tokenizers")


def write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "hf_pipeline"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
    return package


def test_closure_follows_every_import_and_reports_stages_and_training_libraries(
        tmp_path: Path) -> None:
    package = write_package(tmp_path, {
        "__init__.py": "",
        "shared.py": "import json\nimport numpy as np\n",
        "runtime/__init__.py": "from . import core\n",
        "runtime/core.py": """
            from hf_pipeline.shared import np

            def load():
                import torch
                from hf_pipeline.export.session import Session
                from ..runtime import helpers
                return torch, Session, helpers
        """,
        "runtime/helpers.py": "import importlib\nimport onnxruntime.capi\n"
                              "importlib.import_module('hf_pipeline.cli')\n",
        "export/__init__.py": "",
        "export/session.py": "import transformers\n",
        "cli.py": "",
    })
    closure = runtime_closure(["hf_pipeline.runtime"], package_dir=package)
    assert list(closure.modules) == ["hf_pipeline", "hf_pipeline.runtime",
                                     "hf_pipeline.runtime.core", "hf_pipeline.runtime.helpers",
                                     "hf_pipeline.shared"]
    assert closure.libraries == {"numpy", "onnxruntime"}
    chain = "hf_pipeline.runtime.core <- hf_pipeline.runtime"
    assert sorted(closure.problems) == [
        "hf_pipeline.cli: part of the pipeline stage 'cli'; imported by "
        "hf_pipeline.runtime.helpers <- " + chain,
        "hf_pipeline.export.session: part of the pipeline stage 'export'; imported by " + chain,
        "torch: a training library; imported by " + chain,
    ]


def test_the_real_runtime_installs_alone() -> None:
    closure = runtime_closure([RUNTIME_ROOT, *app_roots()])
    assert closure.problems == ()
    assert {"hf_pipeline.runtime.classifier", "hf_pipeline.runtime.onnx"} <= set(closure.modules)
    assert all(stage_of(name) is None for name in closure.modules)
    assert closure.libraries.isdisjoint({"torch", "transformers", "datasets", "accelerate"})
    assert {"onnxruntime", "tokenizers", "numpy", "huggingface_hub"} <= closure.libraries


def test_rename_touches_names_only() -> None:
    source = dedent('''
        """hf_pipeline docs stay."""
        import hf_pipeline.io as hio
        from hf_pipeline.errors import PipelineError  # hf_pipeline comment stays
        x = hf_pipeline.io.sha256_file
        MANIFEST = "hf_pipeline.json"
        my_hf_pipeline = 1
    ''')
    renamed = rename_package(source)
    assert renamed == source.replace("import hf_pipeline.io", "import sqry_nl_runtime.io") \
        .replace("from hf_pipeline.errors", "from sqry_nl_runtime.errors") \
        .replace("x = hf_pipeline.io", "x = sqry_nl_runtime.io")


def test_the_app_imports_hf_pipeline_only(tmp_path: Path) -> None:
    """One import block: the build renames it, so a second one kept by hand is refused."""
    assert "hf_pipeline.repo_ids" in app_roots()
    app = tmp_path / "app.py"
    app.write_text("if x:\n    from sqry_nl_runtime.runtime import IntentClassifier\n"
                   "else:\n    from hf_pipeline.runtime import IntentClassifier\n")
    with pytest.raises(SpaceBuildError, match=r"imports sqry_nl_runtime \(sqry_nl_runtime\."
                                              r"runtime, sqry_nl_runtime\.runtime\."
                                              r"IntentClassifier\)"):
        app_roots(app)


@pytest.fixture(scope="module")
def space_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_space_folder(tmp_path_factory.mktemp("space") / "space", model_repo=MODEL_REPO,
                              model_revision=MODEL_TAG, model_commit=COMMIT,
                              space_repo="me/sqry-nl-demo")


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_space_folder_holds_the_app_the_generated_runtime_and_its_config(
        space_dir: Path) -> None:
    files = files_of(space_dir)
    closure = runtime_closure([RUNTIME_ROOT, *app_roots()])
    generated = sorted(f for f in files if f.startswith(f"{SPACE_PACKAGE}/"))
    assert sorted(f for f in files if "/" not in f) == TOP_FILES
    assert len(generated) == len(closure.modules)
    assert f"{SPACE_PACKAGE}/__init__.py" in generated
    assert f"{SPACE_PACKAGE}/runtime/classifier.py" in generated
    app = files["app.py"].decode("utf-8")
    assert app.startswith("# Generated from spaces_demo/app.py")
    assert app.split("\n", 1)[1] == rename_package(space_app().read_text(encoding="utf-8"))
    assert "from sqry_nl_runtime.runtime import (" in app
    config = json.loads(files["space_config.json"])
    assert (config["model_repo"], config["model_revision"], config["model_commit"]) == (
        MODEL_REPO, MODEL_TAG, COMMIT)
    assert set(config["runtime_sources"]) == set(closure.modules)
    for name in [*generated, "app.py"]:
        text = files[name].decode("utf-8")
        assert text.startswith("# Generated from spaces_demo/" if name == "app.py"
                               else "# Generated from hf_pipeline/")
        names = {t.string for t in tokenize.generate_tokens(StringIO(text).readline)
                 if t.type == tokenize.NAME}
        assert "hf_pipeline" not in names, name


def test_requirements_pin_what_the_space_imports(space_dir: Path) -> None:
    lines = (space_dir / "requirements.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines)
    assert all(any(name.lower().startswith(p) for name in pins) for p in PINNED), pins
    for dist, version in pins.items():
        assert importlib.metadata.version(dist) == version
    assert not {"torch", "transformers", "datasets", "accelerate"} & {d.lower() for d in pins}


def test_readme_front_matter_is_a_gradio_space_card(space_dir: Path) -> None:
    from huggingface_hub import SpaceCard as HubSpaceCard

    text = (space_dir / "README.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta == {
        "title": "sqry-nl intent classifier", "emoji": "🔎", "colorFrom": "indigo",
        "colorTo": "blue", "sdk": "gradio", "sdk_version": importlib.metadata.version("gradio"),
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "app_file": "app.py", "models": [MODEL_REPO],
        "short_description": SpaceCard().short_description, "license": "mit", "pinned": False}
    assert HubSpaceCard(text).data.sdk == "gradio"
    assert 'Client("me/sqry-nl-demo")' in text and 'api_name="/classify"' in text


def test_same_inputs_same_bytes_and_no_stale_folder(space_dir: Path, tmp_path: Path) -> None:
    again = build_space_folder(tmp_path / "again", model_repo=MODEL_REPO,
                               model_revision=MODEL_TAG, model_commit=COMMIT,
                               space_repo="me/sqry-nl-demo")
    assert files_of(again) == files_of(space_dir)
    with pytest.raises(OutputError, match="exists and is not an empty folder"):
        build_space_folder(again, model_repo=MODEL_REPO, model_revision=MODEL_TAG)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"model_repo": "no-namespace"}, "model_repo: got 'no-namespace', expected a Hub repo id"),
    ({"model_revision": " "}, "model_revision: got ' ', expected a tag, branch or commit"),
])
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"model_repo": MODEL_REPO, "model_revision": MODEL_TAG} | kwargs
    with pytest.raises(ValueError, match=message):
        build_space_folder(tmp_path / "s", **args)


def test_space_card_checks_its_values() -> None:
    with pytest.raises(ValueError, match="color_from: got 'teal'"):
        SpaceCard(color_from="teal")
    with pytest.raises(ValueError, match=r"short_description: .* 1 to 60 characters"):
        SpaceCard(short_description="x" * 61)


@pytest.mark.slow
def test_generated_runtime_classifies_like_hf_pipeline_without_it(
        space_dir: Path, tiny_release_dir: Path, tmp_path: Path, tiny_classifier) -> None:
    """The generated package alone (hf_pipeline blocked) gives the same probabilities."""
    block = blocker_dir(tmp_path)
    env = app_env({"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{block}:{space_dir}"})
    proof = subprocess.run([sys.executable, "-c", "import hf_pipeline"], env=env,
                           capture_output=True, text=True, cwd=tmp_path)
    assert proof.returncode == 1 and "blocked: a Space has no hf_pipeline" in proof.stderr
    script = ("import json, sys; from sqry_nl_runtime.runtime import IntentClassifier; "
              "c = IntentClassifier.from_dir(sys.argv[1]); "
              "print(json.dumps([p.to_dict() for p in c.predict(sys.argv[2:])]))")
    queries = ["who calls main", "draw the call graph of login", ""]
    run = subprocess.run([sys.executable, "-c", script, str(tiny_release_dir), *queries],
                         env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    expected = [p.to_dict() for p in tiny_classifier.predict(queries)]
    assert json.loads(run.stdout) == expected

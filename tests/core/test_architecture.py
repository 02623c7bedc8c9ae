"""The layers of hf_pipeline, checked on the source: dependencies point one way.

A module may import modules of its own layer or of lower layers, never of a higher one,
inside functions included. CLI modules (``*.cli``, the top-level ``cli``) are the
composition layer and may import anything, except the runtime's: the runtime stands alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_pipeline.imports import (
    PACKAGE_DIR,
    STAGES,
    external_imports,
    internal_imports,
    module_files,
)

# Lowest first. A module belongs to the longest prefix that names it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("hf_pipeline", "hf_pipeline.intents", "hf_pipeline.contract", "hf_pipeline.errors",
     "hf_pipeline.io", "hf_pipeline.config", "hf_pipeline.provenance", "hf_pipeline.imports",
     "hf_pipeline.hub_client", "hf_pipeline.limits", "hf_pipeline.cli_options",
     "hf_pipeline.repo_ids"),
    # The model folder's format: read by the runtime, written by release and calibrate.
    ("hf_pipeline.model_folder", "hf_pipeline.model_folder.layout",
     "hf_pipeline.model_folder.manifest", "hf_pipeline.model_folder.checksums",
     "hf_pipeline.model_folder.archive", "hf_pipeline.model_folder.temperature",
     "hf_pipeline.model_folder.folder", "hf_pipeline.model_folder.int8"),
    # Writing a model folder: for the stages that write one, never the runtime's.
    ("hf_pipeline.model_folder.update",),
    ("hf_pipeline.runtime",),
    ("hf_pipeline.data_sources", "hf_pipeline.base_model", "hf_pipeline.hub",
     "hf_pipeline.feedback.requests"),
    ("hf_pipeline.generate",),
    ("hf_pipeline.devset", "hf_pipeline.verify"),
    ("hf_pipeline.train",),
    ("hf_pipeline.export",),
    ("hf_pipeline.release",),
    ("hf_pipeline.calibrate",),
    # The feedback review publishes a requests dataset; its format (requests) is lower.
    ("hf_pipeline.publish", "hf_pipeline.feedback"),
    ("hf_pipeline.pipeline",),
    ("hf_pipeline.cli", "hf_pipeline.__main__"),
)
# What the runtime may need from outside the standard library.
RUNTIME_THIRD_PARTY = {"numpy", "onnxruntime", "tokenizers", "huggingface_hub"}
FORBIDDEN_IN_RUNTIME = {"torch", "transformers", "datasets", "accelerate", "evaluate", "onnx",
                        "sklearn", "netcal", "matplotlib", "gradio", "yaml"}


def layer_of(module: str) -> int:
    best, rank = -1, None
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, rank = len(name), i
    if rank is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return rank


def is_cli(module: str) -> bool:
    return module.split(".")[-1] in ("cli", "__main__") and not module.startswith(
        "hf_pipeline.runtime")


def upward_imports(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Every import of a higher layer, as 'a -> b' lines."""
    graph = internal_imports(module_files(package_dir))
    return sorted(f"{a} (layer {layer_of(a)}) -> {b} (layer {layer_of(b)})"
                  for a, targets in graph.items() if not is_cli(a)
                  for b in targets if layer_of(b) > layer_of(a))


def runtime_problems(package_dir: Path = PACKAGE_DIR) -> list[str]:
    modules = module_files(package_dir)
    graph = internal_imports(modules)
    stage_prefixes = tuple(f"hf_pipeline.{s}" for s in STAGES)
    problems = []
    for name, path in modules.items():
        if not name.startswith("hf_pipeline.runtime"):
            continue
        problems += [f"{name} -> {b}" for b in sorted(graph[name])
                     if any(b == s or b.startswith(s + ".") for s in stage_prefixes)]
        problems += [f"{name} -> {ext}" for ext in sorted(external_imports(path, name))
                     if ext in FORBIDDEN_IN_RUNTIME]
    return problems


def test_every_module_has_a_layer() -> None:
    for module in module_files():
        layer_of(module)


def test_no_module_imports_a_higher_layer() -> None:
    assert upward_imports() == []


def test_the_runtime_imports_no_stage_and_no_training_library() -> None:
    assert runtime_problems() == []


def package_with(tmp_path: Path, module: str, appended: str) -> Path:
    """A copy of the package with ``appended`` added to ``module`` (a path inside it)."""
    import shutil

    copy = tmp_path / "hf_pipeline"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + appended, encoding="utf-8")
    return copy


def test_the_check_catches_an_upward_import_inside_a_function(tmp_path: Path) -> None:
    """The checks can fail: a copy of the package with one lazy upward import is caught."""
    copy = package_with(tmp_path, "runtime/hygiene.py", "\n\ndef _sneaky():\n"
                        "    from hf_pipeline.train.inference import TorchClassifier\n"
                        "    return TorchClassifier\n")
    assert upward_imports(copy) == [
        "hf_pipeline.runtime.hygiene (layer 3) -> hf_pipeline.train.inference (layer 7)"]
    assert runtime_problems(copy) == [
        "hf_pipeline.runtime.hygiene -> hf_pipeline.train.inference"]


def test_the_runtime_may_not_import_the_write_machinery(tmp_path: Path) -> None:
    """Reading a model folder never needs the staging/swap/renameat2 code: a runtime module
    that imports it is caught, and so the Space never ships it."""
    copy = package_with(tmp_path, "runtime/onnx.py", "\n\ndef _refresh(folder):\n"
                        "    from hf_pipeline.model_folder.update import update_folder\n"
                        "    return update_folder(folder, {})\n")
    assert upward_imports(copy) == []  # not a layer violation as such: the runtime rule
    assert runtime_problems(copy) == [
        "hf_pipeline.runtime.onnx -> hf_pipeline.model_folder.update"]


@pytest.mark.parametrize("module", ["torch", "transformers", "datasets"])
def test_runtime_third_party_imports_are_the_allowed_ones(module: str) -> None:
    modules = module_files()
    used = set().union(*(external_imports(p, n) for n, p in modules.items()
                         if n.startswith("hf_pipeline.runtime")))
    assert module not in used
    import sys

    third_party = {m for m in used if m not in sys.stdlib_module_names and m != "__future__"}
    assert third_party <= RUNTIME_THIRD_PARTY

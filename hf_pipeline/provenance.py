"""What every stage records about how it ran: library versions (one list for all stages)."""

from __future__ import annotations

import importlib.metadata
import platform

LIBRARIES: tuple[str, ...] = (
    "hf-pipeline", "torch", "transformers", "accelerate", "datasets", "evaluate", "tokenizers",
    "safetensors", "huggingface_hub", "onnx", "onnxruntime", "onnxscript", "numpy",
    "scikit-learn", "netcal",
)


def library_versions() -> dict[str, str | None]:
    """Python and each library's installed version (None when it is not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions

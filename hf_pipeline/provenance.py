"""What every stage records about how it ran: library versions (one list for all stages) and
the commit of the code."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from pathlib import Path

from hf_pipeline import __version__

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the checkout (or site-packages)

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


def git_commit() -> str:
    """The commit of the checkout this package runs from ("-dirty" with uncommitted changes
    to tracked files), or the package version when it is not a git checkout."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=PACKAGE_ROOT, capture_output=True,
                                 text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return f"hf-pipeline-{__version__}"
    return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")

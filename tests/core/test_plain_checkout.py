"""``python -m hf_pipeline --help`` from a plain checkout: the source tree copied, nothing
installed. The installed (editable) package must not help: its finder maps the asset folders
to another checkout, which is how a path resolved at import time once went unnoticed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from fixtures.hub_server import REPO_ROOT

SOURCES = ("pyproject.toml", "setup.py", "hf_pipeline", "dataset_card", "model_card",
           "spaces_demo")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkout")
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, root / name)
    return root


def plain_python(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -S``: no site module, so no .pth file runs (the editable install's finder is
    one); the dependencies come from site-packages on PYTHONPATH, after the checkout."""
    path = ":".join([str(checkout), sysconfig.get_paths()["purelib"]])
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": path, "PYTHONNOUSERSITE": "1",
           "HOME": str(checkout)}
    return subprocess.run([sys.executable, "-S", *args], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_copy_is_what_runs(checkout: Path) -> None:
    done = plain_python(checkout, "-c", "import hf_pipeline, importlib.util as u; "
                        "print(hf_pipeline.__file__); "
                        "print(u.find_spec('hf_pipeline.assets.dataset_card'))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == [str(checkout / "hf_pipeline" / "__init__.py"),
                                           "None"]


@pytest.mark.parametrize("argv", [["--help"], ["dataset", "publish", "--help"],
                                  ["review", "--help"]])
def test_help_works_from_a_plain_checkout(checkout: Path, argv: list[str]) -> None:
    done = plain_python(checkout, "-m", "hf_pipeline", *argv)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: hf-pipeline") and done.stderr == ""

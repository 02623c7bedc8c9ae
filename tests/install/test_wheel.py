"""A plain wheel install (no -e) carries what the package reads at run time: the card
templates and the Space files of the repository's top-level folders."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.hub_server import REPO_ROOT, LocalHub

pytestmark = [pytest.mark.slow, pytest.mark.hub]

SOURCES = ("pyproject.toml", "setup.py", "README.md", "hf_pipeline", "dataset_card",
           "model_card", "spaces_demo")


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding only the wheel; the dependencies come from this
    environment's site-packages through a .pth path (whose own .pth files, the editable
    install among them, are not processed), so nothing is downloaded."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(path, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(root / "dist"), str(src)],
                   check=True, cwd=root)
    [wheel] = (root / "dist").glob("hf_pipeline-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
         "['purelib'])"], check=True, capture_output=True, text=True).stdout.strip())
    (site / "deps_from_dev_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "--quiet", "--no-deps", str(wheel)], check=True, cwd=root)
    return venv


def test_the_wheel_installs_the_package_not_the_checkout(wheel_venv: Path,
                                                         tmp_path: Path) -> None:
    code = ("import hf_pipeline; from hf_pipeline.assets import asset_dir; "
            "print(hf_pipeline.__file__); print(asset_dir('dataset_card'));"
            "print(asset_dir('model_card')); print(asset_dir('spaces_demo'))")
    out = subprocess.run([str(wheel_venv / "bin" / "python"), "-c", code], check=True,
                         capture_output=True, text=True, cwd=tmp_path).stdout.split()
    assert all(line.startswith(str(wheel_venv)) for line in out), out
    assert (Path(out[1]) / "template.md").is_file()


def test_publish_dataset_from_a_wheel_install(wheel_venv: Path, local_hub: LocalHub,
                                              hub_repo_id: Callable[[str], str],
                                              tmp_path: Path) -> None:
    env = local_hub.client_env(tmp_path / "hf_home")
    cli = str(wheel_venv / "bin" / "hf-pipeline")
    data = tmp_path / "data"
    subprocess.run([cli, "generate", "--samples-per-intent", "20", "--allow-small",
                    "--output", str(data)], check=True, cwd=tmp_path, env=env,
                   capture_output=True)
    repo = hub_repo_id("wheel")
    done = subprocess.run([cli, "dataset", "publish", str(data), "--repo-id", repo, "--tag",
                           "v1.0.0"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    from huggingface_hub import HfApi

    api = HfApi(endpoint=local_hub.url, token=local_hub.token)
    files = api.list_repo_files(repo, repo_type="dataset", revision="v1.0.0")
    assert "README.md" in files
    card = api.hf_hub_download(repo, "README.md", repo_type="dataset", revision="v1.0.0",
                               cache_dir=tmp_path / "cache")
    assert "sqry" in Path(card).read_text(encoding="utf-8")

"""Only what pyproject.toml cannot say: the top-level card and Space folders are shipped
inside the package as ``hf_pipeline.assets.<folder>`` (see hf_pipeline/assets)."""

from setuptools import find_namespace_packages, setup

ASSET_FOLDERS = ("dataset_card", "model_card", "spaces_demo")

setup(
    # Namespace packages too: data-only folders (generate/templates) have no __init__.py.
    packages=[*find_namespace_packages(include=["hf_pipeline*"], exclude=["*__pycache__*"]),
              *(f"hf_pipeline.assets.{name}" for name in ASSET_FOLDERS)],
    package_dir={f"hf_pipeline.assets.{name}": name for name in ASSET_FOLDERS},
)

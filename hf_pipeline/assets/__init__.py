"""Files the package ships from the repository's top-level folders.

``dataset_card/``, ``model_card/`` and ``spaces_demo/`` stay at the top of the repository
(people look for them there), and setup.py maps them into the package as
``hf_pipeline.assets.<folder>``, so a plain ``pip install .`` (a wheel, not ``-e``) carries
them too. Read them through ``asset_dir`` only: never through paths relative to this file.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from hf_pipeline.errors import DataFileError

ASSET_FOLDERS: tuple[str, ...] = ("dataset_card", "model_card", "spaces_demo")
# The checkout this package runs from, if it runs from one (setup.py is never installed).
CHECKOUT = Path(__file__).resolve().parents[2]


def asset_dir(folder: str) -> Path:
    """The repository's top-level ``folder``: the checkout's own when the package runs from
    a checkout (installed or not: an editable install shared by several checkouts, such as
    git worktrees, maps the assets to one of them), else the installed copy."""
    if folder not in ASSET_FOLDERS:
        raise ValueError(f"unknown asset folder {folder!r}; one of {', '.join(ASSET_FOLDERS)}")
    if (CHECKOUT / "setup.py").is_file() and (CHECKOUT / folder).is_dir():
        return CHECKOUT / folder
    try:
        path = Path(str(files(f"{__name__}.{folder}")))
    except ModuleNotFoundError:
        path = CHECKOUT / folder
    if not path.is_dir():
        raise DataFileError(path, f"the package's {folder}/ files are missing.",
                            fix="reinstall hf-pipeline (pip install .) from a full checkout.")
    return path

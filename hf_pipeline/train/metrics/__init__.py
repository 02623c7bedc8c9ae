"""`evaluate` metric modules shipped with the package and loaded by path.

``evaluate.load("accuracy")`` fetches the script from the Hub, which this project never does
at run time; these modules are small equivalents of the Hub's, loaded with
``evaluate.load(metric_path(name))``.
"""

from __future__ import annotations

from pathlib import Path

METRICS = ("accuracy", "f1", "confusion_matrix")


def metric_path(name: str) -> str:
    """Path of the packaged metric script ``name`` (one of METRICS)."""
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; packaged metrics: {', '.join(METRICS)}")
    return str(Path(__file__).with_name(f"{name}.py"))

"""Reliability diagrams: real PNGs, one panel per plot, written atomically."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from hf_pipeline.calibrate.diagrams import Panel, reliability_diagram
from hf_pipeline.calibrate.metrics import reliability_bins, set_metrics

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DPI, WIDTH_IN, HEIGHT_IN = 110, 5.2, 5  # diagrams.py: 5.2 x 5 inches per panel at 110 dpi


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def panel(title: str, probs: np.ndarray, labels: np.ndarray) -> Panel:
    return Panel(title, reliability_bins(probs, labels), set_metrics(probs, labels))


@pytest.fixture(scope="module")
def panels() -> list[Panel]:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(200, 8))
    labels = rng.integers(0, 8, 200)
    soft = [np.exp(logits / t) / np.exp(logits / t).sum(1, keepdims=True) for t in (1, 3)]
    return [panel("before", soft[0], labels), panel("after", soft[1], labels)]


@pytest.mark.parametrize("n", [1, 2])
def test_one_panel_per_plot_side_by_side(panels: list[Panel], tmp_path: Path, n: int) -> None:
    path = tmp_path / "new" / "folder" / "diagram.png"  # missing parents are created
    assert reliability_diagram(path, panels[:n], title="t") == path
    assert png_size(path.read_bytes()) == (round(n * WIDTH_IN * DPI), round(HEIGHT_IN * DPI))
    assert [p.name for p in path.parent.iterdir()] == ["diagram.png"]  # no temp file left


def test_a_single_filled_bin_and_confidence_one(tmp_path: Path) -> None:
    """Everything in the last bin (confidence exactly 1), all other bins empty."""
    probs = np.eye(8)[[0, 1, 2, 3]]
    labels = np.array([0, 1, 2, 0])
    path = reliability_diagram(tmp_path / "d.png", [panel("edge", probs, labels)], title="t")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_a_failed_write_keeps_the_old_diagram(panels: list[Panel], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    path = tmp_path / "d.png"
    path.write_bytes(b"old")

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        reliability_diagram(path, panels, title="t")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["d.png"]

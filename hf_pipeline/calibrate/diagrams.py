"""Reliability diagrams as PNG: accuracy per confidence bin against the diagonal, with the
number of samples written on each bin and the runtime's thresholds marked.

matplotlib's Agg canvas renders the figure to memory (no display, no pyplot state); the
PNG is written atomically.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_pipeline.calibrate.metrics import ReliabilityBin, SetMetrics
from hf_pipeline.contract import CONFIRM_THRESHOLD, EXECUTE_THRESHOLD
from hf_pipeline.io import atomic_write_bytes


@dataclass(frozen=True)
class Panel:
    """One reliability plot: its heading, its bins and the metrics printed under it."""

    title: str
    bins: Sequence[ReliabilityBin]
    metrics: SetMetrics


def _draw(ax: Any, panel: Panel) -> None:
    width = panel.bins[0].upper - panel.bins[0].lower
    filled = [b for b in panel.bins if b.count]
    centers = [(b.lower + b.upper) / 2 for b in filled]
    ax.bar(centers, [b.accuracy for b in filled], width=width, color="#4c72b0",
           edgecolor="black", linewidth=0.5, label="accuracy")
    # The gap between confidence and accuracy, per bin: what ECE averages.
    ax.bar(centers, [b.confidence - b.accuracy for b in filled],
           bottom=[b.accuracy for b in filled], width=width, color="#dd8452", alpha=0.45,
           edgecolor="#c44e52", hatch="//", linewidth=0.5, label="gap to confidence")
    ax.plot([0, 1], [0, 1], "--", color="gray", linewidth=1, label="perfect calibration")
    for x, name in ((CONFIRM_THRESHOLD, "confirm"), (EXECUTE_THRESHOLD, "execute")):
        ax.axvline(x, color="green", linestyle=":", linewidth=1)
        ax.text(x, 1.005, name, color="green", fontsize=7, ha="center", va="bottom")
    for x, b in zip(centers, filled, strict=True):
        ax.text(x, max(b.accuracy, b.confidence) + 0.02, str(b.count), fontsize=7,
                ha="center", va="bottom", rotation=90)
    m = panel.metrics
    ax.set_title(f"{panel.title}\nECE {m.ece:.4f}  MCE {m.mce:.3f}  NLL {m.nll:.3f}  "
                 f"Brier {m.brier:.3f}  n={m.samples}", fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.15)
    ax.set_xlabel("confidence (top-label probability); number = samples in bin")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left", fontsize=7)


def reliability_diagram(path: str | Path, panels: Sequence[Panel], *, title: str) -> Path:
    """Draw ``panels`` side by side into a PNG at ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A bare Figure on the Agg canvas: no pyplot, so no global backend or figure registry.
    fig = Figure(figsize=(5.2 * len(panels), 5))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        _draw(ax, panel)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return atomic_write_bytes(path, buffer.getvalue())

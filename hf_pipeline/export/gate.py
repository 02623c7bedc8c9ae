"""The INT8 accuracy gate: fp32 vs INT8 on the template test split and the human dev set.

A drop over the budget raises (it is an acceptance criterion, not a warning); the report
keeps both accuracies, the drop in points, and the share of identical predictions per set.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.data_sources import TextSet
from hf_pipeline.errors import CheckFailedError, PipelineError
from hf_pipeline.export.config import ExportConfig
from hf_pipeline.intents import INTENTS

if TYPE_CHECKING:
    from hf_pipeline.runtime.onnx import OnnxClassifier

log = logging.getLogger(__name__)

MAX_EXAMPLES = 10  # regressions listed per set (fp32 right, INT8 wrong)

EvalSet = TextSet


class AccuracyGateError(CheckFailedError, ValueError):
    """INT8 accuracy fell more than the budget below fp32; ``report`` has the details."""

    def __init__(self, message: str, report: GateReport) -> None:
        self.report = report
        super().__init__(message)


@dataclass(frozen=True)
class SetResult:
    name: str
    samples: int
    accuracy_fp32: float
    accuracy_int8: float
    drop_points: float  # (fp32 - INT8) accuracy in percentage points; negative = INT8 better
    agreement: float  # share of samples where both predict the same label
    regressions: tuple[dict[str, str], ...] = field(default=())


@dataclass(frozen=True)
class GateReport:
    max_drop_points: float
    target_drop_points: float
    sets: tuple[SetResult, ...]

    @property
    def passed(self) -> bool:
        return all(s.drop_points <= self.max_drop_points for s in self.sets)

    @property
    def meets_target(self) -> bool:
        return all(s.drop_points <= self.target_drop_points for s in self.sets)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "meets_target": self.meets_target,
                "max_drop_points": self.max_drop_points,
                "target_drop_points": self.target_drop_points,
                "sets": [asdict(s) for s in self.sets]}

    def table(self) -> str:
        lines = [f"{'set':<10} {'n':>6} {'fp32':>8} {'int8':>8} {'drop':>7} {'same':>8}"]
        lines += [f"{s.name:<10} {s.samples:>6} {s.accuracy_fp32:>8.2%} {s.accuracy_int8:>8.2%}"
                  f" {s.drop_points:>+7.2f} {s.agreement:>8.2%}" for s in self.sets]
        return "\n".join(lines)


def compare_set(name: str, texts: Sequence[str], labels: Sequence[int], *,
                fp32: OnnxClassifier, int8: OnnxClassifier, batch_size: int) -> SetResult:
    """Accuracy of both models on one set, the drop, and the share of equal predictions."""
    import numpy as np

    gold = np.asarray(labels)
    pred32 = fp32.predict(texts, batch_size=batch_size)
    pred8 = int8.predict(texts, batch_size=batch_size)
    acc32, acc8 = float((pred32 == gold).mean()), float((pred8 == gold).mean())
    flipped = np.flatnonzero((pred32 == gold) & (pred8 != gold))[:MAX_EXAMPLES]
    regressions = tuple({"text": texts[i], "gold": INTENTS[gold[i]],
                         "int8": INTENTS[pred8[i]]} for i in flipped)
    return SetResult(name, len(gold), acc32, acc8, round((acc32 - acc8) * 100, 4),
                     float((pred32 == pred8).mean()), regressions)


def compare(fp32: OnnxClassifier, int8: OnnxClassifier, sets: Mapping[str, EvalSet], *,
            cfg: ExportConfig) -> GateReport:
    """Run the gate over ``sets``; raise AccuracyGateError if any drop exceeds the budget."""
    results = []
    for name, (texts, labels) in sets.items():
        if len(texts) == 0 or len(texts) != len(labels):
            raise PipelineError(f"evaluation set {name!r}: {len(texts)} texts and "
                                f"{len(labels)} labels; expected a non-empty, equal count.")
        results.append(compare_set(name, texts, labels, fp32=fp32, int8=int8,
                                   batch_size=cfg.eval_batch_size))
    report = GateReport(cfg.max_drop_points, cfg.target_drop_points, tuple(results))
    log.info("INT8 accuracy gate:\n%s", report.table())
    if not report.passed:
        raise AccuracyGateError(_failure_message(report, int8.path), report)
    if not report.meets_target:
        log.warning("INT8 drop is within the %.2f-point budget but above the %.2f-point target",
                    report.max_drop_points, report.target_drop_points)
    return report


def _failure_message(report: GateReport, int8_path: Path) -> str:
    lines = [f"{int8_path}: INT8 accuracy drop over the {report.max_drop_points:g}-point budget:"]
    for s in report.sets:
        if s.drop_points > report.max_drop_points:
            lines.append(f"  {s.name}: fp32 {s.accuracy_fp32:.2%}, INT8 {s.accuracy_int8:.2%}, "
                         f"drop {s.drop_points:.2f} points, same prediction {s.agreement:.2%} "
                         f"of {s.samples}")
            lines += [f"    {r['text']!r}: gold {r['gold']}, INT8 {r['int8']}"
                      for r in s.regressions]
    lines.append("Fix: try `--preset portable_pc` (per-channel scales) or `--preset matmul` "
                 "(embeddings stay fp32), or retrain; do not ship this INT8 model.")
    return "\n".join(lines)


def run_gate(fp32_path: str | Path, int8_path: str | Path, *, tokenizer: str | Path,
             sets: Mapping[str, EvalSet], cfg: ExportConfig | None = None) -> GateReport:
    """The gate over model files (fp32 and INT8 ONNX) and a tokenizer.json."""
    from hf_pipeline.runtime.onnx import OnnxClassifier, load_tokenizer

    cfg = cfg or ExportConfig()
    tok = load_tokenizer(tokenizer)
    # threads=0: onnxruntime's default (all cores); the gate is batch work, not latency.
    fp32 = OnnxClassifier(fp32_path, tokenizer=tok, threads=0)
    int8 = OnnxClassifier(int8_path, tokenizer=tok, threads=0)
    return compare(fp32, int8, sets, cfg=cfg)

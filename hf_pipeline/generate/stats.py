"""Statistics of a generated dataset and the stats-based acceptance checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from hf_pipeline.contract import SPLITS
from hf_pipeline.generate.sampling import OPTION_SOURCE, Sample, dedup_key
from hf_pipeline.generate.templates import Template
from hf_pipeline.intents import AMBIGUOUS, INTENTS

MIN_PER_INTENT = 1000


def compute_stats(samples: Sequence[Sample], templates: dict[str, list[Template]], *,
                  dev_overlap_dropped: int = 0, calibration_overlap_dropped: int = 0
                  ) -> dict[str, Any]:
    per_split = {split: Counter(s.intent for s in samples if s.split == split)
                 for split in SPLITS}
    groups = {t.template_id: t.group for ts in templates.values() for t in ts}
    used = {s.template_id for s in samples}
    keys = [dedup_key(s.text) for s in samples]
    return {
        "total": len(samples),
        "per_intent": {i: sum(per_split[s][i] for s in SPLITS) for i in INTENTS},
        "per_split": {s: {i: per_split[s][i] for i in INTENTS} for s in SPLITS},
        "per_source": dict(sorted(Counter(s.source for s in samples).items())),
        "per_group": dict(sorted(Counter(groups.get(s.template_id, "?")
                                         for s in samples).items())),
        "unique_ratio": round(len(set(keys)) / max(len(keys), 1), 6),
        "templates": {i: len(templates[i]) for i in INTENTS},
        "templates_used": {i: sum(1 for t in templates[i] if t.template_id in used)
                           for i in INTENTS},
        "mean_words": round(sum(len(s.text.split()) for s in samples) / max(len(samples), 1), 2),
        "with_option": {i: sum(1 for s in samples if s.intent == i and s.source.endswith(
            OPTION_SOURCE)) for i in INTENTS},
        # generated texts equal (up to case and spacing) to a human dev-set text, dropped
        "dev_overlap_dropped": dev_overlap_dropped,
        # ... and equal to a human calibration-set text (not also a dev-set text), dropped
        "calibration_overlap_dropped": calibration_overlap_dropped,
    }


def acceptance_problems(stats: dict[str, Any], *, min_per_intent: int = MIN_PER_INTENT
                        ) -> list[str]:
    """Empty when the set is balanced, large enough, unique and has negative examples."""
    problems = []
    for split, counts in stats["per_split"].items():
        if len(set(counts.values())) != 1:
            problems.append(f"split {split} is not balanced: {counts}")
    small = {i: n for i, n in stats["per_intent"].items() if n < min_per_intent}
    if small:
        problems.append(f"fewer than {min_per_intent} samples for {small}")
    if stats["unique_ratio"] != 1.0:
        problems.append(f"duplicate texts: unique ratio {stats['unique_ratio']}")
    if any(stats["per_split"][s][AMBIGUOUS] == 0 for s in SPLITS):
        problems.append("no Ambiguous (negative) samples in some split")
    if stats["per_group"].get("border", 0) == 0:
        problems.append("no hard negatives (template group 'border') were sampled")
    return problems


def format_stats(stats: dict[str, Any]) -> str:
    """A plain-text table for the terminal."""
    lines = [f"{'intent':<13}{'templates':>10}{'used':>6}" + "".join(f"{s:>12}" for s in SPLITS)
             + f"{'total':>8}"]
    for i in INTENTS:
        lines.append(f"{i:<13}{stats['templates'][i]:>10}{stats['templates_used'][i]:>6}"
                     + "".join(f"{stats['per_split'][s][i]:>12}" for s in SPLITS)
                     + f"{stats['per_intent'][i]:>8}")
    total = stats["total"]
    lines.append("sources: " + ", ".join(
        f"{k} {v} ({v / total:.1%})" for k, v in stats["per_source"].items()))
    lines.append("groups: " + ", ".join(f"{k} {v}" for k, v in stats["per_group"].items()))
    if "with_option" in stats:
        lines.append("with an option phrase: " + ", ".join(
            f"{i} {n}" for i, n in stats["with_option"].items() if n))
    lines.append(f"samples {total}, unique ratio {stats['unique_ratio']:.4f}, "
                 f"mean words {stats['mean_words']}, dropped as dev-set overlap "
                 f"{stats.get('dev_overlap_dropped', 0)}, as calibration-set overlap "
                 f"{stats.get('calibration_overlap_dropped', 0)}")
    return "\n".join(lines)

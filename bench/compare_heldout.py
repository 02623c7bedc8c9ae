"""Two model folders on the template lines that NEITHER was trained on.

A change to the templates or to how they are split changes which lines are held out, so two
runs' own validation and test splits hold different lines and do not compare. The lines held
out of both runs (validation or test in both datasets) do: this scores both folders on every
sample of those lines from either dataset (texts de-duplicated), through the runtime, one
query at a time as sqry runs it, and prints accuracy, the four sqry tiers, and the paired
difference with its standard error, counted by template line (samples of one line are not
independent). ``--splits validation`` keeps only lines that are validation lines in both
datasets: what may choose a change (the test split is for the record).

    python bench/compare_heldout.py out_before/release out_before/data/dataset.json \\
        out/release out/data/dataset.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before", type=Path, help="model folder A (a release)")
    p.add_argument("before_data", type=Path, help="A's dataset.json")
    p.add_argument("after", type=Path, help="model folder B (a release)")
    p.add_argument("after_data", type=Path, help="B's dataset.json")
    p.add_argument("--splits", choices=("held-out", "validation"), default="held-out",
                   help="lines held out of both (validation or test), or validation in both")
    return p.parse_args(argv)


def held_out_of_both(a: list[dict[str, Any]], b: list[dict[str, Any]], *,
                     splits: tuple[str, ...] = ("validation", "test")) -> list[dict[str, Any]]:
    """The samples (from either dataset) of template lines in ``splits`` in both datasets,
    so held out of both trainings; texts once."""
    def lines(samples: list[dict[str, Any]], wanted: tuple[str, ...]) -> set[str]:
        return {s["template_id"] for s in samples if s["split"] in wanted}
    both = lines(a, splits) & lines(b, splits)
    assert not both & (lines(a, ("train",)) | lines(b, ("train",))), "a held-out line trained"
    seen: set[str] = set()
    rows = []
    for s in a + b:
        key = s["text"].lower()
        if s["split"] in splits and s["template_id"] in both and key not in seen:
            seen.add(key)
            rows.append(s)
    return rows


def outcomes(folder: Path, rows: list[dict[str, Any]]) -> tuple[list[bool], Any]:
    """Each row right or not, and the set's metrics (``SetMetrics``, the four sqry tiers
    included), as the runtime answers, one query at a time."""
    import numpy as np

    from hf_pipeline.calibrate.metrics import set_metrics
    from hf_pipeline.runtime import IntentClassifier

    classifier = IntentClassifier.from_dir(folder)
    predictions = [classifier.predict([r["text"]])[0] for r in rows]
    labels = list(predictions[0].probabilities)  # the runtime's label order
    probs = np.array([[p.probabilities[label] for label in labels] for p in predictions])
    right = [p.intent == r["intent"] for p, r in zip(predictions, rows, strict=True)]
    return right, set_metrics(probs, [labels.index(r["intent"]) for r in rows])


def summary(name: str, m: Any) -> str:
    n = m.samples
    return (f"{name}: accuracy {m.accuracy:.2%} ({round(m.accuracy * n)}/{n}); right executed "
            f"{m.right_executed / n:.2%}, right asked {m.right_asked / n:.2%}, wrong asked "
            f"{m.wrong_asked / n:.2%}, wrong executed {m.confident_errors / n:.2%} "
            f"({m.confident_errors})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    a = json.loads(args.before_data.read_text(encoding="utf-8"))["samples"]
    b = json.loads(args.after_data.read_text(encoding="utf-8"))["samples"]
    splits = ("validation",) if args.splits == "validation" else ("validation", "test")
    rows = held_out_of_both(a, b, splits=splits)
    lines = len({r["template_id"] for r in rows})
    print(f"template lines in {' or '.join(splits)} in both datasets: {lines}; their "
          f"samples: {len(rows)}")
    (ra, ma), (rb, mb) = outcomes(args.before, rows), outcomes(args.after, rows)
    print(summary(f"A {args.before}", ma))
    print(summary(f"B {args.after}", mb))
    only_b = sum(y and not x for x, y in zip(ra, rb, strict=True))
    only_a = sum(x and not y for x, y in zip(ra, rb, strict=True))
    n = len(rows)
    diff = (only_b - only_a) / n
    # Samples of one template line stand or fall together, so the error is counted by line
    # (cluster-robust): the per-sample figure alone understates it several times.
    per_line: dict[str, list[int]] = {}
    for r, x, y in zip(rows, ra, rb, strict=True):
        per_line.setdefault(r["template_id"], []).append(int(y) - int(x))
    se_line = math.sqrt(sum((sum(d) - len(d) * diff) ** 2 for d in per_line.values())) / n
    se_sample = math.sqrt(only_a + only_b) / n
    print(f"B - A: {diff:+.2%} (right only in B {only_b}, only in A {only_a}); standard error "
          f"{se_line:.2%} counted by template line ({se_sample:.2%} by sample)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

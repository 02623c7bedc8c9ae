"""Two model folders on the template lines that NEITHER was trained on.

A change to the templates or to how they are split changes which lines are held out, so two
runs' own validation and test splits hold different lines and do not compare. The lines held
out of both runs (validation or test in both datasets) do: this scores both folders on every
sample of those lines from either dataset (texts de-duplicated), through the runtime, one
query at a time as sqry runs it, and prints accuracy, the four sqry tiers, and the paired
difference with its standard error (from the discordant pairs).

    python bench/compare_heldout.py out_before/release out_before/data/dataset.json \\
        out/release out/data/dataset.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from hf_pipeline.contract import EXECUTE_THRESHOLD


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before", type=Path, help="model folder A (a release)")
    p.add_argument("before_data", type=Path, help="A's dataset.json")
    p.add_argument("after", type=Path, help="model folder B (a release)")
    p.add_argument("after_data", type=Path, help="B's dataset.json")
    return p.parse_args(argv)


def held_out_of_both(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The samples (from either dataset) of template lines held out of both; texts once."""
    def lines(samples: list[dict[str, Any]], held: bool) -> set[str]:
        return {s["template_id"] for s in samples if (s["split"] != "train") is held}
    both = lines(a, True) & lines(b, True)
    assert not both & (lines(a, False) | lines(b, False)), "a held-out line was trained on"
    seen: set[str] = set()
    rows = []
    for s in a + b:
        key = s["text"].lower()
        if s["split"] != "train" and s["template_id"] in both and key not in seen:
            seen.add(key)
            rows.append(s)
    return rows


def outcomes(folder: Path, rows: list[dict[str, Any]]) -> list[tuple[bool, bool]]:
    """(right, executed) per row, as the runtime answers."""
    from hf_pipeline.runtime import IntentClassifier

    classifier = IntentClassifier.from_dir(folder)
    predictions = [classifier.predict([r["text"]])[0] for r in rows]
    return [(p.intent == r["intent"], p.confidence >= EXECUTE_THRESHOLD)
            for p, r in zip(predictions, rows, strict=True)]


def summary(name: str, result: list[tuple[bool, bool]]) -> str:
    n = len(result)
    right = sum(r for r, _ in result)
    tiers = [sum(r and e for r, e in result), sum(r and not e for r, e in result),
             sum(not r and not e for r, e in result), sum(not r and e for r, e in result)]
    return (f"{name}: accuracy {right / n:.2%} ({right}/{n}); right executed "
            f"{tiers[0] / n:.2%}, right asked {tiers[1] / n:.2%}, wrong asked "
            f"{tiers[2] / n:.2%}, wrong executed {tiers[3] / n:.2%} ({tiers[3]})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    a = json.loads(args.before_data.read_text(encoding="utf-8"))["samples"]
    b = json.loads(args.after_data.read_text(encoding="utf-8"))["samples"]
    rows = held_out_of_both(a, b)
    lines = len({r["template_id"] for r in rows})
    print(f"template lines held out of both: {lines}; their samples: {len(rows)}")
    ra, rb = outcomes(args.before, rows), outcomes(args.after, rows)
    print(summary(f"A {args.before}", ra))
    print(summary(f"B {args.after}", rb))
    only_b = sum(y and not x for (x, _), (y, _) in zip(ra, rb, strict=True))
    only_a = sum(x and not y for (x, _), (y, _) in zip(ra, rb, strict=True))
    se = math.sqrt(only_a + only_b) / len(rows)
    print(f"B - A: {(only_b - only_a) / len(rows):+.2%} (right only in B {only_b}, only in A "
          f"{only_a}; standard error of the difference {se:.2%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

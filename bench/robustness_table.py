"""How people really ask: one table per model folder, as the runtime runs it.

Each folder (a release, or a trained final/ folder) is scored at its own temperature on the
human dev set (all rows, the original rows, the rows added by category), the dev set with one
typo anywhere and with one typo in the word that carries the intent, and the template test
split of ``--data``; plus wrong-at-0.85 and ECE on the dev set. Several folders print side by
side (before / after).

    python bench/robustness_table.py out_before/release out/release --data out/data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sweep_robustness import dev_categories, eval_sets


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", type=Path, help="model folders (release or final/)")
    p.add_argument("--data", required=True, help="dataset whose test split is scored")
    p.add_argument("--typo-seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    return p.parse_args(argv)


ROWS = (("dev", "human dev set, all rows"), ("dev_original", "dev, original 354 rows"),
        ("dev_added", "dev, all added rows (issues 14, 23)"),
        ("dev_latest", "dev, rows added for issue 23"), ("dev_typo", "dev, one typo anywhere"),
        ("dev_intent_typo", "dev, typo in the intent word"),
        ("dev_direction_typo", "dev, typo in a direction word"),
        ("dev_original_typo", "dev original, one typo anywhere"),
        ("dev_original_intent_typo", "dev original, typo in intent word"),
        ("test", "template test split"),
        # the --data dataset's validation split: what may choose a change (not the dev set)
        ("validation", "validation split"),
        ("validation_typo", "validation, one typo anywhere"),
        ("validation_direction_typo", "validation, typo in a direction word"))


def score(folder: Path, sets: dict[str, tuple[list[str], np.ndarray]]) -> dict[str, Any]:
    from hf_pipeline.calibrate.metrics import set_metrics
    from hf_pipeline.runtime.classifier import load_classifier, softmax
    from hf_pipeline.train.inference import load_trained_classifier

    model = load_classifier(folder, batch_size=1, load_trained=load_trained_classifier)
    out: dict[str, Any] = {"temperature": model.temperature}
    for name, (texts, labels) in sets.items():
        logits = model.logits(texts)
        p = softmax(logits, model.temperature)
        out[name] = set_metrics(p, labels).to_dict()
        if name == "dev":
            out["dev_at_t1"] = set_metrics(softmax(logits), labels).to_dict()
        if name == "dev_added":
            out["dev_added_by_category"] = by_category(p, labels)
    return out


def by_category(probs: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, float]]:
    """Accuracy of the added dev rows (``dev_added``, in file order) per category."""
    cats = [c for c in dev_categories() if c is not None]
    right = probs.argmax(axis=1) == labels
    return {c: {"n": cats.count(c),
                "accuracy": float(np.mean([r for r, k in zip(right, cats, strict=True)
                                           if k == c]))} for c in sorted(set(cats))}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sets = eval_sets(Path(args.data), args.typo_seed)
    sets = {name: sets[name] for name, _ in ROWS if name in sets}
    results = {str(m): score(m, sets) for m in args.models}
    width = max(len(label) for _, label in ROWS)
    heads = [Path(m).parent.name + "/" + Path(m).name for m in results]
    print(f"{'set':<{width}} {'n':>5} " + " ".join(f"{h[-24:]:>24}" for h in heads))
    for name, label in ROWS:
        if name not in sets:
            continue
        print(f"{label:<{width}} {len(sets[name][1]):>5} " + " ".join(
            f"{r[name]['accuracy']:>24.2%}" for r in results.values()))
    for key, label, fmt in (("confident_errors", "dev wrong at >= 0.85", "{:>24d}"),
                            ("ece", "dev ECE at T", "{:>24.4f}")):
        print(f"{label:<{width}} {'':>5} " + " ".join(fmt.format(r["dev"][key])
                                                      for r in results.values()))
        print(f"{label.replace('dev', 'dev original'):<{width}} {'':>5} " + " ".join(
            fmt.format(r["dev_original"][key]) for r in results.values()
            if "dev_original" in r))
    print(f"{'dev ECE at T = 1':<{width}} {'':>5} " + " ".join(
        f"{r['dev_at_t1']['ece']:>24.4f}" for r in results.values()))
    for tier in ("right_executed", "right_asked", "wrong_asked", "confident_errors"):
        print(f"{'dev ' + tier.replace('confident_errors', 'wrong_executed'):<{width}} "
              f"{'':>5} " + " ".join(f"{r['dev'][tier] / r['dev']['samples']:>24.2%}"
                                     for r in results.values()))
    print(f"{'T':<{width}} {'':>5} " + " ".join(f"{r['temperature']:>24.4f}"
                                                for r in results.values()))
    for m, r in results.items():
        if "dev_added_by_category" in r:
            print(f"{m}: added rows by category: " + ", ".join(
                f"{c} {v['accuracy']:.0%} of {v['n']}"
                for c, v in r["dev_added_by_category"].items()))
    if args.json:
        from hf_pipeline.io import atomic_write_json
        atomic_write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``calibrate analyze``: where a model folder's confidences can be trusted, at its own T.

Per set: the metrics, a per-intent table (accuracy, mean confidence, what the runtime would
do), the confident mistakes (wrong at >= EXECUTE_THRESHOLD, i.e. executed), and a
reliability diagram. With a calibration split, it also measures whether one temperature is
enough: T = 1, the folder's T, and a per-class temperature fitted on that split, side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hf_pipeline.calibrate.config import ECE_BINS
from hf_pipeline.calibrate.fit import fit_class_temperatures
from hf_pipeline.calibrate.metrics import reliability_bins, set_metrics
from hf_pipeline.calibrate.stage import LogitSet
from hf_pipeline.contract import EXECUTE_THRESHOLD
from hf_pipeline.intents import AMBIGUOUS, INTENTS
from hf_pipeline.runtime.classifier import IntentClassifier, softmax, tier_for

log = logging.getLogger(__name__)

ANALYSIS_FILE = "analysis.json"
MAX_MISTAKES = 15


def per_intent(probs: np.ndarray, labels: np.ndarray) -> list[dict[str, Any]]:
    """Per gold intent: count, accuracy, mean top-label confidence, tiers, confident errors."""
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    rows = []
    for k, intent in enumerate(INTENTS):
        member = labels == k
        n = int(member.sum())
        if not n:
            continue
        tiers = [tier_for(float(c)) for c in conf[member]]
        rows.append({"intent": intent, "samples": n,
                     "accuracy": float((pred[member] == k).mean()),
                     "mean_confidence": float(conf[member].mean()),
                     "tiers": {t: tiers.count(t) for t in ("execute", "confirm", "disambiguate")},
                     "confident_errors": int(((pred != k) & member
                                              & (conf >= EXECUTE_THRESHOLD)).sum())})
    return rows


def confident_mistakes(texts: Sequence[str], probs: np.ndarray, labels: np.ndarray, *,
                       limit: int = MAX_MISTAKES) -> list[dict[str, Any]]:
    """Wrong predictions the runtime would execute, most confident first."""
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    wrong = np.flatnonzero((pred != labels) & (conf >= EXECUTE_THRESHOLD))
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")][:limit]
    return [{"text": texts[i], "gold": INTENTS[labels[i]], "predicted": INTENTS[pred[i]],
             "confidence": float(conf[i])} for i in wrong]


def ambiguous_confident_errors(probs: np.ndarray, labels: np.ndarray) -> int:
    """Gold Ambiguous queries (nothing to act on) given a real intent at >= EXECUTE."""
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    gold_ambiguous = labels == INTENTS.index(AMBIGUOUS)
    return int((gold_ambiguous & (pred != labels) & (conf >= EXECUTE_THRESHOLD)).sum())


def compare_scalings(calibration: LogitSet, sets: Mapping[str, LogitSet], *,
                     temperature: float, bins: int = ECE_BINS) -> dict[str, Any]:
    """T = 1, the folder's T, and per-class T (fitted on ``calibration``) on each set."""
    class_t = fit_class_temperatures(*calibration)
    scalings = {"T=1": 1.0, f"T={temperature:.3f}": temperature, "per-class T": class_t}
    out: dict[str, Any] = {"per_class_temperatures": dict(zip(INTENTS, map(float, class_t),
                                                             strict=True)), "sets": {}}
    for name, (logits, labels) in sets.items():
        out["sets"][name] = {}
        for label, t in scalings.items():
            p = softmax(logits, t)
            out["sets"][name][label] = {**set_metrics(p, labels, bins=bins).to_dict(),
                                        "ambiguous_confident_errors":
                                            ambiguous_confident_errors(p, labels)}
    return out


def analyze_set(name: str, texts: Sequence[str], logits: np.ndarray, labels: np.ndarray, *,
                temperature: float, bins: int = ECE_BINS) -> dict[str, Any]:
    p = softmax(logits, temperature)
    return {"set": name, "temperature": temperature,
            "metrics": set_metrics(p, labels, bins=bins).to_dict(),
            "ambiguous_confident_errors": ambiguous_confident_errors(p, labels),
            "per_intent": per_intent(p, labels),
            "confident_mistakes": confident_mistakes(texts, p, labels),
            "bins": [b.to_dict() for b in reliability_bins(p, labels, bins=bins)]}


def analyze(classifier: IntentClassifier, *,
            sets: Mapping[str, tuple[Sequence[str], Sequence[int]]], out_dir: str | Path,
            calibration: tuple[Sequence[str], Sequence[int]] | None = None,
            bins: int = ECE_BINS) -> dict[str, Any]:
    """Analyse ``classifier`` (a release or a trained folder behind the runtime's API) on
    ``sets``; write analysis.json and one reliability diagram per set into ``out_dir``."""
    from hf_pipeline.calibrate.diagrams import Panel, reliability_diagram
    from hf_pipeline.calibrate.metrics import SetMetrics
    from hf_pipeline.io import atomic_write_json
    out_dir = Path(out_dir)
    model_dir = classifier.source or "model"
    t = classifier.temperature
    logit_sets = {name: (classifier.logits(texts), np.asarray(labels, dtype=np.int64))
                  for name, (texts, labels) in sets.items()}
    result: dict[str, Any] = {"model_dir": str(model_dir), "temperature": t, "sets": {},
                              "diagrams": {}}
    for name, (logits, labels) in logit_sets.items():
        report = analyze_set(name, sets[name][0], logits, labels, temperature=t, bins=bins)
        result["sets"][name] = report
        bins_ = reliability_bins(softmax(logits, t), labels, bins=bins)
        panel = Panel(f"{name} at T = {t:.3f}", bins_, SetMetrics(**report["metrics"]))
        result["diagrams"][name] = str(reliability_diagram(
            out_dir / f"analysis_{name}.png", [panel], title=f"{Path(model_dir).name}"))
    if calibration is not None:
        fit_logits = (classifier.logits(calibration[0]), np.asarray(calibration[1]))
        result["scalings"] = compare_scalings(fit_logits, logit_sets, temperature=t, bins=bins)
    atomic_write_json(out_dir / ANALYSIS_FILE, result)
    return result


def format_analysis(result: Mapping[str, Any]) -> str:
    """The analysis as text: per set, metrics, per-intent table and confident mistakes."""
    lines = [f"{result['model_dir']} at T = {result['temperature']:.4f}"]
    for name, r in result["sets"].items():
        m = r["metrics"]
        lines += ["", f"== {name}: n={m['samples']} accuracy {m['accuracy']:.2%}, mean "
                  f"confidence {m['mean_confidence']:.3f}, ECE {m['ece']:.4f}, MCE "
                  f"{m['mce']:.3f}, NLL {m['nll']:.3f}, Brier {m['brier']:.3f}; errors at "
                  f">= {EXECUTE_THRESHOLD}: {m['confident_errors']} (gold Ambiguous: "
                  f"{r['ambiguous_confident_errors']})",
                  f"{'intent':<12} {'n':>4} {'acc':>7} {'conf':>6} {'exec':>5} {'conf.':>5} "
                  f"{'disamb':>6} {'err>=.85':>8}"]
        lines += [f"{row['intent']:<12} {row['samples']:>4} {row['accuracy']:>7.2%} "
                  f"{row['mean_confidence']:>6.3f} {row['tiers']['execute']:>5} "
                  f"{row['tiers']['confirm']:>5} {row['tiers']['disambiguate']:>6} "
                  f"{row['confident_errors']:>8}" for row in r["per_intent"]]
        lines += [f"  {x['confidence']:.3f} {x['gold']} -> {x['predicted']}: {x['text']!r}"
                  for x in r["confident_mistakes"]]
        lines.append(f"diagram: {result['diagrams'][name]}")
    if "scalings" in result:
        s = result["scalings"]
        lines += ["", "one temperature or one per class? (per-class T fitted on the "
                  "calibration split)", "per-class T: " + ", ".join(
                      f"{k} {v:.3f}" for k, v in s["per_class_temperatures"].items())]
        width = max([6, *map(len, s["sets"])])  # dev_intent_typo is longer than "test"
        for name, rows in s["sets"].items():
            lines.append(f"{name:<{width}} {'scaling':<12} {'acc':>7} {'ECE':>7} {'NLL':>6} "
                         f"{'err>=.85':>8} {'Amb>=.85':>8}")
            lines += [f"{'':<{width}} {label:<12} {m['accuracy']:>7.2%} {m['ece']:>7.4f} "
                      f"{m['nll']:>6.3f} {m['confident_errors']:>8} "
                      f"{m['ambiguous_confident_errors']:>8}" for label, m in rows.items()]
    return "\n".join(lines)

"""The model card: Hub metadata with ``model-index`` and prose, from ``model_card/template.md``.

Every figure comes from the release's reports (``CardFacts``): accuracy, macro-F1 and ECE from
the calibration report, the INT8 drop from the export report's gate, the temperature from
``temperature.json``. The limitations are derived from the same figures, so they say where
this release is weak rather than what models are in general.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_pipeline.contract import CONFIRM_THRESHOLD, EXECUTE_THRESHOLD, MAX_LENGTH
from hf_pipeline.intents import DESCRIPTIONS, INTENTS
from hf_pipeline.io import dumps_json
from hf_pipeline.model_folder.layout import (
    CHECKSUMS_FILE,
    CONFIG_FILE,
    MANIFEST_FILE,
    ONNX_FILE,
    TEMPERATURE_FILE,
    TOKENIZER_FILE,
    VERSION_FILE,
)
from hf_pipeline.model_folder.manifest import PUBLISHED_MANIFEST_FILE

# The card template lives at the repo's top level (model_card/), next to dataset_card/.
MODEL_CARD_TEMPLATE = Path(__file__).resolve().parents[2] / "model_card" / "template.md"
TASK = {"type": "text-classification", "name": "Intent classification"}
DEV_SET_TYPE = "sqry-nl-human-dev"  # not a Hub dataset: it ships inside hf_pipeline/devset/
SET_LABELS = {"test": "template test split (held-out templates)",
              "dev": "human-written dev set", "requests": "reviewed real requests"}
# The reviewed requests' set in metrics_by_set (calibrate --real-data): on the card beside
# the test split and the dev set even when T was fitted on it (its ECE is then in-sample).
REQUESTS_SET = "requests"
REQUESTS_TYPE = "sqry-nl-requests"  # the requests dataset's name when no repo id is known
IN_SAMPLE = " (T fitted on them: ECE in-sample)"
WORST_INTENTS = 3  # listed in the limitations when per-intent F1 is in the report
ROLES = {
    ONNX_FILE: "the INT8 classifier (ONNX)",
    TOKENIZER_FILE: f"the WordPiece tokenizer, truncation at {MAX_LENGTH} tokens",
    CONFIG_FILE: "the transformers config, `id2label` in the runtime's order",
    TEMPERATURE_FILE: "calibration: T, how it was fitted, metrics before and after",
    VERSION_FILE: "`model_version` and provenance, `key=value` lines",
    MANIFEST_FILE: "today's sqry-nl manifest: model version, release, SHA-256 of the five "
                   "files above and of `checksums.json` (the anchor)",
    CHECKSUMS_FILE: "SHA-256 of the five content files, verified by the runtime",
    PUBLISHED_MANIFEST_FILE: "the manifest sqry's maintainers commit as "
                             "`sqry-nl/models/manifest.json`: the archive's SHA-256 and address",
    "model.safetensors": "the fp32 fine-tuned weights the INT8 model was exported from "
                         "(transformers)",
    "tokenizer_config.json": "the tokenizer's settings (transformers)",
}
ARCHIVE_ROLE = "the model folder as sqry's installer downloads it (gzip tar, reproducible)"


@dataclass(frozen=True)
class CardFacts:
    """What the card is rendered from: the release's own files and its reports."""

    repo_id: str
    tag: str
    version: Mapping[str, str]  # version.txt
    temperature: Mapping[str, Any]  # temperature.json
    calibration: Mapping[str, Any]  # calibration_report.json
    export: Mapping[str, Any]  # export_report.json
    files: Mapping[str, str]  # repo file name -> sha256, card excluded, in repo order
    diagrams: Mapping[str, str]  # report set -> diagram file name in the repo
    sqry_manifest: Mapping[str, Any] = field(default_factory=dict)  # sqry-nl-manifest.json

    @property
    def report_sets(self) -> list[str]:
        return list(self.calibration["report_sets"])

    @property
    def card_sets(self) -> list[str]:
        """The report sets, and the reviewed requests when measured (also when fitted on)."""
        sets = self.report_sets
        if REQUESTS_SET in self.calibration["metrics_by_set"] and REQUESTS_SET not in sets:
            sets.append(REQUESTS_SET)
        return sets

    def in_sample(self, name: str) -> bool:
        """Whether T was fitted on set ``name``: its ECE after is no result. calibrate marks
        such sets ``in_sample`` (older files: the set named ``calibration_split``)."""
        entry = self.calibration["metrics_by_set"].get(name) or {}
        if "in_sample" in entry:
            return bool(entry["in_sample"])
        return name == self.temperature.get("calibration_split")

    @property
    def real_data(self) -> dict[str, Any] | None:
        """The reviewed requests training mixed in (train --real-data), if any."""
        data = (self.export.get("training") or {}).get("data") or {}
        return data.get("real_data")

    @property
    def dataset_commit(self) -> str | None:
        """The exact commit of the training data, when training read it from the Hub."""
        data = (self.export.get("training") or {}).get("data") or {}
        if data.get("source") == self.version["dataset_repo"]:
            return data.get("sha")
        return None


def set_results(facts: CardFacts) -> list[dict[str, Any]]:
    """Per reported set: the calibration report's figures and the gate's INT8 drop."""
    gate = {s["name"]: s for s in facts.export["gate"]["sets"]}
    rows = []
    for name in facts.card_sets:
        metrics = facts.calibration["metrics_by_set"][name]
        before, after = metrics["before"], metrics["after"]
        gated = gate.get(name) or {}
        label = SET_LABELS.get(name, name) + (IN_SAMPLE if facts.in_sample(name) else "")
        rows.append({
            "name": name, "label": label, "samples": after["samples"],
            "in_sample": facts.in_sample(name),
            "accuracy": after["accuracy"], "macro_f1": after.get("macro_f1"),
            "per_intent_f1": after.get("per_intent_f1"),
            "ece_before": before["ece"], "ece_after": after["ece"],
            "confident_errors_before": before["confident_errors"],
            "confident_errors_after": after["confident_errors"],
            "tiers": ({k: after.get(k) for k in ("right_executed", "right_asked", "wrong_asked")}
                      | {"wrong_executed": after["confident_errors"]}
                      if after.get("right_asked") is not None else None),
            "drop_points": gated.get("drop_points"), "accuracy_fp32": gated.get("accuracy_fp32"),
            "diagram": facts.diagrams.get(name),
        })
    return rows


def _requests_entry(facts: CardFacts) -> dict[str, Any]:
    """The requests dataset as calibration read it (else as training did)."""
    from hf_pipeline.repo_ids import repo_id_problem

    data = (facts.temperature.get("data") or {}).get("real_data") or facts.real_data or {}
    source = data.get("source")
    named = isinstance(source, str) and repo_id_problem(source) is None
    return {"type": source if named else REQUESTS_TYPE,
            "name": "sqry-nl reviewed real requests (calibration rows)", "split": "calibration",
            "revision": (data.get("sha") or data.get("revision")) if named else
            (f"sha256:{data['sha256']}" if data.get("sha256") else None)}


def _dataset_entry(facts: CardFacts, name: str) -> dict[str, Any]:
    if name == REQUESTS_SET:
        return _requests_entry(facts)
    if name == "dev":
        digest = (facts.calibration.get("data") or {}).get("dev_set_sha256", "")
        return {"type": DEV_SET_TYPE, "name": "sqry-nl human-written dev set", "split": "dev",
                "revision": f"sha256:{digest}" if digest else None}
    return {"type": facts.version["dataset_repo"], "name": f"sqry-nl intents ({name} split)",
            "split": name, "revision": facts.dataset_commit or facts.version["dataset_revision"]}


def model_index(facts: CardFacts) -> list[dict[str, Any]]:
    """``model-index``: accuracy, macro-F1 (if measured), INT8 drop and ECE before/after on
    each reported set, exactly as the reports hold them."""
    t = facts.temperature["temperature"]
    bins = facts.calibration.get("ece_bins")
    results = []
    for row in set_results(facts):
        metrics: list[dict[str, Any]] = [
            {"type": "accuracy", "value": row["accuracy"], "name": "Accuracy (INT8, as shipped)"}]
        if row["macro_f1"] is not None:
            metrics.append({"type": "f1", "value": row["macro_f1"], "name": "Macro-F1",
                            "args": {"average": "macro"}})
        if row["drop_points"] is not None:
            metrics.append({"type": "accuracy_drop_points", "value": row["drop_points"],
                            "name": "INT8 accuracy drop vs fp32 (points)"})
        eces = [("before", row["ece_before"], "T = 1"),
                ("after", row["ece_after"], f"T = {t:.4f}")]
        for when, value, label in eces[:1] if row["in_sample"] else eces:  # no in-sample fit
            metrics.append({"type": "ece", "value": value,
                            "name": f"ECE {when} calibration ({label})",
                            **({"config": f"{bins} bins"} if bins else {})})
        dataset = {k: v for k, v in _dataset_entry(facts, row["name"]).items() if v is not None}
        results.append({"task": dict(TASK), "dataset": dataset, "metrics": metrics})
    return [{"name": facts.repo_id.split("/", 1)[1], "results": results}]


def _pct(k: int, n: int) -> str:
    return f"{k / n:.1%}" if n else "n/a"


def limitations(facts: CardFacts) -> list[str]:
    """The weak spots the reports show, in sentences: per-set accuracy, confident errors,
    the weakest intents by F1 (when measured), the INT8 cost, calibration that did not help."""
    rows = set_results(facts)
    out = []
    worst = min(rows, key=lambda r: r["accuracy"])
    others = [r for r in rows if r["accuracy"] > worst["accuracy"]]
    if others:
        out.append(f"Accuracy is lowest on the {worst['label']}: {worst['accuracy']:.2%} "
                   f"({worst['samples']} queries), against " + ", ".join(
                       f"{r['accuracy']:.2%} on the {r['label']}" for r in others) + ".")
    for r in rows:
        k, n = r["confident_errors_after"], r["samples"]
        if k:
            out.append(f"{k} of {n} queries of the {r['label']} ({_pct(k, n)}) are wrong at "
                       f"confidence >= {EXECUTE_THRESHOLD}, where sqry-nl executes without "
                       f"asking ({r['confident_errors_before']} before calibration).")
        else:
            out.append(f"None of the {n} queries of the {r['label']} is wrong at confidence "
                       f">= {EXECUTE_THRESHOLD}; that is a measure on {n} queries, not a "
                       "guarantee.")
        if r["per_intent_f1"]:
            weakest = sorted(r["per_intent_f1"].items(), key=lambda kv: kv[1])[:WORST_INTENTS]
            out.append(f"Weakest intents by F1 on the {r['label']}: "
                       + ", ".join(f"{intent} ({f1:.3f})" for intent, f1 in weakest) + ".")
        if r["ece_after"] > r["ece_before"]:
            out.append(f"Temperature scaling made the {r['label']} less calibrated: ECE "
                       f"{r['ece_before']:.4f} -> {r['ece_after']:.4f}.")
    gate = facts.export["gate"]
    for r in rows:
        if r["drop_points"] is not None and r["drop_points"] > gate["target_drop_points"]:
            out.append(f"INT8 costs {r['drop_points']:.2f} accuracy points against fp32 on the "
                       f"{r['label']}, above the {gate['target_drop_points']}-point target "
                       f"(within the {gate['max_drop_points']}-point budget).")
    return out


def _files_table(facts: CardFacts) -> list[dict[str, str]]:
    from hf_pipeline.model_folder.layout import CALIBRATION_REPORT, EXPORT_REPORT

    roles = {**ROLES,
             CALIBRATION_REPORT: "the calibration stage's report (metrics, reliability bins)",
             EXPORT_REPORT: "the export stage's report (parity, quantization, accuracy gate)",
             **{file: f"reliability diagram, {SET_LABELS.get(name, name)}"
                for name, file in facts.diagrams.items()}}
    return [{"name": name, "sha256": digest,
             "role": roles.get(name, ARCHIVE_ROLE if name.endswith(".tar.gz") else "")}
            for name, digest in facts.files.items()]


def card_context(facts: CardFacts) -> dict[str, Any]:
    """Every template variable, from ``facts`` only."""
    import yaml

    from hf_pipeline.model_folder.layout import INT8_FILE

    version, cfg = facts.version, facts.export.get("config") or {}
    index_yaml = yaml.safe_dump({"model-index": model_index(facts)}, sort_keys=False,
                                allow_unicode=True, width=1000).rstrip("\n")
    return {
        "title": f"sqry-nl intent classifier {version['model_version']}",
        "repo_id": facts.repo_id, "tag": facts.tag, "model_version": version["model_version"],
        "base_model": version["base_model"], "dataset_repo": version["dataset_repo"],
        "dataset_revision": version["dataset_revision"], "dataset_commit": facts.dataset_commit,
        "training_commit": version["training_commit"], "model_index_yaml": index_yaml,
        "temperature": facts.temperature["temperature"],
        "calibration_split": facts.temperature["calibration_split"],
        "calibration_samples": facts.temperature["calibration_samples"],
        "calibration_method": calibration_method(facts.temperature),
        "report_sets": [SET_LABELS.get(s, s) for s in facts.report_sets],
        "ece_bins": facts.calibration.get("ece_bins"), "results": set_results(facts),
        "gate": facts.export["gate"], "limitations": limitations(facts),
        "quantization": f"onnxruntime dynamic, preset `{cfg.get('preset', 'unknown')}`",
        "opset": cfg.get("opset", "unknown"),
        "onnx_mb": facts.export["files"][INT8_FILE]["size_bytes"] / 1e6,
        "max_length": MAX_LENGTH, "execute_threshold": EXECUTE_THRESHOLD,
        "confirm_threshold": CONFIRM_THRESHOLD,
        "intents": [{"id": i, "label": label, "meaning": DESCRIPTIONS[label]}
                    for i, label in enumerate(INTENTS)],
        "files": _files_table(facts), "real_data": facts.real_data,
        "sqry_manifest_json": dumps_json(dict(facts.sqry_manifest)).rstrip("\n"),
        "archive": facts.sqry_manifest.get("archive", ""),
        "sqry_manifest_file": PUBLISHED_MANIFEST_FILE,
    }


def calibration_method(temperature: Mapping[str, Any]) -> str:
    """The method calibrate chose (``fitted_on.method``); older files fitted one NLL T."""
    fitted_on = temperature.get("fitted_on")
    method = fitted_on.get("method") if isinstance(fitted_on, Mapping) else None
    return str(method) if method else "nll"


def render_model_card(facts: CardFacts, *, template: Path = MODEL_CARD_TEMPLATE) -> str:
    """README.md text. Plain Jinja2 rather than ``ModelCard.from_template``: the text is
    uploaded as rendered, and StrictUndefined turns a missing figure into an error."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    return env.from_string(Path(template).read_text(encoding="utf-8")).render(
        **card_context(facts))

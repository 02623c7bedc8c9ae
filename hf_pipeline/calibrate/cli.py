"""``hf-pipeline calibrate fit``, ``calibrate analyze`` and ``calibrate test-single``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hf_pipeline.calibrate.config import CalibrateConfig
from hf_pipeline.config import help_default
from hf_pipeline.runtime.cli import add_model_options


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "calibrate", help="fit the temperature of a release folder; analyse confidences",
        description="Temperature scaling of a release folder (INT8 ONNX): T is fitted by NLL "
        "on the calibration split (validation), reported on the template test split and the "
        "human dev set, written to temperature.json; the checksums are refreshed.")
    sub = p.add_subparsers(dest="calibrate_command", metavar="ACTION", required=True)
    _add_fit(sub)
    _add_analyze(sub)
    _add_test_single(sub)


def _add_data_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--data", required=required,
                   help="dataset: generator output folder, save_to_disk folder, dataset.json, "
                   "or Hub dataset repo id")
    p.add_argument("--revision", help="Hub revision (tag/commit) of --data")
    p.add_argument("--dev-set", help="human dev set JSONL (default: the packaged one)")


def _add_fit(sub: Any) -> None:
    p = sub.add_parser("fit", help="fit T on a release folder and write it into the folder",
                       description="Fit T, write temperature.json into the model folder and "
                       "refresh its checksums (one atomic step); diagrams and "
                       "calibration_report.json go to --report-dir.")
    p.add_argument("--model", "-m", type=Path, required=True, metavar="FOLDER",
                   help="model folder written by `hf-pipeline release`")
    _add_data_options(p, required=True)
    p.add_argument("--config", type=Path, help="YAML/JSON file of CalibrateConfig options")
    p.add_argument("--report-dir", type=Path,
                   help="where diagrams and the report go (default: FOLDER.reports)")
    p.add_argument("--batch-size", type=int, help="queries per model call (1: unpadded, as "
                   "the runtime)" + help_default(CalibrateConfig, "batch_size"))
    p.add_argument("--json", action="store_true", help="print temperature.json, not a table")
    p.set_defaults(func=run_fit)


def _add_analyze(sub: Any) -> None:
    p = sub.add_parser("analyze", help="per-intent accuracy and confidence, and the diagram",
                       description="Evaluate a model folder at its own T on the human dev set "
                       "(and the test split of --data): per-intent accuracy and mean "
                       "confidence, tiers, confident mistakes, reliability diagram; with "
                       "--data also single vs per-class temperature; with --typos also the "
                       "dev set with one typo per request (dev_typo: in any word; "
                       "dev_intent_typo: in the word that carries the intent).")
    add_model_options(p, trained=True, batch_size=1)
    _add_data_options(p, required=False)
    p.add_argument("--output", "-o", type=Path,
                   help="folder for analysis.json and diagrams (default: FOLDER.reports)")
    p.add_argument("--typos", type=int, nargs="?", const=0, metavar="SEED",
                   help="also analyse the dev set with one typo per request (seeded, "
                   "default seed 0), twice: dev_typo puts it in any word; dev_intent_typo "
                   "in the word that carries the intent (calls, draw, defined, index...), "
                   "on the rows that have one")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run_analyze)


def _add_test_single(sub: Any) -> None:
    p = sub.add_parser("test-single", help="all 8 probabilities for one query",
                       description="Run one query the runtime's way (cleaned, unpadded, with "
                       "token_type_ids when the graph declares it) and print every intent's "
                       "logit and probability at the folder's T.")
    p.add_argument("text", help="the query")
    add_model_options(p, trained=True, batch_size=1)
    p.set_defaults(func=run_test_single)


def _load(args: argparse.Namespace) -> Any:
    from hf_pipeline.runtime.classifier import load_classifier
    from hf_pipeline.train.inference import load_trained_classifier

    return load_classifier(args.model, allow_unverified=args.allow_unverified,
                           threads=args.threads, batch_size=args.batch_size,
                           load_trained=load_trained_classifier)


def run_fit(args: argparse.Namespace) -> int:
    from hf_pipeline.calibrate.stage import calibrate, format_table
    from hf_pipeline.config import resolve
    from hf_pipeline.model_folder.layout import reports_dir
    from hf_pipeline.model_folder.temperature import read_temperature

    overrides = {"data": args.data, "revision": args.revision, "dev_set": args.dev_set,
                 "report_dir": args.report_dir, "batch_size": args.batch_size}
    cfg = resolve(CalibrateConfig, config_file=args.config, overrides=overrides)
    path = calibrate(args.model, cfg=cfg)
    document = read_temperature(path)
    print(json.dumps(document, indent=2) if args.json else format_table(document))
    report_dir = cfg.report_dir or reports_dir(args.model)
    print(f"wrote {path} and refreshed checksums; diagrams and report in {report_dir}")
    return 0


def _analysis_sets(args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    from hf_pipeline.contract import DEV
    from hf_pipeline.data_sources import load_eval_sets

    splits = ("validation", "test") if args.data else ()
    sets, _ = load_eval_sets(args.data, revision=args.revision, splits=splits,
                             dev_set=args.dev_set)
    calibration = sets.pop("validation", None)
    if args.typos is not None:
        from hf_pipeline.devset.typos import typo_views

        for suffix, (texts, labels, _) in typo_views(*sets[DEV], seed=args.typos).items():
            sets[f"{DEV}_{suffix}"] = (texts, labels)
    return sets, calibration


def run_analyze(args: argparse.Namespace) -> int:
    from hf_pipeline.calibrate.analyze import analyze, format_analysis
    from hf_pipeline.model_folder.layout import reports_dir

    sets, calibration = _analysis_sets(args)
    classifier = _load(args)
    out_dir = args.output or reports_dir(args.model)
    result = analyze(classifier, sets=sets, out_dir=out_dir, calibration=calibration)
    print(json.dumps(result, indent=2) if args.json else format_analysis(result))
    return 0


def run_test_single(args: argparse.Namespace) -> int:
    from hf_pipeline.runtime.classifier import softmax
    from hf_pipeline.runtime.hygiene import clean

    classifier = _load(args)
    prediction = classifier.predict([args.text])[0]
    cleaned = clean(args.text).text
    inputs = ", ".join(classifier.input_names) or "PyTorch tokenizer output"
    print(f"text:   {cleaned!r}" + ("  (cleaned input)" if cleaned != args.text else ""))
    print(f"model:  {classifier.source}  T = {classifier.temperature:.4f}  inputs: {inputs}")
    if prediction.flags:
        print(f"flags:  {', '.join(prediction.flags)}")
    if prediction.probabilities:
        logits = classifier.logits([args.text])[0]
        probs = softmax(logits[None, :], classifier.temperature)[0]
        for intent, z, p in zip(prediction.probabilities, logits, probs, strict=True):
            mark = "  <-" if intent == prediction.intent else ""
            print(f"  {intent:<12} logit {z:>8.4f}  p {p:.4f}{mark}")
    print(f"intent: {prediction.intent}  confidence {prediction.confidence:.4f}  "
          f"tier: {prediction.tier}")
    return 0

"""``hf-pipeline calibrate fit``, ``calibrate analyze`` and ``calibrate test-single``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hf_pipeline.calibrate.config import CalibrateConfig
from hf_pipeline.cli_options import (
    DeprecatedOption,
    add_json_option,
    add_model_option,
    add_output_option,
    note,
    print_result,
)
from hf_pipeline.config import default_of, help_default
from hf_pipeline.io import check_outputs, folder_output
from hf_pipeline.runtime.cli import add_model_options


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "calibrate", help="fit the temperature of a release folder; analyse confidences",
        description="Temperature scaling of a release folder (INT8 ONNX): T is fitted on the "
        "human-written calibration set (by default), with the method chosen by "
        "cross-validation inside it, reported on the template test split and the human dev "
        "set, written to temperature.json; the checksums are refreshed.")
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
                       "calibration_report.json go to --output.")
    add_model_option(p, type=Path, accepts="a release folder (`hf-pipeline release`), "
                     "updated in place")
    _add_data_options(p, required=True)
    p.add_argument("--config", type=Path, help="YAML/JSON file of CalibrateConfig options")
    add_output_option(p, dest="report_dir", metavar="DIR", help="folder for the diagrams and "
                      "calibration_report.json (default: MODEL.reports)")
    p.add_argument("--report-dir", type=Path, dest="report_dir", action=DeprecatedOption,
                   use="--output")
    p.add_argument("--calibration-data", metavar="human|validation|FILE.jsonl",
                   help="what T is fitted on: 'human' (the packaged human-written calibration "
                   "set), 'validation' (the template validation split of --data), or a JSONL "
                   'file of {"text", "intent"} rows'
                   + help_default(CalibrateConfig, "calibration_data"))
    p.add_argument("--real-data", metavar="SPEC",
                   help="a reviewed requests dataset (requests.jsonl, its folder, or "
                   "NS/NAME@TAG): its 'calibration' rows join the fit when there are at least "
                   f"{default_of(CalibrateConfig, 'min_requests')} of them "
                   "(option min_requests), and are reported as the set 'requests'; its "
                   "'train' rows are never used here")
    p.add_argument("--batch-size", type=int, help="queries per model call (1: unpadded, as "
                   "the runtime)" + help_default(CalibrateConfig, "batch_size"))
    add_json_option(p, result="temperature.json")
    p.set_defaults(func=run_fit)


def _add_analyze(sub: Any) -> None:
    p = sub.add_parser("analyze", help="per-intent accuracy and confidence, and the diagram",
                       description="Evaluate a model folder at its own T on the human dev set "
                       "(and the test split of --data): per-intent accuracy and mean "
                       "confidence, tiers, confident mistakes, reliability diagram; with "
                       "--data also single vs per-class temperature; with --typos also the "
                       "dev set with one typo per request (dev_typo: in any word; "
                       "dev_intent_typo: in the word that carries the intent; "
                       "dev_direction_typo: in a word that carries the call direction).")
    add_model_options(p, trained=True, batch_size=1)
    _add_data_options(p, required=False)
    add_output_option(p, metavar="DIR", help="folder for analysis.json and diagrams "
                      "(default: MODEL.reports)")
    p.add_argument("--typos", type=int, nargs="?", const=0, metavar="SEED",
                   help="also analyse the dev set with one typo per request (seeded, "
                   "default seed 0), three times: dev_typo puts it in any word; "
                   "dev_intent_typo in the word that carries the intent (calls, draw, "
                   "defined, index...), dev_direction_typo in a word that carries the call "
                   "direction (callers, callees, uses, who, what...), on the rows that have one")
    add_json_option(p, result="the analysis")
    p.set_defaults(func=run_analyze)


def _add_test_single(sub: Any) -> None:
    p = sub.add_parser("test-single", help="all 8 probabilities for one query",
                       description="Run one query the runtime's way (cleaned, unpadded, with "
                       "token_type_ids when the graph declares it) and print every intent's "
                       "logit and probability at the folder's T.")
    p.add_argument("text", help="the query")
    add_model_options(p, trained=True, batch_size=1)
    add_json_option(p, result="the prediction with every intent's logit and probability")
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
                 "report_dir": args.report_dir, "batch_size": args.batch_size,
                 "calibration_data": args.calibration_data, "real_data": args.real_data}
    cfg = resolve(CalibrateConfig, config_file=args.config, overrides=overrides)
    report_dir = cfg.report_dir or reports_dir(args.model)
    check_outputs({"--output": folder_output(report_dir)},
                  inputs={"--model": args.model, "--data": cfg.data, "--dev-set": cfg.dev_set,
                          "--config": args.config, "--calibration-data": cfg.calibration_data,
                          "--real-data": cfg.real_data})
    path = calibrate(args.model, cfg=cfg)
    document = read_temperature(path)
    print_result(args, document, lambda: format_table(document))
    note(args, f"wrote {path} and refreshed checksums; diagrams and report in {report_dir}")
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

    out_dir = args.output or reports_dir(args.model)
    check_outputs({"--output": folder_output(out_dir)},
                  inputs={"--model": args.model, "--data": args.data, "--dev-set": args.dev_set})
    sets, calibration = _analysis_sets(args)
    classifier = _load(args)
    result = analyze(classifier, sets=sets, out_dir=out_dir, calibration=calibration)
    print_result(args, result, lambda: format_analysis(result))
    return 0


def run_test_single(args: argparse.Namespace) -> int:
    from hf_pipeline.runtime.classifier import softmax
    from hf_pipeline.runtime.hygiene import clean

    classifier = _load(args)
    prediction = classifier.predict([args.text])[0]
    cleaned = clean(args.text).text
    logits = (classifier.logits([args.text])[0] if prediction.probabilities else None)
    if args.json:
        print_result(args, {
            "text": args.text, "cleaned": cleaned, "model": str(classifier.source),
            "temperature": classifier.temperature, "inputs": list(classifier.input_names),
            **prediction.to_dict(),
            "logits": (dict(zip(prediction.probabilities, map(float, logits), strict=True))
                       if logits is not None else {})})
        return 0
    inputs = ", ".join(classifier.input_names) or "PyTorch tokenizer output"
    print(f"text:   {cleaned!r}" + ("  (cleaned input)" if cleaned != args.text else ""))
    print(f"model:  {classifier.source}  T = {classifier.temperature:.4f}  inputs: {inputs}")
    if prediction.flags:
        print(f"flags:  {', '.join(prediction.flags)}")
    if logits is not None:
        probs = softmax(logits[None, :], classifier.temperature)[0]
        for intent, z, p in zip(prediction.probabilities, logits, probs, strict=True):
            mark = "  <-" if intent == prediction.intent else ""
            print(f"  {intent:<12} logit {z:>8.4f}  p {p:.4f}{mark}")
    print(f"intent: {prediction.intent}  confidence {prediction.confidence:.4f}  "
          f"tier: {prediction.tier}")
    return 0

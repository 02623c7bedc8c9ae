"""``hf-pipeline predict``: queries in (arguments or JSON lines), predictions out.

On a terminal: a small table (query, intent, confidence, tier). Otherwise (a pipe, a file,
``--output``) or with ``--json``: JSON lines, each the input object (or ``{"text": ...}`` for
an argument) with the prediction fields added, so scripts read the same thing as before.
The same output for a release folder (ONNX) or a trained folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hf_pipeline.errors import ConfigError
from hf_pipeline.io import read_text_rows
from hf_pipeline.runtime.classifier import DEFAULT_BATCH_SIZE, LoadTrained

PREDICTION_FIELDS = ("intent", "confidence", "probabilities", "tier", "flags")
QUERY_WIDTH = 48  # longer queries are cut in the table (never in JSON)


def register(subparsers: Any, *, load_trained: LoadTrained | None = None) -> None:
    """``load_trained`` (injected by the top-level CLI) lets ``--model`` also be a trained
    PyTorch folder; the runtime itself never imports the training stage."""
    p = subparsers.add_parser(
        "predict", help="classify queries with a model folder, as the runtime does",
        description="Classify queries with a release folder (ONNX, checksums verified), a "
        "model repo on the Hub (namespace/name@tag) or a trained model folder (PyTorch). "
        "Input: TEXT arguments and/or --input JSON lines (objects with a 'text' field; other "
        "fields are kept). Output: JSON lines with "
        f"{', '.join(PREDICTION_FIELDS)} added; on a terminal, a table.")
    add_model_options(p, trained=load_trained is not None)
    p.add_argument("texts", nargs="*", metavar="TEXT", help="queries to classify")
    p.add_argument("--input", "-i", type=Path, metavar="FILE.jsonl",
                   help="JSON lines, one object with a 'text' field per line")
    p.add_argument("--output", "-o", type=Path, metavar="FILE",
                   help="write JSON lines here (default: stdout)")
    p.add_argument("--json", action="store_true",
                   help="print JSON lines even on a terminal (always so for a pipe or file)")
    p.add_argument("--prefix", default="",
                   help="prefix for the added fields, e.g. 'pred_' when the input already "
                   "has an 'intent' field (the dev set does)")
    p.set_defaults(func=run_predict, load_trained=load_trained)


def add_model_options(p: argparse.ArgumentParser, *, trained: bool,
                      batch_size: int = DEFAULT_BATCH_SIZE) -> None:
    """--model and its loading options, the same in every command that classifies."""
    kinds = "release folder (hf-pipeline release), Hub model namespace/name@tag"
    p.add_argument("--model", "-m", required=True, metavar="MODEL",
                   help=kinds + (", or trained model folder (final/ of hf-pipeline train)"
                                 if trained else ""))
    p.add_argument("--allow-unverified", action="store_true",
                   help="load a release folder even if its checksums do not verify "
                   "(never for a model you ship)")
    p.add_argument("--threads", type=int, default=1,
                   help="onnxruntime intra-op threads (default: 1, like the runtime)")
    p.add_argument("--batch-size", type=int, default=batch_size,
                   help=f"texts per model call (default: {batch_size})")


def annotate(rows: list[dict[str, Any]], predictions: Iterable[Any], *,
             prefix: str = "") -> list[dict[str, Any]]:
    """Each row with the prediction fields (prefixed) added; a clash with an input field is
    an error rather than a silent overwrite (it may be a gold label)."""
    out = []
    for n, (row, prediction) in enumerate(zip(rows, predictions, strict=True), start=1):
        added = {prefix + k: v for k, v in prediction.to_dict().items()}
        clash = sorted(set(added) & set(row))
        if clash:
            raise ConfigError(f"input row {n} already has field(s) {', '.join(clash)}, which "
                              "predict would overwrite. Fix: pass --prefix pred_ (or another "
                              "prefix).")
        out.append({**row, **added})
    return out


def format_table(texts: list[str], predictions: Iterable[Any]) -> str:
    """Query, intent, confidence and tier, one line each, for people."""
    def cut(text: str) -> str:
        text = " ".join(text.split()) or "(empty)"
        return text if len(text) <= QUERY_WIDTH else text[:QUERY_WIDTH - 1] + "…"

    rows = [(cut(text), p.intent, f"{p.confidence:.3f}",
             p.tier + (f" ({', '.join(p.flags)})" if p.flags else ""))
            for text, p in zip(texts, predictions, strict=True)]
    header = ("query", "intent", "confidence", "tier")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]),
                 row[2].rjust(widths[2]), row[3]]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _json_line(row: dict[str, Any]) -> str:
    line = json.dumps(row, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(row)
    return line + "\n"


def run_predict(args: argparse.Namespace) -> int:
    from hf_pipeline.io import atomic_write_text
    from hf_pipeline.runtime.classifier import load_classifier

    rows = [{"text": t} for t in args.texts]
    if args.input is not None:
        rows += [row for _, row in read_text_rows(args.input)]
    if not rows:
        raise ConfigError("nothing to classify. Fix: pass TEXT arguments or --input FILE.jsonl.")
    classifier = load_classifier(args.model, allow_unverified=args.allow_unverified,
                                 threads=args.threads, batch_size=args.batch_size,
                                 load_trained=args.load_trained)
    predictions = classifier.predict([r["text"] for r in rows])
    if args.output is None and not args.json and sys.stdout.isatty():
        sys.stdout.write(format_table([r["text"] for r in rows], predictions))
        return 0
    results = annotate(rows, predictions, prefix=args.prefix)
    # ensure_ascii=False keeps the queries readable; a lone surrogate in an input field
    # (valid JSON, not UTF-8) is written escaped instead of failing the whole output.
    text = "".join(_json_line(r) for r in results)
    if args.output is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(args.output, text)
        print(f"wrote {len(results)} predictions to {args.output}", file=sys.stderr)
    return 0

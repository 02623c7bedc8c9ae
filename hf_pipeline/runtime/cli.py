"""``hf-pipeline predict``: queries in (arguments or JSON lines), predictions out.

On a terminal: a small table (query, intent, confidence, tier). Otherwise (a pipe, a file,
``--output``) or with ``--json``: JSON lines, each the input object (or ``{"text": ...}`` for
an argument) with the prediction fields added, so scripts read what they always read.
The same output for a release folder (ONNX) or a trained folder.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from hf_pipeline.cli_options import (
    add_batch_size_option,
    add_json_option,
    add_model_option,
    add_output_option,
    add_threads_option,
)
from hf_pipeline.errors import ConfigError
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import check_outputs, file_output, iter_text_rows
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
        "fields are kept). Output: on a terminal a table; otherwise JSON lines with "
        f"{', '.join(PREDICTION_FIELDS)} added.")
    add_model_options(p, trained=load_trained is not None)
    p.add_argument("texts", nargs="*", metavar="TEXT", help="queries to classify")
    p.add_argument("--input", "-i", type=Path, metavar="FILE.jsonl",
                   help="JSON lines, one object with a 'text' field per line")
    add_output_option(p, metavar="FILE", help="write JSON lines here (default: stdout)")
    add_json_option(p, help="print the predictions as JSON lines on stdout, on a terminal too "
                    "(pipes and files always get them)")
    p.add_argument("--prefix", default="",
                   help="prefix for the added fields, e.g. 'pred_' when the input already "
                   "has an 'intent' field (the dev set does)")
    p.set_defaults(func=run_predict, load_trained=load_trained)


def add_model_options(p: argparse.ArgumentParser, *, trained: bool,
                      batch_size: int = DEFAULT_BATCH_SIZE) -> None:
    """--model and its loading options, the same in every command that classifies."""
    kinds = "a release folder (hf-pipeline release), a Hub model namespace/name@tag"
    add_model_option(p, accepts=kinds + (", or a trained model folder (final/ of hf-pipeline "
                                         "train)" if trained else ""))
    p.add_argument("--allow-unverified", action="store_true",
                   help="load a release folder even if its checksums do not verify "
                   "(never for a model you ship)")
    add_threads_option(p, help="onnxruntime intra-op threads (default: 1, like the runtime)")
    add_batch_size_option(p, default=batch_size,
                          help=f"texts per model call (default: {batch_size}, one unpadded "
                          "query at a time as sqry runs it; larger batches are faster, but "
                          "the INT8 graph's confidences then differ slightly)")


def annotate(rows: list[dict[str, Any]], predictions: Iterable[Any], *,
             prefix: str = "", start: int = 1) -> list[dict[str, Any]]:
    """Each row with the prediction fields (prefixed) added; a clash with an input field is
    an error rather than a silent overwrite (it may be a gold label)."""
    out = []
    for n, (row, prediction) in enumerate(zip(rows, predictions, strict=True), start=start):
        added = {prefix + k: v for k, v in prediction.to_dict().items()}
        clash = sorted(set(added) & set(row))
        if clash:
            raise ConfigError(f"input row {n} already has field(s) {', '.join(clash)}, which "
                              "predict would overwrite. Fix: pass --prefix pred_ (or another "
                              "prefix).")
        out.append({**row, **added})
    return out


class TableWriter:
    """Query, intent, confidence and tier, a line per query, for people. Written as results
    come: the query column is as wide as the first batch needs (at most QUERY_WIDTH)."""

    HEADER = ("query", "intent", "confidence", "tier")

    def __init__(self, sink: IO[str]) -> None:
        self.sink = sink
        self.widths: list[int] | None = None

    @staticmethod
    def _query(text: str, width: int = QUERY_WIDTH) -> str:
        text = " ".join(text.split()) or "(empty)"
        return text if len(text) <= width else text[:width - 1] + "…"

    def write(self, texts: list[str], predictions: Iterable[Any]) -> None:
        if self.widths is None:
            query = max(len(self._query(t)) for t in [*texts, "query"])
            self.widths = [query, max(map(len, [*INTENTS, "intent"])), len("confidence")]
            self._line(self.HEADER)
            self._line(tuple("-" * w for w in [*self.widths, len("tier")]))
        for text, p in zip(texts, predictions, strict=True):
            tier = p.tier + (f" ({', '.join(p.flags)})" if p.flags else "")
            self._line((self._query(text, self.widths[0]), p.intent, f"{p.confidence:.3f}", tier))

    def _line(self, cells: tuple[str, ...]) -> None:
        assert self.widths is not None
        query, intent, confidence = self.widths
        self.sink.write(f"{cells[0]:<{query}}  {cells[1]:<{intent}}  {cells[2]:>{confidence}}  "
                        f"{cells[3]}".rstrip() + "\n")


def format_table(texts: list[str], predictions: Iterable[Any]) -> str:
    """The table of ``TableWriter`` as one string."""
    import io

    out = io.StringIO()
    TableWriter(out).write(texts, predictions)
    return out.getvalue()


def _json_line(row: dict[str, Any]) -> str:
    line = json.dumps(row, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(row)
    return line + "\n"


def _rows(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    yield from ({"text": t} for t in args.texts)
    if args.input is not None:
        yield from (row for _, row in iter_text_rows(args.input))


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def run_predict(args: argparse.Namespace) -> int:
    """Results are written as they are computed, in input order: the first line of a large
    file appears after the first batch, and memory holds one batch at a time. An input line
    that is not a request stops the run there, naming the line. A file output is written to
    a temp file beside it and renamed when complete, so it is whole or absent."""
    from hf_pipeline.io import temp_file_beside
    from hf_pipeline.runtime.classifier import load_classifier

    check_outputs({"--output": file_output(args.output)},
                  inputs={"--model": args.model, "--input": args.input})
    if not args.texts and args.input is None:
        raise ConfigError("nothing to classify. Fix: pass TEXT arguments or --input FILE.jsonl.")
    classifier = load_classifier(args.model, allow_unverified=args.allow_unverified,
                                 threads=args.threads, batch_size=args.batch_size,
                                 load_trained=args.load_trained)
    tmp = None
    table = TableWriter(sys.stdout) if (args.output is None and not args.json
                                        and sys.stdout.isatty()) else None
    if args.output is None:
        sink = sys.stdout
    else:
        fd, tmp = temp_file_beside(args.output)
        sink = os.fdopen(fd, "w", encoding="utf-8")
    count = 0
    try:
        for chunk in _chunks(_rows(args), classifier.batch_size):
            predictions = classifier.predict([r["text"] for r in chunk])
            if table is not None:
                table.write([r["text"] for r in chunk], predictions)
            else:
                results = annotate(chunk, predictions, prefix=args.prefix, start=count + 1)
                sink.write("".join(_json_line(r) for r in results))
            sink.flush()
            count += len(chunk)
        if count == 0:
            raise ConfigError(f"nothing to classify: {args.input} has no rows. Fix: pass TEXT "
                              "arguments or a non-empty --input FILE.jsonl.")
        if tmp is not None:
            os.fsync(sink.fileno())
            sink.close()
            os.replace(tmp, args.output)
            tmp = None
    finally:
        if tmp is not None:
            sink.close()
            Path(tmp).unlink(missing_ok=True)
    if args.output is not None:
        print(f"wrote {count} predictions to {args.output}", file=sys.stderr)
    return 0

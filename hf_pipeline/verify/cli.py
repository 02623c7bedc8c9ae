"""``hf-pipeline review FILE``: check generated labels by hand, ``--summary`` or ``--apply
DATASET_DIR``.

Named ``review`` (it was ``verify``, easily taken for ``export verify``, the ONNX check); the
flow is the one a review of user feedback will reuse."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hf_pipeline.cli_options import add_deprecated_command, add_json_option
from hf_pipeline.errors import EXIT_INTERRUPTED, ConfigError, DataFileError

HELP = "check generated labels by hand (y / n INTENT / s / q); resumable, saved per answer"


def register(subparsers: Any) -> None:
    _review(subparsers.add_parser(
        "review", help=HELP,
        description=f"{HELP}. Answers come from the keyboard, a pipe on stdin, or --answers."))
    add_deprecated_command(subparsers, "verify", "review", _review)


def _review(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, metavar="FILE",
                   help="verification file written by `generate --verification-output`")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--summary", action="store_true",
                      help="print counts, accuracy, corrections and the 10%% target, then exit")
    mode.add_argument("--apply", type=Path, metavar="DATASET_DIR",
                      help="write the corrections and the result into DATASET_DIR/dataset.json")
    p.add_argument("--answers", type=Path, metavar="ANSWERS_FILE",
                   help="one answer per line (y, n INTENT, s, q) instead of the keyboard")
    p.add_argument("--reviewer", metavar="NAME", help="name stored with each answer")
    p.add_argument("--revisit-skipped", action="store_true",
                   help="show samples answered with s again")
    add_json_option(p, result="the summary (or what --apply wrote)")
    p.set_defaults(func=run_review)


def run_review(args: argparse.Namespace) -> int:
    from hf_pipeline.verify.apply import apply_verification
    from hf_pipeline.verify.summary import summarize

    if (args.summary or args.apply) and (args.answers or args.reviewer or args.revisit_skipped):
        raise ConfigError("--answers, --reviewer and --revisit-skipped only apply when "
                          "reviewing; drop them or drop --summary/--apply.")
    if args.apply is not None:
        result = apply_verification(args.file, args.apply)
        print(json.dumps(result, indent=2) if args.json else _format_applied(result, args.apply))
        return 0
    if args.summary:
        _print_summary(summarize(args.file), as_json=args.json)
        return 0
    return _run_review(args)


def _run_review(args: argparse.Namespace) -> int:
    from hf_pipeline.verify.review import review
    from hf_pipeline.verify.summary import summarize

    out = sys.stderr if args.json else sys.stdout
    try:
        summary = review(args.file, answers=answer_lines(args.answers), out=out,
                         reviewer=args.reviewer, revisit_skipped=args.revisit_skipped)
    except KeyboardInterrupt:
        print("\ninterrupted; every answer so far is saved", file=sys.stderr)
        _print_summary(summarize(args.file), as_json=args.json)
        return EXIT_INTERRUPTED
    _print_summary(summary, as_json=args.json)
    return 0


def answer_lines(path: Path | None) -> Iterable[str] | None:
    """Answer lines from --answers, else from a pipe; None means ask at the keyboard."""
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise DataFileError(path, f"cannot read the answers file ({e}).",
                                fix="pass a UTF-8 text file with one answer per line.") from None
    return None if sys.stdin.isatty() else sys.stdin


def _print_summary(summary: Any, *, as_json: bool) -> None:
    from hf_pipeline.verify.summary import format_summary

    print(json.dumps(summary.to_dict(), indent=2) if as_json else format_summary(summary))


def _format_applied(result: dict[str, Any], dataset_dir: Path) -> str:
    acc = "n/a" if result["accuracy"] is None else f"{result['accuracy']:.1%}"
    lines = [f"applied {result['file']} to {dataset_dir}: {result['checked']} checked "
             f"({result['correct']} correct, {result['incorrect']} incorrect, "
             f"{result['skipped']} skipped), accuracy {acc}, "
             f"{result['fraction_of_dataset']:.1%} of the dataset"]
    lines += [f"  {c['id']}: {c['from']} -> {c['to']}" for c in result["corrections"]]
    return "\n".join(lines)

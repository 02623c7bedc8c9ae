"""The options every command shares, defined once: one spelling and one meaning each.

The grammar (README, "The CLI grammar"), checked on every parser by
``tests/core/test_cli_grammar.py``:

- ``--model``/``-m MODEL``: the model a command works on: a folder (a release folder, or a
  trained ``final/`` where that makes sense) or a Hub model ``namespace/name@revision``.
- ``--output``/``-o PATH``: where the command writes what it makes (a folder or a file).
- ``--json``: the command's result as JSON on stdout; notes and progress go to stderr.
- ``--visibility {public,private}``: for the repos a command creates.
- ``--tag TAG``: the version tag a command publishes under.
- ``--endpoint``/``--token``: the Hub this process's clients talk to, and their token.

Base layer (standard library and ``hf_pipeline.limits`` only), so the runtime's ``predict`` can
use it too. Old spellings kept for a while are hidden (``argparse.SUPPRESS``) and print a
one-line warning when used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hf_pipeline.limits import MAX_BATCH_SIZE, MAX_THREADS, THREADS_NOTE

MODEL_METAVAR = "MODEL"
VISIBILITIES = ("public", "private")
# Set on a hidden, deprecated command's parser: the command to use instead.
DEPRECATED_FOR = "deprecated_for"


def warn_deprecated(old: str, new: str) -> None:
    """One line on stderr; logging is not configured yet while arguments are parsed."""
    print(f"warning: {old} is deprecated; use {new}", file=sys.stderr)


# ----------------------------------------------------------------------------- the Hub

def add_hub_options(p: argparse.ArgumentParser) -> None:
    """``--endpoint`` and ``--token``: what this process's Hub clients use."""
    p.add_argument("--endpoint", help="Hub URL (default: $HF_ENDPOINT, else huggingface.co); "
                   "e.g. the local server from `hf-pipeline hub serve`")
    p.add_argument("--token", help="Hub token of the client (default: $HF_TOKEN or the login "
                   "cache; prefer those: a token on the command line lands in shell history)")


def use_hub_options(args: argparse.Namespace) -> None:
    """huggingface_hub and datasets read HF_ENDPOINT/HF_TOKEN when first imported, so the CLI
    sets them before importing either; library code never touches the environment."""
    if args.endpoint:
        os.environ["HF_ENDPOINT"] = args.endpoint.rstrip("/")
    if args.token:
        os.environ["HF_TOKEN"] = args.token


def add_visibility_option(p: argparse.ArgumentParser, *, default: str | None, what: str,
                          default_text: str | None = None,
                          deprecated: Sequence[str] = ()) -> None:
    """``--visibility`` of the repos the command creates; ``deprecated``: the old
    ``--private``/``--public`` switches this command had, kept hidden."""
    shown = default_text or default
    p.add_argument("--visibility", choices=VISIBILITIES, default=default,
                   help=f"visibility of {what}, when created"
                   + (f" (default: {shown})" if shown else ""))
    for flag in deprecated:
        value = flag.removeprefix("--")
        p.add_argument(flag, dest="visibility", action=DeprecatedOption, nargs=0, const=value,
                       use=f"--visibility {value}")


def add_tag_option(p: argparse.ArgumentParser, *, help: str = "version tag, e.g. v1.0.0",
                   required: bool = False) -> None:
    p.add_argument("--tag", required=required, help=help)


# ----------------------------------------------------------------------------- models, outputs

def add_model_option(p: argparse.ArgumentParser | Any, *, accepts: str,
                     required: bool = True, type: Callable[[str], Any] = str) -> None:
    """``--model``/``-m``; ``accepts`` says which kinds of model this command takes.
    ``p`` may be a mutually exclusive group."""
    p.add_argument("--model", "-m", required=required, type=type, metavar=MODEL_METAVAR,
                   help=f"the model: {accepts}")


def add_output_option(p: argparse.ArgumentParser, *, help: str, required: bool = False,
                      dest: str = "output", type: Callable[[str], Any] = Path,
                      metavar: str = "PATH") -> None:
    p.add_argument("--output", "-o", dest=dest, required=required, type=type,
                   metavar=metavar, help=help)


def add_json_option(p: argparse.ArgumentParser, *, result: str = "the result",
                    help: str | None = None) -> None:
    p.add_argument("--json", action="store_true",
                   help=help or f"print {result} as JSON on stdout (messages go to stderr)")


def print_result(args: argparse.Namespace, result: Any,
                 text: str | Callable[[], str] | None = None) -> None:
    """``result`` as JSON under ``--json``, else ``text`` (nothing when None)."""
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, default=str))
    elif text is not None:
        print(text if isinstance(text, str) else text())


def note(args: argparse.Namespace, text: str) -> None:
    """A line for people: stdout, or stderr under ``--json`` (stdout holds the JSON only)."""
    print(text, file=sys.stderr if getattr(args, "json", False) else sys.stdout)


# ----------------------------------------------------------------------------- numbers

def int_in(low: int, high: int, *, note: str = "") -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (``note`` says why, e.g. the bound's
    reason), so a flag out of bounds is a usage error naming the flag, before any work. The
    bounds themselves live in ``hf_pipeline.limits``, shared with the configs."""
    expected = f"an integer in [{low}, {high}]" + (f" ({note})" if note else "")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"got {text!r}, expected {expected}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"got {value}, expected {expected}")
        return value

    return parse


def add_threads_option(p: argparse.ArgumentParser, *, default: int = 1, help: str) -> None:
    """``--threads``: onnxruntime intra-op threads, bounded by this machine."""
    p.add_argument("--threads", type=int_in(0, MAX_THREADS, note=f"0 = one per core; "
                                            f"{THREADS_NOTE}"), default=default,
                   metavar="N", help=help)


def add_batch_size_option(p: argparse.ArgumentParser, *, default: int | None,
                          help: str) -> None:
    """``--batch-size``: texts per model call, 1 to MAX_BATCH_SIZE."""
    p.add_argument("--batch-size", type=int_in(1, MAX_BATCH_SIZE), default=default,
                   metavar="N", help=help)


# ----------------------------------------------------------------------------- old spellings

class DeprecatedOption(argparse.Action):
    """An old spelling of an option: hidden from --help, warns, then stores as the new one
    (``const`` when it takes no value)."""

    def __init__(self, option_strings: list[str], dest: str, *, use: str, **kwargs: Any) -> None:
        self.use = use
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        warn_deprecated(option_string or self.dest, self.use)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def add_deprecated_command(sub: Any, old: str, new: str,
                           build: Callable[[argparse.ArgumentParser], None]) -> None:
    """A hidden command ``old`` that takes the options of ``new`` (``build`` adds them and
    sets ``func``) and warns when it runs."""
    p = sub.add_parser(old, description=f"Deprecated: use `hf-pipeline {new}`.")  # no help=:
    build(p)                                                    # not listed in --help
    func = p.get_default("func")

    def run(args: argparse.Namespace) -> int:
        warn_deprecated(f"`hf-pipeline {old}`", f"`hf-pipeline {new}`")
        return int(func(args) or 0)

    p.set_defaults(func=run, **{DEPRECATED_FOR: new})

"""The ``hf-pipeline`` command: one subcommand per stage, each a few lines over a library call.

Stage modules are imported lazily for their ``register`` function only; heavy libraries
(torch, onnxruntime, gradio) are imported inside the commands so ``--help`` stays instant.
The options they share are defined once, in ``hf_pipeline.cli_options`` (the CLI grammar).
Errors end in one line on stderr: a ``PipelineError``'s own message, or, for any other
exception (a bug: every bad input has its own check), what failed and where to report it;
``HF_PIPELINE_DEBUG=1`` shows the traceback instead. Ctrl-C (and SIGTERM, which commands
that run long treat as Ctrl-C) ends in "interrupted" and, for the process, see :func:`entry`.
"""

from __future__ import annotations

import _thread
import argparse
import importlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from hf_pipeline import __version__
from hf_pipeline.errors import EXIT_INTERRUPTED, PipelineError

# Each module defines ``register(subparsers)`` which adds its subcommand(s) and sets
# ``func`` (args -> exit code) on the parser defaults.
STAGE_COMMANDS: tuple[str, ...] = (
    "hf_pipeline.generate.cli",
    "hf_pipeline.verify.cli",
    "hf_pipeline.feedback.cli",
    "hf_pipeline.hub.cli",
    "hf_pipeline.publish.cli",
    "hf_pipeline.publish.space_cli",
    "hf_pipeline.train.cli",
    "hf_pipeline.export.cli",
    "hf_pipeline.release.cli",
    "hf_pipeline.calibrate.cli",
    "hf_pipeline.runtime.cli",
    "hf_pipeline.pipeline.cli",
)

log = logging.getLogger("hf_pipeline")
DEBUG_ENV = "HF_PIPELINE_DEBUG"  # set: errors end in a traceback instead of one line
REPORT_BUGS_TO = "the hf_pipeline issue tracker (the sqry project's issues)"


def _load_trained(folder: Any, **kwargs: Any) -> Any:
    """Train's PyTorch loader, injected into ``predict``: the runtime stays torch-free."""
    from hf_pipeline.train.inference import load_trained_classifier

    return load_trained_classifier(folder, **kwargs)


# Dependencies handed to a command's ``register`` (this module is the composition root).
INJECTED: dict[str, dict[str, Any]] = {"hf_pipeline.runtime.cli": {"load_trained": _load_trained}}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hf-pipeline",
        description="Build the sqry-nl intent classifier: generate -> review -> publish -> "
        "train -> export -> release -> calibrate -> publish. The same options everywhere: "
        "--model MODEL (a folder or NAMESPACE/NAME@REV), --output/-o, --json (the result as "
        "JSON on stdout), --tag, --visibility, --endpoint/--token.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in STAGE_COMMANDS:
        importlib.import_module(module).register(sub, **INJECTED.get(module, {}))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args: argparse.Namespace | None = None
    try:
        args = build_parser().parse_args(argv)
        level = max(logging.DEBUG, logging.WARNING - 10 * args.verbose)
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        if os.environ.get("HF_PIPELINE_QUIET_LIBRARIES"):  # a process of `hf-pipeline run`
            from hf_pipeline.pipeline.logs import quiet_library_noise

            quiet_library_noise(debug=level <= logging.DEBUG)
        return int(args.func(args) or 0)
    except PipelineError as e:
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # the last line of defence: whatever escaped is a bug of ours
        if os.environ.get(DEBUG_ENV):
            raise
        print(bug_message(args, e), file=sys.stderr)
        return 1


def entry() -> int:
    """The ``hf-pipeline`` command and ``python -m hf_pipeline``: :func:`main`, plus what only
    a whole process can do about Ctrl-C.

    - Python drops a KeyboardInterrupt that lands in a finalizer (a weakref callback run by the
      garbage collector) with an "Exception ignored" line, and the command ran on: a run
      interrupted at the start of training trained, released and published. Such an interrupt
      is raised again in ordinary code (:func:`resend_lost_interrupts`).
    - After Ctrl-C, once everything is cleaned up and "interrupted" said, the process dies by
      SIGINT, as a shell expects of a program stopped by Ctrl-C: a script or loop that ran it
      stops too, and ``$?`` is 130. CPython 3.11 did this on its own, but only when the
      interrupt had passed through code run by ``exec`` (dataclasses do at import), so the
      exit status depended on when the key was pressed.
    """
    sys.unraisablehook = resend_lost_interrupts(sys.unraisablehook)
    code = main()
    if code == EXIT_INTERRUPTED:
        sys.excepthook = lambda *exc_info: None  # said already: no traceback
        raise KeyboardInterrupt  # uncaught: Python finalizes, then dies by SIGINT
    return code


def resend_lost_interrupts(hook: Callable[[Any], object], *,
                           delay: float = 0.01) -> Callable[[Any], object]:
    """``hook`` (a ``sys.unraisablehook``), except for an interrupt that Python could not raise
    where it landed: that one is raised again in the main thread ``delay`` seconds later, once
    it runs ordinary code again (raised at once, it would land in the hook, and be dropped)."""
    def unraisable(info: Any) -> None:
        if isinstance(info.exc_value, KeyboardInterrupt):
            timer = threading.Timer(delay, _thread.interrupt_main)
            timer.daemon = True
            timer.start()
        else:
            hook(info)
    return unraisable


def bug_message(args: argparse.Namespace | None, error: BaseException) -> str:
    """One line for an exception no check caught: what failed, that it is a bug, where to
    report it, and how to see the traceback."""
    words = [str(v) for k, v in vars(args or argparse.Namespace()).items()
             if (k == "command" or k.endswith("_command")) and isinstance(v, str)]
    what = " ".join(["hf-pipeline", *words])
    detail = " ".join(str(error).split())[:300]
    return (f"error: `{what}` failed unexpectedly: {type(error).__name__}"
            f"{': ' + detail if detail else ''}. This is a bug in hf_pipeline, not in your "
            f"input: please report it to {REPORT_BUGS_TO}, with the output of the same command "
            f"run with {DEBUG_ENV}=1 (which shows the traceback).")


if __name__ == "__main__":
    sys.exit(main())

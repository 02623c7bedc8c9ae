"""The sqry-nl intent classifier demo (Gradio 6): one query, a batch, and what the model is.

The same file runs in three places: the Hugging Face Space (next to ``sqry_nl_runtime/``,
generated from ``hf_pipeline.runtime`` by ``hf-pipeline space publish``, and
``space_config.json``, which names the model repo and revision), ``hf-pipeline demo``, and
the tests, which call ``build_demo`` over any classifier. The model is loaded with the
runtime's own ``IntentClassifier`` (checksums verified), so a query is cleaned, tokenized,
scored and tiered exactly as sqry does it.

API: ``/classify`` (query -> label with all eight calibrated probabilities) and
``/classify_batch`` (pasted lines and/or a .txt/.jsonl file -> table + JSON-lines file).
With feedback on (``feedback.py``: a dataset repo and a write token), also ``/confirm``
(note) and ``/correct`` (intent, note): an answer about the session's last prediction.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import shutil
import signal
import sys
import tempfile
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import gradio as gr

# In a checkout the app runs over hf_pipeline itself. The Space ships the runtime as
# ``sqry_nl_runtime`` (hf_pipeline is not on PyPI): the Space builder copies this file with
# these imports renamed, as it renames the runtime's own.
from hf_pipeline.contract import CONFIRM_THRESHOLD, EXECUTE_THRESHOLD, SPACE_CONFIG_FILE
from hf_pipeline.errors import DataFileError, PipelineError
from hf_pipeline.intents import AMBIGUOUS, DESCRIPTIONS, INTENTS
from hf_pipeline.io import text_row
from hf_pipeline.repo_ids import is_hub_spec
from hf_pipeline.runtime import (
    CONFIRM,
    EXECUTE,
    FLAG_EMPTY,
    FLAG_TRUNCATED,
    MAX_INPUT_BYTES,
    IntentClassifier,
    Prediction,
)

log = logging.getLogger("sqry_nl_demo")


def _sibling(name: str) -> ModuleType:
    """``<name>.py`` beside this file (the Space ships it there too), loaded by path: app.py
    itself is loaded by path (``python app.py``, ``hf-pipeline demo``, the tests), so its
    folder need not be on sys.path."""
    path = Path(__file__).absolute().with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"{__name__}_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


feedback_store = _sibling("feedback")

MAX_BATCH_QUERIES = 1000
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
SHOWN_QUERY_CHARS = 200  # the table shows this much of a query; the JSON lines keep all of it

# One per intent, in the runtime's order.
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("SymbolQuery", "where is the Config struct defined"),
    ("TextSearch", "search for TODO comments in the parser"),
    ("TracePath", "how does main reach parse_config"),
    ("FindCallers", "who calls authenticate_user"),
    ("FindCallees", "what does handle_request call"),
    ("Visualize", "draw the call graph of login as mermaid"),
    ("IndexStatus", "is the index up to date"),
    ("Ambiguous", "hello there"),
)

FLAG_TEXT = {
    FLAG_EMPTY: "**Empty input**: nothing was left after removing white space and invisible "
                "characters, so sqry would ask what you meant.",
    FLAG_TRUNCATED: f"**Truncated input**: the query is longer than {MAX_INPUT_BYTES} bytes; "
                    f"like sqry, only its first {MAX_INPUT_BYTES} bytes were classified.",
}
EMPTY_QUERY_MESSAGE = ("The query is empty (nothing is left after removing white space and "
                       "invisible characters), so sqry would ask what you meant. Type a "
                       "request, for example: who calls parse_config")
NO_BATCH_MESSAGE = ("Nothing to classify: paste queries, one per line, or upload a .txt file "
                    '(one query per line) or a .jsonl file (objects like {"text": "..."}).')
TABLE_HEADERS = ["#", "query", "intent", "confidence", "sqry would", "flags"]


@dataclass(frozen=True)
class LoadedModel:
    """What the loader found: a classifier, or the message that says why there is none."""

    classifier: IntentClassifier | None
    about: dict[str, Any]
    error: str | None = None


# ----------------------------------------------------------------------------- loading

def load_model(*, model_dir: str | Path | None = None, model_repo: str | None = None,
               model_revision: str = "main", token: str | None = None) -> LoadedModel:
    """A release folder, or a model repo at a revision; checksums verified either way.

    Never raises for a model that cannot be loaded: the page shows the message instead.
    """
    source = str(model_dir) if model_dir is not None else model_repo
    about: dict[str, Any] = {"source": source, "repo_id": model_repo,
                             "revision": model_revision if model_repo else None}
    try:
        if model_dir is not None:
            classifier = IntentClassifier.from_dir(model_dir)
        elif model_repo:
            classifier = IntentClassifier.from_hub(model_repo, revision=model_revision,
                                                   token=token)
        else:
            return LoadedModel(None, about, "No model is configured. Fix: put "
                               f"{SPACE_CONFIG_FILE} next to app.py, or pass --model.")
    except PipelineError as e:  # checksums, a missing repo or revision, the Hub unreachable
        return LoadedModel(None, about, str(e))
    except Exception as e:  # anything else still gets a message, and the log the traceback
        log.warning("loading %s failed", source, exc_info=True)
        return LoadedModel(None, about, f"Could not load the model {source}: "
                           f"{type(e).__name__}: {e}")
    return LoadedModel(classifier, {**classifier.about(), "revision": about["revision"]})


# ----------------------------------------------------------------------------- wording

def verdict_markdown(prediction: dict[str, Any] | None) -> str:
    """The intent and what sqry would do with it, in words."""
    if prediction is None:
        return "Type a request and press Enter to see what sqry would do with it."
    intent, confidence, tier = (prediction["intent"], prediction["confidence"],
                                prediction["tier"])
    if FLAG_EMPTY in prediction["flags"]:
        return "🤔 **sqry would ask what you meant**: there is nothing to classify."
    if tier == EXECUTE:
        action = (f"✅ **sqry would run this command** (confidence {confidence:.2f} "
                  f"≥ {EXECUTE_THRESHOLD:.2f}).")
    elif tier == CONFIRM:
        action = (f"❓ **sqry would ask you to confirm** before running it (confidence "
                  f"{confidence:.2f}, between {CONFIRM_THRESHOLD:.2f} and "
                  f"{EXECUTE_THRESHOLD:.2f}).")
    else:
        action = (f"🤔 **sqry would ask what you meant**, offering the likeliest intents "
                  f"(confidence {confidence:.2f} < {CONFIRM_THRESHOLD:.2f}).")
    if intent == AMBIGUOUS:
        action = ("🤔 **sqry would ask what you meant**: this is not a request it can run "
                  f"(confidence {confidence:.2f}).")
    return f"### {intent}\n{DESCRIPTIONS[intent]}\n\n{action}"


def flags_markdown(prediction: dict[str, Any] | None) -> str:
    if prediction is None or not prediction["flags"]:
        return "Input hygiene: nothing to report."
    return "\n".join(f"⚠️ {FLAG_TEXT.get(flag, flag)}" for flag in prediction["flags"])


def short_action(prediction: Prediction) -> str:
    if FLAG_EMPTY in prediction.flags or prediction.intent == AMBIGUOUS:
        return "ask what you meant"
    return {EXECUTE: "run it", CONFIRM: "ask to confirm"}.get(prediction.tier,
                                                             "ask what you meant")


def about_markdown(about: dict[str, Any]) -> str:
    """Repo, revision, commit, version, temperature and the calibration metrics."""
    from huggingface_hub import constants

    repo, commit = about.get("repo_id"), about.get("commit")
    rows = [("model repo", f"[{repo}]({constants.ENDPOINT}/{repo})" if repo else "(local)"),
            ("revision", about.get("revision")),
            ("commit", f"`{commit}`" if commit else None),
            ("folder", None if repo else f"`{about.get('source')}`"),
            ("model version", about.get("model_version")),
            ("temperature", _number(about.get("temperature"), "{:.4g}")),
            ("calibrated on", about.get("calibration_split"))]
    lines = ["| property | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows if value not in (None, "")]
    metrics = about.get("metrics") or {}
    if metrics:
        lines += ["", "| set | accuracy | ECE before T | ECE after T |",
                  "| --- | ---: | ---: | ---: |"]
        for name, m in metrics.items():
            lines.append(f"| {name} | {_number(m.get('accuracy'), '{:.2%}')} | "
                         f"{_number(m.get('ece_before'), '{:.3f}')} | "
                         f"{_number(m.get('ece_after'), '{:.3f}')} |")
    lines += ["", f"Thresholds, as in sqry: run at confidence ≥ {EXECUTE_THRESHOLD}, ask to "
              f"confirm at ≥ {CONFIRM_THRESHOLD}, otherwise ask what you meant. ECE: expected "
              "calibration error (15 bins), before and after temperature scaling."]
    return "\n".join(lines)


def intents_markdown() -> str:
    rows = "\n".join(f"| {label} | {DESCRIPTIONS[label]} |" for label in INTENTS)
    return f"| intent | the user wants |\n| --- | --- |\n{rows}"


def _number(value: Any, fmt: str) -> str | None:
    return fmt.format(value) if isinstance(value, (int, float)) else None


# ----------------------------------------------------------------------------- batch input

def batch_rows(text: str | None, file: str | None) -> list[dict[str, Any]]:
    """Pasted lines, then the file's queries: ``{"text": ...}`` objects (a .jsonl row keeps
    its other fields). Blank lines are skipped; errors name the file and the line."""
    rows = [{"text": line.rstrip("\r")} for line in (text or "").split("\n") if line.strip()]
    if file:
        rows += file_rows(Path(file))
    if not rows:
        raise gr.Error(NO_BATCH_MESSAGE, print_exception=False)
    if len(rows) > MAX_BATCH_QUERIES:
        raise gr.Error(f"{len(rows)} queries: this demo classifies at most "
                       f"{MAX_BATCH_QUERIES} at a time. Fix: split the file, or run "
                       "`hf-pipeline predict` locally.", print_exception=False)
    return rows


def file_rows(path: Path) -> list[dict[str, Any]]:
    name = path.name
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        raise gr.Error(f"{name} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
                       print_exception=False)
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise gr.Error(f"{name} is not UTF-8 text ({e.reason} at byte {e.start}).",
                       print_exception=False) from None
    # Only "\n" ends a line: str.splitlines would also split inside a query at U+2028.
    lines = [(n, line.rstrip("\r")) for n, line in enumerate(content.split("\n"), start=1)
             if line.strip()]
    if path.suffix.lower() not in (".jsonl", ".json"):
        return [{"text": line} for _, line in lines]
    try:  # the pipeline's own reader of such lines: same checks, nesting bounded
        return [text_row(path, n, line) for n, line in lines]
    except DataFileError as e:
        fix = f" Fix: {e.fix}" if e.fix else ""
        raise gr.Error(f"{name}, line {e.line}: {e.problem}{fix}",
                       print_exception=False) from None


def result_row(row: dict[str, Any], prediction: Prediction) -> dict[str, Any]:
    """One JSON line: the query, the prediction, and the input's other fields under 'input'."""
    extra = {k: v for k, v in row.items() if k != "text"}
    return {"text": row["text"], **prediction.to_dict(), **({"input": extra} if extra else {})}


def table_row(n: int, row: dict[str, Any], prediction: Prediction) -> list[Any]:
    text = row["text"]
    shown = text if len(text) <= SHOWN_QUERY_CHARS else text[:SHOWN_QUERY_CHARS] + "…"
    return [n, shown, prediction.intent, round(prediction.confidence, 4),
            short_action(prediction), ", ".join(prediction.flags)]


# ----------------------------------------------------------------------------- the page

def build_demo(classifier: IntentClassifier | None, about: dict[str, Any], *,
               error: str | None = None, feedback: Any = None) -> gr.Blocks:
    """The page and its API endpoints over ``classifier`` (None: show ``error``).

    ``feedback``: a ``feedback.Feedback`` (the "Is this right?" control and its two
    endpoints), or a ``feedback.FeedbackOff`` / None (the page says why there is none)."""
    if classifier is None and error is None:
        error = "No model is loaded."
    out_dir = Path(tempfile.mkdtemp(prefix="sqry_nl_demo_"))

    def predict(texts: Sequence[str]) -> list[Prediction]:
        if classifier is None:
            raise gr.Error(f"The model could not be loaded: {error}", print_exception=False)
        try:
            # One at a time, unpadded, as sqry sends them: INT8 dynamic quantization takes
            # its range from the whole batch, so padding would shift the probabilities.
            return [classifier.predict([text])[0] for text in texts]
        except PipelineError as e:
            raise gr.Error(str(e), print_exception=False) from None
        except Exception as e:  # a bug, not the user's input: log it, show one line
            log.exception("classification failed")
            raise gr.Error(f"The classifier failed on this input ({type(e).__name__}: {e}).",
                           print_exception=False) from None

    def classify(query: str | None) -> tuple[dict[str, float], dict[str, Any], str]:
        """Classify one request: the label with all eight calibrated probabilities."""
        if query is not None and not isinstance(query, str):
            raise gr.Error(f"Expected the query as text, got {type(query).__name__}.",
                           print_exception=False)
        prediction = predict([query or ""])[0]
        if FLAG_EMPTY in prediction.flags:
            raise gr.Error(EMPTY_QUERY_MESSAGE, print_exception=False)
        return prediction.probabilities, prediction.to_dict(), query or ""

    def describe(prediction: dict[str, Any] | None) -> tuple[str, str]:
        return verdict_markdown(prediction), flags_markdown(prediction)

    def clear() -> tuple[None, str, str]:
        return None, *describe(None)

    def classify_batch(text: str | None, file: str | None) -> tuple[list[list[Any]], str]:
        """Classify many requests (pasted lines and/or a .txt/.jsonl file): a table, and
        the predictions as a JSON-lines file."""
        rows = batch_rows(text, file)
        predictions = predict([r["text"] for r in rows])
        lines = "".join(json.dumps(result_row(r, p), ensure_ascii=False) + "\n"
                        for r, p in zip(rows, predictions, strict=True))
        digest = hashlib.sha256(lines.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        out = out_dir / f"predictions-{digest}.jsonl"
        out.write_text(lines, encoding="utf-8", errors="surrogatepass")
        table = [table_row(n, r, p)
                 for n, (r, p) in enumerate(zip(rows, predictions, strict=True), start=1)]
        return table, str(out)

    with gr.Blocks(title="sqry-nl intent classifier") as demo:
        gr.Markdown("# 🔎 sqry-nl intent classifier\nType a request as you would ask sqry, "
                    "the code-search tool, in plain English. The model "
                    "(all-MiniLM-L6-v2 fine-tuned on eight intents, INT8 ONNX, "
                    "temperature-calibrated) runs here exactly as in sqry: same input "
                    "cleaning, same tokenizer, same thresholds.")
        gr.Markdown(f"### ⚠️ The model could not be loaded\n\n```text\n{error}\n```",
                    visible=error is not None, elem_id="load-error")
        with gr.Tab("One query"):
            with gr.Row():
                with gr.Column(scale=1):
                    query = gr.Textbox(label="Your request", lines=1, max_lines=1,
                                       placeholder="e.g. who calls parse_config",
                                       autofocus=True, elem_id="query")
                    with gr.Row():
                        submit = gr.Button("Classify", variant="primary", elem_id="classify")
                        reset = gr.Button("Clear", elem_id="clear")
                    gr.Examples([[text] for _, text in EXAMPLES], inputs=[query],
                                example_labels=[f"{intent}: {text}" for intent, text in EXAMPLES],
                                label="Examples (one per intent)", examples_per_page=8)
                with gr.Column(scale=1):
                    label = gr.Label(label="Calibrated probabilities", num_top_classes=None,
                                     elem_id="probabilities")
                    verdict = gr.Markdown(verdict_markdown(None), elem_id="verdict")
                    flags = gr.Markdown(flags_markdown(None), elem_id="flags")
                    control = feedback_store.FeedbackControl(feedback)
            state = gr.State(None)
        with gr.Tab("Batch"), gr.Row():
            with gr.Column():
                batch_text = gr.Textbox(label="Requests, one per line", lines=8,
                                        max_lines=20, elem_id="batch-text")
                batch_file = gr.File(label="...or a .txt (one per line) or .jsonl file "
                                     '(objects with a "text" field)',
                                     file_types=[".txt", ".jsonl"], type="filepath",
                                     elem_id="batch-file")
                batch_button = gr.Button("Classify all", variant="primary",
                                         elem_id="classify-batch")
            with gr.Column():
                table = gr.Dataframe(headers=TABLE_HEADERS, label="Predictions",
                                     interactive=False, wrap=True, elem_id="batch-table")
                download = gr.File(label="Predictions (JSON lines)", interactive=False,
                                   elem_id="batch-download")
        with gr.Accordion("About this model", open=True, elem_id="about"):
            gr.Markdown(about_markdown(about))
            gr.Markdown(intents_markdown())

        run = gr.on([query.submit, submit.click], classify, inputs=query,
                    outputs=[label, state, control.asked], api_name="classify")
        run.success(describe, inputs=state, outputs=[verdict, flags], api_visibility="private")
        run.failure(clear, outputs=[label, verdict, flags], api_visibility="private")
        reset.click(lambda: ("", *clear()), outputs=[query, label, verdict, flags],
                    api_visibility="private")
        control.wire(demo, about=about, prediction=state, run=run, reset=reset)
        batch_button.click(classify_batch, inputs=[batch_text, batch_file],
                           outputs=[table, download], api_name="classify_batch")
    weakref.finalize(demo, shutil.rmtree, out_dir, ignore_errors=True)
    return demo


def launch_options() -> dict[str, Any]:
    """Look and limits for ``launch`` (Gradio 6 takes the theme there, not in Blocks)."""
    return {"theme": gr.themes.Soft(primary_hue="indigo"), "footer_links": ["api", "gradio"],
            "max_file_size": MAX_UPLOAD_BYTES}


# ----------------------------------------------------------------------------- main

def space_config(folder: Path) -> dict[str, Any]:
    """``space_config.json`` beside app.py (written by ``hf-pipeline space publish``); {} if
    there is none. PipelineError if it cannot be read, so the page can say so."""
    path = folder / SPACE_CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PipelineError(f"{path}: unreadable ({e}). Fix: publish the Space again with "
                            "`hf-pipeline space publish`.") from None
    if not isinstance(config, dict):
        raise PipelineError(f"{path}: expected a JSON object. Fix: publish the Space again.")
    return config


def load_configured_model() -> LoadedModel:
    """The model space_config.json names: the commit its tag named at publish time, so the
    Space keeps serving that model even if the tag moves."""
    try:
        # absolute(), not resolve(): in a Hub cache snapshot app.py is a symlink to a blob.
        config = space_config(Path(__file__).absolute().parent)
    except PipelineError as e:
        return LoadedModel(None, {}, str(e))
    tag = config.get("model_revision") or "main"
    loaded = load_model(model_repo=config.get("model_repo"),
                        model_revision=config.get("model_commit") or tag)
    return replace(loaded, about={**loaded.about, "revision": tag})


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Run the sqry-nl intent classifier demo. Without "
                                f"--model the model comes from {SPACE_CONFIG_FILE}.")
    p.add_argument("--model", "-m", metavar="MODEL", help="the model: a release folder, or a "
                   "model repo at a tag or commit, NAMESPACE/NAME@REVISION (from HF_ENDPOINT)")
    p.add_argument("--host", default=None, help="address to listen on (default: Gradio's, "
                   "GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: Gradio's, "
                   "GRADIO_SERVER_PORT or the first free one from 7860)")
    p.add_argument("--feedback-repo", metavar="NS/NAME", default=None, help="collect "
                   "answers into this Hub dataset repo (default: feedback_repo in "
                   f"{SPACE_CONFIG_FILE}); the write token comes only from the environment "
                   f"variable {feedback_store.TOKEN_ENV}")
    p.add_argument("--feedback-every", metavar="MINUTES", type=float, default=None,
                   help="minutes between commits of the answers (default: "
                   f"feedback_every_minutes in {SPACE_CONFIG_FILE}, else "
                   f"{feedback_store.DEFAULT_EVERY_MINUTES:g})")
    return p.parse_args(argv)


def load_spec(spec: str) -> LoadedModel:
    """``--model``: a model repo at a revision (as ``hf-pipeline predict --model``), else a
    release folder."""
    if is_hub_spec(spec):
        repo, _, revision = spec.partition("@")
        return load_model(model_repo=repo, model_revision=revision)
    return load_model(model_dir=spec)


def configured_feedback(args: argparse.Namespace) -> Any:
    """Feedback as --feedback-repo/--feedback-every or space_config.json ask, or why not."""
    try:
        config = space_config(Path(__file__).absolute().parent)
    except PipelineError as e:
        if not args.feedback_repo:
            return feedback_store.FeedbackOff(f"the Space's settings are unreadable: {e}")
        config = {}
    return feedback_store.configured(args.feedback_repo, args.feedback_every, config)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # Gradio then closes, and the final feedback commit runs at exit


def main(argv: Sequence[str] | None = None) -> int:
    """Load the model named by --model or space_config.json, serve until Ctrl-C (or
    SIGTERM, which a Space gets when it stops)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    loaded = load_configured_model() if args.model is None else load_spec(args.model)
    if loaded.error:
        log.error("the model could not be loaded; the page shows why:\n%s", loaded.error)
    feedback = configured_feedback(args)
    if isinstance(feedback, feedback_store.FeedbackOff):
        log.info("feedback is off: %s", feedback.reason)
    else:
        log.info("feedback goes to the dataset repo %s every %g minutes, rows in %s",
                 feedback.repo_id, feedback.every_minutes, feedback.writer.path)
    demo = build_demo(loaded.classifier, loaded.about, error=loaded.error, feedback=feedback)
    if threading.current_thread() is threading.main_thread():  # signals go to it only
        signal.signal(signal.SIGTERM, _interrupt)
    demo.launch(server_name=args.host, server_port=args.port, **launch_options())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

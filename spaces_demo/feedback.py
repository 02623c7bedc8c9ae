"""Feedback from the demo page to a Hub dataset repo: checked rows, bounded, crash-safe.

After a prediction the page asks "Is this right?" (``FeedbackControl``: confirm, or pick one
of the eight intents, with an optional note); each answer becomes one JSON line
(``feedback_row``, the schema issue 22's parts share) in ``rows-<process uuid>.jsonl`` under
a local folder, and ``RowsScheduler`` (a ``huggingface_hub.CommitScheduler``) commits that
folder to the dataset repo every ``every`` minutes and once more at shutdown. The Space
ships this file beside app.py, which loads it by path (``hf_pipeline.publish.space``).

What is refused, with a message, and never saved: a request that is empty after the
runtime's input hygiene, longer than MAX_TEXT_BYTES of UTF-8 (sqry would not classify all
of it), or holding control characters; a note over MAX_NOTE_BYTES or holding control
characters other than new lines and tabs; an intent that is not one of the eight.

Bounds (``RateLimit``): at most VISIT_LIMIT answers per page visit per VISIT_WINDOW_S
seconds, and at most PROCESS_LIMIT rows per PROCESS_WINDOW_S seconds for the whole app
process, sliding windows. One visitor sending 1000 answers in a minute saves 30 of them;
a script opening a new visit for each answer still saves at most 600 an hour. At roughly
700 bytes a row that is under 0.5 MB an hour, so the repo cannot be flooded.

Crash safety: a row is written as one whole line (``os.write`` in a loop, the file cut back
to its last complete line if that fails) and fsynced before the page says "saved", under the
scheduler's own lock; a commit reads each file under that lock and uploads it only up to its
last newline, so no commit ever holds a half-written line, whatever kill -9 interrupts. A
commit is atomic on the Hub: a crash during one leaves the repo at the previous commit. A
crash therefore loses at most the rows saved since the last commit's snapshot, and only if
the folder is not on persistent storage (a restarted app re-uploads the folder it finds).

The write token comes only from the environment variable TOKEN_ENV.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import unicodedata
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huggingface_hub import CommitOperationAdd, CommitScheduler, HfApi

from hf_pipeline import __version__
from hf_pipeline.contract import (
    FEEDBACK_EVERY_ENV,
    FEEDBACK_EVERY_KEY,
    FEEDBACK_EVERY_MINUTES,
    FEEDBACK_REPO_ENV,
    FEEDBACK_REPO_KEY,
    FEEDBACK_TOKEN_ENV,
)
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import fsync_dir
from hf_pipeline.runtime.hygiene import MAX_INPUT_BYTES, clean

log = logging.getLogger("sqry_nl_demo.feedback")

SCHEMA = 1
TOKEN_ENV = FEEDBACK_TOKEN_ENV
DIR_ENV = "SQRY_NL_FEEDBACK_DIR"
DEFAULT_DIR = "feedback"  # under the app's working directory
DEFAULT_EVERY_MINUTES = FEEDBACK_EVERY_MINUTES
PATH_IN_REPO = "data"
ROWS_GLOB = "rows-*.jsonl"

MAX_TEXT_BYTES = MAX_INPUT_BYTES  # what the runtime classifies whole
MAX_NOTE_BYTES = 1000
VISIT_LIMIT, VISIT_WINDOW_S = 30, 60.0
PROCESS_LIMIT, PROCESS_WINDOW_S = 600, 3600.0
CONFIRMED, CORRECTED = "confirmed", "corrected"

ROW_KEYS = ("schema", "id", "visit", "time", "text", "original_length", "flags", "predicted",
            "confidence", "tier", "probabilities", "answer", "intent", "note", "model_repo",
            "model_revision", "model_commit", "app_version")


class FeedbackRefused(ValueError):
    """An answer that is not saved; the message is for the person who sent it."""


# ----------------------------------------------------------------------------- checks

def _control_characters(text: str, allowed: str = "") -> list[tuple[int, str]]:
    return [(i, c) for i, c in enumerate(text, start=1)
            if unicodedata.category(c) == "Cc" and c not in allowed]


def _describe(found: list[tuple[int, str]]) -> str:
    shown = ", ".join(f"U+{ord(c):04X} at character {i}" for i, c in found[:3])
    return shown + (f" and {len(found) - 3} more" if len(found) > 3 else "")


def check_request(query: str) -> str:
    """The request as the runtime saw it (after hygiene), or FeedbackRefused saying why."""
    size = len(query.encode("utf-8", "surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise FeedbackRefused(
            f"Not saved: the request is {size} bytes long, and feedback keeps requests of at "
            f"most {MAX_TEXT_BYTES} bytes (the part sqry classifies). Fix: shorten it, "
            "classify it again, then answer.")
    text = clean(query).text
    if not text:
        raise FeedbackRefused(
            "Not saved: the request is empty (nothing is left after removing white space and "
            "invisible characters). Fix: type a request, classify it, then answer.")
    found = _control_characters(text)
    if found:
        raise FeedbackRefused(
            f"Not saved: the request holds control characters ({_describe(found)}). "
            "Fix: remove them, classify the request again, then answer.")
    return text


def check_note(note: str | None) -> str:
    """The note, stripped; FeedbackRefused if too long or holding control characters."""
    note = (note or "").encode("utf-8", "surrogatepass").decode("utf-8", "replace").strip()
    size = len(note.encode("utf-8"))
    if size > MAX_NOTE_BYTES:
        raise FeedbackRefused(f"Not saved: the note is {size} bytes long; at most "
                              f"{MAX_NOTE_BYTES} are kept. Fix: shorten the note.")
    found = _control_characters(note, allowed="\n\t")
    if found:
        raise FeedbackRefused(f"Not saved: the note holds control characters "
                              f"({_describe(found)}). Fix: remove them.")
    return note


def check_intent(intent: str | None) -> str:
    if intent not in INTENTS:
        raise FeedbackRefused(f"Not saved: {intent!r} is not one of the eight intents. "
                              f"Fix: pick one of {', '.join(INTENTS)}.")
    return intent


def feedback_row(*, query: str, prediction: Mapping[str, Any], intent: str, note: str | None,
                 visit: str, model: Mapping[str, Any], now: datetime | None = None
                 ) -> dict[str, Any]:
    """One row of the contract's schema, every input checked (FeedbackRefused if not).

    ``intent`` is what the user says is right: the predicted intent makes it a confirmation.
    """
    text = check_request(query)
    intent = check_intent(intent)
    predicted = prediction["intent"]
    now = now or datetime.now(UTC)
    return {"schema": SCHEMA, "id": uuid.uuid4().hex, "visit": visit,
            "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "text": text, "original_length": len(query), "flags": list(prediction["flags"]),
            "predicted": predicted, "confidence": float(prediction["confidence"]),
            "tier": prediction["tier"],
            "probabilities": {k: float(v) for k, v in prediction["probabilities"].items()},
            "answer": CONFIRMED if intent == predicted else CORRECTED, "intent": intent,
            "note": check_note(note), "model_repo": model.get("repo_id"),
            "model_revision": model.get("revision"), "model_commit": model.get("commit"),
            "app_version": __version__}


def new_visit() -> str:
    """A random id for one page visit: it links one visit's answers, and nothing else."""
    return uuid.uuid4().hex


# ----------------------------------------------------------------------------- bounds

class RateLimit:
    """Sliding-window bounds per visit and for the process; only saved answers count."""

    def __init__(self, *, per_visit: int = VISIT_LIMIT, visit_window: float = VISIT_WINDOW_S,
                 per_process: int = PROCESS_LIMIT, process_window: float = PROCESS_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_visit, self.visit_window = per_visit, visit_window
        self.per_process, self.process_window = per_process, process_window
        self.clock = clock
        self._visits: dict[str, deque[float]] = {}
        self._process: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self, visit: str) -> None:
        """Count one answer from ``visit``, or FeedbackRefused if a bound is reached."""
        with self._lock:
            now = self.clock()
            _expire(self._process, now - self.process_window)
            for key in [k for k, q in self._visits.items()
                        if not _expire(q, now - self.visit_window)]:
                del self._visits[key]  # memory stays bounded by the process bound
            mine = self._visits.get(visit, deque())
            if len(mine) >= self.per_visit:
                wait = mine[0] + self.visit_window - now
                raise FeedbackRefused(
                    f"Not saved: this visit already sent {self.per_visit} answers in the last "
                    f"{self.visit_window:.0f} seconds, the most one visit may. Try again in "
                    f"{max(1, round(wait))} s.")
            if len(self._process) >= self.per_process:
                wait = self._process[0] + self.process_window - now
                raise FeedbackRefused(
                    f"Not saved: this demo already received {self.per_process} answers in the "
                    f"last {self.process_window / 60:.0f} minutes, its bound. Try again in "
                    f"{max(1, round(wait / 60))} min.")
            mine.append(now)
            self._visits[visit] = mine
            self._process.append(now)


def _expire(times: deque[float], before: float) -> int:
    while times and times[0] <= before:
        times.popleft()
    return len(times)


# ----------------------------------------------------------------------------- storage

class RowWriter:
    """Appends rows to ``rows-<uuid>.jsonl`` in ``folder``, one whole fsynced line each."""

    def __init__(self, folder: Path, lock: threading.Lock) -> None:
        self.path = folder / f"rows-{uuid.uuid4().hex}.jsonl"
        self.lock = lock  # the scheduler's: a commit never reads a line being written
        self.rows = 0
        self._size = 0

    def append(self, row: Mapping[str, Any]) -> None:
        """Returns once the line is on disk; raises (with the file unchanged) otherwise."""
        # ASCII only: no reader splitting on U+2028 or U+0085 can cut a row in two.
        line = (json.dumps(row, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
        with self.lock:
            created = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                try:
                    view = memoryview(line)
                    while view:
                        view = view[os.write(fd, view):]
                    os.fsync(fd)
                except BaseException:
                    os.ftruncate(fd, self._size)  # no partial line for the next one to follow
                    raise
            finally:
                os.close(fd)
            if created:
                fsync_dir(self.path.parent)
            self._size += len(line)
            self.rows += 1


def complete_lines(data: bytes) -> bytes:
    """``data`` up to its last newline: the rows a crash cannot have left half-written."""
    return data[:data.rfind(b"\n") + 1]


class RowsScheduler(CommitScheduler):
    """A CommitScheduler that uploads only the complete lines of each rows file.

    The stock ``push_to_hub`` uploads each changed file up to the size it saw, which may end
    inside a line a writer (or a crash) left half-written; this one reads the files under
    the scheduler's lock and cuts each at its last newline, and says in the commit how many
    rows it holds and when its snapshot was taken.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.uploaded: dict[Path, int] = {}  # bytes of complete lines committed, per file
        super().__init__(**kwargs)

    def push_to_hub(self) -> Any:
        with self.lock:
            snapshot = datetime.now(UTC)
            changed = {}
            for path in sorted(self.folder_path.glob(ROWS_GLOB)):
                data = complete_lines(path.read_bytes())
                if len(data) > self.uploaded.get(path, 0):
                    changed[path] = data
        if not changed:
            return None
        rows = sum(data.count(b"\n") for data in changed.values())
        stamp = snapshot.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        log.info("feedback: committing %d rows in %d files (snapshot %s)", rows, len(changed),
                 stamp)
        prefix = f"{self.path_in_repo.strip('/')}/" if self.path_in_repo else ""
        info = self.api.create_commit(
            repo_id=self.repo_id, repo_type=self.repo_type, revision=self.revision,
            operations=[CommitOperationAdd(path_in_repo=prefix + path.name,
                                           path_or_fileobj=data)
                        for path, data in changed.items()],
            commit_message=f"Feedback: {rows} rows in {len(changed)} files",
            commit_description=f"snapshot: {stamp}")
        for path, data in changed.items():
            self.uploaded[path] = len(data)
        log.info("feedback: committed %s (snapshot %s)", info.oid, stamp)
        return info


def commit_snapshot(description: str | None) -> datetime | None:
    """When the snapshot of a commit ``RowsScheduler`` made was taken (from its message)."""
    prefix = "snapshot: "
    for line in (description or "").splitlines():
        if line.startswith(prefix):
            return datetime.strptime(line[len(prefix):], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=UTC)
    return None


# ----------------------------------------------------------------------------- the whole

@dataclass(frozen=True)
class FeedbackOff:
    """Feedback is not collected; ``reason`` is shown on the page."""

    reason: str


class Feedback:
    """Checks, bounds, writes and commits the answers of one app process."""

    def __init__(self, repo_id: str, *, token: str, folder: Path,
                 every_minutes: float = DEFAULT_EVERY_MINUTES, private: bool = True,
                 limit: RateLimit | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.repo_id, self.folder, self.every_minutes = repo_id, folder, every_minutes
        self.limit = limit or RateLimit()
        self.scheduler = RowsScheduler(repo_id=repo_id, repo_type="dataset",
                                       folder_path=folder, path_in_repo=PATH_IN_REPO,
                                       every=every_minutes, private=private,
                                       hf_api=HfApi(token=token))
        self.writer = RowWriter(self.scheduler.folder_path, self.scheduler.lock)
        self.endpoint = self.scheduler.api.endpoint

    def save(self, *, query: str, prediction: Mapping[str, Any], intent: str,
             note: str | None, visit: str, model: Mapping[str, Any]) -> dict[str, Any]:
        """Check, count against the bounds, write: the row, once it is on disk."""
        row = feedback_row(query=query, prediction=prediction, intent=intent, note=note,
                           visit=visit, model=model)
        self.limit.take(visit)
        self.writer.append(row)
        return row

    def close(self) -> None:
        """Commit what is left now, then stop the schedule (tests; atexit does it too)."""
        try:
            self.scheduler.trigger().result()
        finally:
            self.scheduler.stop()


def open_feedback(repo_id: str | None, *, every_minutes: float | None = None,
                  folder: str | Path | None = None,
                  environ: Mapping[str, str] = os.environ) -> Feedback | FeedbackOff:
    """Feedback to ``repo_id`` with the token from TOKEN_ENV, or why there is none."""
    if not repo_id:
        return FeedbackOff("no dataset repo is configured (no `feedback_repo` in "
                           "space_config.json, no --feedback-repo).")
    token = environ.get(TOKEN_ENV, "").strip()
    if not token:
        return FeedbackOff(f"there is no write token for the dataset repo {repo_id} (the "
                           f"secret {TOKEN_ENV} is not set).")
    every = DEFAULT_EVERY_MINUTES if every_minutes is None else every_minutes
    if not (isinstance(every, (int, float)) and every > 0):
        return FeedbackOff(f"feedback_every_minutes is {every!r}; expected a number of "
                           "minutes > 0.")
    where = Path(folder or environ.get(DIR_ENV) or DEFAULT_DIR).absolute()
    try:
        return Feedback(repo_id, token=token, folder=where, every_minutes=float(every))
    except Exception as e:  # the Hub unreachable, the token refused, the folder read-only
        log.warning("feedback to %s is off: %s: %s", repo_id, type(e).__name__, e)
        return FeedbackOff(f"the dataset repo {repo_id} could not be opened for writing "
                           f"({type(e).__name__}: {e}).")


def configured(repo_id: str | None, every_minutes: float | None, config: Mapping[str, Any],
               environ: Mapping[str, str] = os.environ) -> Feedback | FeedbackOff:
    """Feedback as the app's options ask, else the demo's environment, else
    space_config.json (``config``), or why there is none."""
    every: Any = every_minutes
    if every is None and environ.get(FEEDBACK_EVERY_ENV):
        try:
            every = float(environ[FEEDBACK_EVERY_ENV])
        except ValueError:
            return FeedbackOff(f"{FEEDBACK_EVERY_ENV} is {environ[FEEDBACK_EVERY_ENV]!r}, "
                               "expected a number of minutes > 0.")
    if every is None:
        every = config.get(FEEDBACK_EVERY_KEY)
    repo = repo_id or environ.get(FEEDBACK_REPO_ENV) or config.get(FEEDBACK_REPO_KEY)
    return open_feedback(repo, every_minutes=every, environ=environ)


# ----------------------------------------------------------------------------- the page

def stored_markdown(feedback: Feedback) -> str:
    """What an answer stores and where, shown next to the control."""
    from huggingface_hub import constants

    repo = feedback.repo_id
    return (f"**What is stored**: the request as classified (after input cleaning) and its "
            "length, the prediction (intent, confidence, tier, all eight probabilities), your "
            "answer and note, the model's repo, revision and commit, the app's version, the "
            "UTC time, and a random id for this page visit. **Where**: the Hub dataset repo "
            f"[{repo}]({constants.ENDPOINT}/datasets/{repo}), committed every "
            f"{feedback.every_minutes:g} minutes. **Not stored**: your IP address, your user "
            f"name, or anything else about you. **Bounds**: at most {VISIT_LIMIT} answers per "
            f"visit per minute and {PROCESS_LIMIT} per hour for this demo; a request over "
            f"{MAX_TEXT_BYTES} bytes or with control characters is not saved.")


def off_markdown(reason: str) -> str:
    return f"ℹ️ Feedback is off on this page: {reason} Nothing you type here is stored."


class FeedbackControl:
    """"Is this right?" on the page: built where it is created (inside the layout), its
    events attached by ``wire`` once the classify event exists. Without a ``Feedback`` the
    control stays hidden, a line says why, and there are no feedback endpoints."""

    def __init__(self, feedback: Feedback | FeedbackOff | None) -> None:
        import gradio as gr

        self.feedback = feedback or FeedbackOff("no dataset repo is configured.")
        self.collecting = isinstance(self.feedback, Feedback)
        with gr.Group(visible=False, elem_id="feedback") as self.panel:
            gr.Markdown("### Is this right?")
            with gr.Row(equal_height=True):
                self.confirm_button = gr.Button("✅ Yes, confirm", variant="primary",
                                                elem_id="feedback-confirm")
                self.intent = gr.Dropdown(list(INTENTS), value=None, label="No, I meant",
                                          elem_id="feedback-intent")
                self.correct_button = gr.Button("Submit correction",
                                                elem_id="feedback-submit")
            self.note = gr.Textbox(label="Note (optional)", lines=1, max_lines=4,
                                   elem_id="feedback-note")
            self.status = gr.Markdown("", elem_id="feedback-status")
            gr.Markdown(stored_markdown(self.feedback) if self.collecting else "",
                        elem_id="feedback-privacy")
        gr.Markdown("" if self.collecting else off_markdown(self.feedback.reason),
                    visible=not self.collecting, elem_id="feedback-off")
        self.asked = gr.State(None)  # the request of the session's last prediction, as typed
        self.visit = gr.State(None)  # a random id, set at each page load

    def wire(self, demo: Any, *, about: Mapping[str, Any], prediction: Any, run: Any,
             reset: Any) -> None:
        """Hide the control when ``run`` (classify) fails or ``reset`` is clicked; with
        feedback on, show it after a prediction and add ``/confirm`` and ``/correct``."""
        import gradio as gr

        def hide() -> tuple[None, Any]:
            return None, gr.update(visible=False)

        run.failure(hide, outputs=[self.asked, self.panel], api_visibility="private")
        reset.click(hide, outputs=[self.asked, self.panel], api_visibility="private")
        if not self.collecting:  # no control, no endpoints: nothing could be stored
            return
        feedback = self.feedback
        assert isinstance(feedback, Feedback)

        def answer(intent: str | None, note: str | None, predicted: dict[str, Any] | None,
                   asked: str | None, visit: str | None) -> tuple[str, str]:
            visit = visit or new_visit()  # an API session runs no page load
            if predicted is None or asked is None:
                raise gr.Error("Nothing to answer yet: classify a request first.",
                               print_exception=False)
            try:
                row = feedback.save(query=asked, prediction=predicted, note=note, visit=visit,
                                    intent=predicted["intent"] if intent is None else intent,
                                    model=about)
            except FeedbackRefused as e:
                raise gr.Error(str(e), print_exception=False) from None
            except OSError as e:
                log.exception("a feedback row could not be written")
                raise gr.Error(f"Not saved: the answer could not be written ({e.strerror}). "
                               "Please try again later.", print_exception=False) from None
            what = (f"confirmed {row['intent']}" if row["answer"] == CONFIRMED
                    else f"corrected to {row['intent']}")
            return (f"✅ Saved ({what}), row `{row['id']}`: thank you. It reaches the dataset "
                    "repo with the next scheduled commit."), visit

        def confirm(note: str | None, predicted: dict[str, Any] | None, asked: str | None,
                    visit: str | None) -> tuple[str, str]:
            """Say the session's last prediction is right (with an optional note)."""
            return answer(None, note, predicted, asked, visit)

        def correct(intent: str | None, note: str | None, predicted: dict[str, Any] | None,
                    asked: str | None, visit: str | None) -> tuple[str, str]:
            """Say which of the eight intents the last request meant (optional note)."""
            if intent is None:
                raise gr.Error("Not saved: pick the intent you meant first.",
                               print_exception=False)
            return answer(intent, note, predicted, asked, visit)

        demo.load(new_visit, outputs=self.visit, api_visibility="private")
        run.success(lambda: (gr.update(visible=True), "", None, ""),
                    outputs=[self.panel, self.status, self.intent, self.note],
                    api_visibility="private")
        self.confirm_button.click(confirm, inputs=[self.note, prediction, self.asked,
                                                   self.visit],
                                  outputs=[self.status, self.visit], api_name="confirm")
        self.correct_button.click(correct, inputs=[self.intent, self.note, prediction,
                                                   self.asked, self.visit],
                                  outputs=[self.status, self.visit], api_name="correct")

"""The review loop: show each open sample, take an answer, save after every answer.

One loop for every kind of review file (``ReviewFlow`` says what a kind adds): the generated
labels of ``hf-pipeline review`` (y / n [INTENT] / s / q) and the user feedback of
``hf-pipeline feedback review`` (which adds r [REASON] to reject, and refuses some answers for
some rows).

Answers come from the keyboard (``answers=None``) or from any iterable of lines (a pipe, an
answers file, a test). The whole file is rewritten atomically after each answer, so quitting,
Ctrl-C, the end of the answers or a crash loses nothing, and the next run resumes at the first
sample without a review.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from hf_pipeline.intents import INTENTS
from hf_pipeline.verify.store import (
    CORRECT,
    INCORRECT,
    SKIPPED,
    load_verification,
    make_review,
)
from hf_pipeline.verify.summary import Summary, summarize

QUIT = "quit"
_ACTIONS = {"y": CORRECT, "yes": CORRECT, "n": INCORRECT, "no": INCORRECT,
            "s": SKIPPED, "skip": SKIPPED, "q": QUIT, "quit": QUIT}
_CHOICES = ", ".join(f"{i} {name}" for i, name in enumerate(INTENTS))
VERDICT_PROMPT = "correct? [y]es / [n]o [INTENT] / [s]kip / [q]uit: "
INTENT_PROMPT = f"correct intent ({_CHOICES}; q to quit): "
ANSWER_HELP = "type y (correct), n [INTENT] (incorrect), s (skip) or q (quit)"

Ask = Callable[[str], str | None]


class ReviewFile(Protocol):
    """A loaded review file: its samples (the file's own dicts) and an atomic save."""

    samples: list[dict[str, Any]]

    def save(self) -> None: ...


@dataclass(frozen=True)
class ReviewFlow:
    """What one kind of review file brings to the loop.

    ``actions`` maps an answer's first word to a verdict (or ``quit``); the ``relabel``
    verdict takes an intent, the ``reject`` verdict (if any) a reason from ``reasons``.
    ``refuse(sample, verdict)`` says why an answer is not allowed for that sample (None:
    allowed). ``describe(sample)`` is the word in parentheses of a piped answer's line, and
    ``card_fields`` the sample fields the keyboard card shows beside the id."""

    load: Callable[[Path], ReviewFile]
    summarize: Callable[[Any], Any]
    actions: Mapping[str, str]
    verdict_prompt: str
    answer_help: str
    make_review: Callable[..., dict[str, Any]]
    relabel: str = INCORRECT
    reject: str | None = None
    reasons: tuple[str, ...] = ()
    refuse: Callable[[dict[str, Any], str], str | None] = lambda sample, verdict: None
    describe: Callable[[dict[str, Any]], str] = lambda sample: str(sample.get("source", "?"))
    card_fields: tuple[str, ...] = ("source", "split")
    reason_default: Callable[[dict[str, Any]], str | None] = lambda sample: None


VERIFY_FLOW = ReviewFlow(
    load=load_verification, summarize=summarize, actions=_ACTIONS,
    verdict_prompt=VERDICT_PROMPT, answer_help=ANSWER_HELP,
    make_review=lambda verdict, *, corrected_intent, reason, reviewer: make_review(
        verdict, corrected_intent=corrected_intent, reviewer=reviewer))


class _Stop(Exception):
    """Ends the loop early: the reviewer quit or the answers ran out."""


def parse_intent(text: str) -> str | None:
    """A label from its name (any case) or its index 0-7; None if it is neither."""
    text = text.strip()
    if text.isdigit():
        return INTENTS[int(text)] if int(text) < len(INTENTS) else None
    return next((name for name in INTENTS if name.lower() == text.lower()), None)


def review(path: str | Path, *, answers: Iterable[str] | None = None,
           out: TextIO | None = None, reviewer: str | None = None,
           revisit_skipped: bool = False) -> Summary:
    """Review the open samples of the verification file ``path`` in file order and return
    the summary.

    ``answers=None`` reads the keyboard with prompts; otherwise each item of ``answers`` is
    one answer line (``y``, ``n FindCallers``, ``n`` then ``3``, ``s``, ``q``) and only one
    line per sample is written to ``out``. Samples marked skipped are shown again only with
    ``revisit_skipped``.
    """
    return run_review(VERIFY_FLOW, path, answers=answers, out=out, reviewer=reviewer,
                      revisit_skipped=revisit_skipped)


def run_review(flow: ReviewFlow, path: str | Path, *, answers: Iterable[str] | None = None,
               out: TextIO | None = None, reviewer: str | None = None,
               revisit_skipped: bool = False) -> Any:
    """The loop of ``review`` for any kind of review file; returns ``flow.summarize``."""
    vf = flow.load(Path(path))
    out = out if out is not None else sys.stdout
    interactive = answers is None
    ask = _keyboard() if answers is None else _lines(answers)
    todo = [i for i, s in enumerate(vf.samples) if _is_open(s, revisit_skipped=revisit_skipped)]
    if not todo:
        out.write("nothing left to review"
                  + ("" if revisit_skipped else " (--revisit-skipped shows skipped ones)")
                  + "\n")
    for index in todo:
        sample = vf.samples[index]
        progress = f"{index + 1}/{len(vf.samples)}"
        if interactive:
            out.write(_card(flow, sample, progress))
        try:
            verdict, intent, reason = _ask_verdict(flow, ask, sample, progress, out)
        except _Stop as stop:
            out.write(f"stopped at {progress} ({stop}); every answer so far is saved\n")
            break
        sample["review"] = flow.make_review(verdict, corrected_intent=intent, reason=reason,
                                            reviewer=reviewer)
        vf.save()
        out.write(_outcome(flow, sample, progress, interactive=interactive))
    return flow.summarize(vf)


def _is_open(sample: dict[str, Any], *, revisit_skipped: bool) -> bool:
    review_ = sample.get("review")
    return review_ is None or (revisit_skipped and review_["verdict"] == SKIPPED)


def _keyboard() -> Ask:
    def ask(prompt: str) -> str | None:
        try:
            return input(prompt)
        except EOFError:
            print()
            return None
    return ask


def _lines(answers: Iterable[str]) -> Ask:
    it = iter(answers)

    def ask(prompt: str) -> str | None:  # no prompts when not interactive
        line = next(it, None)
        return None if line is None else line.rstrip("\r\n")
    return ask


def _ask_verdict(flow: ReviewFlow, ask: Ask, sample: dict[str, Any], progress: str,
                 out: TextIO) -> tuple[str, str | None, str | None]:
    takes_words = (flow.relabel, flow.reject)
    while True:
        line = ask(flow.verdict_prompt)
        if line is None:
            raise _Stop("end of answers")
        word, _, rest = line.strip().partition(" ")
        action = flow.actions.get(word.lower())
        if not word:
            continue
        if action is None or (rest.strip() and action not in takes_words):
            out.write(f"  {progress}: {line.strip()!r} is not an answer; {flow.answer_help}\n")
            continue
        if action == QUIT:
            raise _Stop("quit")
        refused = flow.refuse(sample, action)
        if refused is not None:
            out.write(f"  {progress}: {refused}\n")
        elif action == flow.relabel:
            return action, _ask_intent(ask, sample, rest.strip(), progress, out), None
        elif action == flow.reject:
            return action, None, _ask_reason(flow, ask, sample, rest.strip(), progress, out)
        else:
            return action, None, None


def _ask_choice(ask: Ask, given: str, prompt: str, progress: str, out: TextIO,
                check: Callable[[str], tuple[str | None, str]]) -> str:
    """Ask until ``check(answer)`` gives a value; it returns (value, or None and why not)."""
    candidate = given
    while True:
        if not candidate:
            line = ask(prompt)
            if line is None:
                raise _Stop("end of answers")
            candidate = line.strip()
            if candidate.lower() in ("q", "quit"):
                raise _Stop("quit")
            if not candidate:
                continue
        value, problem = check(candidate)
        if value is not None:
            return value
        out.write(f"  {progress}: {problem}\n")
        candidate = ""


def _ask_intent(ask: Ask, sample: dict[str, Any], given: str, progress: str,
                out: TextIO) -> str:
    def check(candidate: str) -> tuple[str | None, str]:
        intent = parse_intent(candidate)
        if intent is None:
            return None, f"unknown intent {candidate!r}; type a name or number: {_CHOICES}"
        if intent == sample["intent"]:
            return None, (f"{intent} is the current label; type the correct one (or q, then "
                          "answer y next time)")
        return intent, ""

    return _ask_choice(ask, given, INTENT_PROMPT, progress, out, check)


def parse_choice(text: str, choices: tuple[str, ...]) -> str | None:
    """One of ``choices`` from its name, a unique prefix (any case) or its number from 1."""
    text = text.strip().lower()
    if text.isdigit():
        return choices[int(text) - 1] if 1 <= int(text) <= len(choices) else None
    if text in choices:
        return text
    found = [c for c in choices if c.startswith(text)] if text else []
    return found[0] if len(found) == 1 else None


def _ask_reason(flow: ReviewFlow, ask: Ask, sample: dict[str, Any], given: str,
                progress: str, out: TextIO) -> str:
    default = flow.reason_default(sample)
    if not given and default is not None:
        return default
    listed = ", ".join(f"{i} {name}" for i, name in enumerate(flow.reasons, start=1))

    def check(candidate: str) -> tuple[str | None, str]:
        reason = parse_choice(candidate, flow.reasons)
        return reason, f"unknown reason {candidate!r}; type a name or number: {listed}"

    return _ask_choice(ask, given, f"why reject ({listed}; q to quit): ", progress, out, check)


def _card(flow: ReviewFlow, sample: dict[str, Any], progress: str) -> str:
    extra = "".join(f"  {key}: {sample[key]}" for key in flow.card_fields
                    if sample.get(key) is not None)
    return (f"\n[{progress}] {sample['id']}{extra}\n"
            f"  text:   {sample['text']}\n"
            f"  intent: {sample['intent']}\n")


def _outcome(flow: ReviewFlow, sample: dict[str, Any], progress: str, *,
             interactive: bool) -> str:
    review_ = sample["review"]
    verdict = review_["verdict"]
    if review_.get("corrected_intent"):
        verdict += f" -> {review_['corrected_intent']}"
    if review_.get("reason"):
        verdict += f" ({review_['reason']})"
    if interactive:
        return f"  saved: {verdict}\n"
    return (f"{progress} {sample['id']} {sample['intent']} ({flow.describe(sample)}) "
            f"{sample['text']!r}: {verdict}\n")

"""The review loop: show each open sample, take y / n [INTENT] / s / q, save after every answer.

Answers come from the keyboard (``answers=None``) or from any iterable of lines (a pipe, an
answers file, a test). The whole file is rewritten atomically after each answer, so quitting,
Ctrl-C, the end of the answers or a crash loses nothing, and the next run resumes at the first
sample without a review.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from hf_pipeline.intents import INTENTS
from hf_pipeline.verify.store import (
    CORRECT,
    INCORRECT,
    SKIPPED,
    load_verification,
    make_review,
)
from hf_pipeline.verify.summary import Summary, summarize

_ACTIONS = {"y": CORRECT, "yes": CORRECT, "n": INCORRECT, "no": INCORRECT,
            "s": SKIPPED, "skip": SKIPPED, "q": "quit", "quit": "quit"}
_CHOICES = ", ".join(f"{i} {name}" for i, name in enumerate(INTENTS))
VERDICT_PROMPT = "correct? [y]es / [n]o [INTENT] / [s]kip / [q]uit: "
INTENT_PROMPT = f"correct intent ({_CHOICES}; q to quit): "
ANSWER_HELP = "type y (correct), n [INTENT] (incorrect), s (skip) or q (quit)"

Ask = Callable[[str], str | None]


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
    """Review the open samples of ``path`` in file order and return the summary.

    ``answers=None`` reads the keyboard with prompts; otherwise each item of ``answers`` is
    one answer line (``y``, ``n FindCallers``, ``n`` then ``3``, ``s``, ``q``) and only one
    line per sample is written to ``out``. Samples marked skipped are shown again only with
    ``revisit_skipped``.
    """
    vf = load_verification(path)
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
            out.write(_card(sample, progress))
        try:
            verdict, intent = _ask_verdict(ask, sample, progress, out)
        except _Stop as stop:
            out.write(f"stopped at {progress} ({stop}); every answer so far is saved\n")
            break
        sample["review"] = make_review(verdict, corrected_intent=intent, reviewer=reviewer)
        vf.save()
        out.write(_outcome(sample, progress, interactive=interactive))
    return summarize(vf)


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


def _ask_verdict(ask: Ask, sample: dict[str, Any], progress: str,
                 out: TextIO) -> tuple[str, str | None]:
    while True:
        line = ask(VERDICT_PROMPT)
        if line is None:
            raise _Stop("end of answers")
        word, _, rest = line.strip().partition(" ")
        action = _ACTIONS.get(word.lower())
        if not word:
            continue
        if action is None or (rest.strip() and action != INCORRECT):
            out.write(f"  {progress}: {line.strip()!r} is not an answer; {ANSWER_HELP}\n")
        elif action == "quit":
            raise _Stop("quit")
        elif action == INCORRECT:
            return INCORRECT, _ask_intent(ask, sample, rest.strip(), progress, out)
        else:
            return action, None


def _ask_intent(ask: Ask, sample: dict[str, Any], given: str, progress: str,
                out: TextIO) -> str:
    candidate = given
    while True:
        if not candidate:
            line = ask(INTENT_PROMPT)
            if line is None:
                raise _Stop("end of answers")
            candidate = line.strip()
            if candidate.lower() in ("q", "quit"):
                raise _Stop("quit")
            if not candidate:
                continue
        intent = parse_intent(candidate)
        if intent is None:
            out.write(f"  {progress}: unknown intent {candidate!r}; type a name or number: "
                      f"{_CHOICES}\n")
        elif intent == sample["intent"]:
            out.write(f"  {progress}: {intent} is the current label; type the correct one "
                      "(or q, then answer y next time)\n")
        else:
            return intent
        candidate = ""


def _card(sample: dict[str, Any], progress: str) -> str:
    extra = "".join(f"  {key}: {sample[key]}" for key in ("source", "split") if key in sample)
    return (f"\n[{progress}] {sample['id']}{extra}\n"
            f"  text:   {sample['text']}\n"
            f"  intent: {sample['intent']}\n")


def _outcome(sample: dict[str, Any], progress: str, *, interactive: bool) -> str:
    review_ = sample["review"]
    verdict = review_["verdict"]
    if review_["corrected_intent"]:
        verdict += f" -> {review_['corrected_intent']}"
    if interactive:
        return f"  saved: {verdict}\n"
    source = sample.get("source", "?")
    return (f"{progress} {sample['id']} {sample['intent']} ({source}) "
            f"{sample['text']!r}: {verdict}\n")

"""``feedback review FILE``: the review loop of ``hf-pipeline review`` over a feedback review
file. Per sample: ``y`` accepts the user's answer, ``n [INTENT]`` relabels it (one of the
eight), ``r [REASON]`` rejects it (spam, not-a-request, ambiguous-by-design, held-out), ``s``
skips, ``q`` quits. Saved after every answer; a rerun resumes at the first open sample.

A text equal to a row of the dev set or the human calibration set is flagged and can only be
rejected (as held-out) or skipped: those sets stay independent of training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hf_pipeline.feedback.reviewfile import (
    ACCEPTED,
    HELD_OUT,
    REASONS,
    REJECTED,
    RELABELLED,
    SKIPPED,
    ReviewFile,
    held_out_sets,
    load_review_file,
)
from hf_pipeline.verify.review import QUIT, ReviewFlow, run_review

ACTIONS = {"y": ACCEPTED, "yes": ACCEPTED, "a": ACCEPTED, "accept": ACCEPTED,
           "n": RELABELLED, "no": RELABELLED, "relabel": RELABELLED,
           "r": REJECTED, "reject": REJECTED, "s": SKIPPED, "skip": SKIPPED,
           "q": QUIT, "quit": QUIT}
VERDICT_PROMPT = "accept? [y]es / [n]o [INTENT] (relabel) / [r]eject [REASON] / [s]kip / [q]uit: "
ANSWER_HELP = ("type y (accept the user's answer), n [INTENT] (relabel), r [REASON] (reject: "
               f"{', '.join(REASONS)}), s (skip) or q (quit)")


@dataclass(frozen=True)
class FeedbackSummary:
    """Where a feedback review stands; counts are samples (``answers``: the rows in them)."""

    file: str
    total: int
    answers: int
    accepted: int
    relabelled: int
    rejected: int
    skipped: int
    remaining: int
    flagged: int
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def open(self) -> int:
        """Samples without a decision: never answered, or skipped."""
        return self.remaining + self.skipped

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"open": self.open}


def summarize_feedback(source: ReviewFile | str | Path) -> FeedbackSummary:
    rf = source if isinstance(source, ReviewFile) else load_review_file(source)
    verdicts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for sample in rf.samples:
        review = sample.get("review")
        if review is not None:
            verdicts[review["verdict"]] += 1
            if review["verdict"] == REJECTED:
                reasons[review["reason"]] += 1
    reviewed = sum(verdicts.values())
    return FeedbackSummary(
        file=str(rf.path), total=len(rf.samples), answers=sum(s["count"] for s in rf.samples),
        accepted=verdicts[ACCEPTED], relabelled=verdicts[RELABELLED],
        rejected=verdicts[REJECTED], skipped=verdicts[SKIPPED],
        remaining=len(rf.samples) - reviewed, flagged=sum(bool(s["flag"]) for s in rf.samples),
        reasons=dict(sorted(reasons.items())))


def format_feedback_summary(s: FeedbackSummary) -> str:
    reasons = ", ".join(f"{k} {v}" for k, v in s.reasons.items()) or "none"
    return "\n".join([
        f"{s.file}: {s.total} requests ({s.answers} answers)",
        f"  accepted   {s.accepted}",
        f"  relabelled {s.relabelled}",
        f"  rejected   {s.rejected}  ({reasons})",
        f"  skipped    {s.skipped}",
        f"  remaining  {s.remaining}",
        f"  flagged    {s.flagged}  (text in the dev or calibration set: never accepted)",
    ])


def _refuse(sample: dict[str, Any], verdict: str) -> str | None:
    if sample.get("flag") and verdict in (ACCEPTED, RELABELLED):
        where = held_out_sets()[sample["flag"]]
        return (f"this text is in the {sample['flag']} ({where.name}), which stays "
                f"independent of training: it can only be rejected (r, as {HELD_OUT}) or "
                "skipped (s)")
    return None


def _describe(sample: dict[str, Any]) -> str:
    predicted = "/".join(sample.get("predicted") or {}) or "?"
    flag = f", in the {sample['flag']}" if sample.get("flag") else ""
    return f"x{sample['count']} {sample.get('answer', '?')}, predicted {predicted}{flag}"


def _make_review(verdict: str, *, corrected_intent: str | None, reason: str | None,
                 reviewer: str | None) -> dict[str, Any]:
    return {"verdict": verdict, "corrected_intent": corrected_intent, "reason": reason,
            "reviewer": reviewer}


FEEDBACK_FLOW = ReviewFlow(
    load=load_review_file, summarize=summarize_feedback, actions=ACTIONS,
    verdict_prompt=VERDICT_PROMPT, answer_help=ANSWER_HELP, make_review=_make_review,
    relabel=RELABELLED, reject=REJECTED, reasons=REASONS, refuse=_refuse, describe=_describe,
    card_fields=("count", "answer", "predicted", "notes", "flag"),
    reason_default=lambda sample: HELD_OUT if sample.get("flag") else None)


def review_feedback(path: str | Path, *, answers: Iterable[str] | None = None,
                    out: TextIO | None = None, reviewer: str | None = None,
                    revisit_skipped: bool = False) -> FeedbackSummary:
    """Review the open samples of the feedback review file ``path`` (see the module doc)."""
    return run_review(FEEDBACK_FLOW, path, answers=answers, out=out, reviewer=reviewer,
                      revisit_skipped=revisit_skipped)

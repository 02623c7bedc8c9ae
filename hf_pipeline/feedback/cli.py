"""``hf-pipeline feedback {pull,review,publish}``: the Space's feedback rows into a review file,
reviewed by a person, published as a tagged requests dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hf_pipeline.cli_options import (
    add_hub_options,
    add_json_option,
    add_output_option,
    add_tag_option,
    add_visibility_option,
    note,
    print_result,
    use_hub_options,
)
from hf_pipeline.errors import EXIT_INTERRUPTED, ConfigError

DEFAULT_REVIEW_FILE = Path("feedback-review.json")
REVIEW_HELP = ("review pulled feedback by hand (y accept / n INTENT relabel / r REASON reject / "
               "s / q); resumable, saved per answer")


def register(sub: Any) -> None:
    group = sub.add_parser("feedback", help="user feedback from the Space: pull, review, "
                           "publish", description="Real requests from the Space's feedback "
                           "dataset repo: pull them into a review file, review them by hand, "
                           "publish the accepted ones as a tagged requests dataset.")
    actions = group.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    _pull(actions.add_parser(
        "pull", help="download new feedback rows into a review file",
        description="Download the rows added since --since (a commit or tag; default: all) "
        "from the feedback dataset repo, de-duplicated (the same normalized text with the same "
        "answered intent is one request with a count). Pulling again into a file with review "
        "decisions is allowed only for the same --repo and --since; the decisions are kept."))
    _review(actions.add_parser("review", help=REVIEW_HELP, description=f"{REVIEW_HELP}. "
                               "Answers come from the keyboard, a pipe, or --answers."))
    _publish(actions.add_parser(
        "publish", help="publish the accepted requests as a tagged dataset version",
        description="Publish the accepted requests of a finished review (no open or skipped "
        "requests) as data/requests.jsonl with a card, in one commit, then tag it. Tags are "
        "never moved; identical content is a no-op."))


def _repo_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--repo", "--repo-id", dest="repo", required=True, metavar="NS/NAME",
                   help=what)


def _pull(p: argparse.ArgumentParser) -> None:
    _repo_option(p, "the feedback dataset repo the Space commits to")
    p.add_argument("--since", metavar="REV", help="only rows added after this commit or tag "
                   "(the 'head' the previous pull printed)")
    add_output_option(p, metavar="FILE", help=f"the review file (default {DEFAULT_REVIEW_FILE})")
    add_json_option(p)
    add_hub_options(p)
    p.set_defaults(func=run_pull)


def _review(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, metavar="FILE", help="review file from `feedback pull`")
    p.add_argument("--summary", action="store_true", help="print the counts, then exit")
    p.add_argument("--answers", type=Path, metavar="ANSWERS_FILE",
                   help="one answer per line (y, n INTENT, r REASON, s, q) instead of the "
                   "keyboard")
    p.add_argument("--reviewer", metavar="NAME", help="name stored with each answer")
    p.add_argument("--revisit-skipped", action="store_true",
                   help="show requests answered with s again")
    add_json_option(p, result="the summary")
    p.set_defaults(func=run_review)


def _publish(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, metavar="FILE", help="a finished review file")
    _repo_option(p, "the requests dataset repo, e.g. NS/sqry-nl-requests")
    add_tag_option(p, required=True)
    add_visibility_option(p, default="private", what="the requests dataset repo")
    add_json_option(p)
    add_hub_options(p)
    p.set_defaults(func=run_publish)


def run_pull(args: argparse.Namespace) -> int:
    use_hub_options(args)
    from hf_pipeline.feedback.pull import pull

    result = pull(args.repo, since=args.since, output=args.output or DEFAULT_REVIEW_FILE)
    print_result(args, result.to_dict(), lambda: (
        f"pulled {result.rows} new row(s) from {result.commits} commit(s) of "
        f"{result.repo_id} into {result.path}: {result.samples} request(s) to review"
        + (f", {result.kept_reviews} decision(s) kept" if result.kept_reviews else "")
        + (f"; {result.malformed} malformed line(s) skipped" if result.malformed else "")
        + f"\nnext pull: --since {result.head}"))
    return 0


def run_review(args: argparse.Namespace) -> int:
    from hf_pipeline.feedback.review import (
        format_feedback_summary,
        review_feedback,
        summarize_feedback,
    )
    from hf_pipeline.verify.cli import answer_lines

    def show(summary: Any) -> None:
        print_result(args, summary.to_dict(), lambda: format_feedback_summary(summary))

    if args.summary:
        if args.answers or args.reviewer or args.revisit_skipped:
            raise ConfigError("--answers, --reviewer and --revisit-skipped only apply when "
                              "reviewing; drop them or drop --summary.")
        show(summarize_feedback(args.file))
        return 0
    out = sys.stderr if args.json else sys.stdout
    try:
        summary = review_feedback(args.file, answers=answer_lines(args.answers), out=out,
                                  reviewer=args.reviewer, revisit_skipped=args.revisit_skipped)
    except KeyboardInterrupt:
        print("\ninterrupted; every answer so far is saved", file=sys.stderr)
        show(summarize_feedback(args.file))
        return EXIT_INTERRUPTED
    show(summary)
    return 0


def run_publish(args: argparse.Namespace) -> int:
    use_hub_options(args)
    from hf_pipeline.feedback.publish import PublishRequestsConfig, publish_requests

    cfg = PublishRequestsConfig(args.file, args.repo, args.tag,
                                private=args.visibility != "public")
    result = publish_requests(cfg)
    note(args, f"{result.status} {result.repo_id}@{result.tag} (commit {result.commit})")
    print_result(args, {"repo_id": result.repo_id, "tag": result.tag, "commit": result.commit,
                        "status": result.status, "verification": list(result.verification)})
    return 0

"""``feedback publish FILE --repo NS/NAME --tag vX.Y.Z``: the accepted requests of a finished
review as a tagged version of the requests dataset (``requests.REQUESTS_FILE``, its card and
``hf_pipeline.json``), through the one version flow of ``publish.versions``: tags are never
moved, identical content is a no-op, and the version's files land in one commit, so a failed
publish leaves main and every earlier tag as they were.

A file with open samples (never answered, or skipped) is refused: a version covers the whole
pull, so its card can say which feedback commits it covers.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.errors import DataFileError
from hf_pipeline.feedback.requests import (
    REQUEST_SPLITS,
    REQUESTS_FILE,
    parse_requests,
    request_key,
    split_of,
)
from hf_pipeline.feedback.review import FeedbackSummary, summarize_feedback
from hf_pipeline.feedback.reviewfile import ACCEPTED, RELABELLED, ReviewFile, load_review_file
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import sha256_text
from hf_pipeline.publish.dataset import MANIFEST, content_difference
from hf_pipeline.publish.versions import (
    PublishError,
    PublishResult,
    Target,
    check_publish_config,
    publish_version,
)

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

HF_SPLIT = "requests"  # the one split `datasets` sees; the `split` column is ours
__all__ = ["PublishError", "PublishRequestsConfig", "build_requests", "publish_requests"]


@dataclass(frozen=True)
class PublishRequestsConfig:
    review_file: Path
    repo_id: str
    tag: str
    private: bool = True  # user-typed text: private unless asked
    pretty_name: str = "sqry-nl requests"

    def __post_init__(self) -> None:
        check_publish_config(self, ("review_file",))


@dataclass(frozen=True)
class Requests:
    """What a version holds: the rows file's text and the figures its card shows."""

    text: str
    rows: tuple[dict[str, Any], ...]
    review: FeedbackSummary
    metadata: dict[str, Any]
    merged: int
    reviewers: tuple[str, ...] = ()

    @property
    def content_sha256(self) -> str:
        return sha256_text(self.text)


def build_requests(review_file: str | Path) -> Requests:
    """The published rows of a finished review; a DataFileError names what stops it."""
    rf = load_review_file(review_file)
    summary = summarize_feedback(rf)
    fix = (f"finish it with `hf-pipeline feedback review {rf.path}`"
           + (" --revisit-skipped" if summary.skipped else "") + ".")
    if summary.open:
        raise DataFileError(rf.path, f"{summary.remaining} request(s) not reviewed and "
                            f"{summary.skipped} skipped; only a finished review is published.",
                            fix=fix)
    by_key: dict[str, dict[str, Any]] = {}
    merged = 0
    for sample in _accepted(rf):
        row = by_key.get(request_key(sample["text"]))
        if row is None:
            by_key[request_key(sample["text"])] = _row(sample)
        elif row["intent"] != _final_intent(sample):
            raise DataFileError(rf.path, f"the request {sample['text']!r} is accepted as "
                                f"{row['intent']} and as {_final_intent(sample)} (samples "
                                f"{row['_ids'][0]} and {sample['id']}).",
                                fix="relabel or reject one of them so the text has one label, "
                                f"with `hf-pipeline feedback review {rf.path}` after setting "
                                "its 'review' to null.")
        else:
            _merge(row, _row(sample))
            merged += 1
    rows = [{k: v for k, v in r.items() if k != "_ids"} for _, r in sorted(by_key.items())]
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    parse_requests(Path(REQUESTS_FILE), text)  # what load_requests will accept
    reviewers = tuple(sorted({s["review"]["reviewer"] for s in rf.samples
                              if s["review"].get("reviewer")}))
    return Requests(text, tuple(rows), summary, rf.metadata, merged, reviewers)


def _accepted(rf: ReviewFile) -> list[dict[str, Any]]:
    chosen = [s for s in rf.samples if s["review"]["verdict"] in (ACCEPTED, RELABELLED)]
    flagged = [s for s in chosen if s["flag"]]
    if flagged:
        s = flagged[0]
        raise DataFileError(rf.path, f"sample {s['id']} ({s['text']!r}) is accepted, but its "
                            f"text is in the {s['flag']}, which must stay independent of "
                            f"training ({len(flagged)} such sample(s)).",
                            fix="reject it: set its 'review' to null and answer r in "
                            f"`hf-pipeline feedback review {rf.path}`.")
    return chosen


def _final_intent(sample: dict[str, Any]) -> str:
    return sample["review"]["corrected_intent"] or sample["intent"]


def _row(sample: dict[str, Any]) -> dict[str, Any]:
    relabelled = sample["review"]["verdict"] == RELABELLED
    answers = sample.get("answers") or {}
    return {
        "text": sample["text"], "intent": _final_intent(sample), "split": split_of(sample["text"]),
        "count": sample["count"],
        "answer": "relabelled" if relabelled else sample.get("answer", "confirmed"),
        "user_intents": [{"intent": sample["intent"], "count": sample["count"]}],
        "confirmed": int(answers.get("confirmed", 0)),
        "corrected": int(answers.get("corrected", 0)),
        "model_revisions": [{"revision": k, "count": v}
                            for k, v in sorted((sample.get("model_revisions") or {}).items())],
        "feedback_commits": list(sample.get("feedback_commits") or []),
        "_ids": [sample["id"]],
    }


def _merge(row: dict[str, Any], other: dict[str, Any]) -> None:
    """The same text accepted from two answered intents, with one final label: one row."""
    order = ("confirmed", "corrected", "relabelled")
    row["answer"] = max(row["answer"], other["answer"], key=order.index)
    for key in ("count", "confirmed", "corrected"):
        row[key] += other[key]
    for key, name in (("user_intents", "intent"), ("model_revisions", "revision")):
        counts = Counter({i[name]: i["count"] for i in row[key]})
        counts.update({i[name]: i["count"] for i in other[key]})
        row[key] = [{name: k, "count": v} for k, v in sorted(counts.items())]
    row["feedback_commits"] += [c for c in other["feedback_commits"]
                                if c not in row["feedback_commits"]]
    row["_ids"] += other["_ids"]


def publish_requests(cfg: PublishRequestsConfig, *, api: HfApi | None = None) -> PublishResult:
    from huggingface_hub import HfApi

    requests = build_requests(cfg.review_file)
    target = Target(cfg.repo_id, "dataset", cfg.tag, private=cfg.private)
    return publish_version(api or HfApi(), target, RequestsVersion(cfg, requests))


class RequestsVersion:
    """A requests version is the sha256 of its rows file (``hf_pipeline.json`` holds it)."""

    noun = "requests"

    def __init__(self, cfg: PublishRequestsConfig, requests: Requests) -> None:
        self.cfg, self.requests = cfg, requests

    def summary(self) -> str:
        return f"content sha256 {self.requests.content_sha256[:12]}"

    def difference(self, api: HfApi, revision: str, *, exact: bool) -> str | None:
        return content_difference(api, self.cfg.repo_id, revision,
                                  self.requests.content_sha256)

    def push(self, api: HfApi, parent: str | None) -> str:
        from huggingface_hub import CommitOperationAdd

        card = render_requests_card(self.cfg, self.requests)
        card.validate(repo_type="dataset")
        manifest = {"content_sha256": self.requests.content_sha256,
                    "feedback": _feedback(self.requests.metadata),
                    "feedback_commits": _commits(self.requests.rows),
                    "review": self.requests.review.to_dict() | {"file": Path(
                        self.requests.review.file).name}}
        info = api.create_commit(
            self.cfg.repo_id, repo_type="dataset", parent_commit=parent,
            commit_message=f"Requests {self.cfg.tag}",
            operations=[
                CommitOperationAdd(REQUESTS_FILE, self.requests.text.encode("utf-8")),
                CommitOperationAdd("README.md", str(card).encode("utf-8")),
                CommitOperationAdd(MANIFEST, (json.dumps(manifest, indent=2) + "\n")
                                   .encode("utf-8"))])
        return info.oid

    def verify(self, api: HfApi, commit: str) -> tuple[str, ...]:
        local = api.hf_hub_download(self.cfg.repo_id, REQUESTS_FILE, repo_type="dataset",
                                    revision=commit)
        got = sha256_text(Path(local).read_text(encoding="utf-8"))
        if got != self.requests.content_sha256:
            raise PublishError(f"{self.cfg.repo_id}@{commit[:12]}: {REQUESTS_FILE} has sha256 "
                               f"{got[:12]}, expected {self.requests.content_sha256[:12]}.")
        return (f"{REQUESTS_FILE} sha256 {got[:12]}",)



def _feedback(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: metadata.get(k) for k in ("repo", "since", "since_commit", "head", "malformed")}


def _commits(rows: tuple[dict[str, Any], ...]) -> list[str]:
    return sorted({c for r in rows for c in r["feedback_commits"]})


def _figures(rows: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    def tally(key: str, names: tuple[str, ...]) -> dict[str, dict[str, int]]:
        return {n: {"rows": sum(r[key] == n for r in rows),
                    "answers": sum(r["count"] for r in rows if r[key] == n)} for n in names}

    per_model: Counter[str] = Counter()
    for r in rows:
        per_model.update({m["revision"]: m["count"] for m in r["model_revisions"]})
    return {"splits": tally("split", REQUEST_SPLITS), "per_intent": tally("intent", INTENTS),
            "per_answer": {a: sum(r["answer"] == a for r in rows)
                           for a in ("confirmed", "corrected", "relabelled")},
            "per_model": dict(sorted(per_model.items()))}


def render_requests_card(cfg: PublishRequestsConfig, requests: Requests) -> Any:
    from huggingface_hub import DatasetCard, DatasetCardData

    from hf_pipeline.assets import asset_dir
    from hf_pipeline.publish.card import size_category

    rows = requests.rows
    data = DatasetCardData(
        pretty_name=cfg.pretty_name, language=["en"], task_categories=["text-classification"],
        task_ids=["intent-classification"], size_categories=[size_category(len(rows))],
        multilinguality=["monolingual"], annotations_creators=["crowdsourced",
                                                               "expert-generated"],
        language_creators=["crowdsourced"], source_datasets=["original"],
        tags=["code-search", "sqry", "intent-classification", "user-feedback"],
        configs=[{"config_name": "default", "default": True,
                  "data_files": [{"split": HF_SPLIT, "path": REQUESTS_FILE}]}])
    return DatasetCard.from_template(
        data, template_path=str(asset_dir("dataset_card") / "requests.md"),
        pretty_name=cfg.pretty_name, repo_id=cfg.repo_id, tag=cfg.tag,
        requests_file=REQUESTS_FILE, rows_total=len(rows),
        answers_total=sum(r["count"] for r in rows), feedback=_feedback(requests.metadata),
        feedback_commits=_commits(rows), review=requests.review.to_dict(),
        reviewers=requests.reviewers, merged=requests.merged,
        content_sha256=requests.content_sha256, **_figures(rows))

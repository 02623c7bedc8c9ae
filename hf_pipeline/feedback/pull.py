"""``feedback pull``: the feedback rows a Space committed to its dataset repo, de-duplicated into
a review file.

The Space appends one JSON line per answer to ``rows-<uuid>.jsonl`` and a CommitScheduler
uploads each file whole every few minutes, so a file grows from commit to commit. The rows a
commit added are the rows (by their ``id``) its version of a file holds that no earlier commit
held: so each row is attributed to the feedback commit that brought it, and ``--since REV``
takes only the rows added after REV. Malformed lines are skipped with a warning naming the
file and line (only in each file's newest version: an older version's half-written last line
is complete in the next commit).

Rows with the same normalized text (``requests.request_key``) and the same answered intent are
one review sample with a count, the answers, model revisions and feedback commits they came
from. The review file records main's head commit, for the next ``--since``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.feedback.requests import request_key
from hf_pipeline.feedback.reviewfile import (
    KIND,
    ReviewFile,
    held_out_flags,
    load_review_file,
)
from hf_pipeline.hub_client import hub_errors
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import atomic_write_json, check_outputs, file_output
from hf_pipeline.repo_ids import check_repo_id, check_revision

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

ROWS_FOLDER = "data/"
ANSWERS = ("confirmed", "corrected")
SCHEMA = 1
MAX_LISTED_MALFORMED = 100  # listed in the review file's metadata; all are counted


@dataclass(frozen=True)
class PullResult:
    path: Path
    repo_id: str
    head: str
    since: str | None
    commits: int
    rows: int
    samples: int
    malformed: int
    kept_reviews: int

    def to_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), "repo_id": self.repo_id, "head": self.head,
                "since": self.since, "commits": self.commits, "rows": self.rows,
                "samples": self.samples, "malformed": self.malformed,
                "kept_reviews": self.kept_reviews}


def parse_row(line: str) -> dict[str, Any]:
    """One feedback row (feedback_contract.md, "One feedback row"); ValueError says why not."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg})") from None
    if not isinstance(row, dict):
        raise ValueError(f"a {type(row).__name__}, expected an object")
    if row.get("schema") != SCHEMA:
        raise ValueError(f"field 'schema' is {row.get('schema')!r}, expected {SCHEMA}")
    for key in ("id", "text", "intent", "answer"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise ValueError(f"field {key!r} is {row.get(key)!r}, expected a non-empty string")
    if row["intent"] not in INTENTS:
        raise ValueError(f"field 'intent' is {row['intent']!r}, not one of the eight intents")
    if row["answer"] not in ANSWERS:
        raise ValueError(f"field 'answer' is {row['answer']!r}, expected one of "
                         f"{', '.join(ANSWERS)}")
    return row


def _is_rows_file(path: str) -> bool:
    return path.startswith(ROWS_FOLDER) and path.endswith(".jsonl")


def pull(repo_id: str, *, output: str | Path, since: str | None = None,
         api: HfApi | None = None) -> PullResult:
    """Pull the rows of ``repo_id`` (a dataset repo) added after ``since`` into ``output``."""
    from huggingface_hub import HfApi

    check_repo_id(repo_id, field="--repo")
    if since is not None:
        check_revision(since, field="--since")
    output = Path(output)
    check_outputs({"--output": file_output(output)})  # before the Hub is asked
    previous = _previous_review(output, repo_id, since)
    api = api or HfApi()
    with hub_errors(f"pull feedback from dataset repo {repo_id}", endpoint=api.endpoint):
        scan = _scan(api, repo_id, since)
    samples = _group(scan.rows)
    kept = _keep_reviews(samples, previous)
    metadata = {
        "kind": KIND, "repo": repo_id, "since": since, "since_commit": scan.since_commit,
        "head": scan.head, "commits": scan.commits, "rows": len(scan.rows),
        "malformed": len(scan.malformed), "malformed_lines": scan.malformed[:MAX_LISTED_MALFORMED],
        "created_by": "hf-pipeline feedback pull"}
    atomic_write_json(output, {"metadata": metadata, "samples": samples})
    for item in scan.malformed:
        log.warning("%s@%s:%d: skipped: %s", item["file"], item["commit"][:12], item["line"],
                    item["problem"])
    return PullResult(output, repo_id, scan.head, since, len(scan.commits), len(scan.rows),
                      len(samples), len(scan.malformed), kept)


@dataclass
class _Scan:
    head: str
    since_commit: str | None
    commits: list[str]
    rows: list[tuple[dict[str, Any], str]]  # (row, commit that added it), in order
    malformed: list[dict[str, Any]]


def _scan(api: HfApi, repo_id: str, since: str | None) -> _Scan:
    head = api.dataset_info(repo_id).sha
    since_commit = api.dataset_info(repo_id, revision=since).sha if since else None
    chain = []
    for commit in api.list_repo_commits(repo_id, repo_type="dataset", revision=head):
        if commit.commit_id == since_commit:
            break
        chain.append(commit.commit_id)
    else:
        if since_commit is not None:
            raise InvalidValueError("--since", since, f"a commit or tag on the history of "
                                    f"{repo_id}'s main branch",
                                    fix="pass the 'head' of the previous pull's review file.")
    chain.reverse()
    seen: set[str] = set()
    versions: dict[str, str] = {}  # path -> blob id last read
    if since_commit is not None:
        for path, oid in _rows_files(api, repo_id, since_commit).items():
            rows, _ = _read(api, repo_id, path, since_commit)
            seen.update(r["id"] for r in rows)
            versions[path] = oid
    added: list[tuple[dict[str, Any], str]] = []
    problems: dict[str, tuple[str, list[dict[str, Any]]]] = {}  # path -> (oid, problems)
    for commit in chain:
        files = _rows_files(api, repo_id, commit)
        for path, oid in files.items():
            if versions.get(path) == oid:
                continue
            rows, bad = _read(api, repo_id, path, commit)
            problems[path] = (oid, bad)
            for row in rows:
                if row["id"] not in seen:
                    seen.add(row["id"])
                    added.append((row, commit))
        versions = files
    malformed = [p for path, (oid, bad) in sorted(problems.items())
                 if versions.get(path) == oid for p in bad]
    return _Scan(head, since_commit, chain, added, malformed)


def _rows_files(api: HfApi, repo_id: str, commit: str) -> dict[str, str]:
    from huggingface_hub.hf_api import RepoFile

    tree = api.list_repo_tree(repo_id, repo_type="dataset", revision=commit, recursive=True)
    return {item.path: item.blob_id for item in tree
            if isinstance(item, RepoFile) and _is_rows_file(item.path)}


def _read(api: HfApi, repo_id: str, path: str,
          commit: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(valid rows, malformed lines) of one version of a rows file."""
    local = Path(api.hf_hub_download(repo_id, path, repo_type="dataset", revision=commit))
    text = local.read_bytes().decode("utf-8", errors="replace")
    rows, bad = [], []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append(parse_row(line))
        except ValueError as e:
            bad.append({"file": path, "commit": commit, "line": lineno, "problem": str(e)})
    return rows, bad


def sample_id(text: str, intent: str) -> str:
    """The review sample's id: the same normalized text and answered intent, the same id."""
    return hashlib.sha256(f"{request_key(text)}\0{intent}".encode()).hexdigest()[:16]


def _group(rows: list[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for row, commit in rows:
        sid = sample_id(row["text"], row["intent"])
        g = groups.setdefault(sid, {
            "id": sid, "text": row["text"], "intent": row["intent"], "count": 0,
            "answers": Counter(), "predicted": Counter(), "model_revisions": Counter(),
            "feedback_commits": [], "notes": [], "row_ids": [], "first_time": row.get("time"),
            "last_time": row.get("time"), "flag": None, "review": None})
        g["count"] += 1
        g["answers"][row["answer"]] += 1
        g["predicted"][str(row.get("predicted"))] += 1
        g["model_revisions"][_model_spec(row)] += 1
        if commit not in g["feedback_commits"]:
            g["feedback_commits"].append(commit)
        note = row.get("note")
        if isinstance(note, str) and note.strip() and note not in g["notes"]:
            g["notes"].append(note)
        g["row_ids"].append(row["id"])
        g["last_time"] = row.get("time") or g["last_time"]
    flags = held_out_flags()
    samples = []
    for g in groups.values():
        g["answer"] = "corrected" if g["answers"]["corrected"] else "confirmed"
        for key in ("answers", "predicted", "model_revisions"):
            g[key] = dict(sorted(g[key].items()))
        g["flag"] = flags.get(request_key(g["text"]))
        samples.append(g)
    return samples


def _model_spec(row: dict[str, Any]) -> str:
    repo, revision = row.get("model_repo"), row.get("model_revision")
    if not isinstance(repo, str) or not repo:
        return "unknown"
    return f"{repo}@{revision}" if isinstance(revision, str) and revision else repo


def _previous_review(output: Path, repo_id: str, since: str | None) -> ReviewFile | None:
    """The review file already at ``output`` when it holds decisions; None when there is
    none to keep. A file with decisions from another pull is refused: nothing a reviewer did
    may be lost."""
    if not output.exists():
        return None
    try:
        previous = load_review_file(output)
    except DataFileError as e:
        raise DataFileError(output, f"exists and is not a feedback review file ({e.problem})",
                            fix="choose another -o/--output, or move that file away.") from None
    if not any(s.get("review") for s in previous.samples):
        return None
    meta = previous.metadata
    if meta.get("repo") != repo_id or meta.get("since") != since:
        raise DataFileError(output, f"holds review decisions of another pull (repo "
                            f"{meta.get('repo')}, --since {meta.get('since')}); this pull is "
                            f"repo {repo_id}, --since {since}.",
                            fix="write this pull to another -o/--output; publish or finish "
                            "that review first.")
    return previous


def _keep_reviews(samples: list[dict[str, Any]], previous: ReviewFile | None) -> int:
    """Carry the decisions of the same pull, resumed, into the new samples; samples only the
    old file has (and their decisions) stay too. Returns how many decisions were kept."""
    if previous is None:
        return 0
    by_id = {s["id"]: s for s in samples}
    kept = 0
    for old in previous.samples:
        new = by_id.get(old["id"])
        if new is None:
            samples.append(old)
            kept += old.get("review") is not None
        elif old.get("review") is not None:
            new["review"] = old["review"]
            kept += 1
    return kept

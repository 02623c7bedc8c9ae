"""The Space's feedback dataset repo: created with its card, and the token the Space writes with.

The Space appends one JSON line per answer and huggingface_hub's ``CommitScheduler`` commits
them to a Hub *dataset* repo, ``data/rows-<process>.jsonl``. ``ensure_feedback_repo`` makes
that repo (private unless asked) with a card saying what is collected, the row schema, the
consent and how rows are reviewed. An existing repo keeps its rows and its visibility; its
card is rewritten only while it is ours (it carries ``CARD_MARKER``): a card someone edited
and unmarked is left alone.

The write token reaches the app only through ``SQRY_NL_FEEDBACK_TOKEN`` in its environment.
On a real Hub that is a Space secret (``set_feedback_secret``), its value taken from the same
variable here, never from argv; on the local Hub (no secrets API) ``hf-pipeline demo`` puts
the local Hub's token in the app's environment (``demo_environment``). The token is never
printed, logged or written.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hf_pipeline.assets import asset_dir
from hf_pipeline.contract import (
    FEEDBACK_EVERY_ENV,
    FEEDBACK_EVERY_KEY,
    FEEDBACK_EVERY_MINUTES,
    FEEDBACK_REPO_ENV,
    FEEDBACK_REPO_KEY,
    FEEDBACK_TOKEN_ENV,
)
from hf_pipeline.errors import HubError, InvalidValueError
from hf_pipeline.hub_client import hub_errors
from hf_pipeline.intents import INTENTS
from hf_pipeline.repo_ids import check_repo_id

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

# The app's environment and space_config.json keys: one definition, in the contract.
TOKEN_ENV, REPO_ENV, EVERY_ENV = FEEDBACK_TOKEN_ENV, FEEDBACK_REPO_ENV, FEEDBACK_EVERY_ENV
REPO_KEY, EVERY_KEY = FEEDBACK_REPO_KEY, FEEDBACK_EVERY_KEY
DEFAULT_EVERY_MINUTES = FEEDBACK_EVERY_MINUTES
MAX_EVERY_MINUTES = 24 * 60.0  # rows older than a day unsaved is not a schedule
ROWS_PATTERN = "data/rows-*.jsonl"
SCHEMA_VERSION = 1
CARD_MARKER = "hf-pipeline: sqry-nl feedback card (rewritten on publish while this line stays)"
LICENSE = ("mit", "MIT")  # the project's; the page says rows may be published under it
TOKEN_HELP = (
    "make a fine-grained token at https://huggingface.co/settings/tokens (New token -> "
    "\"Fine-grained\"; under \"Repositories permissions\" pick {repo} only and tick \"Write "
    "access to contents/settings of selected repos\"; nothing else)")

# The row, field by field, as the card documents it (docs/feedback_contract.md).
ROW_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("schema", "int", f"row format version ({SCHEMA_VERSION})"),
    ("id", "string", "random id of this row (uuid4 hex)"),
    ("visit", "string", "random id of the page visit (uuid4 hex), made when the page is "
     "opened; not linked to any person"),
    ("time", "string", "when the answer was given, UTC, to the second "
     "(`2026-12-07T07:00:00Z`)"),
    ("text", "string", "the request as the runtime saw it, after its input hygiene (as "
     "sqry sees it; at most 4096 bytes)"),
    ("original_length", "int", "characters of what the visitor typed"),
    ("flags", "list of strings", "the runtime's hygiene flags, e.g. `input_truncated`"),
    ("predicted", "string", "the intent the model predicted"),
    ("confidence", "float", "its calibrated probability"),
    ("tier", "string", "what sqry would do at that confidence (run, confirm, clarify)"),
    ("probabilities", "mapping", "all eight intents -> calibrated probability"),
    ("answer", "string", "`confirmed` (the prediction is right) or `corrected`"),
    ("intent", "string", "the intent the visitor says is right (= `predicted` when "
     "confirmed)"),
    ("note", "string", "optional free text from the visitor; may be empty"),
    ("model_repo", "string or null", "the model repo the page served"),
    ("model_revision", "string or null", "its tag"),
    ("model_commit", "string or null", "the commit that tag named (40 hex)"),
    ("app_version", "string", "the hf_pipeline version of the app"),
)


# ----------------------------------------------------------------------------- checks

def is_local_endpoint(url: str) -> bool:
    """True for the local Hub: an http(s) URL whose host is ``localhost`` or a loopback
    address. Anything else is a real Hub (it has Space secrets; the local one has none)."""
    from hf_pipeline.hub_client import is_loopback

    return is_loopback(urlsplit(url.strip()).hostname or "")


def check_feedback_repo(value: object, *, field: str = REPO_KEY) -> str:
    """``NAMESPACE/NAME`` of a dataset repo; InvalidValueError naming ``field`` otherwise."""
    return check_repo_id(value, field=field)


def check_every_minutes(value: object, *, field: str = EVERY_KEY) -> float:
    """A number of minutes in (0, MAX_EVERY_MINUTES]: CommitScheduler's ``every``."""
    expected = f"a number of minutes > 0 and <= {MAX_EVERY_MINUTES:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            number = float(str(value))
        except ValueError:
            raise InvalidValueError(field, value, expected) from None
    else:
        number = float(value)
    if not math.isfinite(number) or not 0 < number <= MAX_EVERY_MINUTES:
        raise InvalidValueError(field, value, expected, fix="e.g. 5 (the default): a row "
                                "then reaches the Hub within about 5 minutes.")
    return number


@dataclass(frozen=True)
class FeedbackSettings:
    """Where the Space's feedback goes: the dataset repo, how often rows are committed, and
    whether the repo is created public."""

    repo_id: str
    every_minutes: float = DEFAULT_EVERY_MINUTES
    private: bool = True

    def __post_init__(self) -> None:
        check_feedback_repo(self.repo_id)
        object.__setattr__(self, "every_minutes", check_every_minutes(self.every_minutes))

    def config(self) -> dict[str, Any]:
        """The space_config.json keys."""
        return {REPO_KEY: self.repo_id, EVERY_KEY: self.every_minutes}


# ----------------------------------------------------------------------------- the repo

def feedback_card(repo_id: str, *, space_repo: str | None = None,
                  every_minutes: float = DEFAULT_EVERY_MINUTES) -> Any:
    """The dataset card (a ``DatasetCard``): same inputs, same text."""
    from huggingface_hub import DatasetCard, DatasetCardData

    data = DatasetCardData(
        pretty_name="sqry-nl demo feedback", language=["en"], license=LICENSE[0],
        task_categories=["text-classification"], task_ids=["intent-classification"],
        annotations_creators=["crowdsourced"], language_creators=["crowdsourced"],
        multilinguality=["monolingual"], source_datasets=["original"],
        tags=["sqry", "code-search", "intent-classification", "user-feedback"],
        configs=[{"config_name": "default",
                  "data_files": [{"split": "train", "path": ROWS_PATTERN}]}])
    space_link = f"https://huggingface.co/spaces/{space_repo}" if space_repo else "#"
    return DatasetCard.from_template(
        data, template_path=str(asset_dir("dataset_card") / "feedback.md"),
        pretty_name="sqry-nl demo feedback", repo_id=repo_id, marker=CARD_MARKER,
        space_link=space_link, license_name=LICENSE[1], schema_version=SCHEMA_VERSION,
        every_minutes=f"{every_minutes:g}", intents=INTENTS,
        fields=[{"name": n, "type": t, "meaning": m} for n, t, m in ROW_FIELDS])


@dataclass(frozen=True)
class FeedbackRepo:
    """What ``ensure_feedback_repo`` found and did."""

    repo_id: str
    created: bool
    private: bool
    card: str  # "written" | "unchanged" | "kept" (a card that is not ours)


def ensure_feedback_repo(api: HfApi, settings: FeedbackSettings, *,
                         space_repo: str | None = None) -> FeedbackRepo:
    """Create the dataset repo if it is missing (``settings.private``), and write our card
    unless the repo has one of its own. Rows and visibility of an existing repo are left as
    they are; the card goes in a commit of README.md alone."""
    from huggingface_hub import CommitOperationAdd

    repo_id = settings.repo_id
    card = feedback_card(repo_id, space_repo=space_repo, every_minutes=settings.every_minutes)
    text = str(card)
    with hub_errors(f"feedback dataset {repo_id}", endpoint=api.endpoint):
        card.validate(repo_type="dataset")  # the Hub's own check, before anything is created
        created = not api.repo_exists(repo_id, repo_type="dataset")
        if created:
            api.create_repo(repo_id, repo_type="dataset", private=settings.private,
                            exist_ok=True)
        info = api.dataset_info(repo_id)
        existing = _readme(api, repo_id, info)
        if existing is not None and CARD_MARKER not in existing:
            log.warning("%s has a README.md that hf-pipeline did not write (no marker line): "
                        "it is kept; the card describing the feedback rows is not written",
                        repo_id)
            status = "kept"
        elif existing == text:
            status = "unchanged"
        else:
            api.create_commit(repo_id, repo_type="dataset", parent_commit=info.sha,
                              operations=[CommitOperationAdd("README.md", text.encode())],
                              commit_message="Feedback dataset card")
            status = "written"
    private = bool(info.private)
    if not created and private != settings.private:
        log.warning("%s already exists and is %s; its visibility is left as it is (change it "
                    "on its settings page)", repo_id, "private" if private else "public")
    return FeedbackRepo(repo_id, created, private, status)


def _readme(api: HfApi, repo_id: str, info: Any) -> str | None:
    if "README.md" not in {s.rfilename for s in info.siblings or ()}:
        return None
    path = api.hf_hub_download(repo_id, "README.md", repo_type="dataset", revision=info.sha)
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


# ----------------------------------------------------------------------------- the token

def feedback_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The write token for the feedback repo, from the environment only."""
    value = (os.environ if environ is None else environ).get(TOKEN_ENV, "").strip()
    return value or None


def check_feedback_token(api: HfApi, token: str, repo_id: str) -> list[str]:
    """Ask the Hub who the token is: refused or read-only is an error (nothing published
    yet); a classic write token (every repo of the account) is allowed with a warning.
    Returns the warnings."""
    with hub_errors(f"{TOKEN_ENV} (the feedback write token)", endpoint=api.endpoint):
        who = api.whoami(token=token)
    role = ((who.get("auth") or {}).get("accessToken") or {}).get("role")
    if role == "read":
        raise HubError(f"{TOKEN_ENV} is a read-only token: the Space could not commit "
                       f"feedback to {repo_id}. Fix: {TOKEN_HELP.format(repo=repo_id)}, and "
                       f"set {TOKEN_ENV} to it.")
    if role in ("write", "admin"):
        return [f"{TOKEN_ENV} is a classic {role} token: it can write to every repo of "
                f"{who.get('name')}, and the Space will hold it. Better: "
                f"{TOKEN_HELP.format(repo=repo_id)}."]
    return []


def prepare_feedback_token(api: HfApi, repo_id: str, *,
                           say: Callable[[str], None]) -> str | None:
    """The token ``set_feedback_secret`` will set: on a real Hub, $SQRY_NL_FEEDBACK_TOKEN,
    checked now (before anything is created); on the local Hub, None (it has no secrets)."""
    token = feedback_token()
    if token is None or is_local_endpoint(api.endpoint):
        return None
    for warning in check_feedback_token(api, token, repo_id):
        say(warning)
    return token


def secret_instructions(space_repo: str, repo_id: str) -> str:
    return (f"feedback is off on {space_repo} until it has the secret {TOKEN_ENV} (the page "
            f"says so). To turn it on: {TOKEN_HELP.format(repo=repo_id)}; then either set "
            f"{TOKEN_ENV} in this shell and publish again, or add it by hand: "
            f"https://huggingface.co/spaces/{space_repo}/settings -> \"Variables and secrets\""
            f" -> \"New secret\", name {TOKEN_ENV}, value the token.")


def set_feedback_secret(api: HfApi, space_repo: str, repo_id: str, token: str | None, *,
                        say: Callable[[str], None]) -> str:
    """Give the Space its write token: ``"set"`` (a real Hub, token given), ``"missing"``
    (a real Hub, no token: ``say`` how to make one and add it), ``"local"`` (the local Hub
    has no secrets: ``say`` how the demo gets it)."""
    if is_local_endpoint(api.endpoint):
        say(f"the local Hub has no Space secrets: `hf-pipeline demo --feedback-repo {repo_id}` "
            f"gives the app the local Hub's token through {TOKEN_ENV} in its environment.")
        return "local"
    if token is None:
        say(secret_instructions(space_repo, repo_id))
        return "missing"
    with hub_errors(f"set the secret {TOKEN_ENV} of Space {space_repo}", endpoint=api.endpoint):
        api.add_space_secret(space_repo, TOKEN_ENV, token,
                             description=f"write token for the feedback dataset {repo_id} only")
    say(f"set the secret {TOKEN_ENV} of {space_repo} (write token for {repo_id}).")
    return "set"


def demo_environment(settings: FeedbackSettings, token: str) -> dict[str, str]:
    """What ``hf-pipeline demo --feedback-repo`` adds to the app's environment (the app
    reads these before space_config.json)."""
    return {TOKEN_ENV: token, REPO_ENV: settings.repo_id,
            EVERY_ENV: f"{settings.every_minutes:g}"}

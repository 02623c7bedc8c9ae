"""``publish_model(cfg)``: the sqry-nl model folder as a tagged version of a Hub model repo.

At every tag the repo root holds the contract's files exactly as the runtime loads them, so
``hf download REPO --revision TAG --local-dir DIR`` gives a model folder sqry-nl accepts as it
is. Beside them, not listed in ``checksums.json`` and not read by the runtime:

- ``sqry-models-v<model_version>.tar.gz``, the folder as sqry's installer downloads it, and
  ``sqry-nl-manifest.json``, the manifest sqry's maintainers compile in, whose
  ``download_url`` is that archive at the tag on this Hub;
- ``model.safetensors`` and ``tokenizer_config.json``, the fp32 weights the INT8 model was
  exported from, so transformers (and the Hub's widget) load the repo too;
- ``README.md`` (the model card), the calibration and export reports, the reliability diagrams.

Before anything is read, the folder's manifest is pointed at this publish (tag and download
address) when it records another destination: one atomic folder update, as calibrate does.

A model version is those files with their hashes: the same tag holding other files is
refused, the same files are a no-op (``hf_pipeline.publish.versions`` owns that flow). Every
file goes up in one commit on top of the head it was compared with. Before the tag is
created, that commit is downloaded into an empty folder and verified: ``checksums.json`` the
way the runtime checks it, every file against the local one, the Hub's own listing with
``HfApi.verify_repo_checksums``, and the archive fetched over plain HTTP at the commit, hashed,
extracted and checked as sqry installs it. A commit that fails is never tagged. Once tagged,
``download_url`` itself is fetched and checked the same way.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.errors import DataFileError
from hf_pipeline.io import sha256_file
from hf_pipeline.model_folder.folder import parse_version
from hf_pipeline.model_folder.layout import CHECKSUMS_FILE, CONTENT_FILES, VERSION_FILE
from hf_pipeline.model_folder.layout import reports_dir as default_reports_dir
from hf_pipeline.model_folder.manifest import PUBLISHED_MANIFEST_FILE, resolve_url
from hf_pipeline.publish.installer import installer_problems
from hf_pipeline.publish.model_card import MODEL_CARD_TEMPLATE, CardFacts, render_model_card
from hf_pipeline.publish.model_files import (
    LocalFile,
    LocalRelease,
    Reports,
    read_release,
    read_reports,
    sqry_files,
    transformers_files,
)
from hf_pipeline.publish.versions import (
    GITATTRIBUTES,
    PublishError,
    PublishResult,
    Target,
    check_publish_config,
    publish_version,
    version_status,
)
from hf_pipeline.repo_ids import repo_id_problem

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

CARD_FILE = "README.md"
VERIFY_FIX = ("if the commit is not tagged yet, re-run the same publish (a broken upload is "
              "sent again); if it is a published tag, its files were changed on the Hub after "
              "upload: publish a fixed copy under a new tag (tags are never moved).")


@dataclass(frozen=True)
class PublishModelConfig:
    """``hf-pipeline model publish``: which release folder goes where, under which tag."""

    release_dir: Path
    repo_id: str
    tag: str
    # calibration_report.json, export_report.json, reliability_<set>.png;
    # None = "<release_dir>.reports" beside the release folder.
    reports_dir: Path | None = None
    private: bool = False
    card_template: Path = MODEL_CARD_TEMPLATE
    # The trained folder (train's final/) the release was exported from: its fp32 weights go
    # to the repo root for transformers. None = the folder the export report names.
    weights_dir: Path | None = None

    def __post_init__(self) -> None:
        check_publish_config(self, ("release_dir", "reports_dir", "card_template", "weights_dir"))

    @property
    def resolved_reports_dir(self) -> Path:
        return self.reports_dir if self.reports_dir is not None \
            else default_reports_dir(self.release_dir)


class ModelVersion:
    """The files of one published version; implements ``versions.VersionContent``."""

    noun = "model"

    def __init__(self, cfg: PublishModelConfig, release: LocalRelease, files: list[LocalFile]
                 ) -> None:
        self.cfg, self.release = cfg, release
        self.files = {f.name: f for f in files}
        self.contract = tuple(release.files)

    def summary(self) -> str:
        return (f"model_version {self.release.version['model_version']}, checksums.json "
                f"{self.files[CHECKSUMS_FILE].sha256[:12]}")

    def _remote(self, api: HfApi, revision: str) -> dict[str, Any]:
        from huggingface_hub.hf_api import RepoFile

        return {e.path: e for e in api.list_repo_tree(self.cfg.repo_id, revision=revision,
                                                      recursive=True)
                if isinstance(e, RepoFile) and e.path != GITATTRIBUTES}

    def difference(self, api: HfApi, revision: str, *, exact: bool) -> str | None:
        remote = self._remote(api, revision)
        names = set(self.files) | set(remote)
        if not exact:  # the card is derived from the rest, and a later template may differ
            names.discard(CARD_FILE)
        problems = []
        for name in sorted(names):
            if name not in remote:
                problems.append(f"{name} missing there")
            elif name not in self.files:
                problems.append(f"{name} only there")
            elif not self.files[name].matches(remote[name]):
                problems.append(f"{name} differs")
        if not exact and not problems and CARD_FILE in remote \
                and not self.files[CARD_FILE].matches(remote[CARD_FILE]):
            log.info("the card at %s differs from the one rendered now; it stays as published",
                     revision[:12])
        return "; ".join(problems) or None

    def push(self, api: HfApi, parent: str | None) -> str:
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        stale = sorted(set(self._remote(api, parent)) - set(self.files)) if parent else []
        operations: list[Any] = [
            CommitOperationAdd(name, f.data if f.data is not None else str(f.path))
            for name, f in self.files.items()]
        operations += [CommitOperationDelete(name) for name in stale]
        version = self.release.version
        info = api.create_commit(
            self.cfg.repo_id, operations=operations, parent_commit=parent,
            commit_message=f"Model {self.cfg.tag}: model_version {version['model_version']}",
            commit_description=(f"sqry-nl model folder from {version['dataset_repo']}@"
                                f"{version['dataset_revision']}, training commit "
                                f"{version['training_commit']}. Published by "
                                "`hf-pipeline model publish`."))
        log.info("uploaded %d files to %s (commit %s)%s", len(self.files), self.cfg.repo_id,
                 info.oid, f", removed {', '.join(stale)}" if stale else "")
        return info.oid

    def verify(self, api: HfApi, commit: str) -> tuple[str, ...]:
        """Download ``commit`` into an empty folder; check it as the runtime would, against
        the local files, and against the Hub's listing. Raise PublishError naming every
        failing file."""
        from hf_pipeline.model_folder.checksums import verification_problems

        with tempfile.TemporaryDirectory(prefix="hf-pipeline-verify-") as tmp:
            folder = Path(api.snapshot_download(self.cfg.repo_id, revision=commit,
                                                local_dir=tmp))
            problems = [f"runtime check of {CHECKSUMS_FILE}: {p}" for p in verification_problems(
                folder, required=CONTENT_FILES)]
            for name, local in self.files.items():
                path = folder / name
                if name == CARD_FILE:
                    continue  # a tag's card may come from an earlier template; see difference
                if not path.is_file():
                    problems.append(f"{name}: not in the download")
                elif (downloaded := sha256_file(path)) != local.sha256:
                    problems.append(f"{name}: downloaded SHA-256 {downloaded[:12]}..., "
                                    f"the local file's is {local.sha256[:12]}...")
            hub_note, hub_problems = _hub_checksums(api, self.cfg.repo_id, commit, folder)
        problems += hub_problems
        archive_url = resolve_url(api.endpoint, self.cfg.repo_id, commit,
                                  self.sqry_manifest["archive"])
        problems += [f"sqry install of {archive_url}: {p}"
                     for p in installer_problems(archive_url, self.sqry_manifest,
                                                 token=_token(api))]
        if problems:
            raise PublishError(
                f"{self.cfg.repo_id} at commit {commit} failed verification after download "
                "into an empty folder:\n" + "\n".join(f"  {p}" for p in problems)
                + f"\nNo tag was created or moved. Fix: {VERIFY_FIX}")
        return (f"downloaded {commit[:12]} into an empty folder: the manifest anchors "
                f"{CHECKSUMS_FILE}, which verifies ({len(CONTENT_FILES)} files, as today's "
                "sqry-nl checks them)",
                f"all {len(self.files) - 1} files equal the local ones (the card is rendered)",
                hub_note, f"{self.sqry_manifest['archive']} at the commit, fetched over plain "
                "HTTP: hash, extraction and both trust checks as sqry installs it")

    @property
    def sqry_manifest(self) -> dict[str, Any]:
        """The manifest published beside the archive, as uploaded."""
        return json.loads(self.files[PUBLISHED_MANIFEST_FILE].data or b"{}")

    def check_download(self, api: HfApi) -> str:
        """After tagging: ``download_url`` itself (the archive at the tag) fetched as sqry's
        installer fetches it, hashed, extracted and checked. PublishError if it fails."""
        url = self.sqry_manifest["download_url"]
        problems = installer_problems(url, self.sqry_manifest, token=_token(api))
        if problems:
            raise PublishError(
                f"{self.cfg.repo_id}@{self.cfg.tag} is tagged, but its download_url does not "
                "install:\n" + "\n".join(f"  {p}" for p in problems) + "\nFix: check that "
                f"{api.endpoint} serves the repo at that address (a proxy or a private repo "
                "can stand in the way); the tag itself holds the verified files.")
        return f"download_url {url}: installs as sqry installs it"


def _token(api: HfApi) -> str | None:
    """The token the client uses (its own, else the environment's or the login cache)."""
    from huggingface_hub import get_token

    return api.token if isinstance(api.token, str) else get_token()


def _hub_checksums(api: HfApi, repo_id: str, commit: str, folder: Path
                   ) -> tuple[str, list[str]]:
    """``HfApi.verify_repo_checksums``: the Hub's tree (LFS sha256, git blob ids) against the
    download. A server that cannot answer is reported, not taken as a pass or a failure."""
    from huggingface_hub import __version__ as hub_version
    from huggingface_hub.errors import HfHubHTTPError

    check = getattr(api, "verify_repo_checksums", None)
    if check is None:
        note = (f"Hub checksums NOT checked: huggingface_hub {hub_version} has no "
                "HfApi.verify_repo_checksums (it needs >= 1.1)")
        log.warning(note)
        return note, []
    try:
        result = check(repo_id, revision=commit, local_dir=folder)
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else "?"
        note = (f"Hub checksums NOT checked: {api.endpoint} answered HTTP {status} to "
                f"verify_repo_checksums' tree listing ({str(e).splitlines()[0]})")
        log.warning(note)
        return note, []
    problems = [f"Hub checksums: {m['path']}: {m['algorithm']} of the download "
                f"{m['actual'][:12]}..., the Hub lists {m['expected'][:12]}..."
                for m in result.mismatches]
    problems += [f"Hub checksums: {p}: listed by the Hub, not downloaded"
                 for p in result.missing_paths]
    problems += [f"Hub checksums: {p}: downloaded, not listed by the Hub"
                 for p in result.extra_paths]
    return (f"Hub checksums (HfApi.verify_repo_checksums): {result.checked_count} files match "
            "the Hub's listing"), problems


def card_facts(cfg: PublishModelConfig, release: LocalRelease, reports: Reports,
               files: list[LocalFile]) -> CardFacts:
    sqry_manifest = next((json.loads(f.data) for f in files
                          if f.name == PUBLISHED_MANIFEST_FILE and f.data), {})
    return CardFacts(repo_id=cfg.repo_id, tag=cfg.tag, version=release.version,
                     temperature=release.temperature, calibration=reports.calibration,
                     export=reports.export, files={f.name: f.sha256 for f in files},
                     diagrams=reports.diagrams, sqry_manifest=sqry_manifest)


def _check_hub_ids(release: LocalRelease) -> None:
    for key, kind in (("base_model", "model"), ("dataset_repo", "dataset")):
        value = release.version[key]
        problem = repo_id_problem(value)
        if problem is not None:
            raise DataFileError(release.folder / VERSION_FILE, f"{key}={value} is not a Hub "
                                f"{kind} id, namespace/name ({problem}); the card's metadata "
                                "must name one.",
                                fix=f"rebuild the release with `hf-pipeline release "
                                f"--{key.replace('_', '-')} NAMESPACE/NAME`.")


def _validate_card(card: Any, template: Path) -> None:
    """The Hub's own check (``POST /api/validate-yaml`` at HF_ENDPOINT, as
    ``ModelCard.validate`` does), before anything is created or uploaded."""
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError, HTTPError

    from hf_pipeline.errors import HubError
    from hf_pipeline.hub_client import hub_errors

    try:
        with hub_errors("validate the model card"):
            card.validate(repo_type="model")
    except HubError:  # unreachable, token refused: said as every Hub command says it
        raise
    except ValueError as e:  # the Hub's 400: the metadata is wrong
        raise PublishError(f"the Hub refused the model card's metadata: {e}. Fix: correct "
                           f"{template}.") from None
    except (HfHubHTTPError, HTTPError, OSError) as e:
        raise PublishError(f"cannot validate the model card at {constants.ENDPOINT} "
                           f"({type(e).__name__}: {e}). Fix: check HF_ENDPOINT and the "
                           "connection.") from None


def point_at(cfg: PublishModelConfig, endpoint: str, release: LocalRelease) -> LocalRelease:
    """The verified folder, its manifest recording this publish (tag, download address): an
    atomic folder update when it records another destination."""
    from hf_pipeline.model_folder.manifest import Destination
    from hf_pipeline.model_folder.update import update_folder

    destination = Destination.on_hub(endpoint, cfg.repo_id, cfg.tag,
                                     release.version["model_version"])
    if Destination.of(release.release.manifest) == destination:
        return release
    update_folder(release.folder, {}, destination=destination, known=release.release.hashes)
    log.info("%s: manifest.json now records release_tag %s and download_url %s",
             release.folder, destination.release_tag, destination.download_url)
    unchanged = {name: release.release.sha256(name) for name in CONTENT_FILES}
    return read_release(release.folder, known=unchanged)


def local_version(cfg: PublishModelConfig, endpoint: str) -> ModelVersion:
    """Read and check everything local (release, reports, the trained weights), point the
    folder's manifest at ``endpoint``, build sqry's archive, render and validate the card."""
    from huggingface_hub import ModelCard

    release = read_release(cfg.release_dir)
    version = release.version["model_version"]
    if version != cfg.tag.removeprefix("v"):
        raise PublishError(
            f"{cfg.release_dir}: tag {cfg.tag} would publish model_version {version} "
            f"(version.txt): sqry would report {version} and install sqry-models-v{version}"
            f".tar.gz from a release tagged {cfg.tag}. Fix: publish it under --tag v{version}, "
            f"or build the release again with --model-version {cfg.tag.removeprefix('v')}.")
    release = point_at(cfg, endpoint, release)
    _check_hub_ids(release)
    reports = read_reports(cfg.resolved_reports_dir, release)
    files = [*release.local_files(),
             *sqry_files(release), *transformers_files(reports.export, cfg.weights_dir),
             *(LocalFile(name, path=path) for name, path in reports.files.items())]
    text = render_model_card(card_facts(cfg, release, reports, files), template=cfg.card_template)
    _validate_card(ModelCard(text), cfg.card_template)
    return ModelVersion(cfg, release, [LocalFile(CARD_FILE, data=text.encode("utf-8")), *files])


def publish_model(cfg: PublishModelConfig, *, api: HfApi | None = None) -> PublishResult:
    """Publish the release folder and its reports as ``cfg.tag`` of ``cfg.repo_id``."""
    from dataclasses import replace

    from huggingface_hub import HfApi

    api = api or HfApi()
    version = local_version(cfg, api.endpoint)
    result = publish_version(api, Target(cfg.repo_id, "model", cfg.tag, private=cfg.private),
                             version)
    return replace(result, files=tuple(version.files),
                   verification=(*result.verification, version.check_download(api)))


def model_versions(repo_id: str, *, api: HfApi | None = None) -> dict[str, Any]:
    """Tags with their model_version, and whether ``main`` has untagged work."""
    from huggingface_hub import HfApi

    api = api or HfApi()

    def describe(commit: str) -> dict[str, Any]:
        from huggingface_hub.errors import EntryNotFoundError

        try:
            path = api.hf_hub_download(repo_id, VERSION_FILE, revision=commit)
        except EntryNotFoundError:
            return {"model_version": None}
        text = Path(path).read_text(encoding="utf-8")
        return {"model_version": parse_version(text).get("model_version")}

    return version_status(api, repo_id, repo_type="model", describe=describe)

"""``publish_model(cfg)``: the sqry-nl model folder as a tagged version of a Hub model repo.

At every tag the repo root holds the contract's files exactly as the runtime loads them, so
``hf download REPO --revision TAG --local-dir DIR`` gives a model folder sqry-nl accepts as it
is; beside them, not listed in ``checksums.json`` and not read by the runtime: ``README.md``
(the model card), the calibration and export reports, and the reliability diagrams.

A model version is those files with their hashes: the same tag holding other files is
refused, the same files are a no-op (``hf_pipeline.publish.versions`` owns that flow). Every
file goes up in one commit on top of the head it was compared with. Before the tag is
created, that commit is downloaded into an empty folder and verified: ``checksums.json`` the
way the runtime checks it, every file against the local one, and the Hub's own listing with
``HfApi.verify_repo_checksums``. A commit that fails is never tagged.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.errors import DataFileError
from hf_pipeline.io import read_json_object, sha256_file
from hf_pipeline.publish.model_card import MODEL_CARD_TEMPLATE, CardFacts, render_model_card
from hf_pipeline.publish.versions import (
    GITATTRIBUTES,
    REPO_PATTERN,
    PublishError,
    PublishResult,
    Target,
    check_repo_id,
    check_tag,
    publish_version,
    version_status,
)
from hf_pipeline.release.folder import parse_version
from hf_pipeline.release.layout import CHECKSUMS_FILE, ONNX_FILE, TEMPERATURE_FILE, VERSION_FILE
from hf_pipeline.release.layout import reports_dir as default_reports_dir

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

CARD_FILE = "README.md"
VERIFY_FIX = ("if the commit is not tagged yet, re-run the same publish (a broken upload is "
              "sent again); if it is a published tag, its files were changed on the Hub after "
              "upload: publish a fixed copy under a new tag (tags are never moved).")


@dataclass(frozen=True)
class PublishModelConfig:
    """``hf-pipeline publish-model``: which release folder goes where, under which tag."""

    release_dir: Path
    repo_id: str
    tag: str
    # calibration_report.json, export_report.json, reliability_<set>.png;
    # None = "<release_dir>.reports" beside the release folder.
    reports_dir: Path | None = None
    private: bool = False
    card_template: Path = MODEL_CARD_TEMPLATE

    def __post_init__(self) -> None:
        for name in ("release_dir", "reports_dir", "card_template"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        check_repo_id(self.repo_id)
        check_tag(self.tag)

    @property
    def resolved_reports_dir(self) -> Path:
        return self.reports_dir if self.reports_dir is not None \
            else default_reports_dir(self.release_dir)


@dataclass(frozen=True)
class LocalRelease:
    """A verified model folder and what it says about itself."""

    folder: Path
    files: dict[str, Path]  # contract file name -> path, in the contract's order
    version: dict[str, str]  # version.txt key=value
    temperature: dict[str, Any]  # temperature.json, checked


@dataclass(frozen=True)
class Reports:
    """The release's reports, read and checked against it."""

    export: dict[str, Any]
    calibration: dict[str, Any]
    files: dict[str, Path]  # repo file name -> local path: both reports, then the diagrams
    diagrams: dict[str, str]  # report set -> its reliability diagram's file name


def read_release(folder: str | Path) -> LocalRelease:
    """The one place this module reads a model folder: the contract's files, verified the way
    the runtime verifies them, and what version.txt and temperature.json say.
    The format itself is read through ``hf_pipeline.release``."""
    from hf_pipeline.release.checksums import verify_folder
    from hf_pipeline.release.folder import read_version
    from hf_pipeline.release.layout import RELEASE_FILES
    from hf_pipeline.release.temperature import read_temperature

    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileError(folder, "no such model folder.",
                            fix="pass the folder written by `hf-pipeline release`.")
    missing = [name for name in RELEASE_FILES if not (folder / name).is_file()]
    if missing:
        raise DataFileError(folder, f"not a model folder: {', '.join(missing)} missing.",
                            fix="pass the folder written by `hf-pipeline release` (then "
                            "`hf-pipeline calibrate`).")
    extra = sorted(p.name for p in folder.iterdir() if p.name not in RELEASE_FILES)
    if extra:
        raise DataFileError(folder, f"holds files that are not part of a model folder: "
                            f"{', '.join(extra)}.", fix="publish the folder exactly as "
                            "`hf-pipeline release` wrote it; reports go in the reports folder.")
    verify_folder(folder, required=[n for n in RELEASE_FILES if n != CHECKSUMS_FILE])
    version = read_version(folder)
    for key in ("model_version", "base_model", "dataset_repo", "dataset_revision",
                "training_commit"):
        if not version.get(key):
            raise DataFileError(folder / VERSION_FILE, f"no {key}= line.",
                                fix="rebuild the folder with `hf-pipeline release`.")
    return LocalRelease(folder, {name: folder / name for name in RELEASE_FILES}, version,
                        read_temperature(folder / TEMPERATURE_FILE))


def read_reports(folder: Path, release: LocalRelease) -> Reports:
    """The export and calibration reports of ``release`` and its diagrams; refused when
    missing, or when they describe another model (ONNX hash) or another calibration (T)."""
    from hf_pipeline.export.stage import INT8_FILE
    from hf_pipeline.release.layout import CALIBRATION_REPORT, EXPORT_REPORT

    release_dir = release.folder
    wanted = {EXPORT_REPORT: "copied from the export folder by `hf-pipeline release`",
              CALIBRATION_REPORT: f"written by `hf-pipeline calibrate fit --model {release_dir}`"}
    missing = [f"{name} ({how})" for name, how in wanted.items() if not (folder / name).is_file()]
    if missing:
        raise DataFileError(folder, "reports missing: " + ", ".join(missing) + ".",
                            fix="put them there (a published model carries its measured "
                            "figures), or pass --reports-dir where they are.")
    export = read_json_object(folder / EXPORT_REPORT,
                              fix="copy the export folder's report again.")
    calibration = read_json_object(folder / CALIBRATION_REPORT,
                                   fix=f"re-run `hf-pipeline calibrate fit --model {release_dir}`.")
    gate = export.get("gate") or {}
    if not gate.get("passed"):
        raise DataFileError(folder / EXPORT_REPORT, "the INT8 accuracy gate "
                            f"{'failed' if gate else 'did not run'}; a published model needs a "
                            "passed gate.", fix="run `hf-pipeline export gate EXPORT_DIR --data "
                            "DATASET` and rebuild the release.")
    onnx_sha = ((export.get("files") or {}).get(INT8_FILE) or {}).get("sha256")
    if onnx_sha != sha256_file(release.files[ONNX_FILE]):
        raise DataFileError(folder / EXPORT_REPORT, f"describes another model: its INT8 file "
                            f"hashes to {str(onnx_sha)[:12]}, {ONNX_FILE} of {release_dir} to "
                            f"{sha256_file(release.files[ONNX_FILE])[:12]}.",
                            fix="use the export report of the export this release was built "
                            "from.")
    t = release.temperature["temperature"]
    if calibration.get("temperature") != t or "metrics_by_set" not in calibration:
        raise DataFileError(folder / CALIBRATION_REPORT, f"describes another calibration: T = "
                            f"{calibration.get('temperature')!r} there, {t!r} in "
                            f"{release_dir / TEMPERATURE_FILE}.",
                            fix=f"re-run `hf-pipeline calibrate fit --model {release_dir}`.")
    sets = list(calibration.get("report_sets") or [])
    if not sets or any(name not in calibration["metrics_by_set"] for name in sets):
        raise DataFileError(folder / CALIBRATION_REPORT, f"report_sets {sets!r} do not name "
                            "the sets of metrics_by_set.",
                            fix=f"re-run `hf-pipeline calibrate fit --model {release_dir}`.")
    # The report records where calibrate drew each set's diagram; the file name is what counts.
    drawn = calibration.get("diagrams") or {}
    diagrams = {name: Path(drawn.get(name) or f"reliability_{name}.png").name for name in sets}
    absent = [file for file in diagrams.values() if not (folder / file).is_file()]
    if absent:
        raise DataFileError(folder, f"reliability diagrams missing: {', '.join(absent)}.",
                            fix=f"re-run `hf-pipeline calibrate fit --model {release_dir}`, "
                            "which draws them.")
    files = {name: folder / name for name in (CALIBRATION_REPORT, EXPORT_REPORT,
                                              *diagrams.values())}
    return Reports(export, calibration, files, diagrams)


@dataclass(frozen=True)
class LocalFile:
    """One file of the version, with both hashes the Hub may list (LFS sha256, git blob sha1)."""

    name: str
    data: bytes | None = None  # rendered files (the card)
    path: Path | None = None
    sha256: str = field(init=False)
    git_sha1: str = field(init=False)

    def __post_init__(self) -> None:
        import hashlib

        content = self.data if self.data is not None else Path(self.path).read_bytes()
        object.__setattr__(self, "sha256", hashlib.sha256(content).hexdigest())
        # git's blob id, which the Hub lists for files not stored in LFS
        blob = hashlib.sha1(f"blob {len(content)}\0".encode(), usedforsecurity=False)
        blob.update(content)
        object.__setattr__(self, "git_sha1", blob.hexdigest())

    def matches(self, remote: Any) -> bool:
        """Same content as a ``RepoFile`` of the Hub's tree listing."""
        lfs = getattr(remote, "lfs", None)
        sha256 = getattr(lfs, "sha256", None) or (lfs.get("sha256") if isinstance(lfs, dict)
                                                  else None)
        return sha256 == self.sha256 if sha256 else remote.blob_id == self.git_sha1


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
                                "`hf-pipeline publish-model`."))
        log.info("uploaded %d files to %s (commit %s)%s", len(self.files), self.cfg.repo_id,
                 info.oid, f", removed {', '.join(stale)}" if stale else "")
        return info.oid

    def verify(self, api: HfApi, commit: str) -> tuple[str, ...]:
        """Download ``commit`` into an empty folder; check it as the runtime would, against
        the local files, and against the Hub's listing. Raise PublishError naming every
        failing file."""
        from hf_pipeline.release.checksums import verification_problems

        with tempfile.TemporaryDirectory(prefix="hf-pipeline-verify-") as tmp:
            folder = Path(api.snapshot_download(self.cfg.repo_id, revision=commit,
                                                local_dir=tmp))
            problems = [f"runtime check of {CHECKSUMS_FILE}: {p}" for p in verification_problems(
                folder, required=[n for n in self.contract if n != CHECKSUMS_FILE])]
            for name, local in self.files.items():
                path = folder / name
                if name == CARD_FILE:
                    continue  # a tag's card may come from an earlier template; see difference
                if not path.is_file():
                    problems.append(f"{name}: not in the download")
                elif sha256_file(path) != local.sha256:
                    problems.append(f"{name}: downloaded SHA-256 {sha256_file(path)[:12]}..., "
                                    f"the local file's is {local.sha256[:12]}...")
            hub_note, hub_problems = _hub_checksums(api, self.cfg.repo_id, commit, folder)
        problems += hub_problems
        if problems:
            raise PublishError(
                f"{self.cfg.repo_id} at commit {commit} failed verification after download "
                "into an empty folder:\n" + "\n".join(f"  {p}" for p in problems)
                + f"\nNo tag was created or moved. Fix: {VERIFY_FIX}")
        checked = len(self.contract) - 1
        return (f"downloaded {commit[:12]} into an empty folder: {CHECKSUMS_FILE} verifies "
                f"({checked} files, as the runtime checks them)",
                f"all {len(self.files) - 1} files equal the local ones (the card is rendered)",
                hub_note)


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
    return CardFacts(repo_id=cfg.repo_id, tag=cfg.tag, version=release.version,
                     temperature=release.temperature, calibration=reports.calibration,
                     export=reports.export, files={f.name: f.sha256 for f in files},
                     diagrams=reports.diagrams)


def _check_hub_ids(release: LocalRelease) -> None:
    for key, kind in (("base_model", "model"), ("dataset_repo", "dataset")):
        value = release.version[key]
        if not REPO_PATTERN.match(value) or value.startswith(("/", ".")):
            raise DataFileError(release.folder / VERSION_FILE, f"{key}={value} is not a Hub "
                                f"{kind} id (namespace/name); the card's metadata must name one.",
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


def local_version(cfg: PublishModelConfig) -> ModelVersion:
    """Read and check everything local (release, reports), render and validate the card."""
    from huggingface_hub import ModelCard

    release = read_release(cfg.release_dir)
    _check_hub_ids(release)
    if release.version["model_version"] != cfg.tag.removeprefix("v"):
        log.warning("tag %s publishes model_version %s (version.txt): the runtime will report "
                    "the latter", cfg.tag, release.version["model_version"])
    reports = read_reports(cfg.resolved_reports_dir, release)
    files = [LocalFile(name, path=path) for name, path in {**release.files,
                                                            **reports.files}.items()]
    text = render_model_card(card_facts(cfg, release, reports, files), template=cfg.card_template)
    _validate_card(ModelCard(text), cfg.card_template)
    return ModelVersion(cfg, release, [LocalFile(CARD_FILE, data=text.encode("utf-8")), *files])


def publish_model(cfg: PublishModelConfig, *, api: HfApi | None = None) -> PublishResult:
    """Publish the release folder and its reports as ``cfg.tag`` of ``cfg.repo_id``."""
    from dataclasses import replace

    from huggingface_hub import HfApi

    version = local_version(cfg)
    result = publish_version(api or HfApi(), Target(cfg.repo_id, "model", cfg.tag,
                                                    private=cfg.private), version)
    return replace(result, files=tuple(version.files))


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

"""Cause: repo ids and revisions that passed our checks but not the Hub client's (issue 24).

One check (``hf_pipeline.repo_ids``) guards every repo id and revision a command takes, at
least as strict as huggingface_hub's ``validate_repo_id`` and git's ref names, so nothing
reaches a client that the client refuses with a traceback (``../x``, ``ns/..``, ``ns/name@``).
The cases are every bad id and every bad revision of a catalogue, through every door that
takes one: ``--repo-id`` of the publish and status commands, the model spec ``--model
NS/NAME@REV`` of every command that loads a model, ``--base-model``, ``--data`` with
``--revision``, ``--space``, ``run``'s repos, ``release``'s dataset and ``generate
--push-to-hub``. Each checks the exit code (2), that no traceback is printed, and that the
option and the value are named; the Hub is never asked (offline mode would say so).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faults.refusal import assert_refused
from hf_pipeline.repo_ids import (
    check_repo_id,
    repo_id_problem,
    revision_problem,
    spec_problem,
)

# Each also refused by huggingface_hub's validate_repo_id (checked below), but for ü.
BAD_IDS = ("../x", "ns/..", "ns/.x", "ns/x-", "a--b/x", "ns/x.git", "a/b/c", "ns/", "/x",
           "ns/x y", "ns/ü", "n" * 97 + "/x")
BAD_REVISIONS = ("", " ", "a b", "..", "v1..2", "a/../b", ".hidden", "v1.lock", "heads/",
                 "a:b", "x~1", "@", "a@{1}", "tab\tx", "a*", "a\\b")
GOOD_IDS = ("me/sqry-nl-intent", "Org_1/model.v2", "a/b", "x" * 96 + "/y")
GOOD_REVISIONS = ("v1.0.0", "main", "refs/pr/1", "0" * 40, "release-2025.01")


# ----------------------------------------------------------------------------- the check

def test_every_id_huggingface_hub_refuses_is_refused_here_and_good_ones_pass() -> None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    for value in BAD_IDS:
        assert repo_id_problem(value) is not None, value
        if value != "ns/ü":  # \w lets it through there; the Hub itself refuses it
            with pytest.raises(HFValidationError):
                validate_repo_id(value)
    for value in GOOD_IDS:
        validate_repo_id(value)
        assert check_repo_id(value) == value


def test_a_generated_set_of_ids_is_never_looser_than_huggingface_hubs() -> None:
    """Every two-part combination of tricky pieces: where the client refuses, so do we."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    pieces = ("a", "..", ".", "-a", "a-", "_a", "a.git", "a--b", "a..b", "", "a b", "a.b")
    for ns in pieces:
        for name in pieces:
            value = f"{ns}/{name}"
            try:
                validate_repo_id(value)
            except HFValidationError:
                assert repo_id_problem(value) is not None, value


def _git_accepts(ref: str) -> bool:
    return subprocess.run(["git", "check-ref-format", "--allow-onelevel", ref],
                          capture_output=True).returncode == 0


def test_revisions_are_git_ref_names_and_never_empty() -> None:
    for value in BAD_REVISIONS:
        assert revision_problem(value) is not None, repr(value)
        assert not _git_accepts(value), repr(value)
    for value in GOOD_REVISIONS:
        assert revision_problem(value) is None and _git_accepts(value), value


def test_a_spec_needs_its_revision_where_one_is_required() -> None:
    assert spec_problem("me/model") == "it has no '@revision'"
    assert spec_problem("me/model", revision_required=False) is None
    assert spec_problem("model@v1", namespace=False) is None
    assert spec_problem("me/model@") == "the revision is empty"


# ----------------------------------------------------------------------------- the doors

@dataclass(frozen=True)
class Door:
    """An option that takes a repo id or a revision: ``argv(value, workspace)``, and the
    word the refusal must name beside the value."""

    name: str
    argv: Callable[[str, dict[str, Path]], list[Any]]
    field: str


ID_DOORS: tuple[Door, ...] = (
    Door("dataset publish --repo-id", lambda v, w: [
        "dataset", "publish", w["tmp"] / "data", "--repo-id", v, "--tag", "v1.0.0"], "repo_id"),
    Door("dataset status --repo-id", lambda v, w: ["dataset", "status", "--repo-id", v],
         "repo_id"),
    Door("model publish --repo-id", lambda v, w: [
        "model", "publish", "--model", w["release"], "--repo-id", v, "--tag", "v1.0.0"],
         "repo_id"),
    Door("model status --repo-id", lambda v, w: ["model", "status", "--repo-id", v],
         "repo_id"),
    Door("space publish --repo-id", lambda v, w: [
        "space", "publish", "--repo-id", v, "--model", "me/model@v1.0.0"], "--repo-id"),
    Door("space build --repo-id", lambda v, w: [
        "space", "build", "--repo-id", v, "--model", "me/model@v1.0.0", "-o", w["tmp"] / "s"],
         "space_repo"),
    Door("generate --push-to-hub", lambda v, w: [
        "generate", "--push-to-hub", v, "--tag", "v1.0.0", "-o", w["tmp"] / "g"],
         "--push-to-hub"),
    Door("release --dataset-repo", lambda v, w: [
        "release", w["export"], "-o", w["tmp"] / "r", "--model-version", "1.0.0",
        "--training-commit", "abc", "--dataset-repo", v, "--dataset-revision", "v1"],
         "dataset_repo"),
    Door("run --dataset", lambda v, w: ["run", "--dataset", v], "dataset_repo"),
    Door("run --model", lambda v, w: ["run", "--model", v], "model_repo"),
    Door("run --space", lambda v, w: ["run", "--space", v], "space_repo"),
    Door("demo --space", lambda v, w: ["demo", "--space", v], "--space"),
    Door("train --base-model", lambda v, w: [
        "train", "--data", w["data"], "--base-model", v, "-o", w["tmp"] / "t"], "base_model"),
    # A dataset given by id: the refusal names the id (it is no local path either).
    *(Door(f"{name} --data", argv, "not a Hub repo id") for name, argv in (
        ("train", lambda v, w: ["train", "--data", v, "--base-model", w["model"],
                                "-o", w["tmp"] / "t"]),
        ("evaluate", lambda v, w: ["evaluate", "--model", w["model"], v]),
        ("export model", lambda v, w: ["export", "model", "--model", w["model"],
                                       "-o", w["tmp"] / "e", "--data", v]),
        ("export gate", lambda v, w: ["export", "gate", w["export"], "--data", v]),
        ("calibrate fit", lambda v, w: ["calibrate", "fit", "--model", w["release"],
                                        "--data", v]),
        ("calibrate analyze", lambda v, w: ["calibrate", "analyze", "--model", w["release"],
                                            "--data", v, "-o", w["tmp"] / "a"]),
    )),
)

# Doors that take a model as NS/NAME@REV: each gets every bad id at a good revision and a
# good id at every bad revision.
SPEC_DOORS: tuple[Door, ...] = (
    Door("predict --model", lambda v, w: ["predict", "--model", v, "who calls main"],
         "--model"),
    Door("calibrate test-single --model", lambda v, w: [
        "calibrate", "test-single", "--model", v, "who calls main"], "--model"),
    Door("calibrate analyze --model", lambda v, w: [
        "calibrate", "analyze", "--model", v, "-o", w["tmp"] / "a"], "--model"),
    Door("demo --model", lambda v, w: ["demo", "--model", v], "--model"),
    Door("space build --model", lambda v, w: [
        "space", "build", "--model", v, "-o", w["tmp"] / "s"], "--model"),
    Door("space publish --model", lambda v, w: [
        "space", "publish", "--model", v, "--repo-id", "me/space"], "--model"),
    Door("demo --space", lambda v, w: ["demo", "--space", v], "--space"),
    Door("train --base-model", lambda v, w: [
        "train", "--data", w["data"], "--base-model", v, "-o", w["tmp"] / "t"], "base_model"),
)

REVISION_DOORS: tuple[Door, ...] = (
    *(Door(f"{name} --revision", argv, "revision") for name, argv in (
        ("train", lambda v, w: ["train", "--data", "me/data", "--revision", v,
                                "--base-model", w["model"], "-o", w["tmp"] / "t"]),
        ("evaluate", lambda v, w: ["evaluate", "--model", w["model"], "me/data",
                                   "--revision", v]),
        ("export gate", lambda v, w: ["export", "gate", w["export"], "--data", "me/data",
                                      "--revision", v]),
        ("calibrate fit", lambda v, w: ["calibrate", "fit", "--model", w["release"],
                                        "--data", "me/data", "--revision", v]),
    )),
    Door("release --dataset-revision", lambda v, w: [
        "release", w["export"], "-o", w["tmp"] / "r", "--model-version", "1.0.0",
        "--training-commit", "abc", "--dataset-repo", "me/data", "--dataset-revision", v],
         "dataset_revision"),
)

CASES: list[tuple[Door, str]] = (
    [(door, value) for door in ID_DOORS for value in BAD_IDS]
    + [(door, f"{value}@v1.0.0") for door in SPEC_DOORS for value in BAD_IDS]
    + [(door, f"me/model@{rev}") for door in SPEC_DOORS for rev in BAD_REVISIONS]
    + [(door, rev) for door in REVISION_DOORS for rev in BAD_REVISIONS]
)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, release_copy: Path,
              tiny_release_dir: Path, tiny_model_dir: Path, tiny_data: Path) -> dict[str, Path]:
    """Good inputs around the bad value; offline, so a value that got past the checks would
    fail on the Hub call instead of reaching the network; nothing may start or serve."""
    import huggingface_hub.constants

    import hf_pipeline.pipeline.runner

    def must_not_start(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a bad repo id or revision got past the checks")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hf_pipeline.pipeline.runner, "run_pipeline", must_not_start)
    return {"tmp": tmp_path, "release": release_copy, "model": tiny_model_dir,
            "export": tiny_release_dir.parent / "export", "data": tiny_data}


@pytest.mark.parametrize(("door", "value"), CASES,
                         ids=[f"{d.name}={v!r}" for d, v in CASES])
def test_a_bad_repo_id_or_revision_is_refused_naming_option_and_value(
        door: Door, value: str, workspace: dict[str, Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    shown = repr(value)[1:-1]  # as the message quotes it: a tab as \t
    assert_refused(door.argv(value, workspace), capsys, names=[door.field, shown])


def test_the_catalogue_tries_every_door_with_every_value() -> None:
    assert len(CASES) == (len(ID_DOORS) * len(BAD_IDS)
                          + len(SPEC_DOORS) * (len(BAD_IDS) + len(BAD_REVISIONS))
                          + len(REVISION_DOORS) * len(BAD_REVISIONS))
    assert len(CASES) > 500

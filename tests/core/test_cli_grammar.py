"""One CLI grammar (README, "The CLI grammar"), checked on every command's parser: all
subcommands, recursively, as ``hf-pipeline`` builds them."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from hf_pipeline.cli import build_parser, main
from hf_pipeline.cli_options import DEPRECATED_FOR, MODEL_METAVAR, VISIBILITIES

# Commands with no result to print, so no --json: they serve until Ctrl-C, and what they
# print is where to reach them (a URL, a log line), not an outcome a script could read.
RESULTLESS = {"hub serve", "demo"}
# The commands that take a model (--model MODEL): the list is exact, so a command that
# gains a model option must say so here, and under that name.
MODEL_COMMANDS = {"evaluate", "export model", "calibrate fit", "calibrate analyze",
                  "calibrate test-single", "predict", "model publish", "space publish",
                  "space build", "demo", "run"}
# Options that name a model in another role than "the model this command works on":
# train's starting weights (a model spec too), and release's version string and the base
# model id it records.
OTHER_MODEL_OPTIONS = {"--base-model", "--model-version"}


def commands(parser: argparse.ArgumentParser | None = None,
             path: tuple[str, ...] = ()) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(command path, parser) of every leaf command, deprecated aliases included."""
    parser = parser or build_parser()
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield " ".join(path), parser
    for action in subparsers:
        for name, sub in action.choices.items():
            yield from commands(sub, (*path, name))


def visible_options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS]


def option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return next((a for a in parser._actions if flag in a.option_strings), None)


CURRENT = {name: p for name, p in commands() if p.get_default(DEPRECATED_FOR) is None}
DEPRECATED = {name: p for name, p in commands() if p.get_default(DEPRECATED_FOR) is not None}


def test_the_walk_sees_every_command() -> None:
    assert {"generate", "review", "hub serve", "dataset publish", "dataset status",
            "model publish", "model status", "space publish", "space build", "demo", "train",
            "evaluate", "export model", "export gate", "export verify", "export benchmark",
            "release", "calibrate fit", "calibrate analyze", "calibrate test-single",
            "predict", "run", "feedback pull", "feedback review",
            "feedback publish"} == set(CURRENT)
    assert set(CURRENT) >= RESULTLESS | MODEL_COMMANDS


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_a_model_is_always_model(name: str) -> None:
    parser = CURRENT[name]
    model = option(parser, "--model")
    assert (model is not None) == (name in MODEL_COMMANDS), name
    if model is not None:
        assert model.option_strings == ["--model", "-m"] and model.metavar == MODEL_METAVAR
    for action in visible_options(parser):
        for flag in action.option_strings:
            if "model" in flag:
                assert flag in {"--model", *OTHER_MODEL_OPTIONS}, f"{name}: {flag}"


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_json_where_there_is_a_result(name: str) -> None:
    action = option(CURRENT[name], "--json")
    if name in RESULTLESS:
        assert action is None, name
    else:
        assert action is not None and action.const is True and action.nargs == 0, name


def test_one_visibility_flag_and_one_tag_flag() -> None:
    visibility, tags = set(), set()
    for name, parser in CURRENT.items():
        for action in visible_options(parser):
            for flag in action.option_strings:
                if re.search(r"privat|public|visib", flag):
                    visibility.add(flag)
                    assert tuple(action.choices) == VISIBILITIES, name
                if re.search(r"(^|-)tag(s)?($|-)", flag):
                    tags.add(flag)
    assert visibility == {"--visibility"} and tags == {"--tag"}


def test_output_token_and_short_flags_mean_one_thing() -> None:
    for name, parser in CURRENT.items():
        for action in visible_options(parser):
            flags = action.option_strings
            assert ("--output" in flags) == ("-o" in flags), f"{name}: {flags}"
            assert ("--model" in flags) == ("-m" in flags), f"{name}: {flags}"
            if "--token" in flags:  # the client's token, never a server's
                assert "Hub token of the client" in action.help, name


def test_old_spellings_are_hidden_and_warn(capsys: pytest.CaptureFixture[str]) -> None:
    top = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    listed = {a.dest for a in top._choices_actions}
    assert {"verify", "publish-dataset", "publish-model", "publish-space"} == set(DEPRECATED)
    assert not listed & set(DEPRECATED)
    for parser in DEPRECATED.values():  # the same options as what replaces it
        new = CURRENT[parser.get_default(DEPRECATED_FOR)]
        assert [a.option_strings for a in parser._actions] == [
            a.option_strings for a in new._actions]
    build_parser().parse_args(["run", "--public", "--model-tag", "v0.2.0"])
    assert capsys.readouterr().err == (
        "warning: --public is deprecated; use --visibility public\n"
        "warning: --model-tag is deprecated; use --model @TAG\n")


def test_a_deprecated_command_warns_then_runs(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(tmp_path / "none.json"), "--summary"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "warning: `hf-pipeline verify` is deprecated; use `hf-pipeline review`"
    assert err[1].startswith(f"error: {tmp_path / 'none.json'}")


def test_run_specs_map_to_the_config_keys() -> None:
    from hf_pipeline.pipeline.cli import repo_overrides

    def parse(*argv: str) -> dict:
        return repo_overrides(build_parser().parse_args(["run", *argv]))

    assert parse() == {}
    assert parse("--model", "me/clf@v0.2.0", "--dataset", "@v1.1.0", "--space", "demo",
                 "--visibility", "public") == {
        "model_repo": "me/clf", "model_tag": "v0.2.0", "dataset_tag": "v1.1.0",
        "space_repo": "demo", "public": True}
    assert parse("--model", "clf", "--visibility", "private") == {"model_repo": "clf",
                                                                   "public": False}


def test_status_is_a_table_and_json_with_json(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    status = {"repo_id": "me/data", "main": "a" * 40, "untagged_main": False,
              "tags": {"v1.0.0": {"commit": "a" * 40, "content_sha256": "c" * 8}}}
    monkeypatch.setattr("hf_pipeline.publish.versions", lambda repo: status)
    assert main(["dataset", "status", "--repo-id", "me/data"]) == 0
    assert capsys.readouterr().out == (f"dataset me/data: main at {'a' * 12}\n"
                                       f"  v1.0.0: commit {'a' * 12}, content_sha256 cccccccc\n")
    assert main(["dataset", "status", "--repo-id", "me/data", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == status

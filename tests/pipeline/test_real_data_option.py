"""``hf-pipeline run --real-data SPEC``: the option reaches training (and calibration), is
checked before any work, and changing it (or the file it names) reruns from training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hf_pipeline.cli import build_parser, main
from hf_pipeline.errors import DataFileError
from hf_pipeline.pipeline.cli import repo_overrides
from hf_pipeline.pipeline.config import load_run_config
from hf_pipeline.pipeline.context import Context
from hf_pipeline.pipeline.hub import HubSession
from hf_pipeline.pipeline.stages import STAGES, train_config
from hf_pipeline.pipeline.state import fingerprint

UPSTREAM = {"publish-dataset": {"commit": "d" * 40},
            "base-model": {"repo_id": "me/base", "commit": "b" * 40},
            "release": {"onnx_sha256": "o" * 64, "version_sha256": "v" * 64}}


def requests_file(path: Path, text: str = "who ends up calling init") -> Path:
    path.write_text(json.dumps({"text": text, "intent": "FindCallers", "split": "train"}) + "\n",
                    encoding="utf-8")
    return path


def overrides_of(argv: list[str]) -> dict[str, dict[str, Any]]:
    """What `run` hands load_run_config for ``argv``, as hf_pipeline.pipeline.cli.run does."""
    args = build_parser().parse_args(["run", *argv])
    out: dict[str, dict[str, Any]] = {}
    for key, value in vars(args).items():
        if "." in key and value is not None:
            section, field = key.split(".", 1)
            out.setdefault(section, {})[field] = value
    out.setdefault("pipeline", {}).update(repo_overrides(args))
    return out


def context(tmp_path: Path, argv: list[str]) -> Context:
    cfg = load_run_config(None, overrides_of(["--output", str(tmp_path / "out"), *argv]))
    ctx = Context(cfg, HubSession("http://hub", True, "me", False, data_dir=tmp_path))
    ctx.outputs.update(UPSTREAM)
    return ctx


def stage_inputs(ctx: Context) -> dict[str, str]:
    return {s.name: fingerprint(s.inputs(ctx)) for s in STAGES if s.name in ("train",
                                                                              "calibrate")}


def test_the_option_reaches_training_and_calibration(tmp_path: Path) -> None:
    path = requests_file(tmp_path / "requests.jsonl")
    ctx = context(tmp_path, ["--real-data", str(path)])
    assert ctx.cfg.pipeline.real_data == str(path)
    assert train_config(ctx).real_data == str(path)
    calibrate = next(s for s in STAGES if s.name == "calibrate").inputs(ctx)
    assert calibrate["real_data"]["spec"] == str(path)
    if hasattr(ctx.cfg.calibrate, "real_data"):  # CalibrateConfig's option (issue 22)
        assert calibrate["options"]["real_data"] == str(path)


def test_changing_it_or_its_file_reruns_from_training(tmp_path: Path) -> None:
    path = requests_file(tmp_path / "requests.jsonl")
    without = stage_inputs(context(tmp_path, []))
    with_file = stage_inputs(context(tmp_path, ["--real-data", str(path)]))
    hub = stage_inputs(context(tmp_path, ["--real-data", "me/sqry-nl-requests@v1.0.0"]))
    requests_file(path, "who ends up calling main")  # same path, other rows
    edited = stage_inputs(context(tmp_path, ["--real-data", str(path)]))
    for stage in ("train", "calibrate"):
        assert len({without[stage], with_file[stage], hub[stage], edited[stage]}) == 4
    # Without the option, train's inputs hold none of its fields: earlier runs stay done.
    train = next(s for s in STAGES if s.name == "train").inputs(context(tmp_path, []))
    assert "real_data" not in train and "real_data_repeat" not in train["options"]


def test_the_repeat_comes_from_the_train_section(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.yaml"
    config.write_text("train: {real_data_repeat: 8}\n", encoding="utf-8")
    assert load_run_config(config).train.real_data_repeat == 8
    config.write_text("train: {real_data: x.jsonl}\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"section 'train': real_data set by the pipeline"):
        load_run_config(config)


@pytest.mark.parametrize(("spec", "message"), [
    ("me/requests@", "error: real_data: got 'me/requests@', expected a requests.jsonl file or "
     "folder, or a Hub repo namespace/name@revision."),
    ("missing.jsonl", "missing.jsonl: no such file. Fix: pass a requests.jsonl"),
    ("bad.jsonl", "bad.jsonl:1: field 'split' is 'test'"),
])
def test_a_bad_spec_stops_the_run_before_any_work(tmp_path: Path, spec: str, message: str,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.jsonl").write_text(json.dumps(
        {"text": "who calls x", "intent": "FindCallers", "split": "test"}) + "\n")
    assert main(["run", "--real-data", spec, "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing started


def test_help_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--real-data REAL-DATA" in capsys.readouterr().out

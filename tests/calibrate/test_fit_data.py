"""What T is fitted on: the human calibration set by default, the validation split on
request, a JSONL file, and the reviewed requests' calibration rows above a minimum; the
method chosen by cross-validation inside the fit data; the dev set kept apart. Through the
real stage on the tiny INT8 release (accuracy at chance: these tests check which data went
where, not the quality)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from hf_pipeline.calibrate.config import CalibrateConfig
from hf_pipeline.calibrate.fit_data import load_fit_data
from hf_pipeline.calibrate.stage import REQUESTS_NOTE, calibrate, format_table
from hf_pipeline.cli import main
from hf_pipeline.data_sources import CALIBRATION_SET_PATH
from hf_pipeline.errors import DataFileError, InvalidValueError
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import sha256_file
from hf_pipeline.model_folder.checksums import verification_problems
from hf_pipeline.model_folder.layout import TEMPERATURE_FILE

from .calibration_files import CALIBRATION_PER_INTENT, write_jsonl, write_requests

HUMAN_ROWS = CALIBRATION_PER_INTENT * len(INTENTS)


def cfg(tiny_data: Path, tiny_dev: Path, **kwargs: Any) -> CalibrateConfig:
    return CalibrateConfig(data=str(tiny_data), dev_set=str(tiny_dev), **kwargs)


def fitted_rows(doc: dict) -> int:
    return sum(doc["fitted_on"]["samples"].values())


def check_consistent(doc: dict) -> None:
    """temperature.json agrees with itself: T is the chosen candidate's, refitted on the
    sets ``fitted_on`` names, which are marked in-sample and never the headline."""
    selection = doc["method_selection"]
    chosen = [c for c in selection["candidates"] if c["chosen"]]
    assert len(chosen) == 1 and chosen[0]["name"] == selection["chosen"]
    # the lowest held-out NLL of those that may be chosen (equal to 1e-12: the earlier,
    # simpler one); a reference candidate is only scored, and may score lower
    eligible = [c for c in selection["candidates"] if not c["reference"]]
    assert [c["name"] for c in selection["candidates"] if c["reference"]] in ([], ["validation"])
    assert chosen[0]["held_out_nll"] <= min(c["held_out_nll"] for c in eligible) + 1e-12
    assert doc["temperature"] == chosen[0]["temperature"]
    assert doc["fitted_on"]["method"] == selection["chosen"]
    assert doc["calibration_samples"] == fitted_rows(doc)
    for name in doc["fitted_on"]["sets"]:
        assert doc["metrics_by_set"][name]["in_sample"] is True
        assert name in doc["in_sample_sets"] and name not in doc["report_sets"]
    assert doc["metrics_set"] == "test" == doc["report_sets"][0]
    assert doc["metrics"]["ece_after"] == doc["metrics_by_set"]["test"]["after"]["ece"]
    for name in ("test", "dev"):
        assert doc["metrics_by_set"][name]["in_sample"] is False
    json.dumps(doc, allow_nan=False)


@pytest.fixture(scope="module")
def human_fit(tiny_release_dir: Path, tiny_data: Path, tiny_dev: Path, tiny_calibration: Path,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = Path(shutil.copytree(tiny_release_dir, tmp_path_factory.mktemp("human") / "r"))
    path = calibrate(folder, cfg=cfg(tiny_data, tiny_dev,
                                     calibration_data=str(tiny_calibration)))
    return folder, json.loads(path.read_text(encoding="utf-8"))


def test_the_default_is_the_packaged_human_calibration_set(tiny_data: Path,
                                                          tiny_dev: Path) -> None:
    config = cfg(tiny_data, tiny_dev)
    assert config.calibration_data == "human"
    assert CALIBRATION_SET_PATH.parent.name == "devset"
    assert CALIBRATION_SET_PATH.name == "human_calibration.jsonl"
    if not CALIBRATION_SET_PATH.is_file():  # until the set is written: the error names it
        with pytest.raises(DataFileError, match="packaged human calibration set is missing"
                           ) as info:
            load_fit_data(config)
        assert info.value.path == CALIBRATION_SET_PATH
        return
    data = load_fit_data(config)
    assert data.pool == ("calibration",) and data.aux == "validation"
    assert data.sources["calibration"]["path"] == str(CALIBRATION_SET_PATH)
    assert data.sources["calibration"]["sha256"] == sha256_file(CALIBRATION_SET_PATH)
    assert data.sources["calibration"]["kind"] == "human calibration set"


def test_a_human_file_is_fitted_on_and_never_reported(human_fit: tuple[Path, dict],
                                                      tiny_calibration: Path) -> None:
    folder, doc = human_fit
    check_consistent(doc)
    assert verification_problems(folder) == []
    source = doc["fitted_on"]["sources"]["calibration"]
    assert source["path"] == str(tiny_calibration)
    assert source["sha256"] == sha256_file(tiny_calibration)
    assert source["samples"] == HUMAN_ROWS
    assert source["intents"] == dict.fromkeys(INTENTS, CALIBRATION_PER_INTENT)
    assert doc["method_selection"]["pool_samples"] == HUMAN_ROWS
    names = [c["name"] for c in doc["method_selection"]["candidates"]]
    assert names == ["T=1", "nll", "nll+validation", "validation", "ece"]
    # The calibration set always takes part (it chose the method), never as a result.
    assert doc["in_sample_sets"][0] == "calibration"
    assert doc["metrics_by_set"]["calibration"]["in_sample"] is True
    fit_sets = doc["fitted_on"]["sets"]
    assert doc["calibration_split"] == "+".join(
        {"calibration": "calibration-file", "validation": "validation"}[s] for s in fit_sets)
    # validation is in-sample either way: fitted on, or used by the candidates (and by
    # training, to pick its epoch); never a report set.
    assert "validation" in doc["in_sample_sets"] and "validation" not in doc["report_sets"]
    role = doc["metrics_by_set"]["validation"]["role"]
    assert role == ("fit" if "validation" in fit_sets else "selection")
    assert set(doc["metrics_by_set"]) == {"calibration", "validation", "test", "dev"}
    table = format_table(doc)
    assert table.splitlines()[2].startswith("calibration* ")
    assert f"on {HUMAN_ROWS} fit rows (seed 0)" in table


def test_cross_validation_is_deterministic(human_fit: tuple[Path, dict], tiny_release_dir: Path,
                                           tiny_data: Path, tiny_dev: Path,
                                           tiny_calibration: Path, tmp_path: Path) -> None:
    """Same data, same seed: the same table to the last digit; another seed, other folds."""
    _, doc = human_fit
    again = Path(shutil.copytree(tiny_release_dir, tmp_path / "again"))
    config = cfg(tiny_data, tiny_dev, calibration_data=str(tiny_calibration), cv_seed=1)
    other = json.loads(calibrate(again, cfg=config).read_text(encoding="utf-8"))
    check_consistent(other)
    assert other["method_selection"]["seed"] == 1
    same = {c["name"]: c["temperature"] for c in doc["method_selection"]["candidates"]}
    # Refitted on all rows, a candidate's T does not depend on the folds...
    assert {c["name"]: c["temperature"] for c in other["method_selection"]["candidates"]} \
        == pytest.approx(same)
    # ... its fold temperatures do.
    assert [c["fold_temperatures"] for c in other["method_selection"]["candidates"]] != \
        [c["fold_temperatures"] for c in doc["method_selection"]["candidates"]]


def test_the_validation_option_fits_as_before(release_copy: Path, tiny_data: Path,
                                              tiny_dev: Path) -> None:
    path = calibrate(release_copy, cfg=cfg(tiny_data, tiny_dev, calibration_data="validation"))
    doc = json.loads(path.read_text(encoding="utf-8"))
    check_consistent(doc)
    assert doc["calibration_split"] == "validation"
    assert doc["fitted_on"]["sets"] == ["validation"]
    assert doc["calibration_samples"] == 4 * len(INTENTS)
    assert doc["report_sets"] == ["test", "dev"]
    assert "calibration" not in doc["metrics_by_set"]
    assert [c["name"] for c in doc["method_selection"]["candidates"]] == ["T=1", "nll", "ece"]
    assert doc["fitted_on"]["sources"]["validation"]["source"] == str(tiny_data.resolve())


@pytest.mark.parametrize(("rows", "joined"), [(49, False), (50, True)])
def test_requests_join_the_fit_from_the_minimum_on(tiny_data: Path, tiny_dev: Path,
                                                   tiny_calibration: Path, tmp_path: Path,
                                                   rows: int, joined: bool) -> None:
    requests = write_requests(tmp_path / "requests.jsonl", calibration=rows)
    data = load_fit_data(cfg(tiny_data, tiny_dev, calibration_data=str(tiny_calibration),
                             real_data=str(requests)))
    assert CalibrateConfig(data="x").min_requests == 50
    assert data.requests is not None and data.requests["joined_fit"] is joined
    assert data.requests["calibration_rows"] == rows
    assert data.requests["train_rows_not_used"] == 8
    assert data.requests["provenance"]["sha256"] == sha256_file(requests)
    assert ("requests" in data.pool) is joined
    assert len(data.sets["requests"][0]) == rows  # the train rows are never read
    assert not any("request-train" in t for texts, _ in data.sets.values() for t in texts)
    assert list(data.sets)[-1] == ("dev" if joined else "requests")


def test_requests_in_the_fit_are_labelled_in_sample(release_copy: Path, tiny_data: Path,
                                                    tiny_dev: Path, tiny_calibration: Path,
                                                    tmp_path: Path) -> None:
    requests = write_requests(tmp_path / "requests.jsonl", calibration=12)
    path = calibrate(release_copy, cfg=cfg(tiny_data, tiny_dev, min_requests=10,
                                           calibration_data=str(tiny_calibration),
                                           real_data=str(requests)))
    doc = json.loads(path.read_text(encoding="utf-8"))
    check_consistent(doc)
    assert doc["method_selection"]["pool_samples"] == HUMAN_ROWS + 12
    assert doc["fitted_on"]["requests"]["joined_fit"] is True
    entry = doc["metrics_by_set"]["requests"]
    assert entry["in_sample"] is True and entry["note"] == REQUESTS_NOTE
    assert entry["before"]["samples"] == 12
    assert "requests" in doc["in_sample_sets"]
    if doc["method_selection"]["chosen"] != "T=1":  # validation alone is never chosen
        assert "+requests" in doc["calibration_split"]
        assert doc["fitted_on"]["samples"]["requests"] == 12


def test_too_few_requests_are_reported_not_fitted(release_copy: Path, tiny_data: Path,
                                                  tiny_dev: Path, tiny_calibration: Path,
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    requests = write_requests(tmp_path / "requests.jsonl", calibration=12)
    assert main(["calibrate", "fit", "--model", str(release_copy), "--data", str(tiny_data),
                 "--dev-set", str(tiny_dev), "--calibration-data", str(tiny_calibration),
                 "--real-data", str(requests)]) == 0
    out = capsys.readouterr().out
    doc = json.loads((release_copy / TEMPERATURE_FILE).read_text(encoding="utf-8"))
    check_consistent(doc)
    assert doc["method_selection"]["pool_samples"] == HUMAN_ROWS
    assert doc["metrics_by_set"]["requests"]["in_sample"] is False
    assert "requests" in doc["report_sets"] and "requests" not in doc["calibration_split"]
    assert f"requests ({requests}): only 12 calibration rows (< 50): not used for the fit" in out


@pytest.mark.parametrize("value", ["valdation", "humans", "", "calibration.json"])
def test_bad_calibration_data_values_are_refused(value: str) -> None:
    with pytest.raises(InvalidValueError, match=r"calibration_data: got .*expected 'human' \(the "
                       r"packaged human calibration set\), 'validation'"):
        CalibrateConfig(data="x", calibration_data=value)


def test_bad_calibration_data_on_the_command_line(release_copy: Path, tiny_data: Path,
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    old = (release_copy / TEMPERATURE_FILE).read_bytes()
    argv = ["calibrate", "fit", "--model", str(release_copy), "--data", str(tiny_data)]
    assert main([*argv, "--calibration-data", "valdation"]) == 2
    assert capsys.readouterr().err.startswith("error: calibration_data: got 'valdation', "
                                              "expected 'human'")
    missing = tmp_path / "nope.jsonl"
    assert main([*argv, "--calibration-data", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {missing}: cannot read (No such file or directory)")
    assert "Traceback" not in err
    assert (release_copy / TEMPERATURE_FILE).read_bytes() == old


def test_a_calibration_file_sharing_dev_rows_is_refused(release_copy: Path, tiny_data: Path,
                                                        tiny_dev: Path, tiny_calibration: Path,
                                                        tmp_path: Path) -> None:
    """The dev set stays independent: a calibration row equal to a dev row (case and spaces
    aside, as the uncased tokenizer sees it) stops the run before anything is written."""
    dev_text = json.loads(tiny_dev.read_text(encoding="utf-8").splitlines()[3])["text"]
    rows = [json.loads(line) for line in tiny_calibration.read_text().splitlines()]
    bad = write_jsonl(tmp_path / "cal.jsonl",
                      [*rows, {"text": "  " + dev_text.upper(), "intent": "TextSearch"}])
    old = (release_copy / TEMPERATURE_FILE).read_bytes()
    with pytest.raises(DataFileError, match=r"1 calibration row\(s\) equal to a dev-set row, "
                       "e.g.") as info:
        calibrate(release_copy, cfg=cfg(tiny_data, tiny_dev, calibration_data=str(bad)))
    assert info.value.path == bad
    assert "dev set must stay independent" in str(info.value)
    assert (release_copy / TEMPERATURE_FILE).read_bytes() == old

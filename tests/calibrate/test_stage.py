"""The calibration stage over a real INT8 release folder (tiny random BERT, so accuracy is at
chance: these tests check the mechanics, not the quality), and ``calibrate_logits`` on
synthetic logits whose true temperature is known."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fixtures.tiny_release import set_temperature

from hf_pipeline.calibrate.config import CalibrateConfig
from hf_pipeline.calibrate.fit import scaled_nll
from hf_pipeline.calibrate.stage import (
    calibrate,
    calibrate_logits,
    format_table,
    temperature_document,
)
from hf_pipeline.errors import DataFileError
from hf_pipeline.export.stage import FP32_FILE
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import sha256_file
from hf_pipeline.model_folder.checksums import ChecksumError, verification_problems
from hf_pipeline.model_folder.folder import model_version
from hf_pipeline.model_folder.int8 import check_int8
from hf_pipeline.model_folder.layout import CALIBRATION_REPORT as REPORT_FILE
from hf_pipeline.model_folder.layout import ONNX_FILE, RELEASE_FILES, TEMPERATURE_FILE
from hf_pipeline.model_folder.layout import reports_dir as default_report_dir
from hf_pipeline.model_folder.update import write_checksums
from hf_pipeline.runtime.classifier import IntentClassifier, softmax

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# tiny_data: 4 validation, 3 test and 2 dev queries per intent.
SIZES = {"validation": 4 * len(INTENTS), "test": 3 * len(INTENTS), "dev": 2 * len(INTENTS)}
CONTRACT_METRICS = {"accuracy", "ece_before", "ece_after", "mce_before", "mce_after"}


def config(data: Path, dev: Path, **kwargs: Any) -> CalibrateConfig:
    """Fitted on the validation split (the older default) unless told otherwise: these tests
    check the folder mechanics; tests/calibrate/test_fit_data.py checks the fit data."""
    kwargs.setdefault("calibration_data", "validation")
    return CalibrateConfig(data=str(data), dev_set=str(dev), **kwargs)


@pytest.fixture(scope="module")
def calibrated(tiny_release_dir: Path, tiny_data: Path, tiny_dev: Path,
               tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One calibration run, shared by the read-only checks: (release folder, temperature.json)."""
    folder = Path(shutil.copytree(tiny_release_dir,
                                  tmp_path_factory.mktemp("calibrated") / "release"))
    path = calibrate(folder, cfg=config(tiny_data, tiny_dev))
    assert path == folder / TEMPERATURE_FILE
    return folder, json.loads(path.read_text(encoding="utf-8"))


def test_temperature_json_has_the_contract_keys(calibrated: tuple[Path, dict]) -> None:
    _, doc = calibrated
    t = doc["temperature"]
    assert isinstance(t, float) and math.isfinite(t) and t > 0
    assert set(doc["metrics"]) >= CONTRACT_METRICS
    assert all(isinstance(doc["metrics"][k], float) for k in CONTRACT_METRICS)
    assert doc["calibration_samples"] == SIZES["validation"]
    assert doc["intent_labels"] == list(INTENTS)


def test_fit_split_is_not_a_report_split(calibrated: tuple[Path, dict], tiny_dev: Path) -> None:
    _, doc = calibrated
    assert doc["calibration_split"] == "validation"
    assert doc["report_sets"] == ["test", "dev"]
    # The contract's headline metrics come from held-out data, never from the fit split.
    assert doc["metrics_set"] == "test"
    test = doc["metrics_by_set"]["test"]
    assert doc["metrics"]["ece_before"] == test["before"]["ece"]
    assert doc["metrics"]["ece_after"] == test["after"]["ece"]
    assert doc["metrics"]["accuracy"] == test["after"]["accuracy"]
    assert {name: m["before"]["samples"] for name, m in doc["metrics_by_set"].items()} == SIZES
    assert doc["data"]["dev_set_sha256"] == sha256_file(tiny_dev)


def test_t_improves_nll_on_the_calibration_split(calibrated: tuple[Path, dict],
                                                 tiny_data: Path) -> None:
    """In-sample, by construction; recomputed here from the runtime path's own logits, so
    this also checks that T was fitted on the validation split's INT8 logits."""
    from hf_pipeline.data_sources import load_splits

    folder, doc = calibrated
    validation = load_splits(str(tiny_data), splits=("validation",)).dataset["validation"]
    classifier = IntentClassifier.from_dir(folder, batch_size=1)  # as calibrate runs it
    logits = classifier.logits(list(validation["text"]))
    labels = np.asarray(validation["label"])
    t = doc["temperature"]
    assert scaled_nll(logits, labels, t) <= scaled_nll(logits, labels, 1.0)
    assert doc["fit"]["nll_after"] == pytest.approx(scaled_nll(logits, labels, t), rel=1e-6)
    assert doc["fit"]["nll_before"] == pytest.approx(scaled_nll(logits, labels, 1.0), rel=1e-6)
    validation_m = doc["metrics_by_set"]["validation"]
    assert validation_m["after"]["nll"] <= validation_m["before"]["nll"]


def test_the_folder_verifies_and_loads_with_the_new_t(calibrated: tuple[Path, dict]) -> None:
    folder, doc = calibrated
    assert verification_problems(folder) == []
    classifier = IntentClassifier.from_dir(folder, batch_size=1)
    assert classifier.verified
    assert classifier.temperature == doc["temperature"]
    texts = ["who calls parse_config", "graph of Server"]
    probs = [p.probabilities for p in classifier.predict(texts)]
    expected = softmax(classifier.logits(texts), doc["temperature"])
    assert np.allclose([[p[k] for k in INTENTS] for p in probs], expected)


def test_report_and_diagrams_go_beside_the_release(calibrated: tuple[Path, dict]) -> None:
    folder, doc = calibrated
    report_dir = folder.parent / "release.reports"
    assert default_report_dir(folder) == report_dir
    # The release keeps exactly the contract's files.
    assert {p.name for p in folder.iterdir()} <= set(RELEASE_FILES)
    for name in ("test", "dev"):
        data = (report_dir / f"reliability_{name}.png").read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_SIGNATURE)
    assert not (report_dir / "reliability_validation.png").exists()
    report = json.loads((report_dir / REPORT_FILE).read_text(encoding="utf-8"))
    assert report["temperature"] == doc["temperature"]
    assert report["config"]["calibration_data"] == "validation"
    assert set(report["bins"]) == set(SIZES)
    for name, size in SIZES.items():
        for when in ("before", "after"):
            bins = report["bins"][name][when]
            assert len(bins) == report["ece_bins"] == 15
            assert sum(b["count"] for b in bins) == size
            # Empty bins carry null, not NaN (which is not JSON).
            assert all(b["accuracy"] is None for b in bins if not b["count"])


def test_report_dir_of_dot_is_beside_the_release(release_copy: Path, tiny_data: Path,
                                                 tiny_dev: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``calibrate .`` from inside the release folder: the default report folder used to be
    "./.reports", i.e. inside the release, which must hold only the contract's files."""
    monkeypatch.chdir(release_copy)
    assert default_report_dir(Path(".")) == release_copy.parent / "release.reports"
    calibrate(".", cfg=config(tiny_data, tiny_dev))
    assert {p.name for p in release_copy.iterdir()} <= set(RELEASE_FILES)
    assert (release_copy.parent / "release.reports" / REPORT_FILE).is_file()


def test_an_explicit_report_dir_is_used(release_copy: Path, tiny_data: Path, tiny_dev: Path,
                                        tmp_path: Path) -> None:
    calibrate(release_copy, cfg=config(tiny_data, tiny_dev, report_dir=tmp_path / "r"))
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        REPORT_FILE, "reliability_dev.png", "reliability_test.png"]
    assert not default_report_dir(release_copy).exists()


def test_a_failed_report_write_leaves_the_old_temperature(release_copy: Path, tiny_data: Path,
                                                          tiny_dev: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The report is written before temperature.json and the checksums: if it fails, the
    folder is as it was and still verifies."""
    import hf_pipeline.calibrate.stage as stage

    set_temperature(release_copy, {"temperature": 1.7, "intent_labels": list(INTENTS)})
    old = (release_copy / TEMPERATURE_FILE).read_bytes()

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(stage, "write_report", disk_full)
    with pytest.raises(OSError, match="No space left"):
        calibrate(release_copy, cfg=config(tiny_data, tiny_dev))
    assert (release_copy / TEMPERATURE_FILE).read_bytes() == old
    assert verification_problems(release_copy) == []
    assert IntentClassifier.from_dir(release_copy).temperature == 1.7
    assert not [p.name for p in release_copy.iterdir() if p.name.endswith(".tmp")]


def fp32_onnx(tiny_release_dir: Path) -> Path:
    """The fp32 model of the export folder the tiny release was built from."""
    return tiny_release_dir.parent / "export" / FP32_FILE


def test_check_int8(tiny_release_dir: Path) -> None:
    check_int8(tiny_release_dir / ONNX_FILE)
    with pytest.raises(DataFileError, match="this model is not quantized"):
        check_int8(fp32_onnx(tiny_release_dir))


def test_a_release_with_an_fp32_model_is_refused(release_copy: Path, tiny_release_dir: Path,
                                                 tiny_data: Path, tiny_dev: Path) -> None:
    shutil.copyfile(fp32_onnx(tiny_release_dir), release_copy / ONNX_FILE)
    # consistent folder: only the INT8 check can refuse it
    write_checksums(release_copy, model_version=model_version(release_copy))
    old = (release_copy / TEMPERATURE_FILE).read_bytes()
    with pytest.raises(DataFileError, match="this model is not quantized") as info:
        calibrate(release_copy, cfg=config(tiny_data, tiny_dev))
    assert info.value.path == release_copy / ONNX_FILE
    assert (release_copy / TEMPERATURE_FILE).read_bytes() == old
    assert not default_report_dir(release_copy).exists()


def test_a_tampered_graph_is_refused_before_anything_else(release_copy: Path,
                                                         tiny_release_dir: Path,
                                                         tmp_path: Path) -> None:
    """Verification comes first: a bad --data path and an fp32 graph would each fail later,
    but the checksum failure is what is reported."""
    shutil.copyfile(fp32_onnx(tiny_release_dir), release_copy / ONNX_FILE)
    cfg = CalibrateConfig(data=str(tmp_path / "no" / "such" / "dataset.json"))
    with pytest.raises(ChecksumError, match=f"{ONNX_FILE}: SHA-256 mismatch"):
        calibrate(release_copy, cfg=cfg)
    assert not default_report_dir(release_copy).exists()


@pytest.mark.parametrize("damage", ["temperature_only", "checksums_gone", "manifest_stale"])
def test_calibrate_repairs_a_folder_broken_only_in_its_own_files(
        release_copy: Path, tiny_data: Path, tiny_dev: Path, damage: str) -> None:
    """What a kill between writing temperature.json and refreshing the checksums left (the
    older, two-step calibrate): predict refuses the folder, calibrate makes it whole."""
    if damage == "temperature_only":
        (release_copy / TEMPERATURE_FILE).write_text('{"temperature": 0.5}', encoding="utf-8")
    elif damage == "checksums_gone":
        (release_copy / "checksums.json").unlink()
    else:
        (release_copy / "manifest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ChecksumError):
        IntentClassifier.from_dir(release_copy)
    calibrate(release_copy, cfg=config(tiny_data, tiny_dev))
    assert verification_problems(release_copy) == []
    assert IntentClassifier.from_dir(release_copy).verified


def test_calibrate_does_not_repair_a_changed_graph(release_copy: Path, tiny_release_dir: Path,
                                                   tiny_data: Path) -> None:
    """Without checksums.json, the graph is checked against manifest.json: a changed graph
    is never blessed by a recalibration."""
    (release_copy / "checksums.json").unlink()
    shutil.copyfile(fp32_onnx(tiny_release_dir), release_copy / ONNX_FILE)
    with pytest.raises(ChecksumError, match=r"checksums\.json: missing"):
        calibrate(release_copy, cfg=CalibrateConfig(data=str(tiny_data)))


# --- calibrate_logits on synthetic logits: the truth is T = TRUE_T ---------------------------

TRUE_T = 2.5


def sampled(n: int, *, seed: int, t: float = TRUE_T) -> tuple[np.ndarray, np.ndarray]:
    """Logits, and labels drawn from softmax(logits / t): T = 1 is over-confident."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(n, len(INTENTS)))
    cumulative = softmax(logits, t).cumsum(axis=1)
    labels = np.minimum((cumulative < rng.random((n, 1))).sum(axis=1), len(INTENTS) - 1)
    return logits.astype(np.float32), labels


def test_calibrate_logits_improves_a_held_out_set() -> None:
    cfg = CalibrateConfig(data="unused")
    sets = {"calibration": sampled(2000, seed=1), "report": sampled(2000, seed=2)}
    result = calibrate_logits(sets, pool=["calibration"], cfg=cfg)
    assert result.selection is not None and result.selection.chosen.name == "nll"
    assert result.fit.temperature == pytest.approx(TRUE_T, rel=0.1)
    assert result.calibration_set == "human-calibration"
    assert result.in_sample_sets == ["calibration"] and result.report_sets == ["report"]
    before, after = result.before["report"], result.after["report"]
    assert after.nll < before.nll - 0.1
    assert after.ece < before.ece / 3
    assert after.accuracy == before.accuracy  # one T never moves the argmax
    assert after.confident_errors < before.confident_errors
    for name in ("calibration", "report"):
        assert sum(b.count for b in result.bins_after[name]) == 2000


def test_cross_validation_rejects_a_validation_split_of_another_temperature() -> None:
    """The pool's truth is T = 2.5, the validation split's T = 1 (as templates are harder or
    easier than requests): the candidates that lean on it lose on held-out pool rows, and
    the validation split, unused by the chosen fit, is still no result: the candidates used it
    (and training chose its epoch on it), so it is in-sample, never a report set."""
    cfg = CalibrateConfig(data="unused")
    sets = {"calibration": sampled(600, seed=5), "validation": sampled(3000, seed=6, t=1.0),
            "report": sampled(500, seed=7)}
    result = calibrate_logits(sets, pool=["calibration"], aux="validation", cfg=cfg)
    assert result.selection is not None
    table = {c.name: c for c in result.selection.candidates}
    assert list(table) == ["T=1", "nll", "nll+validation", "validation", "ece"]
    assert result.selection.chosen.name == "nll"
    assert table["nll"].held_out_nll < table["nll+validation"].held_out_nll \
        < table["validation"].held_out_nll
    assert table["validation"].fold_temperatures == [table["validation"].temperature] * 5
    assert table["validation"].temperature == pytest.approx(1.0, rel=0.1)
    assert 1.0 < table["nll+validation"].temperature < table["nll"].temperature
    assert result.fit.temperature == table["nll"].temperature
    assert result.fit_sets == ("calibration",)
    assert result.report_sets == ["report"]
    assert result.roles == {"calibration": "fit", "validation": "selection"}


def test_validation_alone_is_scored_but_never_chosen() -> None:
    """The validation split of the pool's own temperature: T fitted on it alone scores as
    well as the best, but it ignores the human rows, so it is only a reference row."""
    cfg = CalibrateConfig(data="unused")
    sets = {"calibration": sampled(100, seed=8), "validation": sampled(20000, seed=99),
            "report": sampled(300, seed=10)}
    result = calibrate_logits(sets, pool=["calibration"], aux="validation", cfg=cfg)
    assert result.selection is not None
    table = {c.name: c for c in result.selection.candidates}
    eligible = [c for name, c in table.items() if name != "validation"]
    assert table["validation"].held_out_nll <= min(c.held_out_nll for c in eligible)
    assert not table["validation"].chosen and result.selection.chosen.name != "validation"
    assert "calibration" in result.fit_sets


def test_temperature_document_reports_on_the_held_out_set() -> None:
    cfg = CalibrateConfig(data="unused")
    sets = {"calibration": sampled(500, seed=3), "report": sampled(300, seed=4)}
    result = calibrate_logits(sets, pool=["calibration"], cfg=cfg)
    doc = temperature_document(result, cfg=cfg, provenance={"source": "synthetic"})
    assert doc["calibration_samples"] == 500
    assert doc["metrics_set"] == "report"
    assert doc["metrics"]["ece_after"] == result.after["report"].ece
    assert doc["metrics"]["ece_after"] != result.after["calibration"].ece
    assert doc["fit"]["bounds"] == [cfg.t_min, cfg.t_max]
    assert doc["in_sample_sets"] == ["calibration"]
    assert doc["metrics_by_set"]["calibration"]["in_sample"] is True
    assert doc["metrics_by_set"]["report"]["in_sample"] is False
    assert doc["method_selection"]["chosen"] == "nll"
    json.dumps(doc, allow_nan=False)  # plain JSON, as the runtime parses it
    table = format_table(doc)
    assert table.startswith(f"T = {result.fit.temperature:.4f} (fitted on human-calibration, "
                            "500 samples)")
    rows = [line.split()[0] for line in table.splitlines()[2:4]]
    assert rows == ["calibration*", "report"]
    assert "method chosen by 5-fold stratified cross-validation on 500 fit rows" in table
    assert re.search(r"^  nll +\d+\.\d{4} +\d+\.\d{4} +\d+\.\d{4}  <- chosen$", table, re.M)

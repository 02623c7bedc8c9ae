"""``hf-pipeline calibrate [run|analyze|test-single]`` in-process, through the real parser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from fixtures.tiny_eval_data import PHRASES
from fixtures.tiny_release import set_temperature

from hf_pipeline.calibrate.analyze import ANALYSIS_FILE
from hf_pipeline.cli import main
from hf_pipeline.intents import INTENTS
from hf_pipeline.model_folder.checksums import verification_problems
from hf_pipeline.model_folder.layout import CALIBRATION_REPORT as REPORT_FILE
from hf_pipeline.model_folder.layout import TEMPERATURE_FILE
from hf_pipeline.model_folder.layout import reports_dir as default_report_dir
from hf_pipeline.runtime.classifier import IntentClassifier, softmax


@pytest.mark.parametrize("argv", [["calibrate"], ["calibrate", "fit"],
                                  ["calibrate", "analyze"], ["calibrate", "test-single"]])
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: hf-pipeline {' '.join(argv)}")


def check_table(out: str, folder: Path) -> None:
    t = json.loads((folder / TEMPERATURE_FILE).read_text(encoding="utf-8"))["temperature"]
    assert out.startswith(f"T = {t:.4f} (fitted on validation, 32 samples)")
    assert [line.split()[0] for line in out.splitlines()[2:5]] == ["validation*", "test", "dev"]
    assert f"wrote {folder / TEMPERATURE_FILE} and refreshed checksums" in out


def test_fit_runs_the_stage(release_copy: Path, tiny_data: Path, tiny_dev: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["calibrate", "fit", "--model", str(release_copy), "--data", str(tiny_data),
               "--dev-set", str(tiny_dev), "--calibration-data", "validation"])
    out = capsys.readouterr().out
    assert rc == 0
    check_table(out, release_copy)
    assert out.rstrip().endswith(f"diagrams and report in {default_report_dir(release_copy)}")
    assert verification_problems(release_copy) == []


def test_run_with_output_and_json(release_copy: Path, tiny_data: Path, tiny_dev: Path,
                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["calibrate", "fit", "--model", str(release_copy), "--data", str(tiny_data), "--dev-set",
            str(tiny_dev), "--output", str(tmp_path / "report"), "--calibration-data", "validation"]
    assert main(argv) == 0
    check_table(capsys.readouterr().out, release_copy)
    assert (tmp_path / "report" / REPORT_FILE).is_file()
    assert not default_report_dir(release_copy).exists()

    assert main([*argv, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)  # stdout holds the JSON only
    assert document == json.loads((release_copy / TEMPERATURE_FILE).read_text(encoding="utf-8"))


def test_calibrate_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["calibrate", "--data", "x"])
    assert exit_.value.code == 2
    assert "argument ACTION" in capsys.readouterr().err


def test_missing_data_is_a_usage_error(release_copy: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["calibrate", "fit", "--model", str(release_copy)])
    assert exit_.value.code == 2
    assert "the following arguments are required: --data" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["data", "dev_set"])
def test_bad_data_paths_give_one_clear_error(release_copy: Path, tiny_data: Path,
                                             tiny_dev: Path, tmp_path: Path, bad: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing" / "data.json"
    data, dev = (missing, tiny_dev) if bad == "data" else (tiny_data, missing)
    old = (release_copy / TEMPERATURE_FILE).read_bytes()
    rc = main(["calibrate", "fit", "--model", str(release_copy), "--data", str(data),
               "--dev-set", str(dev)])
    err = capsys.readouterr().err
    assert rc == 2
    expected = ("no such local path, and not a Hub repo id" if bad == "data"
                else "cannot read (No such file or directory)")
    assert err.startswith(f"error: {missing}: {expected}")
    assert "Traceback" not in err
    assert (release_copy / TEMPERATURE_FILE).read_bytes() == old


def test_a_missing_release_folder(tmp_path: Path, tiny_data: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", "fit", "--model", str(tmp_path / "nope"), "--data",
                 str(tiny_data)]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'nope'}: no such model folder. "
                                       "Fix: pass the folder written by `hf-pipeline "
                                       "release`.\n")


def test_analyze_with_data(release_copy: Path, tiny_data: Path, tiny_dev: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    set_temperature(release_copy, {"temperature": 2.0, "intent_labels": list(INTENTS)})
    out_dir = tmp_path / "analysis"
    assert main(["calibrate", "analyze", "--model", str(release_copy), "--dev-set", str(tiny_dev),
                 "--data", str(tiny_data), "-o", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{release_copy} at T = 2.0000")
    assert re.search(r"^== test: n=24 ", out, re.M) and re.search(r"^== dev: n=16 ", out, re.M)
    for intent in INTENTS:  # one per-intent row in each set's table
        assert len(re.findall(rf"^{intent} +(3|2) ", out, re.M)) == 2
    assert "one temperature or one per class?" in out and "T=2.000" in out
    assert sorted(p.name for p in out_dir.iterdir()) == [ANALYSIS_FILE, "analysis_dev.png",
                                                         "analysis_test.png"]
    result = json.loads((out_dir / ANALYSIS_FILE).read_text(encoding="utf-8"))
    assert result["temperature"] == 2.0
    assert list(result["sets"]) == ["test", "dev"]
    dev = result["sets"]["dev"]
    assert [row["intent"] for row in dev["per_intent"]] == list(INTENTS)
    assert sum(row["samples"] for row in dev["per_intent"]) == 16
    assert sum(b["count"] for b in dev["bins"]) == 16
    assert set(result["scalings"]["sets"]["test"]) == {"T=1", "T=2.000", "per-class T"}
    assert list(result["scalings"]["per_class_temperatures"]) == list(INTENTS)
    # analyze reads, it never changes the folder
    assert verification_problems(release_copy) == []


def test_analyze_dev_only_json_default_output(release_copy: Path, tiny_dev: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", "analyze", "--model", str(release_copy), "--dev-set", str(tiny_dev),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result["sets"]) == ["dev"] and "scalings" not in result
    out_dir = default_report_dir(release_copy)
    assert (out_dir / ANALYSIS_FILE).is_file() and (out_dir / "analysis_dev.png").is_file()


def test_test_single_prints_every_intent(release_copy: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import onnxruntime as ort

    set_temperature(release_copy, {"temperature": 2.0, "intent_labels": list(INTENTS)})
    fed: list[set[str]] = []
    real_run = ort.InferenceSession.run

    def spy(self: object, output_names: object, input_feed: dict, *args: object) -> object:
        fed.append(set(input_feed))
        return real_run(self, output_names, input_feed, *args)

    monkeypatch.setattr(ort.InferenceSession, "run", spy)
    assert main(["calibrate", "test-single", "who calls login", "--model",
                 str(release_copy)]) == 0
    out = capsys.readouterr().out

    names = IntentClassifier.from_dir(release_copy).input_names
    assert "token_type_ids" in names  # BERT's graph declares it ...
    assert fed and all(keys == set(names) for keys in fed)  # ... so it is fed
    assert f"T = 2.0000  inputs: {', '.join(names)}" in out
    rows = re.findall(r"^  (\w+) +logit +(-?\d+\.\d+)  p (\d\.\d+)( +<-)?$", out, re.M)
    assert [r[0] for r in rows] == list(INTENTS)
    logits = np.array([float(r[1]) for r in rows])
    probs = np.array([float(r[2]) for r in rows])
    assert probs.sum() == pytest.approx(1.0, abs=1e-3)
    assert np.allclose(probs, softmax(logits, 2.0), atol=2e-4)  # at the folder's T
    chosen = [r[0] for r in rows if r[3]]
    assert len(chosen) == 1
    assert re.search(rf"^intent: {chosen[0]}  confidence \d\.\d{{4}}  tier: disambiguate$",
                     out, re.M)
    assert main(["calibrate", "test-single", "who calls login", "--model", str(release_copy),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["intent"], result["temperature"]) == (chosen[0], 2.0)
    assert list(result["logits"]) == list(INTENTS)
    assert np.allclose(list(result["logits"].values()), logits, atol=1e-4)


def test_analyze_with_typos_adds_a_typo_set(release_copy: Path, tiny_dev: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", "analyze", "--model", str(release_copy), "--dev-set", str(tiny_dev),
                 "--typos", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result["sets"]) == ["dev", "dev_typo", "dev_intent_typo", "dev_direction_typo"]
    assert result["sets"]["dev_typo"]["metrics"]["samples"] == 16
    # every tiny dev phrase but Ambiguous's "hmm X" has a word that carries the intent
    assert result["sets"]["dev_intent_typo"]["metrics"]["samples"] == 14
    intents = [row["intent"] for row in result["sets"]["dev_intent_typo"]["per_intent"]]
    assert intents == [i for i in INTENTS if i != "Ambiguous"]
    # a word that carries the call direction: only the phrases "who calls X" and "what does
    # X call" have one (two rows each)
    direction = result["sets"]["dev_direction_typo"]
    assert direction["metrics"]["samples"] == 4
    assert {row["intent"] for row in direction["per_intent"]} == {
        INTENTS[PHRASES.index("who calls {}")], INTENTS[PHRASES.index("what does {} call")]}


def test_analyze_with_typo_seed_prints_the_typo_sets(release_copy: Path, tiny_dev: Path,
                                                     tiny_data: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "analysis"
    assert main(["calibrate", "analyze", "--model", str(release_copy), "--dev-set", str(tiny_dev),
                 "--data", str(tiny_data), "--typos", "7", "-o", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^== dev_typo: n=16 ", out, re.M)
    assert re.search(r"^== dev_intent_typo: n=14 ", out, re.M)
    assert re.search(r"^dev_intent_typo +scaling ", out, re.M)  # the scaling table, aligned
    assert re.search(r"^dev_direction_typo scaling ", out, re.M)  # the longest name
    assert {"analysis_dev_typo.png", "analysis_dev_intent_typo.png",
            "analysis_dev_direction_typo.png"} <= {
        p.name for p in out_dir.iterdir()}

"""The generate command as a user runs it: exit codes and the one-line messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_pipeline.cli import main
from hf_pipeline.data_sources import load_splits
from hf_pipeline.intents import INTENTS


def test_generate_writes_json_dataset_dict_and_verification(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "data"
    rc = main(["generate", "--output", str(out), "--samples-per-intent", "100", "--allow-small",
               "--verification-output", str(out / "verification.json")])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "unique ratio 1.0000" in printed and "FindCallers" in printed
    data = json.loads((out / "dataset.json").read_text())
    assert set(data) == {"metadata", "samples"}
    assert set(data["samples"][0]) >= {"id", "text", "intent", "source"}
    assert data["metadata"]["intents"] == list(INTENTS)
    loaded = load_splits(out)
    assert loaded.dataset["train"].features["label"].names == list(INTENTS)
    assert len(loaded.dataset["test"]) == 80
    review = json.loads((out / "verification.json").read_text())
    assert len(review["samples"]) == 80 and all(s["review"] is None for s in review["samples"])


def test_generate_json_is_the_result(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "data"
    assert main(["generate", "-o", str(out), "--samples-per-intent", "40", "--allow-small",
                 "--json"]) == 0
    printed = capsys.readouterr()
    result = json.loads(printed.out)  # stdout holds the JSON only
    assert result["output"] == str(out) and result["published"] is None
    assert result["stats"] == json.loads((out / "stats.json").read_text())
    assert printed.err.startswith(f"wrote {out} in ")


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    rc = main(argv)
    return rc, capsys.readouterr().err


def test_too_small_count_is_refused(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    rc, err = _run(["generate", "--samples-per-intent", "500", "--output", str(tmp_path)], capsys)
    assert rc == 2
    assert err == ("error: samples_per_intent: got 500, expected >= 1000 for a training set. "
                   "Pass --allow-small for a quick experiment or a test fixture.\n")


def test_unwritable_output_is_refused(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc, err = _run(["generate", "--output", str(blocker / "data")], capsys)
    assert rc == 2
    assert err.startswith(f"error: --output {blocker}/data: {blocker} is a file, not a folder.")
    assert "Fix: choose a path under a folder" in err and "Traceback" not in err


def test_broken_template_file_is_named(capsys: pytest.CaptureFixture, tmp_path: Path,
                                       templates_copy: Path) -> None:
    f = templates_copy / "find_callers.yaml"
    f.write_text(f.read_text() + "  extra:\n    - who calls {fucntion}\n")
    lines = f.read_text().count("\n")
    rc, err = _run(["generate", "--templates", str(templates_copy), "--output",
                    str(tmp_path / "o")], capsys)
    assert rc == 2
    assert err.startswith(f"error: {f}:{lines}: template 'who calls {{fucntion}}': unknown slot")


def test_unknown_config_key_is_refused(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    cfg = tmp_path / "gen.yaml"
    cfg.write_text("seed: 3\nsamples_per_intnet: 1000\n")
    rc, err = _run(["generate", "--config", str(cfg), "--output", str(tmp_path / "o")], capsys)
    assert rc == 2 and "unknown option(s) samples_per_intnet" in err


@pytest.mark.parametrize("command", ["generate", "review"])
def test_help_is_available(command: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert command in capsys.readouterr().out


def test_generate_review_apply_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The human verification loop end to end: corrections reach both dataset forms."""
    out, review = tmp_path / "data", tmp_path / "data" / "verification.json"
    assert main(["generate", "--output", str(out), "--samples-per-intent", "40",
                 "--allow-small", "--verification-output", str(review)]) == 0
    samples = json.loads(review.read_text())["samples"]
    first = samples[0]
    new_label = next(i for i in INTENTS if i != first["intent"])
    answers = tmp_path / "answers.txt"
    answers.write_text(f"n {new_label}\n" + "y\n" * (len(samples) - 1))
    assert main(["review", str(review), "--answers", str(answers)]) == 0
    assert main(["review", str(review), "--apply", str(out)]) == 0
    capsys.readouterr()
    meta = json.loads((out / "dataset.json").read_text())["metadata"]["verification"]
    assert meta["checked"] == len(samples) == 48 and meta["incorrect"] == 1
    assert meta["corrections"] == [{"id": first["id"], "from": first["intent"], "to": new_label}]
    split = load_splits(out).dataset[first["split"]]
    row = split[split["id"].index(first["id"])]
    assert split.features["label"].int2str(row["label"]) == new_label

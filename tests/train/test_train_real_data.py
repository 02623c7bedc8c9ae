"""``train --real-data``: reviewed requests mixed into the training split, repeated, with the
dev set kept out, from a local requests.jsonl or a Hub dataset at a tag."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from hf_pipeline.cli import main
from hf_pipeline.errors import DataFileError, HubError, InvalidValueError
from hf_pipeline.feedback.requests import REQUESTS_FILE, load_requests
from hf_pipeline.intents import INTENTS
from hf_pipeline.train.config import TrainConfig
from hf_pipeline.train.data import (
    content_sha256,
    load_training_data,
    mix_real_requests,
    real_data_repeat,
)

from .tiny_data import split_rows

# Phrasings no tiny template has; one row (case and spacing aside) is a dev-set row.
REAL = [("could you list who ends up calling Parse_Config", "FindCallers"),
        ("which routines does the tokenizer hand off to", "FindCallees"),
        ("render the import web around Router please", "Visualize"),
        ("how stale is the index right now", "IndexStatus"),
        ("look up the literal FIXME anywhere", "TextSearch")]
CALIBRATION = ("is the cache index fresh or not", "IndexStatus")


def write_requests(path: Path, dev_text: str) -> Path:
    rows = [{"text": t, "intent": i, "split": "train", "count": 1} for t, i in REAL]
    rows.append({"text": "  " + dev_text.upper() + " ", "intent": "SymbolQuery",
                 "split": "train", "count": 2})
    rows.append({"text": CALIBRATION[0], "intent": CALIBRATION[1], "split": "calibration",
                 "count": 1})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def requests_file(tmp_path: Path, tiny_dev_set: Path) -> Path:
    dev_text = json.loads(tiny_dev_set.read_text(encoding="utf-8").splitlines()[0])["text"]
    return write_requests(tmp_path / "reviewed" / REQUESTS_FILE, dev_text)


def texts_of(dataset) -> list[str]:
    return list(dataset["text"])


def test_real_rows_are_repeated_and_dev_rows_dropped(
        train_kwargs: dict, requests_file: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    cfg = TrainConfig(output_dir=tmp_path / "out", real_data=str(requests_file),
                      real_data_repeat=3, **train_kwargs)
    with caplog.at_level(logging.WARNING, logger="hf_pipeline.train.data"):
        data = load_training_data(cfg)
    train = texts_of(data.splits["train"])
    assert len(train) == 64 + 3 * len(REAL)
    for text, _ in REAL:
        assert train.count(text) == 3
    assert CALIBRATION[0] not in train  # calibration rows never reach training
    assert "dropped the request" in caplog.text and "dev set" in caplog.text
    labels = data.splits["train"]["label"][64:]
    assert labels == [INTENTS.index(i) for _, i in REAL for _ in range(3)]
    info = data.provenance["real_data"]
    assert {k: info[k] for k in ("spec", "source", "train_rows", "rows_used", "repeat",
                                 "training_rows", "template_rows", "dropped")} == {
        "spec": str(requests_file), "source": str(requests_file), "train_rows": 6,
        "rows_used": 5, "repeat": 3, "training_rows": 15, "template_rows": 64,
        "dropped": {"dev set": 1}}
    assert len(info["sha256"]) == 64
    # Deterministic: the same options give the same rows in the same order.
    again = load_training_data(cfg)
    assert content_sha256({"train": again.splits["train"]}) == content_sha256(
        {"train": data.splits["train"]})
    # The validation and test splits are untouched.
    assert len(data.splits["validation"]) == 16 and len(data.splits["test"]) == 16


def test_rows_of_validation_test_and_the_packaged_dev_set_are_dropped(
        train_kwargs: dict, tmp_path: Path) -> None:
    from hf_pipeline.data_sources import load_dev_set

    validation = split_rows("validation", 2, 5)[0]["text"]
    packaged = load_dev_set()[0]["text"]
    path = tmp_path / "requests.jsonl"
    path.write_text("".join(json.dumps({"text": t, "intent": "SymbolQuery", "split": "train"})
                            + "\n" for t in (validation, packaged, "a real new phrasing")),
                    encoding="utf-8")
    cfg = TrainConfig(output_dir=tmp_path / "out", real_data=str(path),
                      **{**train_kwargs, "dev_set": "none"})
    info = load_training_data(cfg).provenance["real_data"]
    assert info["dropped"] == {"validation split": 1, "dev set": 1}
    assert info["rows_used"] == 1 and info["training_rows"] == 4  # the default repeat, 4


def test_the_repeat_is_lowered_to_the_share_cap() -> None:
    assert real_data_repeat(10, 6400, repeat=4, max_share=0.5) == 4
    assert real_data_repeat(3000, 6400, repeat=4, max_share=0.5) == 2  # 6000 <= 6400
    assert real_data_repeat(9000, 6400, repeat=4, max_share=0.5) == 1  # never below one
    assert real_data_repeat(100, 900, repeat=16, max_share=0.1) == 1


def test_mixing_keeps_text_and_label_and_counts_the_cap(train_kwargs: dict, tmp_path: Path,
                                                       requests_file: Path) -> None:
    data = load_training_data(TrainConfig(output_dir=tmp_path / "o", **train_kwargs))
    requests = load_requests(requests_file)
    mixed, info = mix_real_requests(data.splits["train"], requests, {}, repeat=100,
                                    max_share=0.2)
    # 6 rows used, 64 template rows: at most 0.25 x 64 = 16 real rows, so each row twice.
    assert (info["repeat"], info["repeat_requested"], info["training_rows"]) == (2, 100, 12)
    assert mixed.column_names == ["text", "label"] and len(mixed) == 76
    assert mixed.features["label"].names == list(INTENTS)


def test_train_records_the_real_data_and_trains_on_it(
        train_kwargs: dict, requests_file: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    k = train_kwargs
    assert main(["train", "--data", k["data"], "--dev-set", k["dev_set"], "--base-model",
                 k["base_model"], "--output", str(out), "--cpu", "--epochs", "1",
                 "--batch-size", "8", "--real-data", str(requests_file.parent.parent),
                 "--real-data-repeat", "2"]) == 0
    info = json.loads((out / "run_info.json").read_text(encoding="utf-8"))
    assert info["config"]["real_data"] == str(requests_file.parent.parent)
    real = info["data"]["real_data"]
    assert (real["rows_used"], real["repeat"], real["training_rows"]) == (5, 2, 10)
    assert real["source"] == str(requests_file)  # the folder resolves to data/requests.jsonl
    assert info["samples"]["train"] == 64 + 10
    metrics = json.loads((out / "training_metrics.json").read_text(encoding="utf-8"))
    assert metrics["samples_per_process"] == [74]  # the epoch went through every mixed row


@pytest.mark.parametrize(("spec", "error", "message"), [
    ("not a repo@v1", InvalidValueError, r"real_data: got 'not a repo@v1', expected a "
     r"requests\.jsonl file or folder, or a Hub repo namespace/name@revision"),
    ("", InvalidValueError, r"real_data: got '', expected a requests\.jsonl"),
])
def test_bad_specs_are_refused_by_the_config(train_kwargs: dict, tmp_path: Path, spec: str,
                                             error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        TrainConfig(output_dir=tmp_path / "out", real_data=spec, **train_kwargs)


def test_a_missing_or_bad_file_is_a_clear_error(train_kwargs: dict, tmp_path: Path) -> None:
    cfg = TrainConfig(output_dir=tmp_path / "out", real_data=str(tmp_path / "nowhere.jsonl"),
                      **train_kwargs)
    with pytest.raises(DataFileError, match=r"nowhere\.jsonl: no such file\. Fix: pass a "
                       r"requests\.jsonl"):
        load_training_data(cfg)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "who calls x", "intent": "Callers", "split": "train"}\n',
                   encoding="utf-8")
    with pytest.raises(DataFileError, match=r"bad\.jsonl:1: field 'intent' is 'Callers'"):
        load_training_data(replace(cfg, real_data=str(bad)))


def test_the_cli_prints_one_clear_error(train_kwargs: dict, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--data", train_kwargs["data"], "--output", str(tmp_path / "o"),
                 "--real-data", "me/requests@"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: real_data: got 'me/requests@'") and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.hub
def test_a_hub_dataset_at_a_tag(hub_env, hub_api, hub_repo_id: Callable[[str], str],
                                train_kwargs: dict, requests_file: Path, tmp_path: Path) -> None:
    repo = hub_repo_id("requests")
    hub_api.create_repo(repo, repo_type="dataset")
    v1 = hub_api.upload_file(path_or_fileobj=str(requests_file), path_in_repo=REQUESTS_FILE,
                             repo_id=repo, repo_type="dataset").oid
    hub_api.create_tag(repo, tag="v1.0.0", repo_type="dataset")
    requests_file.write_text("", encoding="utf-8")  # a later commit: the tag still holds v1
    hub_api.upload_file(path_or_fileobj=str(requests_file), path_in_repo=REQUESTS_FILE,
                        repo_id=repo, repo_type="dataset")
    cfg = TrainConfig(output_dir=tmp_path / "out", real_data=f"{repo}@v1.0.0", **train_kwargs)
    info = load_training_data(cfg).provenance["real_data"]
    assert {k: info[k] for k in ("spec", "source", "revision", "sha", "rows_used")} == {
        "spec": f"{repo}@v1.0.0", "source": repo, "revision": "v1.0.0", "sha": v1,
        "rows_used": 5}
    with pytest.raises(HubError, match=r"v9\.9\.9"):
        load_training_data(replace(cfg, real_data=f"{repo}@v9.9.9"))

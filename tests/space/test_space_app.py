"""The demo app through its real API (gradio_client), over the tiny release folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from space_testing import serving

from hf_pipeline.contract import CONFIRM_THRESHOLD, EXECUTE_THRESHOLD
from hf_pipeline.intents import INTENTS
from hf_pipeline.io import MAX_JSON_DEPTH
from hf_pipeline.model_folder.layout import ONNX_FILE
from hf_pipeline.runtime import MAX_INPUT_BYTES

BIG_QUERY = "who calls parse_config " * 5000  # ~115 KB, over the runtime's 4096-byte cap
CONTROL_QUERY = "who\x00 calls\x07 main\x1b[31m\r\x7f\x85"


@pytest.fixture(scope="module")
def served(app_module: ModuleType, tiny_classifier: Any) -> Iterator[tuple[str, Any]]:
    demo = app_module.build_demo(tiny_classifier, tiny_classifier.about())
    with serving(demo) as (url, client):
        yield url, client


def one_by_one(classifier: Any, texts: list[str]) -> list[Any]:
    """What sqry computes: each query alone, unpadded (a padded batch differs in INT8)."""
    return [classifier.predict([text])[0] for text in texts]


def assert_label_matches(result: dict[str, Any], prediction: Any) -> None:
    """All eight probabilities, equal to the runtime's within 1e-6; top label = intent."""
    got = {c["label"]: c["confidence"] for c in result["confidences"]}
    assert set(got) == set(INTENTS)
    for label, p in prediction.probabilities.items():
        assert got[label] == pytest.approx(p, abs=1e-6)
    assert result["label"] == prediction.intent


def test_api_has_the_two_named_endpoints(served: tuple[str, Any]) -> None:
    _, client = served
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/classify", "/classify_batch"}
    assert not api["unnamed_endpoints"]


def test_classify_gives_the_runtime_probabilities(served: tuple[str, Any],
                                                  tiny_classifier: Any,
                                                  app_module: ModuleType) -> None:
    _, client = served
    queries = [text for _, text in app_module.EXAMPLES]
    for query, prediction in zip(queries, one_by_one(tiny_classifier, queries), strict=True):
        assert_label_matches(client.predict(query, api_name="/classify"), prediction)


def test_odd_queries_are_classified_like_the_runtime(served: tuple[str, Any],
                                                     tiny_classifier: Any) -> None:
    _, client = served
    big, control = one_by_one(tiny_classifier, [BIG_QUERY, CONTROL_QUERY])
    assert "input_truncated" in big.flags
    assert_label_matches(client.predict(BIG_QUERY, api_name="/classify"), big)
    assert_label_matches(client.predict(CONTROL_QUERY, api_name="/classify"), control)


@pytest.mark.parametrize("query", ["", "   \n\t ", "\u200b\u200d\ufeff"])
def test_empty_query_gets_a_clear_message(served: tuple[str, Any], app_module: ModuleType,
                                          query: str) -> None:
    from gradio_client.exceptions import AppError

    _, client = served
    with pytest.raises(AppError) as e:
        client.predict(query, api_name="/classify")
    assert str(e.value) == app_module.EMPTY_QUERY_MESSAGE


def _batch(client: Any, text: str | None, file: Path | None) -> tuple[dict[str, Any], list]:
    from gradio_client import handle_file

    table, download = client.predict(text, handle_file(str(file)) if file else None,
                                     api_name="/classify_batch")
    lines = Path(download).read_text(encoding="utf-8").split("\n")
    return table, [json.loads(line) for line in lines if line]


def test_batch_of_pasted_lines_and_a_jsonl_file(served: tuple[str, Any], tiny_classifier: Any,
                                                tmp_path: Path, app_module: ModuleType) -> None:
    _, client = served
    upload = tmp_path / "dev.jsonl"
    upload.write_text('{"text": "who calls main", "intent": "FindCallers"}\n\n'
                      '{"text": "draw the call graph of login"}\n', encoding="utf-8")
    table, rows = _batch(client, "where is Config defined\n\n" + BIG_QUERY + "\n", upload)
    texts = ["where is Config defined", BIG_QUERY, "who calls main",
             "draw the call graph of login"]
    predictions = one_by_one(tiny_classifier, texts)
    assert table["headers"] == app_module.TABLE_HEADERS
    assert [r["text"] for r in rows] == texts
    for row, table_row, prediction in zip(rows, table["data"], predictions, strict=True):
        assert row["intent"] == table_row[2] == prediction.intent
        assert row["tier"] == prediction.tier and row["flags"] == list(prediction.flags)
        assert set(row["probabilities"]) == set(INTENTS)
        for label, p in prediction.probabilities.items():
            assert row["probabilities"][label] == pytest.approx(p, abs=1e-6)
    assert table["data"][1][5] == "input_truncated" and table["data"][1][1].endswith("…")
    assert rows[2]["input"] == {"intent": "FindCallers"}  # other fields kept, not clobbered
    assert "input" not in rows[0]


def test_batch_of_a_txt_file(served: tuple[str, Any], tiny_classifier: Any,
                             tmp_path: Path) -> None:
    _, client = served
    upload = tmp_path / "queries.txt"
    upload.write_text("who calls main\r\n\u200b\nis the index stale\n", encoding="utf-8")
    table, rows = _batch(client, None, upload)
    assert [r["text"] for r in rows] == ["who calls main", "\u200b", "is the index stale"]
    assert rows[1]["flags"] == ["empty_input"] and rows[1]["probabilities"] == {}
    assert table["data"][1][4] == "ask what you meant"
    assert rows[2]["intent"] == tiny_classifier.predict(["is the index stale"])[0].intent


@pytest.mark.parametrize(("name", "content", "message"), [
    (None, None, "Nothing to classify: paste queries"),
    ("bad.jsonl", '{"text": "ok"}\n{"text": \n', "bad.jsonl, line 2: not JSON"),
    ("bad.jsonl", '{"text": "ok"}\n["who calls main"]\n',
     "bad.jsonl, line 2: expected an object with a string 'text' field"),
    ("deep.jsonl", '{"text": "ok"}\n' + "[" * 100_000 + "\n",
     f"deep.jsonl, line 2: nested more than {MAX_JSON_DEPTH} arrays or objects deep"),
    ("latin1.txt", "caf\xe9".encode("latin-1"), "latin1.txt is not UTF-8 text"),
    ("many.txt", "q\n" * 1001, "1001 queries: this demo classifies at most 1000 at a time"),
])
def test_bad_batches_get_clear_messages(served: tuple[str, Any], tmp_path: Path,
                                        name: str | None, content: str | bytes | None,
                                        message: str) -> None:
    from gradio_client.exceptions import AppError

    _, client = served
    upload = None
    if name is not None:
        upload = tmp_path / name
        data = content if isinstance(content, bytes) else str(content).encode("utf-8")
        upload.write_bytes(data)
    with pytest.raises(AppError, match="^" + message):
        _batch(client, "  \n", upload)


def test_tampered_folder_starts_and_says_why(app_module: ModuleType,
                                             release_copy: Path) -> None:
    from gradio_client.exceptions import AppError

    onnx = release_copy / ONNX_FILE
    onnx.write_bytes(onnx.read_bytes()[:-1] + b"\0")
    loaded = app_module.load_model(model_dir=release_copy)
    assert loaded.classifier is None
    assert f"{ONNX_FILE}: SHA-256 mismatch" in loaded.error
    demo = app_module.build_demo(loaded.classifier, loaded.about, error=loaded.error)
    shown = [b for b in demo.config["components"] if b["props"].get("elem_id") == "load-error"]
    assert shown[0]["props"]["visible"] is True
    assert "SHA-256 mismatch" in shown[0]["props"]["value"]
    with serving(demo) as (_, client):
        for args, api_name in ((("who calls main",), "/classify"),
                               (("who calls main", None), "/classify_batch")):
            with pytest.raises(AppError, match=r"(?s)^The model could not be loaded: .*SHA-256 "
                               r"mismatch"):
                client.predict(*args, api_name=api_name)


def test_missing_folder_is_a_message(app_module: ModuleType, tmp_path: Path) -> None:
    loaded = app_module.load_model(model_dir=tmp_path / "nope")
    assert loaded.classifier is None and "no such model folder" in loaded.error


def test_verdict_words_follow_the_runtime_tiers(app_module: ModuleType) -> None:
    def verdict(intent: str, confidence: float, tier: str, flags: tuple = ()) -> str:
        return app_module.verdict_markdown({"intent": intent, "confidence": confidence,
                                            "tier": tier, "flags": list(flags)})

    assert "sqry would run this command" in verdict("FindCallers", EXECUTE_THRESHOLD, "execute")
    assert "sqry would ask you to confirm" in verdict("FindCallers", CONFIRM_THRESHOLD,
                                                      "confirm")
    assert "sqry would ask what you meant" in verdict("FindCallers", 0.3, "disambiguate")
    assert "not a request it can run" in verdict("Ambiguous", 0.99, "execute")
    assert "nothing to classify" in verdict("Ambiguous", 0.0, "disambiguate", ("empty_input",))
    flags = app_module.flags_markdown({"flags": ["input_truncated"]})
    assert f"only its first {MAX_INPUT_BYTES} bytes were classified" in flags


def test_about_panel_shows_the_model_facts(app_module: ModuleType) -> None:
    about = {"source": "me/model", "repo_id": "me/model", "revision": "v1.0.0",
             "commit": "a" * 40, "model_version": "1.0.0", "temperature": 1.425,
             "calibration_split": "validation",
             "metrics": {"validation": {"accuracy": 0.9718, "ece_before": 0.027,
                                        "ece_after": 0.015}}}
    text = app_module.about_markdown(about)
    for fact in ("me/model", "v1.0.0", "a" * 40, "1.0.0", "1.425", "validation", "97.18%",
                 "0.027", "0.015"):
        assert fact in text


def test_space_config_problems_are_messages(app_module: ModuleType, tmp_path: Path) -> None:
    loaded = app_module.load_configured_model()  # the checkout has no space_config.json
    assert loaded.classifier is None and loaded.error.startswith("No model is configured.")
    (tmp_path / "space_config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(app_module.PipelineError, match=r"space_config\.json: unreadable"):
        app_module.space_config(tmp_path)


def test_about_shows_only_report_sets_not_the_data_t_was_fitted_on(
        model_release: Path) -> None:
    """calibrate marks the fit and selection sets in_sample; the page never shows them as
    results (their ECE after T is in-sample)."""
    from hf_pipeline.runtime import IntentClassifier

    tiny_classifier = IntentClassifier.from_dir(model_release)
    document = tiny_classifier.calibration
    in_sample = {n for n, m in document["metrics_by_set"].items() if m.get("in_sample")}
    assert in_sample and "dev" not in in_sample  # the fixture fits on a human set
    assert set(tiny_classifier.about()["metrics"]) == set(document["metrics_by_set"]) - in_sample

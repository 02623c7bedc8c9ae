"""The model card reports the reviewed real requests beside the test split and the dev set
when calibration measured them (metrics_by_set "requests"), labelled in-sample when T was
fitted on them; and the real requests training mixed in (issue 22)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from hf_pipeline.publish import PublishModelConfig
from hf_pipeline.publish.model import card_facts, default_reports_dir, read_release, read_reports
from hf_pipeline.publish.model_card import CardFacts, model_index, render_model_card

REQUESTS_REPO = "me/sqry-nl-requests"
REAL_DATA = {"spec": f"{REQUESTS_REPO}@v1.0.0", "source": REQUESTS_REPO, "revision": "v1.0.0",
             "sha": "c" * 40, "rows_used": 37, "repeat": 4, "training_rows": 148,
             "share": 0.0226}


def facts_with_requests(release: Path, *, fitted: bool) -> CardFacts:
    """The release's real reports, plus a "requests" set as calibrate --real-data adds it:
    fitted on (the calibration split) or only reported (a report set with a diagram)."""
    rel = read_release(release)
    reps = read_reports(default_reports_dir(release), rel)
    facts = card_facts(PublishModelConfig(release_dir=release, repo_id="me/m", tag="v1.0.0"),
                       rel, reps, [])
    calibration = copy.deepcopy(dict(facts.calibration))
    requests = copy.deepcopy(calibration["metrics_by_set"]["dev"])
    requests["before"].update(samples=40, accuracy=0.825, ece=0.1234)
    requests["after"].update(samples=40, accuracy=0.825, ece=0.0456, confident_errors=3,
                             right_executed=25, right_asked=8, wrong_asked=4)
    requests["in_sample"] = fitted  # as calibrate marks the sets T was fitted on
    calibration["metrics_by_set"]["requests"] = requests
    temperature = copy.deepcopy(dict(facts.temperature))
    temperature["metrics_by_set"] = calibration["metrics_by_set"]
    temperature["data"] = {**temperature.get("data", {}), "real_data": REAL_DATA}
    diagrams = dict(facts.diagrams)
    if fitted:
        temperature["calibration_split"] = calibration["calibration_split"] = \
            "human-calibration+requests"
    else:
        calibration["report_sets"] = [*calibration["report_sets"], "requests"]
        diagrams["requests"] = "reliability_requests.png"
    export = copy.deepcopy(dict(facts.export))
    export["training"] = {**(export.get("training") or {}),
                          "data": {**((export.get("training") or {}).get("data") or {}),
                                   "real_data": REAL_DATA}}
    return dataclasses.replace(facts, calibration=calibration, temperature=temperature,
                               diagrams=diagrams, export=export)


def results_of(index: list[dict[str, Any]], split: str) -> dict[str, Any]:
    result = next(r for r in index[0]["results"] if r["dataset"]["split"] == split)
    return {"dataset": result["dataset"], "metrics": {m["name"]: m["value"]
                                                      for m in result["metrics"]}}


@pytest.mark.parametrize("fitted", [False, True])
def test_the_card_shows_the_requests_row(model_release: Path, fitted: bool) -> None:
    facts = facts_with_requests(model_release, fitted=fitted)
    text = render_model_card(facts)
    label = "reviewed real requests" + (" (T fitted on them: ECE in-sample)" if fitted else "")
    assert f"| {label} | 40 | 82.50% |" in text
    assert "| 0.1234 -> 0.0456 | 3 (7.5%) |" in text
    assert f"| {label} | 62.5% | 20.0% | 10.0% | 7.5% |" in text  # the tiers
    # The test split and the dev set are still there, beside it.
    assert "| template test split (held-out templates) |" in text
    assert "| human-written dev set |" in text
    assert ("T was fitted on them: their accuracy is a result, their ECE after\ncalibration "
            "is in-sample." in text) is fitted
    assert ("fitted on **human-calibration+requests**" in text) is fitted
    assert ("reliability_requests.png" in text) is not fitted
    requests = results_of(model_index(facts), "calibration")
    assert requests["dataset"] == {"type": REQUESTS_REPO,
                                   "name": "sqry-nl reviewed real requests (calibration rows)",
                                   "split": "calibration", "revision": "c" * 40}
    assert requests["metrics"]["Accuracy (INT8, as shipped)"] == 0.825
    assert requests["metrics"]["ECE before calibration (T = 1)"] == 0.1234
    # An in-sample ECE is no result: it stays out of the model-index.
    after = [v for k, v in requests["metrics"].items() if k.startswith("ECE after")]
    assert after == ([] if fitted else [0.0456])


def test_the_card_names_the_real_requests_training_used(model_release: Path) -> None:
    text = render_model_card(facts_with_requests(model_release, fitted=True))
    assert (f"- Real requests: 37 reviewed requests from `{REQUESTS_REPO}` at `v1.0.0` "
            f"(commit `{'c' * 40}`) (the dataset's `train` split),\n  each repeated 4 times: "
            "2.3% of the training rows.") in text


def test_without_requests_the_card_is_unchanged(model_release: Path) -> None:
    rel = read_release(model_release)
    reps = read_reports(default_reports_dir(model_release), rel)
    text = render_model_card(card_facts(PublishModelConfig(
        release_dir=model_release, repo_id="me/m", tag="v1.0.0"), rel, reps, []))
    assert "reviewed real requests" not in text and "Real requests:" not in text


@pytest.mark.hub
def test_the_card_with_requests_passes_the_hubs_validation(hub_env, model_release: Path
                                                           ) -> None:
    from huggingface_hub import ModelCard

    card = ModelCard(render_model_card(facts_with_requests(model_release, fitted=False)))
    card.validate()
    splits = {r.dataset_split for r in card.data.eval_results}
    assert {"test", "dev", "calibration"} <= splits



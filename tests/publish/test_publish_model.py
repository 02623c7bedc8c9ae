"""Publishing the model folder to the local Hub with the real clients, over HTTP.

The release is real (tiny BERT through export with the gate, release and calibrate; see
conftest.py); downloads go through the real ``hf`` CLI and ``snapshot_download``; loading goes
through the runtime's ``IntentClassifier``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.model_release import DATASET_REPO, TRAINING_COMMIT

from hf_pipeline.errors import HubError
from hf_pipeline.intents import INTENTS
from hf_pipeline.model_folder.layout import CHECKSUMS_FILE, ONNX_FILE, TEMPERATURE_FILE
from hf_pipeline.publish import (
    PublishError,
    PublishModelConfig,
    model_versions,
    publish_model,
)
from hf_pipeline.publish.model import ModelVersion, default_reports_dir

pytestmark = pytest.mark.hub

CONTRACT = ["intent_classifier.onnx", "tokenizer.json", "config.json", "temperature.json",
            "version.txt", "manifest.json", "checksums.json"]
BESIDE = ["README.md", "calibration_report.json", "export_report.json", "reliability_test.png",
          "reliability_dev.png", "sqry-models-v1.0.0.tar.gz", "sqry-nl-manifest.json",
          "model.safetensors", "tokenizer_config.json"]
QUERIES = ["who calls login", "where is parse_config defined", "grep for TODO", "index status",
           "draw the call graph of Server as mermaid", "hello", ""]


def publish(release: Path, repo_id: str, tag: str = "v1.0.0", **kwargs: Any):
    return publish_model(PublishModelConfig(release_dir=release, repo_id=repo_id, tag=tag,
                                            **kwargs))


def hf_download(hub, repo_id: str, revision: str, dest: Path, tmp_path: Path) -> Path:
    """``hf download REPO --revision REV --local-dir DEST``: the real CLI, in a subprocess."""
    hf = Path(sys.executable).parent / "hf"
    subprocess.run([str(hf), "download", repo_id, "--revision", revision, "--local-dir",
                    str(dest)], env=hub.client_env(tmp_path / "cli_hf_home"), check=True,
                   capture_output=True, timeout=120)
    return dest


def probabilities(folder: Path) -> list[dict[str, float]]:
    from hf_pipeline.runtime import IntentClassifier

    return [p.probabilities for p in IntentClassifier.from_dir(folder).predict(QUERIES)]


def reports(release: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    folder = default_reports_dir(release)
    return (json.loads((folder / "calibration_report.json").read_text()),
            json.loads((folder / "export_report.json").read_text()))


def test_download_of_the_tag_is_a_model_folder_that_predicts_like_the_release(
        hub_env, hub_api, hub_repo_id: Callable[[str], str], model_release: Path,
        tmp_path: Path) -> None:
    from hf_pipeline.model_folder.checksums import read_checksums, verification_problems

    repo = hub_repo_id("model")
    result = publish(model_release, repo)
    assert result.status == "published" and len(result.commit) == 40
    assert hub_api.list_repo_refs(repo).tags[0].target_commit == result.commit
    assert sorted(hub_api.list_repo_files(repo, revision="v1.0.0")) == sorted(
        [*CONTRACT, *BESIDE, ".gitattributes"])
    assert any("Hub checksums (HfApi.verify_repo_checksums)" in v for v in result.verification)
    folder = hf_download(hub_env, repo, "v1.0.0", tmp_path / "empty" / "model", tmp_path)
    # checksums.json lists the contract's other files only, and verifies with the extras beside.
    assert sorted(read_checksums(folder)) == sorted(
        n for n in CONTRACT if n not in (CHECKSUMS_FILE, "manifest.json"))
    assert verification_problems(folder) == []
    for name in CONTRACT:  # the publish pointed the manifest at the repo: the rest is as built
        if name != "manifest.json":
            assert (folder / name).read_bytes() == (model_release / name).read_bytes(), name
    assert probabilities(folder) == probabilities(model_release)
    calibration, export = reports(model_release)
    assert json.loads((folder / "calibration_report.json").read_text()) == calibration
    assert json.loads((folder / "export_report.json").read_text()) == export


def _metrics(card: Any) -> dict[tuple[str, str], float]:
    return {(r.dataset_split, r.metric_name): r.metric_value for r in card.data.eval_results}


def test_card_metadata_validates_and_its_figures_are_the_reports(
        hub_env, hub_api, hub_repo_id: Callable[[str], str], model_release: Path) -> None:
    from huggingface_hub import ModelCard

    repo = hub_repo_id("card")
    publish(model_release, repo)
    card = ModelCard.load(hub_api.hf_hub_download(repo, "README.md", revision="v1.0.0"))
    card.validate()  # the server's /api/validate-yaml
    data = card.data.to_dict()
    assert data["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert data["base_model_relation"] == "finetune"
    assert data["datasets"] == [DATASET_REPO]
    assert (data["pipeline_tag"], data["license"], data["language"], data["library_name"]) == (
        "text-classification", "apache-2.0", ["en"], "transformers")
    assert {"onnx", "int8", "intent-classification"} <= set(data["tags"])
    calibration, export = reports(model_release)
    t = calibration["temperature"]
    gate = {s["name"]: s for s in export["gate"]["sets"]}
    metrics = _metrics(card)
    for split in ("test", "dev"):
        before, after = (calibration["metrics_by_set"][split][k] for k in ("before", "after"))
        assert metrics[(split, "Accuracy (INT8, as shipped)")] == after["accuracy"]
        assert metrics[(split, "INT8 accuracy drop vs fp32 (points)")] == \
            gate[split]["drop_points"]
        assert metrics[(split, "ECE before calibration (T = 1)")] == before["ece"]
        assert metrics[(split, f"ECE after calibration (T = {t:.4f})")] == after["ece"]
    results = {r.dataset_split: r for r in card.data.eval_results}
    assert (results["test"].dataset_type, results["test"].dataset_revision) == (DATASET_REPO,
                                                                               "v1.0.0")
    text = card.text
    rows = [text.index(f"| {i} | `{label}` |") for i, label in enumerate(INTENTS)]
    assert rows == sorted(rows)  # the runtime's order
    fitted = json.loads((model_release / TEMPERATURE_FILE).read_text(encoding="utf-8"))
    assert f"T = {t}**" in text and f"fitted on **{fitted['calibration_split']}**" in text
    assert f"method `{fitted['fitted_on']['method']}`" in text
    assert f'IntentClassifier.from_hub("{repo}", revision="v1.0.0")' in text
    assert f"hf-pipeline predict --model {repo}@v1.0.0" in text
    assert f"hf download {repo} --revision v1.0.0 --local-dir" in text
    assert f"`{DATASET_REPO}`" in text and "revision\n  `v1.0.0`" in text
    assert TRAINING_COMMIT in text
    assert "](reliability_test.png)" in text and "](reliability_dev.png)" in text
    for split, label in (("test", "template test split"), ("dev", "human-written dev set")):
        after = calibration["metrics_by_set"][split]["after"]
        k, n = after["confident_errors"], after["samples"]
        measured = f"{k} of {n} queries of the {label}" if k else f"None of the {n} queries " \
            f"of the {label}"
        assert measured in text  # the limitations come from the reports
    assert hub_env.token not in card.content


def test_macro_f1_and_per_intent_f1_reach_the_card_when_the_report_has_them(
        hub_env, model_release: Path, tmp_path: Path) -> None:
    """The calibration report is gaining ``macro_f1`` / ``per_intent_f1`` per set: used when
    present (rendered locally; the card still passes the Hub's validation)."""
    from huggingface_hub import ModelCard

    from hf_pipeline.publish.model import card_facts, read_release, read_reports
    from hf_pipeline.publish.model_card import render_model_card

    release = read_release(model_release)
    reps = read_reports(default_reports_dir(model_release), release)
    weak = {intent: 0.9 - 0.1 * i for i, intent in enumerate(INTENTS)}
    for name, f1 in (("test", 0.91), ("dev", 0.87)):
        reps.calibration["metrics_by_set"][name]["after"].update(
            macro_f1=f1, per_intent_f1=dict(weak))
    facts = card_facts(PublishModelConfig(release_dir=model_release, repo_id="me/m",
                                          tag="v1.0.0"), release, reps, [])
    card = ModelCard(render_model_card(facts))
    card.validate()
    metrics = _metrics(card)
    assert (metrics[("test", "Macro-F1")], metrics[("dev", "Macro-F1")]) == (0.91, 0.87)
    assert "Weakest intents by F1 on the human-written dev set: Ambiguous (0.200), " \
        "IndexStatus (0.300), Visualize (0.400)." in card.text
    assert "| 0.8700 |" in card.text


def test_limitations_name_the_weak_spots_the_reports_measure(model_release: Path) -> None:
    from hf_pipeline.publish.model import card_facts, read_release, read_reports
    from hf_pipeline.publish.model_card import limitations

    release = read_release(model_release)
    reps = read_reports(default_reports_dir(model_release), release)
    sets = reps.calibration["metrics_by_set"]
    sets["test"]["after"].update(accuracy=0.9338, confident_errors=3, ece=0.02)
    sets["test"]["before"].update(confident_errors=5, ece=0.03)
    sets["dev"]["after"].update(accuracy=0.9718, confident_errors=0, ece=0.05)
    sets["dev"]["before"].update(ece=0.04)
    for s in reps.export["gate"]["sets"]:
        s["drop_points"] = 0.8 if s["name"] == "test" else -0.1
    reps.export["gate"]["target_drop_points"], reps.export["gate"]["max_drop_points"] = 0.5, 2.0
    facts = card_facts(PublishModelConfig(release_dir=model_release, repo_id="me/m",
                                          tag="v1.0.0"), release, reps, [])
    assert limitations(facts) == [
        "Accuracy is lowest on the template test split (held-out templates): 93.38% "
        "(24 queries), against 97.18% on the human-written dev set.",
        "3 of 24 queries of the template test split (held-out templates) (12.5%) are wrong at "
        "confidence >= 0.85, where sqry-nl executes without asking (5 before calibration).",
        "None of the 16 queries of the human-written dev set is wrong at confidence >= 0.85; "
        "that is a measure on 16 queries, not a guarantee.",
        "Temperature scaling made the human-written dev set less calibrated: ECE 0.0400 -> "
        "0.0500.",
        "INT8 costs 0.80 accuracy points against fp32 on the template test split (held-out "
        "templates), above the 0.5-point target (within the 2.0-point budget).",
    ]


def test_republishing_identical_content_is_a_no_op(hub_env, hub_api,
                                                   hub_repo_id: Callable[[str], str],
                                                   model_release: Path) -> None:
    repo = hub_repo_id("noop")
    first = publish(model_release, repo)
    commits = len(hub_api.list_repo_commits(repo))
    again = publish(model_release, repo)
    assert (again.status, again.commit) == ("unchanged", first.commit)
    assert len(hub_api.list_repo_commits(repo)) == commits
    assert {t.name: t.target_commit for t in hub_api.list_repo_refs(repo).tags} == {
        "v1.0.0": first.commit}


def test_same_tag_with_other_content_is_refused_and_the_tag_stays(
        hub_env, hub_api, hub_repo_id: Callable[[str], str], model_release: Path,
        model_release_v2: Path, release_with_reports: Path) -> None:
    import re

    from hf_pipeline.model_folder.update import update_folder

    repo = hub_repo_id("refuse")
    first = publish(model_release, repo)
    # The same model_version, released on another day: other content under the same tag.
    text = (release_with_reports / "version.txt").read_text(encoding="utf-8")
    update_folder(release_with_reports, {"version.txt": re.sub(
        r"^date=.*$", "date=2000-01-01", text, flags=re.M).encode()})
    with pytest.raises(PublishError) as e:
        publish(release_with_reports, repo)
    assert str(e.value).startswith(f"tag v1.0.0 of {repo} already holds different model (")
    assert "version.txt differs" in str(e.value) and "Tags are never moved" in str(e.value)
    assert hub_api.list_repo_refs(repo).tags[0].target_commit == first.commit
    assert hub_api.list_repo_commits(repo)[0].commit_id == first.commit  # nothing pushed
    # Under a new tag it goes up, and both versions stay downloadable.
    second = publish(model_release_v2, repo, tag="v1.1.0")
    assert second.status == "published" and second.commit != first.commit
    state = model_versions(repo)
    assert {k: v["model_version"] for k, v in state["tags"].items()} == {
        "v1.0.0": "1.0.0", "v1.1.0": "1.1.0"}


def test_interrupted_publish_keeps_the_old_tag_and_a_rerun_finishes(
        hub_env, hub_api, hub_repo_id: Callable[[str], str], model_release: Path,
        model_release_v2: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from huggingface_hub import HfApi

    repo = hub_repo_id("resume")
    first = publish(model_release, repo)

    def crash(*args: object, **kwargs: object) -> None:
        raise ConnectionError("network dropped after the upload, before the tag")

    with monkeypatch.context() as m:
        m.setattr(HfApi, "create_tag", crash)
        with pytest.raises(ConnectionError):
            publish(model_release_v2, repo, tag="v1.1.0")
    state = model_versions(repo)
    assert state["untagged_main"] and set(state["tags"]) == {"v1.0.0"}
    assert state["tags"]["v1.0.0"]["commit"] == first.commit
    old = hf_download(hub_env, repo, "v1.0.0", tmp_path / "old", tmp_path)
    assert (old / "version.txt").read_bytes() == (model_release / "version.txt").read_bytes()
    done = publish(model_release_v2, repo, tag="v1.1.0")
    assert (done.status, done.commit) == ("tagged", state["main"])  # no second upload
    assert not model_versions(repo)["untagged_main"]


def test_a_file_changed_on_the_hub_after_upload_fails_verification_and_is_not_tagged(
        hub_env, hub_api, hub_repo_id: Callable[[str], str], model_release: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone (or something) changes temperature.json on main between our upload and the
    tag: the fresh download does not verify, the error names the file, no tag is created;
    a rerun uploads again and finishes."""
    from huggingface_hub import CommitOperationAdd

    repo = hub_repo_id("tamper")
    upload = ModelVersion.push
    doc = json.loads((model_release / TEMPERATURE_FILE).read_text())

    def push_then_tamper(self: ModelVersion, api: Any, parent: str | None) -> str:
        upload(self, api, parent)
        bad = json.dumps({**doc, "temperature": 1.0}).encode()
        return api.create_commit(repo, operations=[CommitOperationAdd(TEMPERATURE_FILE, bad)],
                                 commit_message="tamper").oid

    with monkeypatch.context() as m:
        m.setattr(ModelVersion, "push", push_then_tamper)
        with pytest.raises(PublishError) as e:
            publish(model_release, repo)
    message = str(e.value)
    assert "failed verification after download into an empty folder" in message
    assert f"runtime check of {CHECKSUMS_FILE}: {TEMPERATURE_FILE}: SHA-256 mismatch" in message
    assert f"{TEMPERATURE_FILE}: downloaded SHA-256" in message
    assert "No tag was created or moved" in message
    assert hub_api.list_repo_refs(repo).tags == []
    done = publish(model_release, repo)
    assert done.status == "published" and hub_api.list_repo_refs(repo).tags[0].name == "v1.0.0"


def test_a_tagged_file_corrupted_in_hub_storage_fails_the_next_publish(
        hub_env, hub_repo_id: Callable[[str], str], model_release: Path) -> None:
    """Bytes changed behind the Hub's listing (same size: the client's download does not
    notice): the runtime check, the comparison with the release and verify_repo_checksums
    all name the file."""
    from hf_pipeline.io import sha256_file

    repo = hub_repo_id("corrupt")
    publish(model_release, repo)
    ns, name = repo.split("/")
    stored = (hub_env.data_dir / "repos" / "models" / ns / name / "lfs"
              / sha256_file(model_release / ONNX_FILE))
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    with pytest.raises(PublishError) as e:
        publish(model_release, repo)
    message = str(e.value)
    assert f"runtime check of {CHECKSUMS_FILE}: {ONNX_FILE}: SHA-256 mismatch" in message
    assert f"Hub checksums: {ONNX_FILE}: sha256 of the download" in message


@pytest.mark.parametrize(("case", "expected"), [
    ("missing", "no such model folder"),
    ("empty", "not a model folder: intent_classifier.onnx, tokenizer.json, config.json, "
              "temperature.json, version.txt, manifest.json, checksums.json missing"),
    ("extra_file", "holds files that are not part of a model folder: notes.txt"),
    ("tampered", "intent_classifier.onnx: SHA-256 mismatch"),
    ("no_reports", "reports missing: export_report.json (copied from the export folder by "
                   "`hf-pipeline release`)."),
    ("no_diagram", "reliability diagrams missing: reliability_dev.png"),
    ("other_calibration", "calibration_report.json: describes another calibration: T = 2.5"),
    ("other_model", "export_report.json: describes another model"),
    ("gate_failed", "the INT8 accuracy gate failed; a published model needs a passed gate"),
    ("local_base_model", "base_model=/models/minilm is not a Hub model id"),
])
def test_bad_inputs_get_clear_errors_before_any_request(
        case: str, expected: str, release_with_reports: Path, tmp_path: Path) -> None:
    from hf_pipeline.errors import PipelineError
    from hf_pipeline.model_folder.checksums import ChecksumError
    from hf_pipeline.model_folder.update import write_checksums

    release, reports_dir = release_with_reports, default_reports_dir(release_with_reports)
    if case == "missing":
        release = tmp_path / "nowhere"
    elif case == "empty":
        release = tmp_path / "empty"
        release.mkdir()
    elif case == "extra_file":
        (release / "notes.txt").write_text("x")
    elif case == "tampered":
        data = bytearray((release / ONNX_FILE).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (release / ONNX_FILE).write_bytes(bytes(data))
    elif case == "no_reports":
        (reports_dir / "export_report.json").unlink()
    elif case == "no_diagram":
        (reports_dir / "reliability_dev.png").unlink()
    elif case in ("other_calibration", "other_model", "gate_failed"):
        name = "calibration_report.json" if case == "other_calibration" else "export_report.json"
        doc = json.loads((reports_dir / name).read_text())
        if case == "other_calibration":
            doc["temperature"] = 2.5
        elif case == "other_model":
            doc["files"]["model.int8.onnx"]["sha256"] = "0" * 64
        else:
            doc["gate"]["passed"] = False
        (reports_dir / name).write_text(json.dumps(doc))
    elif case == "local_base_model":
        text = (release / "version.txt").read_text()
        (release / "version.txt").write_text(text.replace(
            "base_model=sentence-transformers/all-MiniLM-L6-v2", "base_model=/models/minilm"))
        write_checksums(release, model_version="1.0.0")
    with pytest.raises((PipelineError, ChecksumError)) as e:
        publish(release, "me/model")
    assert expected in str(e.value)
    assert "Fix:" in str(e.value)


def test_a_tag_that_is_not_the_model_version_is_refused(model_release: Path) -> None:
    # Issue 24: a folder whose version.txt says 1.0.0 is never published as v2.0.0.
    with pytest.raises(PublishError, match=r"tag v2\.0\.0 would publish model_version 1\.0\.0 .*"
                       r"Fix: publish it under --tag v1\.0\.0, or build the release again "
                       r"with --model-version 2\.0\.0\."):
        publish(model_release, "hf-pipeline-tests/never-created", tag="v2.0.0")


@pytest.mark.parametrize(("field", "value"), [("tag", "1.0"), ("tag", "v1"),
                                              ("repo_id", "no-namespace"), ("repo_id", "a/b/c")])
def test_bad_tag_or_repo_id_is_refused(field: str, value: str, model_release: Path) -> None:
    from hf_pipeline.errors import InvalidValueError

    args = {"release_dir": model_release, "repo_id": "me/x", "tag": "v1.0.0", field: value}
    with pytest.raises(InvalidValueError, match=f"^{field}: got {value!r}, expected"):
        PublishModelConfig(**args)


def test_reports_dir_defaults_to_the_sidecar_of_the_resolved_release(tmp_path: Path,
                                                                     monkeypatch) -> None:
    release = tmp_path / "out" / "release"
    release.mkdir(parents=True)
    monkeypatch.chdir(release)
    assert default_reports_dir(".") == tmp_path / "out" / "release.reports"
    cfg = PublishModelConfig(release_dir=Path("."), repo_id="me/x", tag="v1.0.0",
                             reports_dir="elsewhere")
    assert cfg.resolved_reports_dir == Path("elsewhere")


def test_token_never_reaches_the_card_logs_or_server_files(
        hub_env, hub_repo_id: Callable[[str], str], model_release: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    repo = hub_repo_id("secret")
    result = publish(model_release, repo)
    token = hub_env.token
    assert token not in caplog.text and token not in repr(result)
    leaked = [p for p in hub_env.data_dir.rglob("*") if p.is_file()
              and token.encode() in p.read_bytes()]
    assert leaked == [] and token not in hub_env.log()


def test_wrong_token_is_a_clear_error(hub_env, hub_repo_id: Callable[[str], str],
                                      model_release: Path, monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_wrongtoken")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HubError) as e:
        publish(model_release, hub_repo_id("x"))
    assert str(e.value).startswith(f"publish: the Hub at {hub_env.url} refused the token "
                                   "(401 Unauthorized)")
    assert "hf_wrongtoken" not in str(e.value) and "hf_wrongtoken" not in caplog.text


@pytest.mark.slow
def test_cli_publishes_reports_status_and_errors_without_the_token(
        local_hub, hub_repo_id: Callable[[str], str], model_release: Path,
        tmp_path: Path) -> None:
    import os

    env = local_hub.client_env(tmp_path / "hf_home")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parents[2]),
                                                      os.environ.get("PYTHONPATH")]))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hf_pipeline", "-vv", *args], env=env,
                              capture_output=True, text=True, timeout=300)

    repo = hub_repo_id("cli")
    done = cli("model", "publish", "--model", str(model_release), "--repo-id", repo, "--tag",
               "v1.0.0")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"published: {repo}@v1.0.0 (commit ") and len(first.split()[-1]) == 41
    assert "\n  Hub checksums (HfApi.verify_repo_checksums): 17 files match" in done.stdout
    status = cli("model", "status", "--repo-id", repo, "--json")
    assert json.loads(status.stdout)["tags"]["v1.0.0"]["model_version"] == "1.0.0"
    bad = cli("model", "publish", "--model", str(model_release), "--repo-id", repo, "--tag",
              "1.0")
    assert bad.returncode == 2
    assert ("error: tag: got '1.0', expected a version tag like v1.0.0. Each publish is a "
            "semantic-version tag.") in bad.stderr.splitlines()
    unknown = cli("model", "status", "--repo-id", "nobody/nothing")
    assert unknown.returncode == 2
    assert (f"error: status of model repo nobody/nothing: the Hub at {local_hub.url} has no "
            "such repository, or it is private and the token cannot see it. Fix: check the repo "
            "id, and HF_TOKEN for a private repo.") in unknown.stderr.splitlines()
    for run in (done, status, bad, unknown):
        assert local_hub.token not in run.stdout + run.stderr


def test_help() -> None:
    from hf_pipeline.cli import main

    with pytest.raises(SystemExit) as e:
        main(["model", "publish", "--help"])
    assert e.value.code == 0


def test_the_card_shows_the_tier_outcomes_a_sqry_user_feels(model_release: Path) -> None:
    # Issue 23: right and executed, right but asked, wrong and asked, wrong and executed.
    from hf_pipeline.publish.model import card_facts, read_release, read_reports
    from hf_pipeline.publish.model_card import render_model_card

    release = read_release(model_release)
    reps = read_reports(default_reports_dir(model_release), release)
    text = render_model_card(card_facts(PublishModelConfig(
        release_dir=model_release, repo_id="me/m", tag="v1.0.0"), release, reps, []))
    assert "| set | right, executed | right but asked | wrong, asked | wrong, executed |" in text
    for name in ("test", "dev"):
        after = reps.calibration["metrics_by_set"][name]["after"]
        counts = [after["right_executed"], after["right_asked"], after["wrong_asked"],
                  after["confident_errors"]]
        assert sum(counts) == after["samples"]
        row = " | ".join(f"{100 * c / after['samples']:.1f}%" for c in counts)
        assert f"| {row} |" in text

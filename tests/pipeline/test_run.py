"""``hf-pipeline run`` end to end, as a user runs it (a subprocess), on small data with the
tiny model as base model, against the local Hub it starts itself.

One output folder goes through a life: the first run is killed (-9) mid-training; the second
resumes and completes; then the published versions are checked on the Hub (restarted from
the run's data folder, as `demo --local-hub` does); a third run does nothing; a fourth with
another model tag reruns from the release on, and a changed training option first stops
before any work (the model tag exists), then, with a new tag, is interrupted (Ctrl-C) during
training and finally reruns from training on.
The tests below run in that order on the module's one folder.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures.hub_server import REPO_ROOT

from hf_pipeline.hub.process import TOKEN_PREFIX
from hf_pipeline.pipeline.stages import STAGE_NAMES
from hf_pipeline.pipeline.state import STATE_FILE

from .test_hub import REAL_LOOKING, processes_serving

pytestmark = [pytest.mark.slow, pytest.mark.hub]

DATASET, MODEL = "local-user/sqry-nl-intents", "local-user/sqry-nl-intent-classifier"
SPACE = "local-user/sqry-nl-intent-demo"
QUERIES = ["who calls parse_config", "path from main to db", "index status", "write me a poem"]


@dataclass
class Life:
    out: Path
    base: str  # the tiny model's folder
    env: dict[str, str]
    config: Path
    killed_at: str = ""
    resumed: subprocess.CompletedProcess[str] | None = None

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "hf_pipeline", "run", "--output", str(self.out),
                "--config", str(self.config), "--base-model", self.base, "--allow-small",
                "--samples-per-intent", "30", *extra]

    def run(self, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(self.command(*extra), capture_output=True, text=True,
                              env=self.env, timeout=600, cwd=self.out.parent)
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr[-6000:]
        return proc

    def state(self) -> dict[str, dict]:
        return json.loads((self.out / STATE_FILE).read_text(encoding="utf-8"))["stages"]


def stage_lines(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """stage -> its last line ('skipped ...', 'done in ...')."""
    lines = re.findall(r"^\[\d+/9\] ([\w-]+): (.*)$", proc.stderr, flags=re.M)
    return dict(lines)


def ran(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [name for name, line in stage_lines(proc).items() if line.startswith("done in")]


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Life:
    root = tmp_path_factory.mktemp("run")
    config = root / "pipeline.yaml"
    # A tiny model on 30 samples per intent learns little; INT8 may move a few of 24 test
    # queries (4 points each), so the gate's budget is opened for this test only.
    config.write_text("train: {num_epochs: 4, learning_rate: 0.001}\n"
                      "export: {max_drop_points: 100}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env |= {"HF_HOME": str(root / "home"), "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])), **REAL_LOOKING}
    return Life(root / "out", str(tiny_model_dir), env, config)


def first_checkpoint(out: Path) -> Path | None:
    found = sorted((out / "train" / "checkpoints").glob("step_*/trainer_state.json"))
    return found[0].parent if found else None


@pytest.fixture(scope="module")
def completed(life: Life) -> Iterator[Life]:
    """Kill -9 the first run once training saved a checkpoint, then run again."""
    log = open(life.out.parent / "first.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(life.command(), stdout=log, stderr=subprocess.STDOUT,
                               env=life.env, cwd=life.out.parent)
    deadline = time.monotonic() + 300
    while first_checkpoint(life.out) is None:
        assert process.poll() is None, (life.out.parent / "first.log").read_text()[-4000:]
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    log.close()
    life.killed_at = first_checkpoint(life.out).name
    life.resumed = life.run()
    yield life


def test_a_killed_run_resumes_training_and_leaves_no_server(completed: Life) -> None:
    assert processes_serving(completed.out / "hub") == []  # the killed run's server died too
    lines = stage_lines(completed.resumed)
    assert [n for n in STAGE_NAMES[:3] if lines[n].startswith("skipped")] == list(
        STAGE_NAMES[:3])
    assert "train: train from the Hub dataset with Accelerate (resuming) ..." in \
        completed.resumed.stderr
    assert re.search(r"train: done in .*resumed from step_\d+", completed.resumed.stderr)
    metrics = json.loads((completed.out / "train" / "training_metrics.json").read_text())
    assert metrics["epochs_run"] == 4 and len(metrics["epochs"]) == 4
    assert ran(completed.resumed) == list(STAGE_NAMES[3:])


def test_the_summary(completed: Life) -> None:
    out = completed.resumed.stdout
    assert f"dataset: {DATASET}@v1.0.0\nmodel: {MODEL}@v0.1.0\nspace: {SPACE}\n" in out
    assert re.search(r"^hub: http://127\.0\.0\.1:\d+ \(the local Hub, data in .*out/hub\); "
                     "stopped now", out, flags=re.M)
    assert re.search(r"^accuracy \(INT8, calibrated\): test split \d+\.\d\d% \(24 queries\), "
                     r"dev set \d+\.\d\d% \(604 human-written\)$", out, flags=re.M)
    assert re.search(r"^ECE \(15 bins\), T = 1 -> T = [\d.]+: test [\d.]+ -> [\d.]+, dev ",
                     out, flags=re.M)
    assert re.search(r"^model size: [\d.]+ MB; p50 latency [\d.]+ ms", out, flags=re.M)
    assert re.search(r"^stages: generate skipped, .* train \d.*; total ", out, flags=re.M)
    assert re.search(r"^query +intent +confidence +tier$", out, flags=re.M)
    demo = re.search(r"^demo: (.*) demo --model (\S+) --local-hub (\S+)$", out, flags=re.M)
    assert demo and demo.group(2) == f"{MODEL}@v0.1.0"
    assert (completed.out.parent / demo.group(3)).resolve() == (completed.out / "hub")


def test_what_was_published(completed: Life) -> None:
    """Checked from the Hub, restarted over the run's data folder."""
    from datasets import load_dataset, load_from_disk
    from huggingface_hub import HfApi

    from hf_pipeline.hub.process import local_hub
    from hf_pipeline.runtime import IntentClassifier

    out = completed.out
    state = completed.state()
    with local_hub(out / "hub", hf_home=out.parent / "check_home",
                   log_file=out.parent / "check.log") as server:
        api = HfApi()
        dataset_tags = {t.name: t.target_commit for t in
                        api.list_repo_refs(DATASET, repo_type="dataset").tags}
        assert dataset_tags == {"v1.0.0": state["publish-dataset"]["outputs"]["commit"]}
        model_tags = {t.name: t.target_commit for t in api.list_repo_refs(MODEL).tags}
        assert model_tags == {"v0.1.0": state["publish-model"]["outputs"]["commit"]}
        space = api.repo_info(SPACE, repo_type="space")
        assert space.sha == state["publish-space"]["outputs"]["commit"]

        published = load_dataset(DATASET, revision="v1.0.0")
        local = load_from_disk(str(out / "data" / "dataset_dict"))
        for split in ("train", "validation", "test"):
            assert published[split]["text"] == local[split]["text"]
            assert published[split]["label"] == local[split]["label"]

        hub_model = IntentClassifier.from_hub(MODEL, revision="v0.1.0")
        assert hub_model.commit == model_tags["v0.1.0"]
        released = IntentClassifier.from_dir(out / "release")
        for a, b in zip(hub_model.predict(QUERIES), released.predict(QUERIES), strict=True):
            assert a.to_dict() == b.to_dict()

        # For today's sqry: the archive and its manifest beside the folder; the restarted
        # Hub (same port) serves the archive at the download_url the folder records.
        from hf_pipeline.publish.installer import installer_problems

        files = set(api.list_repo_files(MODEL, revision="v0.1.0"))
        assert {"sqry-models-v0.1.0.tar.gz", "sqry-nl-manifest.json", "model.safetensors",
                "tokenizer_config.json", "manifest.json"} <= files
        manifest = json.loads(Path(api.hf_hub_download(MODEL, "sqry-nl-manifest.json",
                                                       revision="v0.1.0")).read_text())
        folder = json.loads((out / "release" / "manifest.json").read_text())
        assert manifest == {**folder, "sha256": manifest["sha256"]}
        assert manifest["download_url"] == (f"{server.url}/{MODEL}/resolve/v0.1.0/"
                                            "sqry-models-v0.1.0.tar.gz")
        assert installer_problems(manifest["download_url"], manifest, token=server.token) == []


def _classify_like_the_release(url: str, out: Path) -> None:
    from gradio_client import Client

    from hf_pipeline.runtime import IntentClassifier

    client = Client(url, verbose=False)
    try:
        got = client.predict(QUERIES[0], api_name="/classify")
    finally:
        client.close()
    [expected] = IntentClassifier.from_dir(out / "release").predict(QUERIES[:1])
    confidences = {c["label"]: c["confidence"] for c in got["confidences"]}
    assert got["label"] == expected.intent
    assert confidences == pytest.approx(expected.probabilities, abs=1e-6)


def test_the_printed_demo_command_works(completed: Life) -> None:
    """As printed (plus a free port): it starts the Hub again over the run's data and serves
    the model at its tag; Ctrl-C stops both."""
    from space.space_testing import app_env, app_process, free_port

    command = re.search(r"^demo: (.*)$", completed.resumed.stdout, flags=re.M).group(1)
    port = free_port()
    log = completed.out.parent / "demo.log"
    with app_process([*shlex.split(command), "--port", str(port)], cwd=completed.out.parent,
                     env=app_env(completed.env), port=port, log=log) as (url, process):
        assert processes_serving(completed.out / "hub")
        _classify_like_the_release(url, completed.out)
    assert process.returncode == 0, log.read_text()[-3000:]
    assert processes_serving(completed.out / "hub") == []


def test_the_base_model_was_downloaded_from_the_hub(completed: Life) -> None:
    base = completed.state()["base-model"]["outputs"]
    name = Path(completed.base).name
    assert base["repo_id"] == f"local-user/{name}" and base["mirrored_from"] == completed.base
    info = json.loads((completed.out / "train" / "run_info.json").read_text())
    source = info["base_model"]["source"]
    assert source["kind"] == "hub" and source["commit"] == base["commit"]
    assert source["repo_id"] == base["repo_id"] and source["endpoint"].startswith("http://127.")
    log = (completed.out / "logs" / "hub.log").read_text()
    assert f'"GET /local-user/{name}/resolve/{base["commit"]}/model.safetensors HTTP/1.1" 200' \
        in log


def test_no_token_is_written_anywhere(completed: Life) -> None:
    for path in completed.out.rglob("*"):
        if path.is_file() and path.stat().st_size < 50_000_000:
            data = path.read_bytes()
            assert TOKEN_PREFIX.encode() not in data, path
            assert REAL_LOOKING["HF_TOKEN"].encode() not in data, path


def test_a_rerun_does_nothing(completed: Life) -> None:
    before = completed.state()
    proc = completed.run()
    assert set(stage_lines(proc).values()) == {"skipped (done, same inputs)"}
    assert completed.state() == before  # same commits, same files, same timings
    assert "stages: " + ", ".join(f"{n} skipped" for n in STAGE_NAMES) in proc.stdout
    summary = json.loads(completed.run("--json").stdout)  # the same summary, as JSON
    assert summary["model"] == f"{MODEL}@v0.1.0" and summary["space"] == SPACE
    assert set(summary["seconds"]) == set(STAGE_NAMES) and summary["demo"] in proc.stdout


def test_serve_keeps_the_hub_up_for_the_demo(completed: Life) -> None:
    from space.space_testing import app_env, app_process, free_port

    port = free_port()
    log = completed.out.parent / "serve.log"
    with app_process([*completed.command("--serve", "--port", str(port))],
                     cwd=completed.out.parent, env=app_env(completed.env), port=port,
                     log=log) as (url, process):
        assert processes_serving(completed.out / "hub")
        _classify_like_the_release(url, completed.out)
    assert process.returncode in (0, -signal.SIGINT), log.read_text()[-3000:]
    text = log.read_text()
    assert f"model: {MODEL}@v0.1.0" in text and "serving the demo" in text
    assert processes_serving(completed.out / "hub") == []


def test_a_new_model_tag_reruns_from_the_release_on(completed: Life) -> None:
    before = completed.state()
    proc = completed.run("--model", "@v0.1.1")
    assert ran(proc) == ["release", "calibrate", "publish-model", "publish-space"]
    assert "release: assemble the model folder (inputs changed) ..." in proc.stderr
    assert "calibrate: fit the temperature (upstream changed) ..." in proc.stderr
    after = completed.state()
    for name in ("generate", "publish-dataset", "base-model", "train", "export"):
        assert after[name] == before[name]
    assert "model_version=0.1.1" in (completed.out / "release" / "version.txt").read_text()
    assert f"model: {MODEL}@v0.1.1" in proc.stdout


def test_a_changed_training_option_reruns_from_training_ctrl_c_included(completed: Life) -> None:
    before = completed.state()
    refused = completed.run("--model", "@v0.1.1", "--epochs", "5", check=False)
    assert refused.returncode == 2
    assert ("model tag v0.1.1 of local-user/sqry-nl-intent-classifier already exists" in
            refused.stderr) and "Fix: pass a new tag, --model @TAG" in refused.stderr
    assert completed.state() == before and stage_lines(refused) == {}  # stopped before work

    # Ctrl-C during training: the run stops, and so does its Hub server.
    command = completed.command("--model", "@v0.2.0", "--epochs", "5")
    log = completed.out.parent / "interrupted.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env=completed.env, cwd=completed.out.parent)
    deadline = time.monotonic() + 120
    while "train: train from the Hub dataset with Accelerate (inputs changed) ..." not in \
            log.read_text(errors="replace"):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.05)
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == -signal.SIGINT  # as a shell expects: $? is 130
    assert re.search(r"train: FAILED after .*\ninterrupted", log.read_text())
    assert processes_serving(completed.out / "hub") == []
    assert completed.state()["train"]["status"] == "started"

    proc = completed.run("--model", "@v0.2.0", "--epochs", "5")
    assert ran(proc) == list(STAGE_NAMES[3:])  # train onwards, not generate or publishing data
    assert completed.state()["publish-dataset"] == before["publish-dataset"]

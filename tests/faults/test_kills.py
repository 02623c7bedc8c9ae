"""kill -9 at several moments of every stage that writes something that must survive, then
the rerun, then an integrity check. Whatever the moment, the outcome must be the same: the
previous version intact (or nothing), and the rerun finishes the work.

Moments are delays after the start (and, for training, "after the first checkpoint");
whichever instant a delay lands on, the assertions must hold, which is the point. The
matrix (stage x moment -> what was found after the kill) is written to
``runs/faults/kill_matrix.json`` for the record.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.hub_server import REPO_ROOT, LocalHub
from fixtures.model_release import copy_release, set_model_version

from hf_pipeline.model_folder.checksums import verification_problems

pytestmark = pytest.mark.slow

MATRIX: dict[str, dict[str, str]] = {}
# Kill moments, as fractions of how long the same command takes uninterrupted (timed first in
# each test): early in the imports, mid-work, near the end.
FRACTIONS = (0.3, 0.6, 0.9)


def cli(*args: object, env: dict[str, str] | None = None, cwd: Path | None = None
        ) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hf_pipeline", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=cwd)


def run_to_end(*args: object, env: dict[str, str] | None = None, cwd: Path | None = None
               ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "hf_pipeline", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def timed(*args: object, env: dict[str, str] | None = None) -> float:
    """Seconds an uninterrupted run of the command takes."""
    start = time.monotonic()
    run_to_end(*args, env=env)
    return time.monotonic() - start


def kill_after(process: subprocess.Popen[str], delay: float,
               until: Callable[[], bool] | None = None) -> str:
    """SIGKILL after ``delay`` seconds (or once ``until()`` holds); 'killed', or how it
    ended by itself ('finished' / 'failed: ...')."""
    deadline = time.monotonic() + 300
    start = time.monotonic()
    while process.poll() is None and time.monotonic() < deadline:
        if (until is None and time.monotonic() - start >= delay) or (until and until()):
            process.send_signal(signal.SIGKILL)
            process.wait()
            return "killed"
        time.sleep(0.05)
    process.wait()
    assert process.returncode == 0, process.stderr.read()[-2000:] if process.stderr else ""
    return "finished"


def record(stage: str, moment: str, outcome: str) -> None:
    MATRIX.setdefault(stage, {})[moment] = outcome
    out = Path(os.environ.get("HF_PIPELINE_ARTIFACTS", REPO_ROOT / "runs")) / "faults"
    out.mkdir(parents=True, exist_ok=True)
    (out / "kill_matrix.json").write_text(json.dumps(MATRIX, indent=2) + "\n")


@pytest.mark.parametrize("fraction", FRACTIONS)
def test_kill_release(fraction: float, export_for_release: Path, tmp_path: Path) -> None:
    """A killed release leaves the previous folder (here: none) or the whole new one; the
    rerun finishes and the folder verifies."""
    out = tmp_path / "release"
    args = ["release", export_for_release, "--output", out, "--model-version", "1.0.0",
            "--training-commit", "abc", "--dataset-repo", "a/b", "--dataset-revision", "v1"]
    delay = fraction * timed(*args[:3], tmp_path / "reference", *args[4:])
    how = kill_after(cli(*args), delay)
    found = "none" if not out.exists() else (
        "whole" if verification_problems(out) == [] else "BROKEN")
    assert found in ("none", "whole")
    run_to_end(*args)
    assert verification_problems(out) == []
    record("release", f"{how} at {fraction:.0%} ({delay:.1f}s)", f"{found} -> rerun verifies")


@pytest.mark.parametrize("fraction", FRACTIONS)
def test_kill_calibrate(fraction: float, release_copy: Path, tiny_data: Path,
                        tiny_dev: Path, tmp_path: Path) -> None:
    """At every moment the folder verifies (the old temperature or the new one, never a
    mix); the rerun finishes."""
    args = ("calibrate", "fit", "--model", release_copy, "--data", tiny_data, "--dev-set",
            tiny_dev)
    reference = copy_release_folder(release_copy, tmp_path / "reference")
    delay = fraction * timed(*args[:3], reference, *args[4:])
    before = (release_copy / "temperature.json").read_bytes()
    how = kill_after(cli(*args), delay)
    problems = verification_problems(release_copy)
    assert problems == []
    state = "old" if (release_copy / "temperature.json").read_bytes() == before else "new"
    run_to_end(*args)
    assert verification_problems(release_copy) == []
    assert json.loads((release_copy / "temperature.json").read_text())["calibration_samples"]
    record("calibrate", f"{how} at {fraction:.0%} ({delay:.1f}s)",
           f"verifies ({state} T) -> rerun verifies")


def test_kill_train_after_a_checkpoint(tmp_path: Path, tiny_model_dir: Path,
                                       tiny_data: Path, tiny_dev: Path) -> None:
    out = tmp_path / "train"
    args = ("train", "--data", tiny_data, "--dev-set", tiny_dev, "--base-model",
            tiny_model_dir, "--output", out, "--epochs", 3, "--batch-size", 8,
            "--learning-rate", "1e-3", "--cpu")
    first = out / "checkpoints"
    how = kill_after(cli(*args), 0, until=lambda: any(first.glob("step_*/trainer_state.json")))
    assert how == "killed" and not (out / "final").exists()
    run_to_end(*args, "--resume")
    metrics = json.loads((out / "training_metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2, 3]
    assert (out / "final" / "model.safetensors").is_file()
    record("train", f"{how} after the first checkpoint", "rerun --resume completes 3 epochs")


@pytest.mark.hub
@pytest.mark.parametrize("fraction", FRACTIONS)
def test_kill_publish_dataset(fraction: float, hub_env: LocalHub, tmp_path: Path,
                              hub_repo_id: Callable[[str], str], small_datasets: tuple[Path, Path]
                              ) -> None:
    from datasets import load_dataset

    v1, v2 = small_datasets
    local_hub = hub_env
    env = local_hub.client_env(tmp_path / "hf_home")
    repo = hub_repo_id("kill-data")
    delay = fraction * timed("publish-dataset", v1, "--repo-id", repo, "--tag", "v1.0.0",
                             env=env)
    args = ("publish-dataset", v2, "--repo-id", repo, "--tag", "v2.0.0")
    how = kill_after(cli(*args, env=env), delay)
    expected = sorted(json.loads((v1 / "dataset.json").read_text())["samples"],
                      key=lambda r: r["id"])
    loaded = load_dataset(repo, revision="v1.0.0")
    assert sum(split.num_rows for split in loaded.values()) == len(expected)
    run_to_end(*args, env=env)
    status = json.loads(run_to_end("publish-dataset", "--status", "--repo-id", repo,
                                   env=env).stdout)
    assert set(status["tags"]) == {"v1.0.0", "v2.0.0"}
    record("publish-dataset", f"{how} at {fraction:.0%} ({delay:.1f}s)",
           "v1.0.0 loads -> rerun tags v2.0.0")


@pytest.mark.hub
@pytest.mark.parametrize("fraction", FRACTIONS)
def test_kill_publish_model(fraction: float, local_hub: LocalHub, tmp_path: Path,
                            hub_repo_id: Callable[[str], str], model_release: Path) -> None:
    from huggingface_hub import HfApi, snapshot_download

    env = local_hub.client_env(tmp_path / "hf_home")
    repo = hub_repo_id("kill-model")
    delay = fraction * timed("publish-model", "--model", model_release, "--repo-id", repo,
                             "--tag", "v1.0.0", env=env)
    v2 = copy_release(model_release, tmp_path / "v2")
    set_model_version(v2, "1.1.0")
    args = ("publish-model", "--model", v2, "--repo-id", repo, "--tag", "v1.1.0")
    how = kill_after(cli(*args, env=env), delay)
    api = HfApi(endpoint=local_hub.url, token=local_hub.token)
    commit = api.model_info(repo, revision="v1.0.0").sha
    folder = Path(snapshot_download(repo, revision=commit, endpoint=local_hub.url,
                                    cache_dir=tmp_path / "cache", token=local_hub.token))
    assert verification_problems(folder) == []
    assert "model_version=1.0.0" in (folder / "version.txt").read_text()
    run_to_end(*args, env=env)
    tags = {t.name for t in api.list_repo_refs(repo).tags}
    assert tags == {"v1.0.0", "v1.1.0"}
    record("publish-model", f"{how} at {fraction:.0%} ({delay:.1f}s)",
           "v1.0.0 verifies -> rerun tags v1.1.0")


def copy_release_folder(release: Path, dest: Path) -> Path:
    import shutil

    return Path(shutil.copytree(release, dest))


@pytest.fixture(scope="module")
def export_for_release(tiny_model_dir: Path, eval_files: tuple[Path, Path],
                       tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hf_pipeline.data_sources import load_eval_sets
    from hf_pipeline.export.config import ExportConfig
    from hf_pipeline.export.stage import export_model

    dataset, dev = eval_files
    sets, provenance = load_eval_sets(dataset, dev_set=dev)
    return export_model(tiny_model_dir, tmp_path_factory.mktemp("kill_export") / "export",
                        cfg=ExportConfig(max_drop_points=100), eval_sets=sets,
                        data_provenance=provenance)


@pytest.fixture(scope="module")
def small_datasets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from hf_pipeline.generate import GenerateConfig, generate

    root = tmp_path_factory.mktemp("kill_data")
    return tuple(generate(GenerateConfig(output=root / f"v{seed}", seed=seed,
                                         samples_per_intent=40, allow_small=True))
                 for seed in (1, 2))  # type: ignore[return-value]

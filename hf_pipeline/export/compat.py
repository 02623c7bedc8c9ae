"""The model under the onnxruntime sqry-nl loads (the Rust ort crate 2.0.0-rc.10 -> 1.22).

The project's own onnxruntime is newer; the contrib ops of the fused graph exist in both, but
kernels change between releases. ``runtime_python`` builds (once, cached) a virtualenv with
``onnxruntime==1.22.*`` and numpy; ``runtime_logits`` and ``runtime_timings`` run models
there through ``ort_probe.py``, so tests and the bench can compare logits and latency with
what the runtime will see.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.errors import PipelineError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

RUNTIME_ORT = "1.22.*"
PROBE = Path(__file__).with_name("ort_probe.py")
CACHE_ENV = "HF_PIPELINE_CACHE"  # default ~/.cache/hf_pipeline


class RuntimeEnvError(PipelineError, OSError):
    """The virtualenv with the runtime's onnxruntime could not be built or run."""


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "hf_pipeline")


def runtime_python(version: str = RUNTIME_ORT) -> Path:
    """The python of a cached virtualenv with ``onnxruntime==version`` and numpy; built with
    ``python -m venv`` + pip on first use (needs PyPI), reused afterwards."""
    root = cache_dir() / f"onnxruntime-{version.replace('*', 'x')}"
    python = root / "bin" / "python"
    done = root / ".installed"
    if done.is_file() and python.is_file():
        return python
    log.info("building %s (onnxruntime==%s, numpy): once, then cached", root, version)
    steps = [[sys.executable, "-m", "venv", "--clear", str(root)],
             [str(python), "-m", "pip", "install", "--quiet", f"onnxruntime=={version}",
              "numpy"]]
    for step in steps:
        run = subprocess.run(step, capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise RuntimeEnvError(f"{' '.join(step)} failed ({run.returncode}):\n"
                                  f"{run.stderr.strip()[-2000:]}\nFix: check that PyPI is "
                                  f"reachable, or delete {root} and retry.")
    done.write_text(version + "\n", encoding="utf-8")
    return python


def _probe(python: Path, request: dict[str, Any], work: Path) -> dict[str, Any]:
    request_file, result_file = work / "request.json", work / "result.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    # -I: the script's own folder (hf_pipeline/export, whose inspect.py would shadow the
    # standard library's) stays off sys.path, and so does the user's site-packages.
    run = subprocess.run([str(python), "-I", str(PROBE), str(request_file), str(result_file)],
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeEnvError(f"{python} {PROBE.name} failed ({run.returncode}):\n"
                              f"{run.stderr.strip()[-2000:]}")
    return json.loads(result_file.read_text(encoding="utf-8"))


def _save_feeds(feeds: Sequence[Mapping[str, np.ndarray]], path: Path) -> None:
    import numpy as np

    np.savez(path, **{f"{i}/{name}": array for i, feed in enumerate(feeds)
                      for name, array in feed.items()})


def runtime_logits(models: Mapping[str, str | Path], feeds: Sequence[Mapping[str, np.ndarray]],
                   *, python: Path | None = None) -> tuple[str, dict[str, list[np.ndarray]]]:
    """Logits of each model on each feed under the runtime's onnxruntime; and its version."""
    import numpy as np

    python = python or runtime_python()
    with tempfile.TemporaryDirectory(prefix="ort_probe_") as tmp:
        work = Path(tmp)
        _save_feeds(feeds, work / "feeds.npz")
        result = _probe(python, {"action": "logits", "feeds": str(work / "feeds.npz"),
                                 "output": str(work / "logits.npz"),
                                 "models": {k: str(v) for k, v in models.items()}}, work)
        data = np.load(work / "logits.npz")
        logits = {name: [data[f"{name}/{i}"] for i in range(len(feeds))] for name in models}
    return result["onnxruntime"], logits


def runtime_timings(models: Mapping[str, str | Path], feeds: Sequence[Mapping[str, np.ndarray]],
                    *, rounds: int, python: Path | None = None,
                    options: Mapping[str, Mapping[str, Any]] | None = None
                    ) -> tuple[str, dict[str, list[float]]]:
    """Single-query seconds per model (model alone, one thread, models alternated in rounds
    over ``feeds``) under the runtime's onnxruntime, or under ``python``'s; and its version.
    ``options``: per model, session settings on top of the runtime's (``ort_probe.py``)."""
    python = python or runtime_python()
    with tempfile.TemporaryDirectory(prefix="ort_probe_") as tmp:
        work = Path(tmp)
        _save_feeds(feeds, work / "feeds.npz")
        result = _probe(python, {"action": "timing", "feeds": str(work / "feeds.npz"),
                                 "rounds": rounds, "options": dict(options or {}),
                                 "models": {k: str(v) for k, v in models.items()}}, work)
    return result["onnxruntime"], result["seconds"]

"""The few lines a run ends with: what was published where, how good and fast the model is,
how long each stage took, and the command that starts the demo (exactly as it works)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from hf_pipeline.contract import EXECUTE_THRESHOLD
from hf_pipeline.pipeline.runner import RunResult
from hf_pipeline.pipeline.stages import STAGE_NAMES


def shown_path(path: Path) -> str:
    """``path`` relative to the working folder when it is below it, else absolute."""
    path = Path(os.path.abspath(path))
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def command_name() -> str:
    """How to call this very hf-pipeline: its name when PATH finds this one, else its path."""
    script = Path(sys.executable).parent / "hf-pipeline"
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m hf_pipeline"
    found = shutil.which("hf-pipeline")
    if found and Path(found).resolve() == script.resolve():
        return "hf-pipeline"
    return shlex.quote(shown_path(script))


def demo_command(result: RunResult) -> str:
    model = result.outputs["publish-model"]
    spec = f"{model['repo_id']}@{model['tag']}"
    if result.hub.local:
        assert result.hub.data_dir is not None
        hub = f"--local-hub {shlex.quote(shown_path(result.hub.data_dir))}"
    else:
        hub = "" if result.hub.url == "https://huggingface.co" else f"--endpoint {result.hub.url}"
    return " ".join(filter(None, [command_name(), "demo", "--model", spec, hub]))


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m {rest:04.1f}s"


def summary_dict(result: RunResult) -> dict[str, Any]:
    """What ``format_summary`` says, as JSON (``hf-pipeline run --json``)."""
    out = result.outputs
    dataset, model = out["publish-dataset"], out["publish-model"]
    release = out["release"]
    return {
        "dataset": f"{dataset['repo_id']}@{dataset['tag']}",
        "model": f"{model['repo_id']}@{model['tag']}",
        "space": out["publish-space"]["repo_id"],
        "hub": {"url": result.hub.url, "local": result.hub.local,
                "data_dir": str(result.hub.data_dir) if result.hub.data_dir else None},
        "temperature": out["calibrate"]["temperature"],
        "metrics": out["calibrate"]["metrics"],
        "release": {k: release.get(k) for k in ("size_bytes", "p50_ms", "p50_model_ms")},
        "seconds": result.seconds, "total_seconds": result.total_seconds,
        "examples": [{"text": query, **prediction.to_dict()}
                     for query, prediction in result.examples],
        "demo": demo_command(result),
    }


def format_summary(result: RunResult) -> str:
    from hf_pipeline.runtime.cli import format_table

    out = result.outputs
    dataset, model = out["publish-dataset"], out["publish-model"]
    metrics, release = out["calibrate"]["metrics"], out["release"]
    test, dev = metrics.get("test", {}), metrics.get("dev", {})
    hub = result.hub.describe() + ("; stopped now, the demo command below starts it again"
                                   if result.hub.local else "")
    lines = [
        f"dataset: {dataset['repo_id']}@{dataset['tag']}",
        f"model: {model['repo_id']}@{model['tag']}",
        f"space: {out['publish-space']['repo_id']}",
        f"hub: {hub}",
        f"accuracy (INT8, calibrated): test split {test.get('accuracy', float('nan')):.2%} "
        f"({test.get('samples', 0)} queries), dev set {dev.get('accuracy', float('nan')):.2%} "
        f"({dev.get('samples', 0)} human-written)",
        f"ECE (15 bins), T = 1 -> T = {out['calibrate']['temperature']:.3f}: test "
        f"{test.get('ece_before', float('nan')):.3f} -> {test.get('ece_after', float('nan')):.3f}"
        f", dev {dev.get('ece_before', float('nan')):.3f} -> "
        f"{dev.get('ece_after', float('nan')):.3f}",
        *_tier_lines(metrics),
        f"model size: {release['size_bytes'] / 1e6:.1f} MB; p50 latency {release['p50_ms']:.2f} "
        f"ms (one query, 1 thread, tokenization included; model alone "
        f"{release['p50_model_ms']:.2f} ms)",
        "stages: " + ", ".join(
            f"{name} {'skipped' if result.seconds[name] is None else format_seconds(result.seconds[name])}"  # noqa: E501
            for name in STAGE_NAMES) + f"; total {format_seconds(result.total_seconds)}",
    ]
    if result.examples:
        queries, predictions = zip(*result.examples, strict=True)
        lines += ["", format_table(list(queries), list(predictions)).rstrip()]
    lines += ["", f"demo: {demo_command(result)}"]
    return "\n".join(lines)


TIER_WORDS = (("right_executed", "right, executed"), ("right_asked", "right but asked"),
              ("wrong_asked", "wrong, asked"), ("wrong_executed", "wrong, executed"))


def _tier_lines(metrics: dict[str, Any]) -> list[str]:
    """What a sqry user feels on each reported set, when calibration measured it."""
    sets = [(name, metrics[name]) for name in ("test", "dev")
            if metrics.get(name, {}).get("tiers")]
    if not sets:
        return []
    parts = []
    for name, m in sets:
        n = m["samples"]
        parts.append(f"{name} " + ", ".join(
            f"{m['tiers'][key] / n:.1%} {words}" for key, words in TIER_WORDS))
    return [f"sqry tiers (execute at >= {EXECUTE_THRESHOLD}): " + "; ".join(parts)]

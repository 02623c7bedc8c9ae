"""``run_pipeline(cfg)``: every stage in order, against one Hub, skipping what is done.

A stage is skipped when the state file records it finished with the same inputs and its
outputs are still there; it runs again when an option or anything upstream changed, and an
interrupted training resumes from its checkpoints. ``from_stage`` forces a rerun from that
stage on. Before any work, a run that would build another model under a tag the Hub already
has stops with the fix: tags are never moved, so it would only fail at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hf_pipeline.errors import ConfigError, PipelineError
from hf_pipeline.pipeline.config import RunConfig
from hf_pipeline.pipeline.context import Context, Stage
from hf_pipeline.pipeline.hub import HubSession, open_hub
from hf_pipeline.pipeline.stages import MODEL_STAGES, STAGE_NAMES, STAGES, tag_commit
from hf_pipeline.pipeline.state import RunState, fingerprint

log = logging.getLogger(__name__)

EXAMPLES = ("who calls login", "path from main to db", "index status",
            "draw the callers of parse_config as mermaid", "write me a poem")


class Reporter(Protocol):
    """Told about each stage as it starts, ends or is skipped (the CLI prints one line)."""

    def started(self, index: int, stage: Stage, *, resume: bool, reason: str) -> None: ...

    def skipped(self, index: int, stage: Stage) -> None: ...

    def finished(self, index: int, stage: Stage, seconds: float, notes: list[str]) -> None: ...

    def failed(self, index: int, stage: Stage, seconds: float) -> None: ...


@dataclass
class RunResult:
    """What the run produced, for the summary."""

    hub: HubSession
    outputs: dict[str, dict[str, Any]]
    seconds: dict[str, float | None]  # None: skipped
    total_seconds: float
    examples: list[tuple[str, Any]] = field(default_factory=list)  # (query, Prediction)


@dataclass(frozen=True)
class Step:
    """What the plan says about one stage."""

    stage: Stage
    run: bool
    # "unchanged" (skipped); else why it runs: "new", "interrupted", "forced",
    # "inputs changed", "outputs missing", "upstream changed"
    reason: str


def plan(ctx: Context, state: RunState, *, from_index: int | None,
         stages: tuple[Stage, ...] = STAGES) -> list[Step]:
    """Which stages will run, judged from the recorded outputs. A stage that runs again
    changes what follows it, unless it is deterministic and its inputs are the same."""
    steps: list[Step] = []
    changed = False
    saved = dict(ctx.outputs)
    for i, stage in enumerate(stages):
        rec = state.record(stage.name)
        forced = from_index is not None and i >= from_index
        if changed or forced or rec is None or "outputs" not in rec:
            reason = ("upstream changed" if changed else "forced" if forced
                      else "new" if rec is None else "interrupted")
            steps.append(Step(stage, True, reason))
            changed = True
            continue
        fp = fingerprint(stage.inputs(ctx))
        ctx.outputs[stage.name] = rec["outputs"]
        if not state.is_done(stage.name, fp):
            reason = "inputs changed"
        elif not stage.valid(ctx, rec["outputs"]):
            reason = "outputs missing"
        else:
            steps.append(Step(stage, False, "unchanged"))
            continue
        # Lost outputs of a deterministic stage come back the same: nothing after it changes.
        changed = not (stage.deterministic and reason == "outputs missing")
        steps.append(Step(stage, True, reason))
    ctx.outputs.clear()
    ctx.outputs.update(saved)
    return steps


def check_model_tag(ctx: Context, steps: list[Step]) -> None:
    """Fail before any work when the model tag exists and the run would build another model
    (training is not bit-for-bit repeatable, and version.txt holds the date), which the
    publish at the end would refuse. The dataset needs no such check: generating is quick
    and deterministic, and publishing identical data under its tag is a no-op."""
    running = {s.stage.name: s.reason for s in steps if s.run}
    stages = [n for n in MODEL_STAGES if n in running]
    if not stages:
        return
    tag = ctx.cfg.pipeline.model_tag
    commit = tag_commit(ctx, ctx.repo("model"), "model", tag)
    if commit is None:
        return
    why = ", ".join(f"{n} ({running[n]})" for n in stages)
    raise ConfigError(
        f"model tag {tag} of {ctx.repo('model')} already exists on {ctx.hub.url} (commit "
        f"{commit[:12]}), and this run would build another model: it runs {why}. Tags are "
        "never moved. Fix: pass a new tag, --model @TAG (e.g. the next version), or keep "
        "the options of the run that published it.")


def run_pipeline(cfg: RunConfig, *, from_stage: str | None = None,
                 reporter: Reporter | None = None,
                 while_hub_is_up: Callable[[RunResult], None] | None = None) -> RunResult:
    """Run every stage (see the module doc); ``while_hub_is_up`` is called with the result
    before the Hub session ends (``--serve`` runs the demo there)."""
    if from_stage is not None and from_stage not in STAGE_NAMES:
        raise ConfigError(f"--from: no stage {from_stage!r}; the stages are "
                          f"{', '.join(STAGE_NAMES)}.")
    from_index = STAGE_NAMES.index(from_stage) if from_stage else None
    out = cfg.pipeline.output
    out.mkdir(parents=True, exist_ok=True)
    state = RunState(out)
    started = time.perf_counter()
    with open_hub(cfg.pipeline) as hub:
        ctx = Context(cfg, hub)
        steps = plan(ctx, state, from_index=from_index)
        check_model_tag(ctx, steps)
        seconds = run_stages(ctx, state, from_index=from_index, reporter=reporter,
                             reasons={s.stage.name: s.reason for s in steps})
        result = RunResult(hub, dict(ctx.outputs), seconds, time.perf_counter() - started,
                           examples=_examples(ctx))
        if while_hub_is_up is not None:
            while_hub_is_up(result)
    return result


def run_stages(ctx: Context, state: RunState, *, from_index: int | None,
               reporter: Reporter | None, stages: tuple[Stage, ...] = STAGES,
               reasons: dict[str, str] | None = None) -> dict[str, float | None]:
    """Each stage in order; stage name -> seconds it ran (None: skipped). ``reasons``: the
    plan's word on why each runs, for the reporter."""
    return {s.name: run_stage(ctx, state, i, s, forced=from_index is not None and i >= from_index,
                              reporter=reporter, reason=(reasons or {}).get(s.name, ""))
            for i, s in enumerate(stages)}


def run_stage(ctx: Context, state: RunState, index: int, stage: Stage, *, forced: bool,
              reporter: Reporter | None, reason: str = "") -> float | None:
    """Run or skip one stage; its seconds, or None when skipped."""
    inputs = stage.inputs(ctx)
    fp = fingerprint(inputs)
    rec = state.record(stage.name)
    if not forced and state.is_done(stage.name, fp) and stage.valid(ctx, rec["outputs"]):
        ctx.outputs[stage.name] = rec["outputs"]
        if reporter:
            reporter.skipped(index, stage)
        return None
    resume = not forced and state.was_started(stage.name, fp)
    if reporter:
        reporter.started(index, stage, resume=resume, reason=reason)
    state.started(stage.name, fp, inputs)
    ctx.notes = []
    start = time.perf_counter()
    try:
        outputs = stage.run(ctx, resume)
    except BaseException:
        if reporter:
            reporter.failed(index, stage, time.perf_counter() - start)
        raise
    seconds = time.perf_counter() - start
    state.finished(stage.name, outputs, seconds)
    ctx.outputs[stage.name] = outputs
    if reporter:
        reporter.finished(index, stage, seconds, list(ctx.notes))
    return seconds


def _examples(ctx: Context) -> list[tuple[str, Any]]:
    """A few queries through the model folder, as the runtime classifies them."""
    from hf_pipeline.runtime import IntentClassifier

    try:
        classifier = IntentClassifier.from_dir(ctx.folder("calibrate"))
    except PipelineError as e:  # the summary is still worth printing
        log.warning("could not classify the example queries: %s", e)
        return []
    return list(zip(EXAMPLES, classifier.predict(list(EXAMPLES)), strict=True))

"""``hf-pipeline run``: the whole cloud-first flow, one command, resumable, on any Hub.

``run_pipeline(load_run_config(...))`` runs the stages of ``stages.STAGES`` in order against
the Hub of ``hub.open_hub`` (the local one by default), records each in the run state
(``state``), and returns what the summary (``summary``) prints.
"""

from hf_pipeline.pipeline.config import PipelineConfig, RunConfig, load_run_config
from hf_pipeline.pipeline.runner import RunResult, run_pipeline
from hf_pipeline.pipeline.stages import STAGE_NAMES

__all__ = ["STAGE_NAMES", "PipelineConfig", "RunConfig", "RunResult", "load_run_config",
           "run_pipeline"]

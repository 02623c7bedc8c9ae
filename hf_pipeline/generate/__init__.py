"""Stage 1: generate training data from human-authored templates."""

from hf_pipeline.generate.config import GenerateConfig
from hf_pipeline.generate.pipeline import GeneratedDataset, build_dataset, generate

__all__ = ["GenerateConfig", "GeneratedDataset", "build_dataset", "generate"]

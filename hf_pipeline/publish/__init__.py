"""Publish to the Hub as tagged, never-overwritten versions: the dataset and the model."""

from hf_pipeline.publish.dataset import PublishDatasetConfig, publish_dataset, versions
from hf_pipeline.publish.model import PublishModelConfig, model_versions, publish_model
from hf_pipeline.publish.versions import PublishError, PublishResult

__all__ = ["PublishDatasetConfig", "PublishError", "PublishModelConfig", "PublishResult",
           "model_versions", "publish_dataset", "publish_model", "versions"]

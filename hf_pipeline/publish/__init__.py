"""Publish to the Hub as tagged, never-overwritten versions: the dataset (and, later, the model)."""

from hf_pipeline.publish.dataset import PublishDatasetConfig, publish_dataset, versions
from hf_pipeline.publish.versions import PublishError, PublishResult

__all__ = ["PublishDatasetConfig", "PublishError", "PublishResult", "publish_dataset",
           "versions"]

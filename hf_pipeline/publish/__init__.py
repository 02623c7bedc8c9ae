"""Publish to the Hub: the dataset as tagged versions (and, later, the model and Space)."""

from hf_pipeline.publish.dataset import (
                                         PublishDatasetConfig,
                                         PublishError,
                                         PublishResult,
                                         publish_dataset,
                                         versions,
)

__all__ = ["PublishDatasetConfig", "PublishError", "PublishResult", "publish_dataset",
           "versions"]

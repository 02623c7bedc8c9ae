"""The release stage: assemble the model folder from an export folder (``hf-pipeline
release``). The folder's format, reading and writing it, is ``hf_pipeline.model_folder``'s."""

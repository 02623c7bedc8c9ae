"""Shipped inside the package as hf_pipeline.assets.model_card (see hf_pipeline/assets)."""

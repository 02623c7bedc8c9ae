"""Shipped inside the package as hf_pipeline.assets.dataset_card (see hf_pipeline/assets)."""

"""Shipped inside the package as hf_pipeline.assets.spaces_demo (see hf_pipeline/assets)."""

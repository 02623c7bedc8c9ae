"""Training stage: ``train(cfg) -> Path`` with Accelerate, evaluation, PyTorch inference.

Import the submodules directly (``hf_pipeline.train.loop``): this package imports nothing
heavy, so the CLI's ``--help`` stays instant.
"""

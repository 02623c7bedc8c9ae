"""Calibration stage: ``calibrate(release_dir, *, cfg) -> Path`` (temperature scaling on the
INT8 release), metrics, reliability diagrams, and ``analyze``.

Import the submodules directly (``hf_pipeline.calibrate.stage``): this package imports
nothing heavy, so the CLI's ``--help`` stays instant.
"""

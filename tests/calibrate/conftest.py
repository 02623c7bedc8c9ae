"""The calibration tests' own fixtures (tests/calibrate/calibration_files.py)."""

from .calibration_files import tiny_calibration

__all__ = ["tiny_calibration"]

"""The file names of a model folder, of the reports beside it, and of the export folder it is
assembled from: the one place each is spelled."""

from __future__ import annotations

from pathlib import Path

ONNX_FILE = "intent_classifier.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"
TEMPERATURE_FILE = "temperature.json"
VERSION_FILE = "version.txt"
CHECKSUMS_FILE = "checksums.json"
MANIFEST_FILE = "manifest.json"

CONTENT_FILES: tuple[str, ...] = (ONNX_FILE, TOKENIZER_FILE, CONFIG_FILE, TEMPERATURE_FILE,
                                  VERSION_FILE)
RELEASE_FILES: tuple[str, ...] = (*CONTENT_FILES, MANIFEST_FILE, CHECKSUMS_FILE)
# The files a loader reads, so each must be listed in checksums.json.
LOADED_FILES: tuple[str, ...] = (ONNX_FILE, TOKENIZER_FILE, TEMPERATURE_FILE, CONFIG_FILE)

# Beside the folder (never inside: it holds exactly the contract's files).
REPORTS_SUFFIX = ".reports"
EXPORT_REPORT = "export_report.json"
CALIBRATION_REPORT = "calibration_report.json"

# The export folder the release is assembled from (``hf-pipeline export model``): its graphs,
# beside its tokenizer.json, config.json and EXPORT_REPORT.
FP32_FILE = "model.fp32.onnx"
INT8_FILE = "model.int8.onnx"
# Who writes the graphs, and the fix, for the message about a damaged one.
ONNX_WRITTEN_BY = "`hf-pipeline export model` (copied into a model folder by `hf-pipeline release`)"
REEXPORT = "export it again, and check it with `hf-pipeline export verify`."


def reports_dir(release_dir: str | Path) -> Path:
    """``<release>.reports`` beside the folder: export and calibration reports, diagrams.
    Resolved first: for "." the unresolved parent is the folder itself."""
    release_dir = Path(release_dir).resolve()
    return release_dir.parent / f"{release_dir.name}{REPORTS_SUFFIX}"


def is_release_folder(folder: str | Path) -> bool:
    """Looks like a model folder (ONNX graph or checksums present), as opposed to a trained
    PyTorch folder."""
    folder = Path(folder)
    return (folder / ONNX_FILE).is_file() or (folder / CHECKSUMS_FILE).is_file()

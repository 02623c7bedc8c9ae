"""Library messages that are noise in a run a person follows: demoted to debug level.

Each one is expected and says nothing to act on: the transformers load report (the new
classification head is "MISSING" from the base checkpoint, by design), onnxruntime's advice to
pre-process before quantizing (dynamic INT8 of a transformer needs none), torch.onnx's notes
about torchvision and about dynamic axes it merged, datasets' note that a one-shard split is
written by one process. They still show with ``-vv``.
"""

from __future__ import annotations

import logging

# Set in the environment of the processes `accelerate launch` starts for a run, whose
# `hf-pipeline train` then quiets the same messages (hf_pipeline.cli.main).
QUIET_ENV = "HF_PIPELINE_QUIET_LIBRARIES"
# (logger name, text the message contains)
NOISE: tuple[tuple[str, str], ...] = (
    ("transformers.modeling_utils", "LOAD REPORT"),
    ("root", "pre-processing before quantization"),
    ("torch.onnx._internal.exporter._registration", "torchvision is not installed"),
    ("py.warnings", "since it shares the same shape constraints with another axis"),
    ("py.warnings", "isinstance(treespec, LeafSpec)"),
    ("datasets.arrow_dataset", "Setting num_proc from"),
)


class DemoteToDebug(logging.Filter):
    """Turns matching records into debug records, shown only when debug logging is on."""

    def __init__(self, texts: tuple[str, ...], *, show: bool) -> None:
        super().__init__()
        self.texts, self.show = texts, show

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return True
        message = record.getMessage()
        if not any(text in message for text in self.texts):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self.show


def quiet_library_noise(*, debug: bool = False) -> None:
    """Install the filters on the loggers that emit the noise (a logger's filters see the
    records it creates), and route ``warnings`` through logging so they can be filtered."""
    by_logger: dict[str, list[str]] = {}
    for name, text in NOISE:
        by_logger.setdefault(name, []).append(text)
    for name, texts in by_logger.items():
        logger = logging.getLogger() if name == "root" else logging.getLogger(name)
        if not any(isinstance(f, DemoteToDebug) for f in logger.filters):
            logger.addFilter(DemoteToDebug(tuple(texts), show=debug))
    logging.captureWarnings(True)

"""Errors a user can act on: each names the file or field, the value, and the fix.

The CLI prints ``str(error)`` and exits non-zero; a traceback only with HF_PIPELINE_DEBUG=1.
Exit codes: 2 for a usage or input error (``PipelineError``), 1 for a check that ran and
failed (``CheckFailedError``: ONNX parity, the INT8 accuracy gate, checksums, a refused
publish), and for any other exception, a bug (``hf_pipeline.cli.main`` says so in one line).
After Ctrl-C a command returns ``EXIT_INTERRUPTED``; the process then dies by SIGINT.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

EXIT_INTERRUPTED = 130  # a command's status after Ctrl-C: 128 + SIGINT, as a shell shows it


class PipelineError(Exception):
    """Base class: a message meant for the person running the pipeline."""

    exit_code = 2


class CheckFailedError(PipelineError):
    """A check ran and failed: the input was well-formed, the result is not acceptable."""

    exit_code = 1


class HubError(PipelineError, OSError):
    """The Hub could not be reached, refused the token, or refused the request."""


class ConfigError(PipelineError, ValueError):
    """A bad option or config value."""


class InvalidValueError(ConfigError):
    """``field`` has ``value``, but ``expected`` was required."""

    def __init__(self, field: str, value: object, expected: str, *, fix: str = "",
                 source: str = "") -> None:
        self.field, self.value, self.expected, self.fix = field, value, expected, fix
        self.source = source  # where the value came from (a config file), when known
        msg = f"{source}: " * bool(source) + f"{field}: got {value!r}, expected {expected}."
        super().__init__(f"{msg} {fix}".strip())

    def located(self, source: str) -> InvalidValueError:
        """The same error, saying which file (and section) the value came from."""
        return InvalidValueError(self.field, self.value, self.expected, fix=self.fix,
                                 source=source)


class DataFileError(PipelineError, ValueError):
    """A file's content is wrong: names the file, the line or field, and the fix."""

    def __init__(self, path: str | Path, problem: str, *, line: int | None = None,
                 fix: str = "") -> None:
        self.path, self.line, self.problem, self.fix = Path(path), line, problem, fix
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}" + (f" Fix: {fix}" if fix else ""))


class OutputError(PipelineError, OSError):
    """An output path that cannot be written; ``option``: the flag or key that named it."""

    def __init__(self, path: str | Path, problem: str, *, fix: str = "",
                 option: str = "") -> None:
        self.path, self.option = Path(path), option
        where = f"{option} {path}" if option else f"{path}"
        super().__init__(f"{where}: {problem}" + (f" Fix: {fix}" if fix else ""))


@contextlib.contextmanager
def artifact_errors(path: str | Path, *, written_by: str, fix: str) -> Iterator[None]:
    """Around a library that parses or loads the artifact ``path`` (datasets, transformers,
    safetensors, onnx, onnxruntime, tokenizers): whatever it raises on a truncated, empty or
    foreign file becomes a DataFileError that names the file, the library's reason, what
    writes that artifact (``written_by``, e.g. "`hf-pipeline train`") and ``fix``. Our own
    errors pass as they are. Keep the block to the loading call: any exception inside is
    blamed on the file. The library's exception stays chained, for HF_PIPELINE_DEBUG=1."""
    try:
        yield
    except (PipelineError, MemoryError):
        raise
    except Exception as e:
        reason = " ".join(str(e).split())[:300]
        raise DataFileError(path, f"cannot be loaded ({type(e).__name__}"
                            f"{': ' + reason if reason else ''}): damaged, or not what "
                            f"{written_by} writes.", fix=fix) from e

"""What every refusal in tests/faults checks: the exit code, no traceback, and the offending
file, key or value named in what the command printed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from hf_pipeline.cli import main


def run_cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """(exit code, stdout + stderr) of ``hf-pipeline ARGV`` run in this process."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse's own usage errors
        code = e.code if isinstance(e.code, int) else 2
    out, err = capsys.readouterr()
    return code, out + err


def assert_refused(argv: Sequence[str], capsys: pytest.CaptureFixture[str], *,
                   names: Sequence[str], code: int = 2) -> str:
    """``hf-pipeline ARGV`` exits with ``code``, prints no traceback, and names each of
    ``names``; returns what it printed."""
    got, text = run_cli(argv, capsys)
    assert got == code, f"exit {got}, expected {code}: {text}"
    assert "Traceback" not in text, text
    for name in names:
        assert name in text, f"{name!r} not named in: {text}"
    return text


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def write_yaml(path: Path, data: object) -> Path:
    return write(path, yaml.safe_dump(data, sort_keys=False))

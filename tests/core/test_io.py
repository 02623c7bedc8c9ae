"""Atomic writes: all or nothing, and files as readable as a plain open() would make them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hf_pipeline.errors import OutputError
from hf_pipeline.io import atomic_write_bytes, read_text_rows


def test_written_files_get_the_umask_mode_not_mkstemps_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = atomic_write_bytes(tmp_path / "model" / "config.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_bytes() == b"{}"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = atomic_write_bytes(tmp_path / "a.json", b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="file is a file, not a folder"):
        atomic_write_bytes(tmp_path / "file" / "inside.json", b"{}")


def test_text_rows_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b", "intent": "Ambiguous"}\n', encoding="utf-8")
    assert read_text_rows(path) == [(1, {"text": "a"}), (3, {"text": "b",
                                                             "intent": "Ambiguous"})]

"""Ways to damage a copied release folder, with or without refreshing its checksums."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hf_pipeline.export.release import write_checksums


def flip_byte(path: Path) -> None:
    """Invert one byte in the middle of ``path`` (same size, different SHA-256)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def append_newline(path: Path) -> None:
    """A harmless edit (a JSON file stays valid), but the checksum no longer matches."""
    path.write_bytes(path.read_bytes() + b"\n")


def rewrite(folder: Path, name: str, content: str | dict[str, Any]) -> None:
    """Replace ``folder/name`` and refresh the checksums: a folder rebuilt with bad content."""
    text = content if isinstance(content, str) else json.dumps(content)
    (folder / name).write_text(text, encoding="utf-8")
    write_checksums(folder)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))

"""Small file helpers: atomic writes, hashing, JSON lines, and the checks on what a command
writes. Nothing half-written is ever left behind."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_pipeline.errors import DataFileError, OutputError

FILE, FOLDER = "file", "folder"


@dataclass(frozen=True)
class Output:
    """A path a command writes, and what it must be there: a ``FILE`` or a ``FOLDER``."""

    path: Path
    kind: str


def file_output(path: str | Path | None) -> Output | None:
    return None if path is None else Output(Path(path), FILE)


def folder_output(path: str | Path | None) -> Output | None:
    return None if path is None else Output(Path(path), FOLDER)


def check_outputs(outputs: Mapping[str, Output | None], *,
                  inputs: Mapping[str, str | Path | None] | None = None) -> None:
    """Every output of a command, checked before any work (keys: the options that named
    them, as the refusal says): it is the right kind, it can be created, and it is none of
    ``inputs``, not inside one, and (a folder) holds none: what a command writes never lands
    on what it reads. Inputs not on this machine (None, a Hub repo id) are left out."""
    sources = {}
    for name, value in (inputs or {}).items():
        if value is not None and _exists(Path(value)):
            sources[name] = (Path(value), Path(value).resolve())
    for option, out in outputs.items():
        if out is None:
            continue
        try:
            _check_kind(option, out)
            _check_creatable(option, out)
            _check_apart(option, out, sources)
        except OutputError:
            raise
        except OSError as e:  # a name too long, a loop of links...
            raise OutputError(out.path, f"cannot be used ({e.strerror}).", option=option,
                              fix="choose another path.") from None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a NUL byte, a name too long: no such input
        return False


def _check_kind(option: str, out: Output) -> None:
    path = out.path
    if "\0" in str(path):
        raise OutputError(path, "is no valid path (a NUL character).", option=option)
    if out.kind == FOLDER and path.exists() and not path.is_dir():
        raise OutputError(path, "is a file, expected a folder.", option=option,
                          fix="choose a folder path (absent, or a folder).")
    if out.kind == FILE and path.is_dir():
        raise OutputError(path, "is a folder, expected a file.", option=option,
                          fix=f"name a file, e.g. {path / 'out.json'}.")
    if out.kind == FILE and path.exists() and not path.is_file():
        raise OutputError(path, "is not a regular file (a device, pipe or socket), which "
                          "writing would replace.", option=option, fix="name a file.")
    parent = _nearest_existing(path.parent)
    if not parent.is_dir():
        raise OutputError(path, f"{parent} is a file, not a folder.", option=option,
                          fix="choose a path under a folder.")


def check_writable_file(path: Path) -> None:
    """``path`` can become a file by an atomic replace: the kind checks of
    ``check_outputs``, for every write (a command's outputs had them all already)."""
    _check_kind("", Output(Path(path), FILE))


def _nearest_existing(path: Path) -> Path:
    return next(p for p in (path, *path.parents) if p.exists())


def _check_creatable(option: str, out: Output) -> None:
    """A file made and removed where the output will be written: truer than ``os.access``,
    which a superuser always passes (a read-only mount, /proc, /sys refuse even root)."""
    where = (out.path if out.kind == FOLDER and out.path.is_dir()
             else _nearest_existing(out.path.parent))
    try:
        fd, probe = tempfile.mkstemp(prefix=".hf-pipeline-probe-", dir=where)
    except OSError as e:
        raise OutputError(out.path, f"cannot be written: {where} does not let files be "
                          f"created in it ({e.strerror}).", option=option,
                          fix="choose a location you can write to.") from None
    os.close(fd)
    os.unlink(probe)


def _check_apart(option: str, out: Output, sources: Mapping[str, tuple[Path, Path]]) -> None:
    target = out.path.resolve()
    for name, (given, source) in sources.items():
        if target == source:
            problem = f"is the input {name} {given}: writing it would destroy it."
        elif source in target.parents:
            problem = f"is inside the input {name} {given}."
        elif out.kind == FOLDER and target in source.parents:
            problem = f"holds the input {name} {given}, which writing it may overwrite."
        else:
            continue
        raise OutputError(out.path, problem, option=option,
                          fix="write the output to a path of its own, apart from the inputs.")


def temp_file_beside(path: Path) -> tuple[int, str]:
    """(fd, name) of a new temp file in ``path``'s folder, for a write then ``os.replace``.

    mkstemp makes it 0600; it gets the mode a plain ``open`` would give (0666 less the
    umask), so a model folder built here is readable by whoever may read the folder."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OutputError(path, f"cannot write here ({e.strerror}).",
                          fix="choose a writable output location.") from None
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    return fd, tmp


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder and ``os.replace``."""
    path = Path(path)
    check_writable_file(path)
    fd, tmp = temp_file_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def fsync_dir(path: str | Path) -> None:
    """Make a folder's entries (a new, renamed or removed file) survive a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def dumps_json(data: Any) -> str:
    """Canonical JSON: stable key order, UTF-8, trailing newline (byte-identical reruns)."""
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def atomic_write_json(path: str | Path, data: Any) -> Path:
    return atomic_write_text(path, dumps_json(data))


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_text(path: str | Path, *, fix: str = "") -> str:
    """A UTF-8 text file; a DataFileError naming it when it cannot be read or decoded."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise DataFileError(path, "is a folder, expected a file.", fix=fix) from None
    except OSError as e:
        raise DataFileError(path, f"cannot read ({e.strerror}).", fix=fix) from None
    except UnicodeDecodeError as e:
        raise DataFileError(path, f"not UTF-8 text ({e.reason} at byte {e.start}).",
                            fix=fix or "save it as UTF-8.") from None


def read_json(path: str | Path, *, fix: str = "") -> Any:
    """A JSON file; a DataFileError naming it (and the line) when it cannot be read."""
    path = Path(path)
    text = read_text(path, fix=fix)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataFileError(path, f"not valid JSON ({e.msg}).", line=e.lineno, fix=fix) from None


MAX_JSON_DEPTH = 32  # arrays and objects in one JSON line; a query row needs two or three


def iter_text_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSON-lines file of objects with a
    string 'text' field (the dev set, predict's input), read as it goes (memory stays flat);
    errors name the file and the line."""
    path = Path(path)
    if path.is_dir():
        raise DataFileError(path, "is a folder, expected a JSON-lines file.")
    try:
        # newline="\n": only "\n" ends a JSON line. Splitting at U+2028/U+2029/U+0085 too
        # would cut strings json.dumps(ensure_ascii=False) (predict's own output) leaves raw.
        with open(path, encoding="utf-8", newline="\n") as f:
            for lineno, line in enumerate(f, start=1):
                if line.strip():
                    yield lineno, text_row(path, lineno, line)
    except OSError as e:
        raise DataFileError(path, f"cannot read ({e.strerror}).") from None
    except UnicodeDecodeError as e:
        raise DataFileError(path, f"not UTF-8 text ({e.reason}).",
                            fix="save it as UTF-8.") from None


def text_row(path: str | Path, lineno: int, line: str) -> dict[str, Any]:
    """Line ``lineno`` of the JSON-lines file ``path``: an object with a string 'text' field,
    nested at most MAX_JSON_DEPTH deep (deeper, the parser and every later dump would recurse
    without bound); else a DataFileError naming the file and the line. The one reader of such
    lines: predict's input, the dev set, the Space's batch upload."""
    fix = 'write lines like {"text": "who calls main"}.'
    try:
        row = json.loads(line)
        too_deep = json_depth(row) > MAX_JSON_DEPTH
    except json.JSONDecodeError as e:
        raise DataFileError(path, f"not JSON ({e.msg}).", line=lineno) from None
    except RecursionError:  # deeper than the parser goes, so deeper than MAX_JSON_DEPTH
        too_deep = True
    if too_deep:
        raise DataFileError(path, f"nested more than {MAX_JSON_DEPTH} arrays or objects deep.",
                            line=lineno, fix=fix)
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise DataFileError(path, "expected an object with a string 'text' field.",
                            line=lineno, fix=fix)
    return row


def json_depth(value: Any) -> int:
    """How many arrays and objects deep ``value`` nests (0 for a scalar), without recursion."""
    depth, level = 0, [value]
    while containers := [v for v in level if isinstance(v, dict | list)]:
        depth += 1
        level = [c for v in containers for c in (v.values() if isinstance(v, dict) else v)]
    return depth


def read_json_object(path: str | Path, *, fix: str = "") -> dict[str, Any]:
    """A JSON file that must hold an object (a config, a report, a manifest)."""
    data = read_json(path, fix=fix)
    if not isinstance(data, dict):
        raise DataFileError(path, f"expected a JSON object, found {type(data).__name__}.",
                            fix=fix)
    return data


def read_text_rows(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """All rows of ``iter_text_rows`` at once."""
    return list(iter_text_rows(path))

"""Stage configs: frozen dataclasses; precedence default < config file < CLI flag.

Every stage config is a frozen dataclass whose defaults live only there. ``resolve``
merges a YAML/JSON file and CLI overrides into it; an unknown key is an error.

Every value is checked against its field's annotation (``check_fields``, called first by each
config's ``__post_init__``) and against what the field allows, declared once with ``option``:
bounds (``ge``/``gt``/``le``/``lt``) or ``choices``. A float must be finite. So a string where
a number goes, ``null`` for a float or a list where a path goes is refused with the key, the
value and the expected type, and ``resolve`` adds the file it came from.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from hf_pipeline.errors import ConfigError, DataFileError, InvalidValueError
from hf_pipeline.io import read_text

C = TypeVar("C")
ALLOWED = "allowed"  # the field metadata key of an ``Allowed``


@dataclasses.dataclass(frozen=True)
class Allowed:
    """What a field allows beyond its type: bounds on a number (on each item of a list of
    numbers), or a set of choices; ``note`` is added to the message, e.g. "0 = off"."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None
    note: str = ""

    def admits(self, value: Any) -> bool:
        if value is None:  # whether None is allowed at all is the annotation's to say
            return True
        if isinstance(value, tuple):
            return all(self.admits(v) for v in value)
        if self.choices is not None:
            return value in self.choices
        if not isinstance(value, int | float) or isinstance(value, bool):
            return True
        return not ((self.ge is not None and value < self.ge)
                    or (self.gt is not None and value <= self.gt)
                    or (self.le is not None and value > self.le)
                    or (self.lt is not None and value >= self.lt))

    def describe(self) -> str:
        """The bounds in words, ' in [0, 1)', ' >= 1', or '' (choices: see ``describe``)."""
        low = (f"[{self.ge:g}" if self.ge is not None else
               f"({self.gt:g}" if self.gt is not None else None)
        high = (f"{self.le:g}]" if self.le is not None else
                f"{self.lt:g})" if self.lt is not None else None)
        if low and high:
            text = f" in {low}, {high}"
        elif low:
            text = f" {'>=' if low[0] == '[' else '>'} {low[1:]}"
        elif high:
            text = f" {'<=' if high[-1] == ']' else '<'} {high[:-1]}"
        else:
            text = ""
        return text + (f" ({self.note})" if self.note else "")


def option(default: Any = dataclasses.MISSING, *, ge: float | None = None,
           gt: float | None = None, le: float | None = None, lt: float | None = None,
           choices: tuple[Any, ...] | None = None, note: str = "",
           default_factory: Any = dataclasses.MISSING) -> Any:
    """A config field with what it allows: ``x: float = option(0.1, ge=0, le=1)``."""
    allowed = Allowed(ge=ge, gt=gt, le=le, lt=lt, choices=choices, note=note)
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={ALLOWED: allowed})


_NO = object()  # "does not match the annotation"
_NAMES: dict[Any, tuple[str, str]] = {  # annotation -> (a value, values)
    bool: ("true or false", "booleans"), int: ("an integer", "integers"),
    float: ("a finite number", "finite numbers"), str: ("a string", "strings"),
    Path: ("a path", "paths"),
}


def _convert(tp: Any, value: Any) -> Any:
    """``value`` as annotation ``tp`` holds it (a path from a string, a tuple from a list),
    or ``_NO``. bool is no int, and an int is a float (PEP 484's numeric tower)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return next((v for v in (_convert(a, value) for a in typing.get_args(tp))
                     if v is not _NO), _NO)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            return _NO
        items = tuple(_convert(typing.get_args(tp)[0], v) for v in value)
        return _NO if _NO in items else items
    if tp is type(None):
        return value if value is None else _NO
    if tp is Path:
        return value if isinstance(value, Path) else (
            Path(value) if isinstance(value, str | os.PathLike) else _NO)
    if isinstance(value, bool) and tp is not bool:
        return _NO
    if tp is float:
        return value if isinstance(value, int | float) and math.isfinite(value) else _NO
    if tp in _NAMES:
        return value if isinstance(value, tp) else _NO
    raise TypeError(f"config fields of type {tp} are not checked: add them to _convert")


def describe(tp: Any, allowed: Allowed | None = None) -> str:
    """What a field of annotation ``tp`` takes, in words: "an integer >= 1 (or null)"."""
    if allowed is not None and allowed.choices is not None:
        return f"one of {', '.join(map(str, allowed.choices))}"
    bounds = allowed.describe() if allowed is not None else ""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        named = [describe(a, allowed) for a in args if a is not type(None)]
        return " or ".join(named) + (" (or null)" if type(None) in args else "")
    if typing.get_origin(tp) is tuple:
        return f"a list of {_NAMES[args[0]][1]}{bounds}"
    return _NAMES[tp][0] + bounds


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check_fields(cfg: Any) -> None:
    """Check every field of the config dataclass ``cfg`` against its annotation and what
    ``option`` says it allows; store paths and tuples in the annotated type. Called first by
    each config's ``__post_init__``, so a bad value never reaches a comparison. A field kept
    out of reprs (a token) is kept out of the message too."""
    hints = _hints(type(cfg))
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        allowed = f.metadata.get(ALLOWED)
        checked = _convert(hints[f.name], value)
        if checked is _NO or (allowed is not None and not allowed.admits(checked)):
            raise InvalidValueError(f.name, value if f.repr else "<hidden>",
                                    describe(hints[f.name], allowed))
        if checked is not value:
            object.__setattr__(cfg, f.name, checked)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON mapping; a clear error for anything else."""
    path = Path(path)
    text = read_text(path, fix="pass a YAML or JSON config file.")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise DataFileError(path, f"not valid YAML/JSON: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataFileError(path, "expected a mapping of option: value, got "
                            f"{type(data).__name__}.")
    return data


def read_config_section(path: str | Path, section: str) -> dict[str, Any]:
    """The mapping under ``section`` of a config file with one section per stage ({} when
    the section is absent)."""
    values = read_config_file(path).get(section)
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise DataFileError(path, f"section {section!r}: expected a mapping of option: value, "
                            f"got {type(values).__name__}.")
    return values


def resolve(cls: type[C], *, config_file: str | Path | None = None,
            overrides: Mapping[str, Any] | None = None, section: str | None = None) -> C:
    """Build ``cls`` from its defaults, then ``config_file`` (its ``section`` when given),
    then non-None ``overrides``. A bad value from the file is reported with the file."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    from_file: set[str] = set()
    if config_file is not None:
        file_values = (read_config_file(config_file) if section is None
                       else read_config_section(config_file, section))
        unknown = sorted(str(k) for k in set(file_values) - names)
        if unknown:
            where = f" in section {section!r}" if section is not None else ""
            raise DataFileError(config_file, f"unknown option(s) {', '.join(unknown)}{where}.",
                                fix=f"use only: {', '.join(sorted(names))}.")
        values.update(file_values)
        from_file = set(file_values)
    for key, value in (overrides or {}).items():
        if value is not None:
            if key not in names:
                raise ConfigError(f"{cls.__name__} has no option {key!r}.")
            values[key] = value
            from_file.discard(key)
    try:
        return cls(**values)
    except InvalidValueError as e:
        if e.field not in from_file or e.source:
            raise
        where = f"{config_file}" + (f": section {section!r}" if section is not None else "")
        raise e.located(where) from None


def to_dict(cfg: object) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (paths as strings)."""
    out = dataclasses.asdict(cfg)  # type: ignore[call-overload]
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in out.items()}


def default_of(cls: type, name: str) -> Any:
    """The default of field ``name`` of config class ``cls`` (its only home)."""
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            raise ConfigError(f"{cls.__name__}.{name} has no default.")
    raise ConfigError(f"{cls.__name__} has no option {name!r}.")


def help_default(cls: type, name: str) -> str:
    """' (default: X)' for --help text, read from the config class; '' for a None default."""
    value = default_of(cls, name)
    if value is None or value == "":
        return ""
    if isinstance(value, tuple):
        value = " ".join(str(v) for v in value)
    return f" (default: {value})"

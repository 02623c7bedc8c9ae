"""Stage configs: frozen dataclasses; precedence default < config file < CLI flag.

Every stage config is a frozen dataclass whose defaults live only there. ``resolve``
merges a YAML/JSON file and CLI overrides into it; an unknown key is an error.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from hf_pipeline.errors import ConfigError, DataFileError
from hf_pipeline.io import read_text

C = TypeVar("C")


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
    then non-None ``overrides``."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    if config_file is not None:
        file_values = (read_config_file(config_file) if section is None
                       else read_config_section(config_file, section))
        unknown = sorted(set(file_values) - names)
        if unknown:
            where = f" in section {section!r}" if section is not None else ""
            raise DataFileError(config_file, f"unknown option(s) {', '.join(unknown)}{where}.",
                                fix=f"use only: {', '.join(sorted(names))}.")
        values.update({k.replace("-", "_"): v for k, v in file_values.items()})
    for key, value in (overrides or {}).items():
        if value is not None:
            if key not in names:
                raise ConfigError(f"{cls.__name__} has no option {key!r}.")
            values[key] = value
    return cls(**values)


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

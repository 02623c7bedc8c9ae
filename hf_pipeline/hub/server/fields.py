"""Typed access to what a request carries (JSON fields, query parameters).

A value of the wrong shape is a 400 that names the field, what was expected and what came,
never an exception deep in a handler: ``[1]`` where an object belongs, a number where a path
belongs, ``?limit=abc``, a string that is not valid Unicode (a lone surrogate from JSON).
"""

from __future__ import annotations

from typing import Any

from hf_pipeline.hub.server.errors import bad_request

_MISSING: Any = object()


def kind(value: Any) -> str:
    """How JSON would call ``value``, for error messages."""
    if value is _MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number",
             float: "a number"}
    return names.get(type(value), type(value).__name__)


def json_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"{where}: expected a JSON object, got {kind(value)}.")
    return value


def text(value: Any, where: str) -> str:
    """A string that can be stored and sent back (UTF-8 encodable)."""
    if not isinstance(value, str):
        raise bad_request(f"{where}: expected a string, got {kind(value)}.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request(f"{where}: not valid Unicode text (lone surrogate).") from None
    return value


def get_str(obj: dict[str, Any], key: str, where: str, *, default: Any = _MISSING) -> Any:
    """``obj[key]`` as a string; ``default`` when missing or null (required without one)."""
    value = obj.get(key)
    if value is None:
        if default is _MISSING:
            raise bad_request(f'{where}: "{key}" is required (a string).')
        return default
    return text(value, f'{where}: "{key}"')


def get_int(obj: dict[str, Any], key: str, where: str, *, default: Any = _MISSING,
            minimum: int = 0) -> Any:
    """``obj[key]`` as an integer >= ``minimum``; ``default`` when missing or null."""
    value = obj.get(key)
    if value is None:
        if default is _MISSING:
            raise bad_request(f'{where}: "{key}" is required (an integer).')
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise bad_request(f'{where}: "{key}" must be an integer >= {minimum}, got {value!r}.')
    return value


def get_bool(obj: dict[str, Any], key: str, where: str, *, default: bool = False) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f'{where}: "{key}" must be true or false, got {kind(value)}.')
    return value


def get_list(obj: dict[str, Any], key: str, where: str, *, default: Any = _MISSING) -> Any:
    value = obj.get(key)
    if value is None:
        if default is _MISSING:
            raise bad_request(f'{where}: "{key}" is required (a list).')
        return default
    if not isinstance(value, list):
        raise bad_request(f'{where}: "{key}" must be a list, got {kind(value)}.')
    return value


def query_int(query: dict[str, list[str]], name: str, *, minimum: int = 0) -> int | None:
    """The last ``?name=`` value as an integer, or None when absent."""
    values = query.get(name)
    if not values:
        return None
    raw = values[-1]
    if not raw.isascii() or not raw.isdigit() or int(raw) < minimum:
        raise bad_request(f"Query parameter {name}={raw!r}: expected an integer >= {minimum}.")
    return int(raw)

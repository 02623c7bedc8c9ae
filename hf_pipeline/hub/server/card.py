"""Repo card metadata: the YAML front matter of README.md, parsed and checked like the Hub does.

``POST /api/validate-yaml`` answers 400 ``{"errors": [{"message": ...}]}`` for metadata the
Hub would refuse, so a card that passes here is checked for the same mistakes: a YAML that does
not parse or is not a mapping, wrong types for the well-known keys, values outside the Hub's
fixed vocabularies (``size_categories``, ``*_creators``, ``multilinguality``,
``base_model_relation``, Space ``sdk`` and colors), malformed ``configs`` and ``model-index``
(the fields the Hub requires in each result). Free vocabularies (licenses, languages, task
names, library names) are only type-checked.

Metadata is untrusted input: YAML aliases can expand a 1 KB card into billions of nodes,
and deep nesting overflows recursive code, so metadata over ``MAX_NODES`` nodes or
``MAX_DEPTH`` levels is refused by ``validate-yaml`` and ignored by repo info.
"""

from __future__ import annotations

from typing import Any

import yaml

SIZE_CATEGORIES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M",
                   "100M<n<1B", "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T", "unknown")
CHOICES: dict[str, tuple[str, ...]] = {
    "size_categories": SIZE_CATEGORIES,
    "annotations_creators": ("crowdsourced", "expert-generated", "found", "machine-generated",
                             "no-annotation", "other"),
    "language_creators": ("crowdsourced", "expert-generated", "found", "machine-generated",
                          "other"),
    "multilinguality": ("monolingual", "multilingual", "translation", "other"),
}
SPACE_COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
SPACE_CHOICES: dict[str, tuple[str, ...]] = {
    "sdk": ("gradio", "docker", "static", "streamlit"),
    "colorFrom": SPACE_COLORS,
    "colorTo": SPACE_COLORS,
}
SPACE_SDKS = SPACE_CHOICES["sdk"]
BASE_MODEL_RELATIONS = ("adapter", "merge", "quantized", "finetune")
STR_OR_LIST = ("license", "language", "task_categories", "task_ids", "datasets", "metrics",
               "base_model", "source_datasets", *CHOICES)
STR_KEYS = ("pretty_name", "pipeline_tag", "library_name", "license_name", "license_link",
            "title", "emoji", "colorFrom", "colorTo", "app_file", "sdk", "sdk_version",
            "python_version", "short_description", "base_model_relation")
LIST_KEYS = ("tags", "configs", "model-index", "widget", "models", "preload_from_hub")
BOOL_KEYS = ("pinned",)
SHORT_DESCRIPTION_MAX = 60
MAX_NODES = 100_000
MAX_DEPTH = 64


def _shape_problem(data: Any) -> str | None:
    """Why parsed metadata is too big to handle (aliases expanded), or None."""
    stack, nodes = [(data, 0)], 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            return f"it has over {MAX_NODES} values (counting what YAML aliases repeat)"
        if depth > MAX_DEPTH:
            return f"it is nested over {MAX_DEPTH} levels deep"
        if isinstance(value, dict):
            stack += [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            stack += [(v, depth + 1) for v in value]
    return None


def load_metadata(front: str) -> tuple[Any, str | None]:
    """(parsed YAML, None) or (None, why it cannot be used)."""
    try:
        data = yaml.safe_load(front)
    except yaml.YAMLError as e:
        return None, f"Invalid YAML in the README front matter: {e}"
    except RecursionError:
        return None, f"The README front matter is nested too deeply (over {MAX_DEPTH} levels)."
    problem = _shape_problem(data)
    if problem is not None:
        return None, f"The README front matter is too large to check: {problem}."
    return data, None


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(YAML text or None, body) of a README."""
    if not text.startswith("---"):
        return None, text
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines[1:], start=1):
        if line.rstrip() == "---":
            return "".join(lines[1:i]), "".join(lines[i + 1:])
    return None, text


def card_data(readme: bytes | None) -> dict[str, Any] | None:
    """The metadata mapping of a README, or None when it has none (or it does not parse)."""
    if readme is None:
        return None
    front, _ = split_front_matter(readme.decode("utf-8", errors="replace"))
    data = load_metadata(front)[0] if front is not None else None
    return data if isinstance(data, dict) else None


def validate_card(content: str, repo_type: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a README's metadata, worded for the person editing it."""
    front, _ = split_front_matter(content)
    if front is None or not front.strip():
        return [], ["empty or missing yaml metadata in repo card"]
    data, problem = load_metadata(front)
    if problem is not None:
        return [problem], []
    if not isinstance(data, dict):
        return [f"The README front matter must be a YAML mapping, got {type(data).__name__}."], []
    errors = [e for key, value in data.items() for e in _check_key(str(key), value, repo_type)]
    return errors, []


def _check_key(key: str, value: Any, repo_type: str) -> list[str]:
    if key in STR_OR_LIST:
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in items):
            return [f'"{key}" must be a string or a list of strings, got {value!r}.']
        if key in CHOICES:
            bad = [v for v in items if v not in CHOICES[key]]
            if bad:
                return [f'"{key}" has {bad[0]!r}; allowed: {", ".join(CHOICES[key])}.']
    elif key in STR_KEYS and not isinstance(value, str):
        return [f'"{key}" must be a string, got {value!r}.']
    elif key in LIST_KEYS and not isinstance(value, list):
        return [f'"{key}" must be a list, got {value!r}.']
    elif key in BOOL_KEYS and not isinstance(value, bool):
        return [f'"{key}" must be true or false, got {value!r}.']
    if repo_type == "space" and key in SPACE_CHOICES and value not in SPACE_CHOICES[key]:
        return [f'"{key}" must be one of {", ".join(SPACE_CHOICES[key])}, got {value!r}.']
    if key == "short_description" and len(value) > SHORT_DESCRIPTION_MAX:
        return [f'"short_description" is {len(value)} characters; the Hub allows '
                f"{SHORT_DESCRIPTION_MAX}."]
    if key == "base_model_relation" and value not in BASE_MODEL_RELATIONS:
        return [f'"base_model_relation" must be one of {", ".join(BASE_MODEL_RELATIONS)}, '
                f"got {value!r}."]
    if key == "configs":
        return [e for i, c in enumerate(value) for e in _check_config(i, c)]
    if key == "model-index":
        return [e for i, m in enumerate(value) for e in _check_model_index(i, m)]
    if key == "tags" and not all(isinstance(t, (str, int, float)) for t in value):
        return [f'"tags" must be a list of strings, got {value!r}.']
    return []


def _check_config(index: int, config: Any) -> list[str]:
    where = f'"configs"[{index}]'
    if not isinstance(config, dict) or not isinstance(config.get("config_name"), str):
        return [f'{where} must be a mapping with a string "config_name", got {config!r}.']
    files = config.get("data_files")
    if files is None or isinstance(files, str):
        return []
    if not isinstance(files, list):
        return [f'{where}.data_files must be a string, a list, or a list of '
                f'{{split, path}} mappings, got {files!r}.']
    for item in files:
        if isinstance(item, dict) and not ("split" in item and "path" in item):
            return [f'{where}.data_files entries need "split" and "path", got {item!r}.']
    return []


def _check_model_index(index: int, model: Any) -> list[str]:
    """The fields the Hub requires in a ``model-index`` entry and each of its results."""
    where = f'"model-index"[{index}]'
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        return [f'{where} must be a mapping with a string "name".']
    results = model.get("results")
    if not isinstance(results, list):
        return [f'{where}.results must be a list of results.']
    errors = []
    for r, result in enumerate(results):
        at = f"{where}.results[{r}]"
        if not isinstance(result, dict):
            errors.append(f"{at} must be a mapping with task, dataset and metrics.")
            continue
        for part, required in (("task", ("type",)), ("dataset", ("type", "name"))):
            block = result.get(part)
            missing = [k for k in required if not isinstance(block, dict)
                       or not isinstance(block.get(k), str)]
            if missing:
                errors.append(f"{at}.{part} needs a string {' and '.join(missing)}.")
        metrics = result.get("metrics")
        if not isinstance(metrics, list) or not metrics:
            errors.append(f"{at}.metrics must be a non-empty list of {{type, value}}.")
            continue
        for m, metric in enumerate(metrics):
            if (not isinstance(metric, dict) or not isinstance(metric.get("type"), str)
                    or metric.get("value") is None):
                errors.append(f"{at}.metrics[{m}] needs a string type and a value.")
    return errors


def hub_tags(repo_type: str, card: dict[str, Any] | None) -> list[str]:
    """The ``tags`` list the Hub derives from card metadata (a readable subset of it)."""
    if not card:
        return []
    tags = [str(t) for t in card.get("tags") or [] if isinstance(t, (str, int, float))]
    keys = ("task_categories", "task_ids", "language", "license", "size_categories",
            "annotations_creators", "language_creators", "multilinguality")
    for key in keys if repo_type == "dataset" else ("license",):
        values = card.get(key)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str):
                tags.append(f"{key}:{value}")
    if repo_type == "model":
        tags += [str(card[k]) for k in ("library_name", "pipeline_tag") if card.get(k)]
    return tags

"""temperature.json: T, and what calibration measured with it.

The runtime reads only ``temperature`` and silently falls back to T = 1 on anything it
cannot parse, so a bad file must fail here instead, loudly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hf_pipeline.contract import T_MAX, T_MIN
from hf_pipeline.errors import DataFileError
from hf_pipeline.intents import INTENTS, check_label_order

RECALIBRATE = "re-run `hf-pipeline calibrate fit`."


def uncalibrated_temperature() -> dict[str, Any]:
    """T = 1 written explicitly, in the contract's schema; calibration replaces it."""
    return {"temperature": 1.0, "metrics": {}, "calibration_samples": 0,
            "intent_labels": list(INTENTS)}


def temperature_problem(t: object) -> str | None:
    """What a temperature must be, when ``t`` is not that (None: it is). The contract's
    bounds: outside them a confidence is meaningless (T = 0.001 makes every query 1.0)."""
    if (isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t)
            or not T_MIN <= t <= T_MAX):
        return f"a finite number > 0, within the contract's bounds [{T_MIN}, {T_MAX}]"
    return None


def read_temperature(path: str | Path) -> dict[str, Any]:
    """A temperature.json, checked: T within the contract's bounds, labels (if given) in
    order."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise DataFileError(path, f"cannot read ({e.strerror}).") from None
    except UnicodeDecodeError as e:
        raise DataFileError(path, f"not UTF-8 ({e.reason} at byte {e.start}).",
                            fix=RECALIBRATE) from None
    except json.JSONDecodeError as e:
        raise DataFileError(path, f"not valid JSON ({e.msg}).", fix=RECALIBRATE) from None
    t = data.get("temperature") if isinstance(data, dict) else None
    problem = temperature_problem(t)
    if problem:
        raise DataFileError(path, f"'temperature' is {t!r}, expected {problem}.",
                            fix=RECALIBRATE)
    labels = data.get("intent_labels")
    if labels is not None:
        check_label_order(labels, where=path, field="intent_labels",
                          fix="calibrate the model of this release.")
    return data


def temperature_bytes(document: dict[str, Any]) -> bytes:
    """The file's bytes for ``document`` (the one JSON layout of the project)."""
    from hf_pipeline.io import dumps_json

    return dumps_json(document).encode("utf-8")

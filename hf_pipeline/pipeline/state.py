"""The run's memory: which stage finished, with which inputs, producing what.

``OUTPUT/pipeline_state.json`` holds, per stage, the inputs it consumed (options and the
fingerprints of upstream outputs: commit shas, file hashes), their fingerprint, what it
produced, and whether it finished or was only started. It is rewritten atomically after
every change, so a kill at any moment leaves the previous or the next state, never half.
No secret is ever part of it: the Hub is named by its URL (or the local data folder).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from hf_pipeline.errors import DataFileError
from hf_pipeline.io import atomic_write_json

STATE_FILE = "pipeline_state.json"
FORMAT = 1
DONE, STARTED = "done", "started"


def fingerprint(inputs: dict[str, Any]) -> str:
    """SHA-256 of the inputs as canonical JSON: equal inputs, equal fingerprint."""
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class RunState:
    """The state file of one output folder."""

    def __init__(self, output: str | Path) -> None:
        self.path = Path(output) / STATE_FILE
        self.stages: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if data.get("format") != FORMAT:
                    raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
                self.stages = dict(data["stages"])
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise DataFileError(self.path, f"unreadable run state ({e}).",
                                    fix="delete it: every stage then runs again.") from None

    def record(self, name: str) -> dict[str, Any] | None:
        return self.stages.get(name)

    def is_done(self, name: str, fp: str) -> bool:
        rec = self.stages.get(name)
        return rec is not None and rec.get("status") == DONE and rec.get("fingerprint") == fp

    def was_started(self, name: str, fp: str) -> bool:
        """Started with these very inputs and never finished (interrupted)."""
        rec = self.stages.get(name)
        return rec is not None and rec.get("status") == STARTED and rec.get("fingerprint") == fp

    def started(self, name: str, fp: str, inputs: dict[str, Any]) -> None:
        self.stages[name] = {"status": STARTED, "fingerprint": fp, "inputs": inputs,
                             "started": _now()}
        self.save()

    def finished(self, name: str, outputs: dict[str, Any], seconds: float) -> None:
        rec = self.stages[name]
        rec.update(status=DONE, outputs=outputs, seconds=round(seconds, 2), finished=_now())
        self.save()

    def save(self) -> None:
        atomic_write_json(self.path, {"format": FORMAT, "stages": self.stages})

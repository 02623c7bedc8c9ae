"""Fixtures of the calibration tests: a small human calibration file and reviewed requests
files, in the tiny eval data's phrasing (tests/fixtures/tiny_eval_data.py), none equal to a
dev or template row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.tiny_eval_data import rows

# 5 per intent: the 5 folds of cross-validation each get one row of every intent.
CALIBRATION_PER_INTENT = 5


def write_jsonl(path: Path, rows_: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows_), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_calibration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A human calibration file of 40 rows ({"text", "intent"}, as the packaged one)."""
    return write_jsonl(tmp_path_factory.mktemp("cal_human") / "calibration.jsonl",
                       [{"text": r["text"], "intent": r["intent"]}
                        for r in rows("calibration", CALIBRATION_PER_INTENT, 5)])


def interleaved(split: str, n: int) -> list[dict]:
    """``n`` rows, the intents taking turns (so any n covers them evenly)."""
    out = rows(split, n // 8 + 1, 1)
    return sorted(out, key=lambda r: int(r["id"].rsplit("-", 1)[1]))[:n]


def write_requests(path: Path, *, calibration: int, train: int = 8) -> Path:
    """A reviewed requests.jsonl with ``calibration`` rows of that split and ``train`` of
    the other (the split is set here, not hashed: the loader trusts the file)."""
    cal = [{**r, "split": "calibration", "count": 1, "answer": "confirmed"}
           for r in interleaved("request", calibration)]
    tr = [{**r, "split": "train", "count": 1, "answer": "corrected"}
          for r in interleaved("request-train", train)]
    return write_jsonl(path, [{k: r[k] for k in ("text", "intent", "split", "count", "answer")}
                              for r in cal + tr])

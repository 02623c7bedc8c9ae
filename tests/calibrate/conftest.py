"""Fixtures: tiny datasets for calibration (the tiny release folder is a shared fixture)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_pipeline.intents import INTENTS

PHRASES = ["who calls {}", "where is {} defined", "grep for {}", "graph of {}",
           "what does {} call", "path from {} to main", "is the index fresh for {}", "hmm {}"]
NAMES = ["parse_config", "Server", "load", "Cache", "tokenize", "Router"]


def rows(split: str, per_intent: int, offset: int) -> list[dict]:
    out = []
    for k, intent in enumerate(INTENTS):
        for i in range(per_intent):
            text = PHRASES[k].format(NAMES[(i + offset) % len(NAMES)]) + f" {split} {i}"
            out.append({"id": f"{split}-{k}-{i}", "text": text, "intent": intent,
                        "split": split, "source": "template"})
    return out


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset.json (the reference layout) with train/validation/test."""
    samples = rows("train", 2, 0) + rows("validation", 4, 1) + rows("test", 3, 2)
    path = tmp_path_factory.mktemp("cal_data") / "dataset.json"
    path.write_text(json.dumps({"metadata": {"intents": list(INTENTS)}, "samples": samples}),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_dev(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cal_dev") / "dev.jsonl"
    path.write_text("".join(json.dumps({"text": r["text"], "intent": r["intent"]}) + "\n"
                            for r in rows("dev", 2, 3)), encoding="utf-8")
    return path

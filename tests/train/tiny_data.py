"""Tiny labelled datasets on disk, in the layouts the generator and data_sources use."""

from __future__ import annotations

import json
from pathlib import Path

from hf_pipeline.intents import INTENTS

# A few words per intent, so a tiny model has something learnable in a couple of epochs.
WORDS = {
    "SymbolQuery": ["where is {} defined", "find the {} struct", "show symbol {}"],
    "TextSearch": ["grep for {} text", "search the text {}", "find string {} in files"],
    "TracePath": ["trace path from {} to main", "how does {} reach the handler",
                  "path between {} and init"],
    "FindCallers": ["who calls {}", "callers of {}", "what invokes {}"],
    "FindCallees": ["what does {} call", "callees of {}", "functions called by {}"],
    "Visualize": ["draw a graph of {}", "visualize {} dependencies", "diagram of {}"],
    "IndexStatus": ["is the index for {} fresh", "index status {}", "when was {} indexed"],
    "Ambiguous": ["{}", "hmm {} maybe", "the {} thing"],
}
NAMES = ["parse_config", "Server", "load", "main_loop", "Cache", "tokenize", "HttpClient",
         "run", "build_index", "Graph", "read_file", "Router"]


def split_rows(split: str, per_intent: int, offset: int = 0) -> list[dict]:
    rows = []
    for label, templates in WORDS.items():
        for i in range(per_intent):
            name = NAMES[(i + offset) % len(NAMES)]
            text = templates[i % len(templates)].format(name)
            rows.append({"id": f"{split}-{label}-{i}", "text": text, "intent": label,
                         "split": split, "source": "template",
                         "template_id": f"{label}/t/{i % len(templates)}"})
    return rows


def write_dataset_dict(out: Path, *, per_intent: dict[str, int] | None = None,
                       names: list[str] | None = None) -> Path:
    """A generator-style folder: out/dataset_dict (save_to_disk) with train/validation/test."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    per_intent = per_intent or {"train": 8, "validation": 2, "test": 2}
    features = Features({"id": Value("string"), "text": Value("string"),
                         "label": ClassLabel(names=names or list(INTENTS)),
                         "source": Value("string"), "template_id": Value("string")})
    splits = {}
    for offset, (split, n) in enumerate(per_intent.items()):
        rows = split_rows(split, n, offset * 5)
        splits[split] = Dataset.from_dict(
            {"id": [r["id"] for r in rows], "text": [r["text"] for r in rows],
             "label": [(names or list(INTENTS)).index(r["intent"]) for r in rows],
             "source": [r["source"] for r in rows],
             "template_id": [r["template_id"] for r in rows]}, features=features)
    DatasetDict(splits).save_to_disk(str(out / "dataset_dict"))
    return out


def write_dev_set(path: Path, per_intent: int = 2) -> Path:
    rows = split_rows("dev", per_intent, offset=7)
    path.write_text("".join(json.dumps({"text": r["text"], "intent": r["intent"]}) + "\n"
                            for r in rows), encoding="utf-8")
    return path



"""Export-test fixtures: one tiny export shared by the session, tiny evaluation data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_pipeline.intents import INTENTS

# (text, intent) pairs; the gate only needs real-looking texts with labels.
SAMPLES: tuple[tuple[str, str], ...] = (
    ("where is parse_config defined", "SymbolQuery"),
    ("grep for the text connection refused", "TextSearch"),
    ("trace the path from main to write_file", "TracePath"),
    ("who calls parse_config", "FindCallers"),
    ("what does handle_request call", "FindCallees"),
    ("draw a graph of the auth module", "Visualize"),
    ("is the index fresh", "IndexStatus"),
    ("hmm the thing", "Ambiguous"),
)


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory: pytest.TempPathFactory, sensitive_model_dir: Path) -> Path:
    """``export_model`` on the sensitive tiny model (no gate). Read-only: copy before changing."""
    from hf_pipeline.export.config import ExportConfig
    from hf_pipeline.export.stage import export_model

    return export_model(sensitive_model_dir, tmp_path_factory.mktemp("export"),
                        cfg=ExportConfig())


@pytest.fixture(scope="session")
def eval_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A dataset.json with train/validation/test and a human dev-set JSONL."""
    root = tmp_path_factory.mktemp("eval_data")
    samples = [{"id": f"{split}-{i}", "text": text, "intent": intent, "split": split,
                "source": "template", "template_id": f"{intent}/t/0"}
               for split in ("train", "validation", "test")
               for i, (text, intent) in enumerate(SAMPLES)]
    dataset = root / "dataset.json"
    dataset.write_text(json.dumps({"metadata": {"intents": list(INTENTS)},
                                   "samples": samples}), encoding="utf-8")
    dev = root / "human_dev.jsonl"
    dev.write_text("".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in SAMPLES),
                   encoding="utf-8")
    return dataset, dev


def texts_and_labels() -> tuple[list[str], list[int]]:
    return [t for t, _ in SAMPLES], [INTENTS.index(i) for _, i in SAMPLES]


@pytest.fixture(scope="session")
def sensitive_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """The tiny model with its matrices redrawn at std 0.2: the untrained fixture's logits
    barely depend on the input (~1e-4), which would let a broken export pass parity."""
    import shutil

    import torch
    from transformers import AutoModelForSequenceClassification

    out = tmp_path_factory.mktemp("sensitive_model") / "model"
    shutil.copytree(tiny_model_dir, out)
    model = AutoModelForSequenceClassification.from_pretrained(out)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 2 and "LayerNorm" not in name:
                param.normal_(0.0, 0.2, generator=generator)
    model.save_pretrained(out)
    return out


def two_input_model(path: Path) -> Path:
    """A graph without token_type_ids: logits[b, j] = (tokens in row b) * (j + 1), so it
    always predicts the last class (Ambiguous)."""
    import onnx
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
              for n in ("input_ids", "attention_mask")]
    output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 8])
    scale = helper.make_tensor("scale", TensorProto.FLOAT, [1, 8],
                               [float(j + 1) for j in range(8)])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
             helper.make_node("ReduceSum", ["mask", "axes"], ["count"], keepdims=1),
             helper.make_node("Mul", ["count", "scale"], ["logits"])]
    graph = helper.make_graph(nodes, "two_inputs", inputs, [output], [scale, axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, str(path))
    return path

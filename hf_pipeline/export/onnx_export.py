"""PyTorch -> ONNX with the runtime's signature, a checked graph, and proven logit parity.

``export_onnx`` is the verb over paths; ``export_graph``, ``check_graph`` and
``check_parity`` work on in-memory objects and are called alone by tests (optimum's
``main_export`` -> ``export`` -> ``validate_models_outputs`` split, minus its habit of turning
a mismatch into a warning: here a mismatch raises, listing every failing input). Which graph
is exported is the preset's choice: a graph of the one tracer (``hf_pipeline.export.trace``:
dynamo or TorchScript), or a BERT-fused one (``hf_pipeline.export.graphs``, which rewrites
the tracer's TorchScript graph). This module imports both; neither imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_pipeline.contract import ONNX_INPUTS, ONNX_OUTPUT
from hf_pipeline.errors import CheckFailedError
from hf_pipeline.export.config import ExportConfig
from hf_pipeline.export.graphs import fused_graph
from hf_pipeline.export.trace import EXPORTERS, PRODUCERS, trace
from hf_pipeline.intents import NUM_INTENTS
from hf_pipeline.io import atomic_write_bytes
from hf_pipeline.runtime.onnx import encode, load_tokenizer
from hf_pipeline.train.inference import load_trained_model

if TYPE_CHECKING:
    import numpy as np
    import torch
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

# Real queries, one word to past the truncation limit, so parity covers every length regime.
PARITY_QUERIES: tuple[str, ...] = (
    "hmm",
    "who calls parse_config",
    "find all functions that call parse_config in src/server",
    "what does handle_request call",
    "show the call path from main to write_checkpoint",
    "search for TODO comments mentioning the tokenizer",
    "visualize the dependency graph of the auth module as a diagram",
    "is the index up to date",
    "where is class HttpClient defined",
    "callers",
    " ".join(["trace how the request flows from the http handler through the router, "
              "the middleware stack and the database layer"] * 6),
)
BATCH_SIZES: tuple[int, ...] = (2, 4, 8)


class ExportError(CheckFailedError, ValueError):
    """The exported graph breaks the runtime's contract."""


class ParityError(ExportError):
    """ONNX logits differ from PyTorch logits beyond the tolerance; ``report`` has every case."""

    def __init__(self, message: str, report: ParityReport) -> None:
        self.report = report
        super().__init__(message)


@dataclass(frozen=True)
class ParityCase:
    label: str
    batch_size: int
    sequence_length: int
    max_abs_diff: float
    passed: bool


@dataclass(frozen=True)
class ParityReport:
    atol: float
    cases: tuple[ParityCase, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    @property
    def max_abs_diff(self) -> float:
        return max(c.max_abs_diff for c in self.cases)

    def failures(self) -> list[ParityCase]:
        return [c for c in self.cases if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"atol": self.atol, "passed": self.passed, "max_abs_diff": self.max_abs_diff,
                "cases": [asdict(c) for c in self.cases]}


def load_torch_model(model_dir: str | Path, *, attention: str = "eager") -> torch.nn.Module:
    """The trained classifier, with the attention implementation the graph is traced from."""
    return load_trained_model(model_dir, attention=attention)


def export_graph(model: torch.nn.Module, tokenizer: Tokenizer, out_path: str | Path, *,
                 opset: int, graph: str) -> Path:
    """Write the fp32 ``graph`` (one of ``presets.GRAPHS``) of ``model`` to ``out_path``:
    a tracer's graph as traced (``dynamo``, ``torchscript``), or a BERT-fused one."""
    if graph in EXPORTERS:
        proto = trace(model, tokenizer, opset=opset, exporter=graph)
        proto.producer_name = PRODUCERS[graph]
    else:
        proto = fused_graph(model, tokenizer, opset=opset,
                            cls_only=graph in ("bert_fused_cls", "bert_portable_cls"),
                            portable_norms=graph == "bert_portable_cls")
    atomic_write_bytes(out_path, proto.SerializeToString())
    return Path(out_path)


def check_graph(path: str | Path) -> None:
    """onnx.checker (with strict shape inference) plus the runtime's input/output contract."""
    import onnx

    path = Path(path)
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise ExportError(f"{path}: the ONNX graph is invalid: {e}") from None
    graph = onnx.load(str(path), load_external_data=False).graph
    problems = _contract_problems(graph)
    if problems:
        raise ExportError(f"{path}: the graph breaks the runtime contract: "
                          + "; ".join(problems))


def _contract_problems(graph: Any) -> list[str]:
    from onnx import TensorProto

    def dims(value: Any) -> list[str | int]:
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    problems = []
    inputs = {i.name: i for i in graph.input}
    if sorted(inputs) != sorted(ONNX_INPUTS):
        problems.append(f"inputs are {sorted(inputs)}, expected {list(ONNX_INPUTS)}")
    for name, value in inputs.items():
        if value.type.tensor_type.elem_type != TensorProto.INT64:
            problems.append(f"input {name} is not int64")
        shape = dims(value)
        if len(shape) != 2 or any(isinstance(d, int) for d in shape):
            problems.append(f"input {name} has shape {shape}, expected [batch, sequence]")
    outputs = list(graph.output)
    if [o.name for o in outputs] != [ONNX_OUTPUT]:
        problems.append(f"outputs are {[o.name for o in outputs]}, expected ['{ONNX_OUTPUT}']")
    elif outputs[0].type.tensor_type.elem_type != TensorProto.FLOAT:
        problems.append("output logits is not float32")
    elif len(dims(outputs[0])) != 2 or dims(outputs[0])[1] != NUM_INTENTS:
        problems.append(f"output logits has shape {dims(outputs[0])}, expected "
                        f"[batch, {NUM_INTENTS}]")
    return problems


def parity_batches(texts: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Each text alone (batch 1, unpadded: what the runtime sends), then padded batches spread
    evenly over the list, so each mixes its first (short) and last (long) texts."""
    cases = [(f"single[{i}]", [t]) for i, t in enumerate(texts)]
    n = len(texts)
    for size in BATCH_SIZES:
        if size < n:
            cases.append((f"batch{size}", [texts[i * (n - 1) // (size - 1)]
                                           for i in range(size)]))
    cases.append((f"batch{n}(all)", list(texts)))
    return cases


def check_parity(onnx_path: str | Path, model: torch.nn.Module, tokenizer: Tokenizer, *,
                 atol: float, texts: Sequence[str] = PARITY_QUERIES) -> ParityReport:
    """Compare ONNX and PyTorch logits on ``texts``; raise ParityError listing every failure."""
    from hf_pipeline.runtime.onnx import make_session

    session = make_session(onnx_path, threads=1)
    cases = []
    for label, batch in parity_batches(texts):
        feeds = encode(tokenizer, batch)
        onnx_logits = session.run([ONNX_OUTPUT], feeds)[0]
        diff = _max_abs_diff(onnx_logits, _torch_logits(model, feeds))
        shape = feeds["input_ids"].shape
        cases.append(ParityCase(label, int(shape[0]), int(shape[1]), diff, diff <= atol))
    report = ParityReport(atol, tuple(cases))
    failures = report.failures()
    if failures:
        lines = [f"  {c.label} (batch {c.batch_size}, {c.sequence_length} tokens): max |diff| "
                 f"{c.max_abs_diff:.3g}" for c in failures]
        raise ParityError(
            f"{onnx_path}: ONNX logits differ from PyTorch by more than {atol:g} on "
            f"{len(failures)} of {len(cases)} inputs:\n" + "\n".join(lines)
            + "\nFix: re-export (a different --opset or attention implementation), and do not "
            "ship this file.", report)
    log.info("parity ok on %d inputs: max |diff| %.3g <= %g", len(cases), report.max_abs_diff,
             atol)
    return report


def _torch_logits(model: torch.nn.Module, feeds: dict[str, np.ndarray]) -> np.ndarray:
    import torch

    with torch.no_grad():
        tensors = {k: torch.from_numpy(v) for k, v in feeds.items()}
        return model(**tensors).logits.float().numpy()


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    import numpy as np

    if a.shape != b.shape:
        return float("inf")
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    return float("inf") if not np.isfinite(diff).all() else float(diff.max())


def export_and_check(model: torch.nn.Module, tokenizer: Tokenizer, out_path: str | Path, *,
                     cfg: ExportConfig) -> ParityReport:
    """Export the preset's graph, check it, prove parity; the in-memory core of
    ``export_onnx``."""
    from hf_pipeline.export.presets import PRESETS

    export_graph(model, tokenizer, out_path, opset=cfg.opset, graph=PRESETS[cfg.preset].graph)
    check_graph(out_path)
    try:
        return check_parity(out_path, model, tokenizer, atol=cfg.parity_atol)
    except ParityError:
        Path(out_path).unlink(missing_ok=True)  # a numerically wrong file is never left behind
        raise


def export_onnx(model_dir: str | Path, out_path: str | Path, *,
                cfg: ExportConfig | None = None) -> Path:
    """Export the trained model in ``model_dir`` to an fp32 ONNX file at ``out_path``."""
    cfg = cfg or ExportConfig()
    model = load_torch_model(model_dir, attention=cfg.attention)
    tokenizer = load_tokenizer(model_dir)
    export_and_check(model, tokenizer, out_path, cfg=cfg)
    return Path(out_path)

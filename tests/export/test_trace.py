"""The one tracer: both exporters give the runtime's signature, and the export modules import
one way (trace <- graphs <- onnx_export, no cycle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from hf_pipeline.contract import ONNX_INPUTS
from hf_pipeline.errors import InvalidValueError
from hf_pipeline.export.config import ExportConfig
from hf_pipeline.export.onnx_export import (
    PARITY_QUERIES,
    _torch_logits,
    export_graph,
    load_torch_model,
)
from hf_pipeline.export.trace import (
    EXAMPLE_QUERIES,
    EXPORTERS,
    PRODUCERS,
    example_batch,
    trace,
)
from hf_pipeline.imports import internal_imports, module_files
from hf_pipeline.runtime.onnx import encode, load_tokenizer

EXPORT = "hf_pipeline.export"


def _dims(value: onnx.ValueInfoProto) -> list[str | int]:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_example_batch_is_two_unequal_queries_in_input_order(tiny_model_dir: Path) -> None:
    args = example_batch(load_tokenizer(tiny_model_dir))
    assert len(args) == len(ONNX_INPUTS) and len(EXAMPLE_QUERIES) == 2
    ids, mask, _ = (a.numpy() for a in args)
    assert ids.shape[0] == 2 and ids.shape[1] >= 3  # no dynamic axis specialised to 0 or 1
    assert (mask.sum(1) != mask.shape[1]).any()  # padded: the mask is traced, not constant


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_each_exporter_gives_the_runtime_signature_and_torch_logits(
        sensitive_model_dir: Path, tmp_path: Path, exporter: str) -> None:
    import onnxruntime as ort

    model = load_torch_model(sensitive_model_dir)
    tokenizer = load_tokenizer(sensitive_model_dir)
    proto = trace(model, tokenizer, opset=ExportConfig().opset, exporter=exporter)
    assert proto.producer_name == "pytorch"  # what onnxruntime's BERT optimizer expects
    # Written as traced, the file names its exporter.
    path = export_graph(model, tokenizer, tmp_path / "m.onnx", opset=ExportConfig().opset,
                        graph=exporter)
    assert onnx.load(str(path)).producer_name == PRODUCERS[exporter]
    assert [i.name for i in proto.graph.input] == list(ONNX_INPUTS)
    assert all(_dims(i) == ["batch", "sequence"] for i in proto.graph.input)
    assert [(o.name, _dims(o)) for o in proto.graph.output] == [("logits", ["batch", 8])]
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    for texts in ([PARITY_QUERIES[0]], list(PARITY_QUERIES)):  # batch 1 unpadded, padded
        feeds = encode(tokenizer, texts)
        diff = np.abs(session.run(["logits"], feeds)[0] - _torch_logits(model, feeds)).max()
        assert diff <= 1e-4


def test_an_unknown_exporter_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(InvalidValueError, match="exporter: got 'jit'"):
        trace(load_torch_model(tiny_model_dir), load_tokenizer(tiny_model_dir), opset=18,
              exporter="jit")


def _export_graph() -> dict[str, set[str]]:
    graph = internal_imports(module_files())
    return {a: {b for b in targets if b.startswith(EXPORT + ".")}
            for a, targets in graph.items() if a.startswith(EXPORT + ".")}


def test_the_tracer_imports_no_export_module_and_the_rewrites_only_the_tracer() -> None:
    graph = _export_graph()
    assert graph[f"{EXPORT}.trace"] == set()
    assert graph[f"{EXPORT}.graphs"] == {f"{EXPORT}.trace"}
    assert f"{EXPORT}.onnx_export" not in graph[f"{EXPORT}.graphs"]


def test_export_modules_import_each_other_without_a_cycle() -> None:
    graph = _export_graph()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
